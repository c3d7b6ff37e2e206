//! The terminal view. Compact by default: the header, the stages, every failure and warning with
//! its examples, and a one-line summary; with `all`, every check in one table.

use super::{
    RenderOptions, Renderer, header_pairs, output_rows, seconds, shorten, shown_checks,
    summary_line,
};
use crate::report::{CheckResult, Report, Shown, Status};
use crate::table::{count, pairs_in, render_in as table, truncate};

pub struct Table;

impl Renderer for Table {
    fn render(&self, r: &Report, opts: &RenderOptions) -> String {
        let mut out = format!("{} {}\n", r.tool, r.command);
        out.push_str(&pairs_in(&header_pairs(r), opts.width));
        out.push('\n');
        if !r.stages.is_empty() {
            let rows: Vec<Vec<String>> = r
                .stages
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        s.status.as_str().to_string(),
                        s.detail.clone(),
                        seconds(r, &format!("stage:{}", s.name)),
                    ]
                })
                .collect();
            out.push_str(&table(
                &["stage", "status", "detail", "seconds"],
                &rows,
                opts.width,
            ));
            out.push('\n');
        }
        if !r.outputs.is_empty() {
            let rows: Vec<Vec<String>> = r
                .outputs
                .iter()
                .map(|o| {
                    vec![
                        o.at.clone(),
                        shorten(&o.statement, 60),
                        output_rows(o).join("\n"),
                    ]
                })
                .collect();
            out.push_str(&table(
                &["script output", "statement", "rows"],
                &rows,
                opts.width,
            ));
            out.push('\n');
        }
        if opts.all {
            out.push_str(&checks_table(r, opts));
            out.push('\n');
        } else {
            for c in shown_checks(r, opts) {
                out.push_str(&finding(c, opts.width));
            }
        }
        out.push_str(&summary_line(r));
        if !opts.all && r.summary.checks > 0 {
            let hidden = r
                .checks
                .iter()
                .filter(|c| !matches!(c.status, Status::Fail | Status::Warn))
                .count();
            if hidden > 0 {
                out.push_str(&format!(
                    "\n({} passed or skipped checks not listed: --all lists every check)",
                    count(hidden as i64)
                ));
            }
        }
        out.push('\n');
        out
    }

    fn view(&self, v: &Shown, opts: &RenderOptions) -> String {
        view_text(v, opts.width)
    }
}

/// A command's result: its title, its labelled values, its tables and notes.
pub fn view_text(v: &Shown, width: Option<u16>) -> String {
    let d = &v.document;
    let mut out = String::new();
    if !d.title.is_empty() {
        out.push_str(&d.title);
        out.push('\n');
    }
    if !d.pairs.is_empty() {
        out.push_str(&pairs_in(
            &d.pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            width,
        ));
        out.push('\n');
    }
    for t in &d.tables {
        let headers: Vec<&str> = t.headers.iter().map(String::as_str).collect();
        out.push_str(&table(&headers, &t.rows, width));
        out.push('\n');
    }
    for n in &d.notes {
        out.push_str(n);
        out.push('\n');
    }
    out
}

/// Every check, one row each.
fn checks_table(r: &Report, opts: &RenderOptions) -> String {
    let rows: Vec<Vec<String>> = shown_checks(r, opts)
        .map(|c| {
            vec![
                c.status.as_str().to_string(),
                c.check.clone(),
                c.scope.clone(),
                shorten(&c.expected, 40),
                shorten(&c.actual, 40),
                count(c.violations as i64),
                shorten(c.examples.first().map(String::as_str).unwrap_or(""), 90),
            ]
        })
        .collect();
    table(
        &[
            "status",
            "check",
            "scope",
            "expected",
            "actual",
            "violations",
            "example",
        ],
        &rows,
        opts.width,
    )
}

/// One failure or warning as a block: what, where, expected, found, and its examples.
fn finding(c: &CheckResult, width: Option<u16>) -> String {
    let fit = |s: String| match width {
        Some(w) => truncate(&s, w as usize),
        None => s,
    };
    let mut out = String::new();
    out.push_str(&fit(format!(
        "{} {} · {}",
        c.status.as_str(),
        c.check,
        c.scope
    )));
    out.push('\n');
    out.push_str(&fit(format!("  {}", c.title)));
    out.push('\n');
    out.push_str(&fit(format!("  expected: {}", c.expected)));
    out.push('\n');
    out.push_str(&fit(format!(
        "  found:    {} ({} {})",
        c.actual,
        count(c.violations as i64),
        if c.violations == 1 {
            "violation"
        } else {
            "violations"
        }
    )));
    out.push('\n');
    for e in &c.examples {
        out.push_str(&fit(format!("    - {e}")));
        out.push('\n');
    }
    out
}
