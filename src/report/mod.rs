//! The report: one serde model that checks fill and renderers read (table, JSON, Markdown,
//! JUnit). Durations live only in `timings`, so that the same input and seed give the same
//! report byte for byte once timings are left out.

pub mod document;
pub mod facts;
pub(crate) mod render;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use document::{DocTable, Document, Envelope, Shown, View};
pub use facts::*;
pub use render::{RenderOptions, Renderer, render, render_view, renderer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Skip,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Fail => "FAIL",
        }
    }
}

/// One check on one scope (a migration, system, point; or the whole database).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Stable id, e.g. `values` or `live_parity`.
    pub check: String,
    /// What is checked, in words.
    pub title: String,
    /// Where: a migration, system, point, table, file and line…, or the whole database.
    pub scope: Scope,
    pub status: Status,
    pub expected: Fact,
    pub found: Fact,
    pub violations: u64,
    /// Up to five examples (the spot check shows every sampled row).
    pub examples: Vec<Example>,
    /// The same findings in the words the text formats print: filled by the JSON renderer as a
    /// convenience, never read back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<CheckText>,
}

impl CheckResult {
    pub fn new(check: &str, title: &str, scope: impl Into<Scope>) -> CheckResult {
        CheckResult {
            check: check.into(),
            title: title.into(),
            scope: scope.into(),
            status: Status::Pass,
            expected: Fact::Nothing,
            found: Fact::Nothing,
            violations: 0,
            examples: Vec::new(),
            text: None,
        }
    }

    /// Pass when there are no violations, fail otherwise.
    pub fn judged(
        mut self,
        violations: u64,
        expected: impl Into<Fact>,
        found: impl Into<Fact>,
    ) -> Self {
        self.violations = violations;
        self.status = if violations == 0 {
            Status::Pass
        } else {
            Status::Fail
        };
        self.expected = expected.into();
        self.found = found.into();
        self
    }

    pub fn with_examples<E: Into<Example>>(mut self, examples: Vec<E>) -> Self {
        self.examples = examples.into_iter().map(Into::into).collect();
        self
    }

    pub fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }
}

/// A database as the report names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// A path, or a URL without credentials.
    pub database: String,
    pub size_bytes: Option<u64>,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecIdentity {
    /// `spec` (a migration spec) or `scripts` (SQL-script migrations).
    pub kind: String,
    pub name: String,
    pub origin: String,
    pub sha256: String,
}

/// Rows a script's own query returned (a statement of the script that returns rows: its built-in
/// verification), as the sqlite3 shell prints them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptOutput {
    /// `file:line` of the statement.
    pub at: String,
    pub statement: String,
    /// The first rows, `a|b|c`.
    pub rows: Vec<String>,
    /// How many rows it returned.
    pub total: u64,
}

/// A stage of a rehearsal, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub name: String,
    pub status: Status,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub checks: u64,
    pub passed: u64,
    pub warned: u64,
    pub skipped: u64,
    pub failed: u64,
    pub failed_checks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The version of this JSON's shape ([`document::FORMAT_VERSION`]).
    #[serde(default = "format_version")]
    pub format_version: u32,
    pub tool: String,
    pub command: String,
    pub status: Status,
    pub target: Identity,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Identity>,
    pub spec: SpecIdentity,
    /// How a SQL script is executed (the runner profile and its settings, the frozen clock).
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// Rows a script's own queries returned.
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<ScriptOutput>,
    /// Rows the spot check shows, and its seed (absent when there is no spot check).
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<u64>,
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Database size before and after the migration (rehearse).
    #[serde(default)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sizes: Option<(u64, u64)>,
    pub stages: Vec<Stage>,
    pub summary: Summary,
    pub checks: Vec<CheckResult>,
    /// Where rows exist in time, per migration and system (filled when a view draws it).
    #[serde(default)]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timelines: Vec<Timeline>,
    /// Seconds per stage and per check: the only part that changes from run to run.
    pub timings: BTreeMap<String, f64>,
}

fn format_version() -> u32 {
    document::FORMAT_VERSION
}

impl Report {
    pub fn new(
        command: &str,
        target: Identity,
        spec: SpecIdentity,
        spot: Option<(u64, u64)>,
    ) -> Report {
        Report {
            format_version: document::FORMAT_VERSION,
            tool: format!("preflight {}", env!("CARGO_PKG_VERSION")),
            command: command.into(),
            status: Status::Pass,
            target,
            baseline: None,
            spec,
            runner: None,
            outputs: Vec::new(),
            sample: spot.map(|s| s.0),
            seed: spot.map(|s| s.1),
            sizes: None,
            stages: Vec::new(),
            summary: Summary {
                checks: 0,
                passed: 0,
                warned: 0,
                skipped: 0,
                failed: 0,
                failed_checks: Vec::new(),
            },
            checks: Vec::new(),
            timelines: Vec::new(),
            timings: BTreeMap::new(),
        }
    }

    /// Recompute the summary and overall status from checks and stages.
    pub fn finish(&mut self) {
        let count = |s: Status| self.checks.iter().filter(|c| c.status == s).count() as u64;
        let mut failed_checks: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.check.clone())
            .collect();
        failed_checks.dedup();
        self.summary = Summary {
            checks: self.checks.len() as u64,
            passed: count(Status::Pass),
            warned: count(Status::Warn),
            skipped: count(Status::Skip),
            failed: count(Status::Fail),
            failed_checks,
        };
        let stage_failed = self.stages.iter().any(|s| s.status == Status::Fail);
        self.status = if self.summary.failed > 0 || stage_failed {
            Status::Fail
        } else {
            Status::Pass
        };
    }

    /// The same report with every duration removed (for snapshots and byte comparisons).
    pub fn without_timings(&self) -> Report {
        let mut r = self.clone();
        r.timings.clear();
        r
    }

    pub fn passed(&self) -> bool {
        self.status != Status::Fail
    }
}

/// Coverage of one migration over time: for each system, how many rows the source, the
/// migration and the live app hold in each of `buckets` equal slices of [start, end] (the
/// target's time unit), the source's gaps and the first live row (the dual-write seam).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub migration: String,
    /// Target time unit per second (1000 for milliseconds).
    pub per_second: i64,
    pub start: i64,
    pub end: i64,
    pub buckets: usize,
    pub systems: Vec<SystemTimeline>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemTimeline {
    pub system_id: i64,
    pub vendor_type: String,
    /// Rows per bucket: source rows, migrated target rows, live target rows.
    pub source: Vec<u64>,
    pub migrated: Vec<u64>,
    pub live: Vec<u64>,
    /// Spans [from, to] (target time) with no source row, longer than the expected cadence.
    pub gaps: Vec<(i64, i64)>,
    /// The first row the live app wrote, when there is one.
    pub seam: Option<i64>,
}

impl Timeline {
    /// The bucket a time falls in.
    pub fn bucket_of(&self, t: i64) -> usize {
        let span = (self.end - self.start).max(1) as i128;
        let b = ((t - self.start).max(0) as i128 * self.buckets as i128 / (span + 1)) as usize;
        b.min(self.buckets.saturating_sub(1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// JSON for programs (the report model).
    Json,
    /// Markdown for pull requests and wikis.
    Markdown,
    /// JUnit XML for CI test views.
    Junit,
    /// One self-contained HTML page, with a coverage timeline per system.
    Html,
}

impl Format {
    /// The format a report file's name suggests.
    pub fn from_extension(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "md" | "markdown" => Some(Format::Markdown),
            "xml" => Some(Format::Junit),
            "html" | "htm" => Some(Format::Html),
            "txt" => Some(Format::Table),
            _ => None,
        }
    }
}
