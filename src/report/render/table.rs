//! The terminal view. Compact by default: the header, the stages, every failure and warning with
//! its examples, and a one-line summary; with `all`, every check in one table.

use super::phrase;
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
            for group in grouped(shown_checks(r, opts)) {
                match group.as_slice() {
                    [one] => out.push_str(&finding(one, opts.width)),
                    many => out.push_str(&findings(many, opts.width)),
                }
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
            let p = phrase::check(c);
            vec![
                c.status.as_str().to_string(),
                c.check.clone(),
                p.scope.clone(),
                shorten(&p.expected, 40),
                shorten(&p.found, 40),
                count(c.violations as i64),
                shorten(p.examples.first().map(String::as_str).unwrap_or(""), 90),
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

/// Failures one by one; warnings that say the same thing (one check, one finding, in several
/// scopes: the seam interval of every point, say) together, in the order of their first.
fn grouped<'r>(checks: impl Iterator<Item = &'r CheckResult>) -> Vec<Vec<&'r CheckResult>> {
    let mut groups: Vec<Vec<&CheckResult>> = Vec::new();
    for c in checks {
        let same = |g: &Vec<&CheckResult>| {
            let f = g[0];
            c.status == Status::Warn
                && f.status == Status::Warn
                && f.check == c.check
                && f.title == c.title
                && f.found == c.found
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push(c),
            None => groups.push(vec![c]),
        }
    }
    groups
}

/// Warnings of one check with the same finding in several scopes: one block, the scopes
/// counted, the first example of the first three.
fn findings(cs: &[&CheckResult], width: Option<u16>) -> String {
    let fit = |s: String| match width {
        Some(w) => truncate(&s, w as usize),
        None => s,
    };
    let first = cs[0];
    let pf = phrase::check(first);
    let mut out = String::new();
    out.push_str(&fit(format!(
        "{} {} · {} scopes: {} and {} more",
        first.status.as_str(),
        first.check,
        cs.len(),
        pf.scope,
        cs.len() - 1
    )));
    out.push('\n');
    out.push_str(&fit(format!("  {}", first.title)));
    out.push('\n');
    out.push_str(&fit(format!("  found in each: {}", pf.found)));
    out.push('\n');
    for c in cs.iter().take(3) {
        let p = phrase::check(c);
        if let Some(e) = p.examples.first() {
            out.push_str(&fit(format!("    - {}: {e}", p.scope)));
            out.push('\n');
        }
    }
    out.push_str("    (--all lists every scope)\n");
    out
}

/// One failure or warning as a block: what, where, expected, found, and its examples.
fn finding(c: &CheckResult, width: Option<u16>) -> String {
    let p = phrase::check(c);
    let fit = |s: String| match width {
        Some(w) => truncate(&s, w as usize),
        None => s,
    };
    let mut out = String::new();
    out.push_str(&fit(format!(
        "{} {} · {}",
        c.status.as_str(),
        c.check,
        p.scope
    )));
    out.push('\n');
    out.push_str(&fit(format!("  {}", c.title)));
    out.push('\n');
    out.push_str(&fit(format!("  expected: {}", p.expected)));
    out.push('\n');
    out.push_str(&fit(format!(
        "  found:    {} ({} {})",
        p.found,
        count(c.violations as i64),
        if c.violations == 1 {
            "violation"
        } else {
            "violations"
        }
    )));
    out.push('\n');
    for e in &p.examples {
        out.push_str(&fit(format!("    - {e}")));
        out.push('\n');
    }
    out
}
