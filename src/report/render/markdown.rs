//! Markdown: the whole report, for pull requests and wikis; failures in detail at the end.

use super::phrase;
use super::{RenderOptions, Renderer, header_pairs, output_rows, seconds, summary_line, verdict};
use crate::report::{Report, Shown, Status};
use crate::table::count;

pub struct Markdown;

/// Text safe in a Markdown table cell: no column break, no line break, no HTML tag.
fn md(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('\n', " ")
}

impl Renderer for Markdown {
    fn render(&self, r: &Report, _opts: &RenderOptions) -> String {
        render_markdown(r)
    }

    fn view(&self, v: &Shown, _opts: &RenderOptions) -> String {
        let d = &v.document;
        let mut out = format!(
            "# preflight {}: {}\n\n{}\n",
            v.command,
            verdict(v.passed),
            md(&d.title)
        );
        if !d.pairs.is_empty() {
            out.push_str("\n| | |\n|---|---|\n");
            for (k, val) in &d.pairs {
                out.push_str(&format!("| {} | {} |\n", md(k), md(val)));
            }
        }
        for t in &d.tables {
            out.push_str(&format!(
                "\n| {} |\n|{}\n",
                t.headers
                    .iter()
                    .map(|h| md(h))
                    .collect::<Vec<_>>()
                    .join(" | "),
                "---|".repeat(t.headers.len())
            ));
            for r in &t.rows {
                out.push_str(&format!(
                    "| {} |\n",
                    r.iter()
                        .map(|c| c.split('\n').map(md).collect::<Vec<_>>().join("<br>"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
            }
        }
        if !d.notes.is_empty() {
            out.push('\n');
            for n in &d.notes {
                out.push_str(&format!("- {}\n", md(n)));
            }
        }
        out
    }
}

fn render_markdown(r: &Report) -> String {
    let mut out = format!(
        "# {} {}: {}\n\n",
        r.tool,
        r.command,
        if r.passed() { "PASS" } else { "FAIL" }
    );
    out.push_str("| | |\n|---|---|\n");
    for (k, v) in header_pairs(r) {
        out.push_str(&format!("| {k} | {} |\n", md(&v)));
    }
    out.push_str(&format!("\n{}\n", summary_line(r)));
    if !r.stages.is_empty() {
        out.push_str("\n## Stages\n\n| stage | status | detail | seconds |\n|---|---|---|---:|\n");
        for s in &r.stages {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                md(&s.name),
                s.status.as_str(),
                md(&s.detail),
                seconds(r, &format!("stage:{}", s.name))
            ));
        }
    }
    if !r.outputs.is_empty() {
        out.push_str("\n## Script output\n\n| statement | | rows |\n|---|---|---|\n");
        for o in &r.outputs {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                md(&o.at),
                md(&o.statement),
                output_rows(o)
                    .iter()
                    .map(|l| md(l))
                    .collect::<Vec<_>>()
                    .join("<br>")
            ));
        }
    }
    out.push_str("\n## Checks\n\n| status | check | scope | expected | actual | violations | example |\n|---|---|---|---|---|---:|---|\n");
    for c in &r.checks {
        let p = phrase::check(c);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            c.status.as_str(),
            md(&c.check),
            md(&p.scope),
            md(&p.expected),
            md(&p.found),
            count(c.violations as i64),
            md(p.examples.first().map(String::as_str).unwrap_or(""))
        ));
    }
    let failed: Vec<_> = r
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .collect();
    if !failed.is_empty() {
        out.push_str("\n## Failures\n");
        for c in failed {
            let p = phrase::check(c);
            out.push_str(&format!(
                "\n### {} · {}\n\n{}: expected {}, found {} ({} violations)\n\n",
                c.check,
                p.scope,
                c.title,
                p.expected,
                p.found,
                count(c.violations as i64)
            ));
            for e in &p.examples {
                out.push_str(&format!("- `{}`\n", e.replace('`', "'")));
            }
        }
    }
    out
}
