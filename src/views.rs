//! The typed result of every command that is not a check report, and its layout for people.
//! Commands fill these; the renderers (`report::render`) show them in every format, and JSON
//! prints them as they are (inside `report::Envelope`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::backup::Manifest;
use crate::fingerprint::TableHash;
use crate::fingerprint::diff::DbDiff;
use crate::fsutil::human;
use crate::migrate::SystemResult;
use crate::report::{DocTable, Document, View};
use crate::table::count;

fn rows_table(tables: &BTreeMap<String, i64>) -> DocTable {
    DocTable::new(
        &["table", "rows"],
        tables
            .iter()
            .map(|(t, n)| vec![t.clone(), count(*n)])
            .collect(),
    )
}

fn pairs(p: &[(&str, String)]) -> Vec<(String, String)> {
    p.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn rows(n: u64) -> String {
    format!("{} row{}", count(n as i64), if n == 1 { "" } else { "s" })
}

/// `preflight fixture`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixtureView {
    pub path: PathBuf,
    pub bytes: u64,
    pub scale: f64,
    pub seed: u64,
}

impl View for FixtureView {
    fn command(&self) -> &'static str {
        "fixture"
    }
    fn document(&self) -> Document {
        Document {
            title: format!(
                "wrote {} ({}), scale {}, seed {}",
                self.path.display(),
                human(self.bytes),
                self.scale,
                self.seed
            ),
            ..Document::default()
        }
    }
}

/// `preflight backup`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupView {
    pub backup: PathBuf,
    pub manifest_path: PathBuf,
    pub manifest: Manifest,
}

impl View for BackupView {
    fn command(&self) -> &'static str {
        "backup"
    }
    fn document(&self) -> Document {
        let m = &self.manifest;
        Document {
            title: format!("backed up {} to {}", m.source, self.backup.display()),
            pairs: pairs(&[
                ("backup", self.backup.display().to_string()),
                ("manifest", self.manifest_path.display().to_string()),
                ("source", m.source.clone()),
                ("taken (UTC)", m.created_utc.clone()),
                ("SQLite", m.sqlite_version.clone()),
                ("database", human(m.uncompressed_bytes)),
                ("compressed", human(m.compressed_bytes)),
                ("sha256", m.sha256.clone()),
            ]),
            tables: vec![rows_table(&m.tables)],
            notes: Vec::new(),
        }
    }
}

/// `preflight extract`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractView {
    pub backup: PathBuf,
    /// Where the database was extracted to.
    pub extracted: PathBuf,
    /// Removed when preflight exits (no --out).
    pub temporary: bool,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    /// sha256 of the backup file (.gz, or the plain database that was copied).
    pub sha256: String,
    /// The backup was a plain database, copied rather than extracted.
    pub plain: bool,
    /// The manifest beside the backup, which the extracted copy matched.
    pub manifest: Option<PathBuf>,
    /// The integrity check passed (an extract that fails it is an error, exit 2).
    pub integrity_ok: bool,
    pub tables: BTreeMap<String, i64>,
}

impl View for ExtractView {
    fn command(&self) -> &'static str {
        "extract"
    }
    fn document(&self) -> Document {
        Document {
            title: format!(
                "extracted {} into {}",
                self.backup.display(),
                self.extracted.display()
            ),
            pairs: pairs(&[
                ("backup", self.backup.display().to_string()),
                (
                    "extracted",
                    if self.temporary {
                        format!("{} (removed on exit)", self.extracted.display())
                    } else {
                        self.extracted.display().to_string()
                    },
                ),
                (
                    "size",
                    format!(
                        "{} ({} bytes) from {} compressed",
                        human(self.uncompressed_bytes),
                        self.uncompressed_bytes,
                        human(self.compressed_bytes)
                    ),
                ),
                (
                    if self.plain {
                        "sha256 (plain database, copied)"
                    } else {
                        "sha256 (.gz)"
                    },
                    self.sha256.clone(),
                ),
                (
                    "manifest",
                    match &self.manifest {
                        Some(p) => format!("{} (sha256, size and row counts match)", p.display()),
                        None => "none beside the backup".to_string(),
                    },
                ),
                (
                    "integrity",
                    if self.integrity_ok { "ok" } else { "FAILED" }.to_string(),
                ),
            ]),
            tables: vec![rows_table(&self.tables)],
            notes: Vec::new(),
        }
    }
}

/// `preflight simulate-live`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulateView {
    pub database: String,
    pub system: i64,
    pub readings: u64,
}

impl View for SimulateView {
    fn command(&self) -> &'static str {
        "simulate-live"
    }
    fn document(&self) -> Document {
        Document {
            title: format!(
                "wrote {} readings with their point rows to system {} of {}",
                self.readings, self.system, self.database
            ),
            ..Document::default()
        }
    }
}

/// `preflight spec show`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecView {
    pub origin: String,
    pub sha256: String,
    pub spec: crate::spec::Spec,
    /// The spec as written (with its comments), for people.
    #[serde(skip)]
    pub text: String,
}

impl View for SpecView {
    fn command(&self) -> &'static str {
        "spec show"
    }
    fn document(&self) -> Document {
        Document {
            title: String::new(),
            notes: vec![self.text.trim_end().to_string()],
            ..Document::default()
        }
    }
}

/// `preflight migrate` (and `--dry-run`)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrateView {
    pub target: String,
    pub spec: String,
    /// Nothing was written: what would be inserted.
    pub dry_run: bool,
    pub results: Vec<SystemResult>,
}

impl View for MigrateView {
    fn command(&self) -> &'static str {
        "migrate"
    }
    fn document(&self) -> Document {
        let results = &self.results;
        let dry_run = self.dry_run;
        let mut table_rows: Vec<Vec<String>> = results
            .iter()
            .map(|r| {
                let mut row = vec![
                    r.migration.clone(),
                    format!("{} ({})", r.system_id, r.vendor_type),
                    count(r.source_rows as i64),
                    count(r.carried as i64),
                    count(r.already_present as i64),
                    count(r.inserted as i64),
                ];
                if !dry_run {
                    row.push(format!("{:.2}", r.seconds));
                    row.push(count(r.rows_per_second().round() as i64));
                }
                row
            })
            .collect();
        let sum = |f: fn(&SystemResult) -> u64| count(results.iter().map(f).sum::<u64>() as i64);
        let secs: f64 = results.iter().map(|r| r.seconds).sum();
        let inserted: u64 = results.iter().map(|r| r.inserted).sum();
        let mut total = vec![
            "total".to_string(),
            String::new(),
            sum(|r| r.source_rows),
            sum(|r| r.carried),
            sum(|r| r.already_present),
            sum(|r| r.inserted),
        ];
        if !dry_run {
            total.push(format!("{secs:.2}"));
            total.push(count(if secs > 0.0 {
                (inserted as f64 / secs).round() as i64
            } else {
                0
            }));
        }
        table_rows.push(total);
        let mut headers = vec![
            "migration",
            "system",
            "source rows",
            "carried",
            "already present",
            if dry_run { "would insert" } else { "inserted" },
        ];
        if !dry_run {
            headers.extend(["seconds", "rows/s"]);
        }
        Document {
            title: if dry_run {
                format!(
                    "dry run on {} (nothing written), spec {}",
                    self.target, self.spec
                )
            } else {
                format!("migrated {} with spec {}", self.target, self.spec)
            },
            tables: vec![DocTable::new(&headers, table_rows)],
            ..Document::default()
        }
    }
}

/// One migration undone by `rollback`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolledBack {
    pub migration: String,
    pub journal_entries: u64,
    pub rows_deleted: u64,
}

/// `preflight rollback`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackView {
    pub target: String,
    pub migrations: Vec<RolledBack>,
}

impl View for RollbackView {
    fn command(&self) -> &'static str {
        "rollback"
    }
    fn document(&self) -> Document {
        Document {
            title: format!("rolled back on {}", self.target),
            tables: vec![DocTable::new(
                &["migration", "journal entries", "rows deleted"],
                self.migrations
                    .iter()
                    .map(|m| {
                        vec![
                            m.migration.clone(),
                            count(m.journal_entries as i64),
                            count(m.rows_deleted as i64),
                        ]
                    })
                    .collect(),
            )],
            ..Document::default()
        }
    }
}

/// What the runner did with one statement of an applied script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum StatementOutcome {
    /// It ran: the rows it changed itself, or the rows it returned.
    Ran {
        changes: u64,
        returned: Option<u64>,
        /// Its effect stayed (the transaction it ran in committed).
        kept: bool,
    },
    Failed {
        message: String,
    },
    /// The script's own BEGIN/COMMIT, folded into the runner's one transaction.
    Folded,
    /// Not run on purpose, and why.
    Ignored {
        why: String,
    },
    /// Not run: the script had stopped.
    NotRun,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedStatement {
    pub line: usize,
    pub statement: String,
    #[serde(flatten)]
    pub outcome: StatementOutcome,
}

/// What a script's own query returned (first rows, as the sqlite3 shell prints them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryOutput {
    pub line: usize,
    pub statement: String,
    pub rows: Vec<String>,
    pub total: u64,
}

/// A table whose rows changed: its row count before and after (None: it did not exist).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableChange {
    pub table: String,
    pub rows_before: Option<i64>,
    pub rows_after: Option<i64>,
}

/// A row left pointing at a missing parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Orphan {
    pub table: String,
    pub rowid: Option<i64>,
    pub parent: String,
}

/// `preflight apply`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyView {
    pub target: String,
    pub script: String,
    /// The runner profile and its settings, in words.
    pub runner: String,
    pub statements: Vec<AppliedStatement>,
    /// What production does that the script's author may not expect, per line.
    pub notes: Vec<(usize, String, bool)>,
    pub outputs: Vec<QueryOutput>,
    pub tables_changed: Vec<TableChange>,
    /// Whether the schema changed (None on a server, where it is not fingerprinted).
    pub schema_changed: Option<bool>,
    pub orphans: Vec<Orphan>,
    pub orphan_count: u64,
    /// What stayed, in words ("every statement was kept").
    pub kept: String,
    /// Every statement ran and no foreign key is left dangling.
    pub ok: bool,
}

impl View for ApplyView {
    fn command(&self) -> &'static str {
        "apply"
    }
    fn passed(&self) -> bool {
        self.ok
    }
    fn document(&self) -> Document {
        let statements = self
            .statements
            .iter()
            .map(|s| {
                let (result, kept) = match &s.outcome {
                    StatementOutcome::Ran {
                        changes,
                        returned,
                        kept,
                    } => (
                        match returned {
                            Some(n) => format!("{} returned", rows(*n)),
                            None => format!("{} changed", rows(*changes)),
                        },
                        if *kept { "yes" } else { "no" },
                    ),
                    StatementOutcome::Failed { message } => (format!("FAILED: {message}"), ""),
                    StatementOutcome::Folded => {
                        ("folded into the runner's transaction".to_string(), "")
                    }
                    StatementOutcome::Ignored { why } => (format!("not run: {why}"), ""),
                    StatementOutcome::NotRun => ("not run: the script had stopped".to_string(), ""),
                };
                vec![
                    s.line.to_string(),
                    s.statement.chars().take(80).collect(),
                    result,
                    kept.to_string(),
                ]
            })
            .collect();
        let mut tables = vec![DocTable::new(
            &["line", "statement", "result", "kept"],
            statements,
        )];
        if !self.outputs.is_empty() {
            tables.push(DocTable::new(
                &["line", "query", "rows"],
                self.outputs
                    .iter()
                    .map(|o| {
                        let mut lines = o.rows.clone();
                        if o.total > o.rows.len() as u64 {
                            lines.push(format!("… {} in all", rows(o.total)));
                        }
                        vec![
                            o.line.to_string(),
                            o.statement.chars().take(60).collect(),
                            lines.join("\n"),
                        ]
                    })
                    .collect(),
            ));
        }
        let mut notes: Vec<String> = self
            .notes
            .iter()
            .map(|(line, text, warn)| {
                format!(
                    "{}line {line}: {text}",
                    if *warn { "warning: " } else { "" }
                )
            })
            .collect();
        if self.tables_changed.is_empty() {
            notes.push("no table changed".into());
        } else {
            tables.push(DocTable::new(
                &["table changed", "rows before", "rows after"],
                self.tables_changed
                    .iter()
                    .map(|t| {
                        vec![
                            t.table.clone(),
                            t.rows_before.map_or("(new)".into(), count),
                            t.rows_after.map_or("(gone)".into(), count),
                        ]
                    })
                    .collect(),
            ));
        }
        if self.schema_changed == Some(true) {
            notes.push("the schema changed".into());
        }
        if self.orphan_count > 0 {
            notes.push(format!(
                "foreign keys: {} pointing to a missing parent: {}",
                rows(self.orphan_count),
                self.orphans
                    .iter()
                    .take(5)
                    .map(|v| format!(
                        "{} rowid {} → {}",
                        v.table,
                        v.rowid.map_or("?".into(), |r| r.to_string()),
                        v.parent
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        notes.push(self.kept.clone());
        Document {
            title: format!(
                "applied {} to {} with runner {}",
                self.script, self.target, self.runner
            ),
            pairs: Vec::new(),
            tables,
            notes,
        }
    }
}

/// `preflight diff`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffView {
    pub before: String,
    pub after: String,
    pub identical: bool,
    pub diff: DbDiff,
}

impl View for DiffView {
    fn command(&self) -> &'static str {
        "diff"
    }
    fn passed(&self) -> bool {
        self.identical
    }
    fn document(&self) -> Document {
        let d = &self.diff;
        let mut notes = Vec::new();
        for c in &d.schema {
            if c.change == "changed" {
                notes.push(format!(
                    "schema: {} {} (on {}) changed:",
                    c.kind, c.name, c.table
                ));
                notes.extend(c.diff.iter().map(|l| format!("  {l}")));
            } else {
                notes.push(format!("schema: {c}"));
            }
        }
        let mut tables = Vec::new();
        if !d.tables.is_empty() {
            tables.push(DocTable::new(
                &[
                    "table", "inserted", "updated", "deleted", "columns", "examples",
                ],
                d.tables
                    .iter()
                    .map(|t| {
                        let mut cols = Vec::new();
                        cols.extend(t.columns_added.iter().map(|c| format!("+{c}")));
                        cols.extend(t.columns_removed.iter().map(|c| format!("-{c}")));
                        vec![
                            t.table.clone(),
                            count(t.inserted as i64),
                            count(t.updated as i64),
                            count(t.deleted as i64),
                            cols.join(" "),
                            t.examples
                                .iter()
                                .map(crate::report::render::phrase::row_example)
                                .collect::<Vec<_>>()
                                .join("\n"),
                        ]
                    })
                    .collect(),
            ));
        }
        if self.identical {
            notes.push("identical: same schema, same rows in every table".into());
        }
        Document {
            title: format!("{} → {}", self.before, self.after),
            pairs: Vec::new(),
            tables,
            notes,
        }
    }
}

/// `preflight fingerprint`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FingerprintView {
    pub target: String,
    /// One sha256 for the whole database.
    pub database: String,
    pub schema: String,
    pub tables: BTreeMap<String, TableHash>,
}

impl View for FingerprintView {
    fn command(&self) -> &'static str {
        "fingerprint"
    }
    fn document(&self) -> Document {
        let mut table_rows = vec![vec![
            "(schema)".to_string(),
            String::new(),
            self.schema.clone(),
        ]];
        table_rows.extend(
            self.tables
                .iter()
                .map(|(n, h)| vec![n.clone(), count(h.rows as i64), h.sha256.clone()]),
        );
        Document {
            title: format!("fingerprint of {}", self.target),
            pairs: Vec::new(),
            tables: vec![DocTable::new(&["table", "rows", "sha256"], table_rows)],
            notes: vec![format!("database {}", self.database)],
        }
    }
}

/// `preflight status`
impl View for crate::migrations::Status {
    fn command(&self) -> &'static str {
        "status"
    }
    fn passed(&self) -> bool {
        crate::migrations::Status::passed(self)
    }
    fn document(&self) -> Document {
        let mut notes: Vec<String> = self.notes.iter().map(|n| format!("note: {n}")).collect();
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(state, n)| format!("{n} {}", state.as_str()))
            .collect();
        notes.push(format!(
            "{}: {}",
            if self.passed() {
                "up to date"
            } else {
                "NOT up to date"
            },
            if counts.is_empty() {
                "no migrations".to_string()
            } else {
                counts.join(", ")
            }
        ));
        Document {
            title: format!(
                "{} migrations in {} against {} (table {}; {})",
                self.tool,
                self.directory,
                self.database,
                self.table.as_deref().unwrap_or("none"),
                self.detected
            ),
            pairs: Vec::new(),
            tables: vec![DocTable::new(
                &["migration", "name", "state", "detail"],
                self.entries
                    .iter()
                    .map(|e| {
                        vec![
                            e.key.to_string(),
                            e.name.clone(),
                            e.state.as_str().to_string(),
                            e.detail.clone(),
                        ]
                    })
                    .collect(),
            )],
            notes,
        }
    }
}
