//! One renderer per format, all reading the same model.

use std::time::Duration;

use super::{Format, Report, Status};
use crate::fsutil::human;
use crate::table::{count, pairs, render as table};

pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Table => render_table(report),
        Format::Json => serde_json::to_string_pretty(report).expect("report serialises") + "\n",
        Format::Markdown => render_markdown(report),
        Format::Junit => render_junit(report),
    }
}

fn identity(i: &super::Identity) -> String {
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

fn header_pairs(r: &Report) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("target", identity(&r.target)),
        (
            if r.spec.kind == "scripts" {
                "scripts"
            } else {
                "spec"
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

fn render_table(r: &Report) -> String {
    let mut out = format!("{} {}\n", r.tool, r.command);
    let head: Vec<(&str, String)> = header_pairs(r);
    out.push_str(&pairs(&head));
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
        out.push_str(&table(&["stage", "status", "detail", "seconds"], &rows));
        out.push('\n');
    }
    if !r.outputs.is_empty() {
        let rows: Vec<Vec<String>> = r
            .outputs
            .iter()
            .map(|o| vec![o.at.clone(), shorten(&o.statement, 60), output_rows(o)])
            .collect();
        out.push_str(&table(&["script output", "statement", "rows"], &rows));
        out.push('\n');
    }
    let rows: Vec<Vec<String>> = r
        .checks
        .iter()
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
    out.push_str(&table(
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
    ));
    out.push('\n');
    out.push_str(&summary_line(r));
    out.push('\n');
    out
}

/// A script's query output: its first rows, one a line, and how many more.
fn output_rows(o: &super::ScriptOutput) -> String {
    let mut lines = o.rows.clone();
    if o.total > o.rows.len() as u64 {
        lines.push(format!("… {} rows in all", count(o.total as i64)));
    }
    if lines.is_empty() {
        lines.push("(no rows)".into());
    }
    lines.join("\n")
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
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
                md(&output_rows(o).replace('\n', "<br>"))
            ));
        }
    }
    out.push_str("\n## Checks\n\n| status | check | scope | expected | actual | violations | example |\n|---|---|---|---|---|---:|---|\n");
    for c in &r.checks {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            c.status.as_str(),
            md(&c.check),
            md(&c.scope),
            md(&c.expected),
            md(&c.actual),
            count(c.violations as i64),
            md(c.examples.first().map(String::as_str).unwrap_or(""))
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
            out.push_str(&format!(
                "\n### {} · {}\n\n{}: expected {}, found {} ({} violations)\n\n",
                c.check,
                c.scope,
                c.title,
                c.expected,
                c.actual,
                count(c.violations as i64)
            ));
            for e in &c.examples {
                out.push_str(&format!("- `{}`\n", e.replace('`', "'")));
            }
        }
    }
    out
}

fn render_junit(r: &Report) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut report = JReport::new(format!("preflight {}", r.command));
    if let Some(t) = r.timings.get("total") {
        report.set_time(Duration::from_secs_f64(*t));
    }
    let mut suites: Vec<TestSuite> = Vec::new();
    let mut stage_suite = TestSuite::new("stages");
    for s in &r.stages {
        let status = match s.status {
            Status::Fail => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(s.detail.clone());
                st
            }
            Status::Skip => TestCaseStatus::skipped(),
            _ => TestCaseStatus::success(),
        };
        let mut tc = TestCase::new(s.name.clone(), status);
        tc.set_classname("preflight.stage");
        if let Some(t) = r.timings.get(&format!("stage:{}", s.name)) {
            tc.set_time(Duration::from_secs_f64(*t));
        }
        stage_suite.add_test_case(tc);
    }
    if !r.stages.is_empty() {
        suites.push(stage_suite);
    }
    for c in &r.checks {
        if suites.last().is_none_or(|s| s.name.as_str() != c.check) {
            suites.push(TestSuite::new(c.check.clone()));
        }
        let status = match c.status {
            Status::Fail => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(format!(
                    "expected {}, found {} ({} violations)",
                    c.expected, c.actual, c.violations
                ));
                st.set_type(c.title.clone());
                st.set_description(c.examples.join("\n"));
                st
            }
            Status::Skip => {
                let mut st = TestCaseStatus::skipped();
                st.set_message(c.actual.clone());
                st
            }
            _ => TestCaseStatus::success(),
        };
        let mut tc = TestCase::new(c.scope.clone(), status);
        tc.set_classname(format!("preflight.{}", c.check));
        suites.last_mut().expect("a suite").add_test_case(tc);
    }
    report.add_test_suites(suites);
    report.to_string().expect("junit serialises")
}
