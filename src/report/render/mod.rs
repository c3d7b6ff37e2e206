//! Renderers: one file per format behind one small trait, all reading the same model. Nothing
//! outside this module decides how a report looks.

mod html;
mod json;
mod junit;
mod markdown;
pub mod phrase;
mod table;

use super::{Format, Identity, Report, Shown, Status};
use crate::fsutil::human;

/// How much a renderer shows, and in how much room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Every check; otherwise only failures and warnings (the stages and the summary always).
    pub all: bool,
    /// The width tables must fit (terminal columns); None: as wide as the content needs.
    pub width: Option<u16>,
}

impl RenderOptions {
    /// Everything, unconstrained: what files and snapshots get.
    pub const FULL: RenderOptions = RenderOptions {
        all: true,
        width: None,
    };
}

/// One output format: a check report, or any other command's result.
pub trait Renderer {
    fn render(&self, report: &Report, opts: &RenderOptions) -> String;
    fn view(&self, view: &Shown, opts: &RenderOptions) -> String;
}

/// The renderer of a format.
pub fn renderer(format: Format) -> &'static dyn Renderer {
    match format {
        Format::Table => &table::Table,
        Format::Json => &json::Json,
        Format::Markdown => &markdown::Markdown,
        Format::Junit => &junit::Junit,
        Format::Html => &html::Html,
    }
}

/// The whole report in a format (every check, no width limit).
pub fn render(report: &Report, format: Format) -> String {
    renderer(format).render(report, &RenderOptions::FULL)
}

/// A command's result in a format (no width limit).
pub fn render_view(view: &Shown, format: Format) -> String {
    renderer(format).view(view, &RenderOptions::FULL)
}

/// `PASS` or `FAIL`.
fn verdict(passed: bool) -> &'static str {
    if passed { "PASS" } else { "FAIL" }
}

/// A database as the header names it: path, size, sha256.
fn identity(i: &Identity) -> String {
    let mut s = i.database.clone();
    let mut extra = Vec::new();
    if let Some(b) = i.size_bytes {
        extra.push(human(b));
    }
    if let Some(h) = &i.sha256 {
        extra.push(format!("sha256 {h}"));
    }
    if !extra.is_empty() {
        s.push_str(&format!(" ({})", extra.join(", ")));
    }
    s
}

/// The header: what was checked, with what, and how.
fn header_pairs(r: &Report) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("target", identity(&r.target)),
        (
            match r.spec.kind.as_str() {
                "scripts" => "scripts",
                "checks" => "checks",
                "migrations" => "migrations",
                _ => "spec",
            },
            format!(
                "{} ({}, sha256 {})",
                r.spec.name, r.spec.origin, r.spec.sha256
            ),
        ),
    ];
    if let Some(runner) = &r.runner {
        rows.push(("runner", runner.clone()));
    }
    if let (Some(n), Some(seed)) = (r.sample, r.seed) {
        rows.push(("spot checks", format!("{n} rows, seed {seed}")));
    }
    if let Some(b) = &r.baseline {
        rows.insert(1, ("baseline", identity(b)));
    }
    if let Some((before, after)) = r.sizes {
        rows.push((
            "database size",
            format!("{} before, {} after", human(before), human(after)),
        ));
    }
    rows
}

/// Seconds of one timing, two decimals ("" when not timed).
fn seconds(r: &Report, key: &str) -> String {
    r.timings
        .get(key)
        .map(|s| format!("{s:.2}"))
        .unwrap_or_default()
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

/// `PASS: 10 checks, 10 passed, …; 0.42 s`
fn summary_line(r: &Report) -> String {
    let s = &r.summary;
    let mut line = format!(
        "{}: {} checks, {} passed, {} failed, {} warned, {} skipped",
        match r.status {
            Status::Fail => "FAIL",
            _ => "PASS",
        },
        s.checks,
        s.passed,
        s.failed,
        s.warned,
        s.skipped
    );
    if !s.failed_checks.is_empty() {
        line.push_str(&format!(" (failed: {})", s.failed_checks.join(", ")));
    }
    if let Some(t) = r.timings.get("total") {
        line.push_str(&format!("; {t:.2} s"));
    }
    line
}

/// A script's query output: its first rows, and how many more.
fn output_rows(o: &super::ScriptOutput) -> Vec<String> {
    let mut lines = o.rows.clone();
    if o.total > o.rows.len() as u64 {
        lines.push(format!(
            "… {} rows in all",
            crate::table::count(o.total as i64)
        ));
    }
    if lines.is_empty() {
        lines.push("(no rows)".into());
    }
    lines
}

/// The checks a view shows: all of them, or failures and warnings only.
fn shown_checks<'r>(
    r: &'r Report,
    opts: &RenderOptions,
) -> impl Iterator<Item = &'r super::CheckResult> {
    let all = opts.all;
    r.checks
        .iter()
        .filter(move |c| all || matches!(c.status, Status::Fail | Status::Warn))
}
