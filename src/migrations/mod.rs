//! Migration directories of the tools teams use (drizzle-kit, sqlx, golang-migrate, dbmate,
//! goose, prisma, refinery) and LiveOne's own: each format reads its directory into
//! [`Migration`]s (statements with file and line, the down migration where the format has one,
//! the settings the tool really runs them with, the digest it stores) and knows its tracking
//! table: its columns, how to read what it says was applied, and the exact rows the tool writes.
//! [`status`] compares a directory with a database by the tool's own rules.
//!
//! One file per tool; each cites the tool's source for what it reproduces.

mod dbmate;
mod detect;
mod drizzle;
pub mod file;
mod golang_migrate;
mod goose;
mod liveone;
mod prisma;
mod refinery;
pub mod sql;
mod sqlx;
pub mod status;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::db::{Db, DbError, Stmt};
pub use crate::migrate::runner::{ForeignKeys, OnError, Transactions};
pub use detect::{Detected, detect, find_table};
/// drizzle-kit's statement separator.
pub use drizzle::BREAKPOINT;
/// The id a LiveOne file records itself with in `migrations`, if it does: a guard against a
/// second run.
pub use liveone::recorded_id;
pub use status::{Entry, State, Status, status};

/// A migration tool, as `--tool` names it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    /// LiveOne's own: `migrations/NNNN_name.sql` run by hand, each file recording itself in
    /// `migrations(id, applied_at)`.
    Liveone,
    /// drizzle-kit migrate (drizzle-orm's migrator) through @libsql/client, as on Turso.
    Drizzle,
    /// drizzle-orm's migrator through better-sqlite3 (foreign keys stay on).
    DrizzleBetterSqlite3,
    /// sqlx-cli (`sqlx migrate run`).
    Sqlx,
    /// golang-migrate (`migrate up`).
    GolangMigrate,
    /// dbmate (`dbmate up`).
    Dbmate,
    /// goose (`goose up`).
    Goose,
    /// prisma (`prisma migrate deploy`).
    Prisma,
    /// refinery_cli (`refinery migrate`).
    Refinery,
}

impl Tool {
    pub const ALL: [Tool; 9] = [
        Tool::Liveone,
        Tool::Drizzle,
        Tool::DrizzleBetterSqlite3,
        Tool::Sqlx,
        Tool::GolangMigrate,
        Tool::Dbmate,
        Tool::Goose,
        Tool::Prisma,
        Tool::Refinery,
    ];

    /// The name `--tool` takes.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Liveone => "liveone",
            Tool::Drizzle => "drizzle",
            Tool::DrizzleBetterSqlite3 => "drizzle-better-sqlite3",
            Tool::Sqlx => "sqlx",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Dbmate => "dbmate",
            Tool::Goose => "goose",
            Tool::Prisma => "prisma",
            Tool::Refinery => "refinery",
        }
    }

    pub fn format(self) -> &'static dyn Format {
        match self {
            Tool::Liveone => &liveone::LiveOne,
            Tool::Drizzle => &drizzle::Drizzle {
                driver: drizzle::Driver::Libsql,
            },
            Tool::DrizzleBetterSqlite3 => &drizzle::Drizzle {
                driver: drizzle::Driver::BetterSqlite3,
            },
            Tool::Sqlx => &sqlx::Sqlx,
            Tool::GolangMigrate => &golang_migrate::GolangMigrate,
            Tool::Dbmate => &dbmate::Dbmate,
            Tool::Goose => &goose::Goose,
            Tool::Prisma => &prisma::Prisma,
            Tool::Refinery => &refinery::Refinery,
        }
    }
}

impl std::fmt::Display for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One statement as the tool executes it, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub file: PathBuf,
    /// 1-based line of the statement's first word.
    pub line: usize,
    pub sql: String,
}

/// How a tracking table names a migration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Key {
    Int(i64),
    Text(String),
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Int(i) => write!(f, "{i}"),
            Key::Text(t) => f.write_str(t),
        }
    }
}

/// Whether pending migrations share one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grouping {
    /// Every pending migration and its tracking row in one transaction: a failure keeps nothing.
    AllPending,
    /// Each migration on its own: a failure stops the run, earlier migrations stay.
    PerMigration,
}

/// When the tool writes its tracking rows, relative to the migration's statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrackingWrite {
    /// In the migration's own transaction (or right after its statements when it has none).
    WithMigration,
    /// In a transaction of its own after the migration's.
    After,
    /// A row marking the migration as started before it, and one marking it done after it.
    BeforeAndAfter,
    /// Nothing: the migration's own SQL records itself.
    ByTheScript,
}

/// How the tool really runs a migration, in the terms of a runner profile
/// (`crate::migrate::runner`), plus what a single-script runner has no word for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Execution {
    /// Foreign-key enforcement when the migration's statements start.
    pub foreign_keys: ForeignKeys,
    /// How the migration's statements are grouped into transactions.
    pub transactions: Transactions,
    pub on_error: OnError,
    pub grouping: Grouping,
    pub tracking: TrackingWrite,
}

/// One migration of a directory, as its tool sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Migration {
    /// How the tracking table names it (a version, a name, a journal time).
    pub key: Key,
    /// Its name in words (description, tag, directory name).
    pub name: String,
    /// The file holding its forward statements.
    pub path: PathBuf,
    /// The forward statements, in order, exactly those the tool executes.
    pub up: Vec<Statement>,
    /// Statements written in the file that the tool never executes (a trap worth a warning).
    pub unexecuted: Vec<Statement>,
    /// Why the tool fails on this migration whatever the data (a file it cannot parse, a chunk
    /// its driver rejects), naming the file and line; None when it runs.
    pub refused: Option<String>,
    /// The down migration, where the format has one.
    pub down: Option<Down>,
    /// What the tool stores to notice an edited file (hex, or refinery's decimal SipHash).
    pub checksum: Option<String>,
    pub execution: Execution,
}

/// A down migration: its statements, in order, exactly those the tool executes, and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Down {
    /// The file holding them (the migration's own file, or its `.down.sql`).
    pub path: PathBuf,
    pub statements: Vec<Statement>,
    /// How the tool groups them into transactions (dbmate's `-- migrate:down transaction:false`,
    /// goose's `NO TRANSACTION`).
    pub transactions: Transactions,
}

/// What a tracking table says about one migration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    pub key: Key,
    /// The name the table stores, when it stores one.
    pub name: Option<String>,
    /// As stored (hex, or decimal for refinery); None when the tool stores none.
    pub checksum: Option<String>,
    /// Started and not finished: sqlx `success = false`, golang-migrate `dirty`, prisma without
    /// `finished_at`.
    pub failed: bool,
    /// When it was applied, as stored.
    pub applied_at: Option<String>,
}

/// The moment and identity a tracking row needs (a rehearsal passes a frozen clock).
#[derive(Debug, Clone)]
pub struct Clock {
    pub now: time::OffsetDateTime,
    /// How long the migration took (sqlx records it in nanoseconds).
    pub elapsed: std::time::Duration,
    /// A fresh row id where the tool makes one (prisma: a UUID v4).
    pub row_id: String,
}

impl Clock {
    pub fn now() -> Clock {
        Clock {
            now: time::OffsetDateTime::now_utc(),
            elapsed: std::time::Duration::ZERO,
            row_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// The statements that record one migration, by when the tool runs them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tracking {
    /// Together in a transaction of their own before the migration (golang-migrate's dirty
    /// row, prisma's started row).
    pub before: Vec<Stmt>,
    /// In the migration's transaction, after its statements (right after them when the
    /// migration runs outside a transaction).
    pub with_migration: Vec<Stmt>,
    /// Together in a transaction of their own after the migration's.
    pub after: Vec<Stmt>,
}

/// A format: how one tool lays out a directory and keeps its tracking table.
pub trait Format: Sync {
    fn tool(&self) -> Tool;
    /// The tracking table's default name.
    fn table(&self) -> &'static str;
    /// Its columns, as the tool creates them (the shape detection looks for).
    fn columns(&self) -> &'static [&'static str];
    /// The migrations of `dir`, in the order the tool runs them.
    fn load(&self, dir: &Path) -> Result<Vec<Migration>, MigrationsError>;
    /// The SQL the tool creates its tracking table with when it is missing (one or more
    /// statements, run as a batch).
    fn create_table(&self, table: &str) -> String;
    /// The rows the tool writes when it applies `m`.
    fn tracking(&self, m: &Migration, table: &str, clock: &Clock) -> Tracking;
    /// What the tool writes when it runs `m`'s down migration (`previous`: the migration before
    /// it in the directory, which becomes the newest applied); nothing for a format without
    /// down migrations.
    fn untracking(&self, m: &Migration, previous: Option<&Migration>, table: &str) -> Tracking {
        let _ = (m, previous, table);
        Tracking::default()
    }
    /// What the tracking table says was applied.
    fn applied(&self, db: &dyn Db, table: &str) -> Result<Vec<Applied>, DbError>;
    /// Compare by the tool's own rules.
    fn status(&self, migrations: &[Migration], applied: &[Applied]) -> Vec<Entry>;
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationsError {
    #[error("{}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{}: {message}", dir.display())]
    Detect { dir: PathBuf, message: String },
    #[error("{target}: table {table} {message}")]
    Table {
        target: String,
        table: String,
        message: String,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl MigrationsError {
    pub fn invalid(path: &Path, message: impl Into<String>) -> MigrationsError {
        MigrationsError::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// A file's text; a file that is not UTF-8 is read lossily, as the tools that read text do.
pub fn read(path: &Path) -> Result<String, MigrationsError> {
    let bytes = std::fs::read(path).map_err(|e| MigrationsError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// The files (not directories) of `dir`, sorted by name.
pub fn files(dir: &Path) -> Result<Vec<(String, PathBuf)>, MigrationsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| MigrationsError::Read {
        path: dir.to_path_buf(),
        message: format!("{e} (--migrations names the directory of migration files)"),
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| MigrationsError::Read {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let path = entry.path();
        if path.is_file()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            out.push((name.to_string(), path));
        }
    }
    out.sort();
    Ok(out)
}

/// The tracking rows the tool writes for `m` and its table's statement, in the order they run:
/// what a rehearsal executes around the migration's own statements.
pub fn tracking(tool: Tool, m: &Migration, table: &str, clock: &Clock) -> Tracking {
    tool.format().tracking(m, table, clock)
}

/// What `tool` writes to its table when it runs `m`'s down migration.
pub fn untracking(
    tool: Tool,
    m: &Migration,
    previous: Option<&Migration>,
    table: &str,
) -> Tracking {
    tool.format().untracking(m, previous, table)
}

/// The SQL `tool` creates its tracking table with.
pub fn create_table(tool: Tool, table: &str) -> String {
    tool.format().create_table(table)
}

/// Load a directory as `tool` reads it.
pub fn load(tool: Tool, dir: &Path) -> Result<Vec<Migration>, MigrationsError> {
    tool.format().load(dir)
}

/// Text of a value read from a tracking table.
fn text(v: &crate::db::Value) -> Option<String> {
    match v {
        crate::db::Value::Blob(b) => Some(sql::hex(b)),
        other => crate::db::as_text(other),
    }
}
