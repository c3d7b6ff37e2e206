//! Command-line interface (clap derive only). Shared argument groups are flattened into the
//! subcommands that take them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Rehearse and verify data migrations of SQLite and libSQL (Turso) databases before they
/// touch production.
///
/// Exit status: 0 every check passed, 1 a check failed, 2 preflight could not run.
#[derive(Debug, Parser)]
#[command(name = "preflight", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a deterministic LiveOne-shaped database (same seed and scale, same bytes).
    Fixture(FixtureArgs),
    /// Snapshot a database through SQLite's online backup API into <stem>-YYYYMMDD-HHMMSS.db.gz
    /// with a JSON manifest beside it.
    Backup(BackupArgs),
    /// Gunzip a backup into a temporary database, check its integrity (and its manifest's
    /// sha256), and print its size and row counts.
    Extract(ExtractArgs),
    /// Write like the live LiveOne app during its dual-write window: a session, a reading and
    /// its point rows in one transaction, every --interval-ms. For rehearsing under traffic.
    SimulateLive(SimulateLiveArgs),
    /// Migrate readings → point_readings and readings_agg_5m → point_readings_agg_5m as the
    /// spec says: set-based, in batches, resumable, idempotent, undoable with `rollback`.
    Migrate(MigrateArgs),
    /// Delete exactly the rows preflight's migrations inserted (from its journal), and restore
    /// the progress table as it was. Rows the live app wrote are not touched.
    Rollback(RollbackArgs),
    /// Run the verification suite against a database, opened read-only: every check of the
    /// seed checklist and the ones that catch what went wrong in LiveOne's migration.
    Verify(VerifyArgs),
    /// Rehearse the migration on a backup (the bundled fixture when none is given): extract →
    /// fingerprint → migrate → verify → migrate again → undo → compare, then report.
    Rehearse(RehearseArgs),
    /// Apply a SQL script to a database in one transaction (all of it or none of it), after
    /// confirmation, and print what changed.
    Apply(ApplyArgs),
    /// Compare two databases table by table: rows inserted, updated and deleted, with examples,
    /// and schema objects that appeared, vanished or changed. Exit 0 when identical, 1 when not.
    Diff(DiffArgs),
    /// Print a database's logical fingerprint: a sha256 of its schema and of every table's rows
    /// in key order with their types, whatever the page layout (in the spirit of SQLite's dbhash).
    Fingerprint(FingerprintArgs),
    /// Show the migration spec (the built-in LiveOne spec unless --spec is given).
    Spec {
        #[command(subcommand)]
        command: SpecCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Print the spec as TOML.
    Show(SpecArgs),
}

/// The database a command works on.
#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// The database: a path, a file: URL, or a libsql://, https:// or http:// URL.
    pub db: String,
    /// The environment variable holding the auth token for a remote database.
    #[arg(long, value_name = "NAME", default_value = "TURSO_AUTH_TOKEN")]
    pub auth_token_env: String,
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// A migration spec (TOML) replacing the built-in LiveOne spec.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Only {
    /// readings → point_readings
    Raw,
    /// readings_agg_5m → point_readings_agg_5m
    Agg5m,
}

/// Flags of the migration engine, shared by `migrate` and `rehearse`.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Run only one of the two migrations.
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Only this system (repeatable).
    #[arg(long = "system", value_name = "N")]
    pub systems: Vec<i64>,
    /// Source rows per batch (each batch is one transaction).
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    pub batch_size: u64,
    /// Skip mapped points that a system lacks in point_info instead of refusing to start.
    #[arg(long)]
    pub allow_missing_points: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub target: DbArgs,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Report per system what would be inserted; the database is opened read-only.
    #[arg(long)]
    pub dry_run: bool,
    /// Ignore recorded progress and scan every source row again (existing rows are skipped).
    #[arg(long)]
    pub from_start: bool,
    /// Append timestamped lines to this file.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Do not ask for confirmation before writing to a database that is not a rehearsal copy.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: DbArgs,
    /// The migration to undo (readings_to_points, agg5m_to_points); repeatable. Without it,
    /// every migration in the journal, newest first.
    #[arg(long = "migration", value_name = "NAME")]
    pub migrations: Vec<String>,
    /// Append timestamped lines to this file.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Do not ask for confirmation before writing to a database that is not a rehearsal copy.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct FixtureArgs {
    /// Size relative to production (1.0 ≈ 253k readings, 74k 5-minute rows).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Seed of the random generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file; gzip-compressed when it ends in .gz. Never overwritten.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The database to back up: a local SQLite file, or a libsql://, https:// or http:// URL.
    pub source: String,
    /// The environment variable holding the auth token for a remote database.
    #[arg(long, value_name = "NAME", default_value = "TURSO_AUTH_TOKEN")]
    pub auth_token_env: String,
    /// Directory the backup and its manifest are written to (created if it does not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Fail when the compressed backup is smaller than this (e.g. 6MB, 500KiB, 1G).
    #[arg(long, value_parser = crate::fsutil::parse_size)]
    pub min_size: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A gzipped database backup (.db.gz).
    pub backup: PathBuf,
    /// Keep the extracted database at this path (never overwritten). Without it the
    /// extracted copy is removed when preflight exits.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SimulateLiveArgs {
    /// A LiveOne-shaped SQLite database (a rehearsal copy, never production).
    pub db: PathBuf,
    /// The system whose series is continued (a Selectronic or Fronius system).
    #[arg(long, default_value_t = 1)]
    pub system: i64,
    /// Milliseconds between writes.
    #[arg(long, default_value_t = 100)]
    pub interval_ms: u64,
    /// How many readings to write.
    #[arg(long, default_value_t = 100)]
    pub count: u64,
}

/// How the suite runs, and where and how its report is written.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Also write the report to this file (format from --format, or from the extension:
    /// .json, .md, .xml for JUnit; anything else gets the table).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The report format on standard output (and in --report FILE).
    #[arg(long, value_enum)]
    pub format: Option<crate::report::Format>,
    /// How many random rows the spot check shows (at most 100000).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub sample: u64,
    /// Seed of the spot check's random choice (same seed, same rows).
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Check integrity with PRAGMA quick_check (pages, b-trees and records, but not every index
    /// entry against its row): much faster on a large database than the full integrity_check.
    #[arg(long)]
    pub quick_integrity: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: DbArgs,
    #[command(flatten)]
    pub spec: SpecArgs,
    /// A backup of the database before the migration: enables the collateral checks.
    #[arg(long, value_name = "BACKUP.db.gz")]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// A gzipped backup; without it, the bundled LiveOne fixture.
    pub backup: Option<PathBuf>,
    /// Rehearse a SQL-script migration instead of the spec: this forward script runs in one
    /// transaction on the copy, then again (it must change nothing).
    #[arg(long, value_name = "FORWARD.sql", conflicts_with_all = ["spec", "only", "systems", "allow_missing_points"])]
    pub sql: Option<PathBuf>,
    /// The rollback script: after it, schema and every table must be exactly as before the
    /// forward script, and the forward script must run again.
    #[arg(long, value_name = "ROLLBACK.sql", requires = "sql")]
    pub rollback: Option<PathBuf>,
    /// Expected query results and the declared scope of the change (TOML).
    #[arg(long, value_name = "EXPECT.toml", requires = "sql")]
    pub expect: Option<PathBuf>,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: DbArgs,
    /// The SQL script: run in one transaction; if any statement fails, nothing of it stays.
    #[arg(long, value_name = "FILE")]
    pub sql: PathBuf,
    /// Do not ask for confirmation before writing to a database that is not a rehearsal copy.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The database before (a path, a URL, or a gzipped backup).
    pub before: String,
    /// The database after (a path, a URL, or a gzipped backup).
    pub after: String,
    /// The environment variable holding the auth token for a remote database.
    #[arg(long, value_name = "NAME", default_value = "TURSO_AUTH_TOKEN")]
    pub auth_token_env: String,
    /// Examples shown per table.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub examples: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: PlainFormat,
}

#[derive(Debug, Args)]
pub struct FingerprintArgs {
    /// The database (a path, a URL, or a gzipped backup).
    pub db: String,
    /// The environment variable holding the auth token for a remote database.
    #[arg(long, value_name = "NAME", default_value = "TURSO_AUTH_TOKEN")]
    pub auth_token_env: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: PlainFormat,
}

/// Output of the commands that print data rather than a check report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlainFormat {
    /// A table for people.
    Table,
    /// JSON for programs.
    Json,
}

impl DbArgs {
    /// The target, with a remote one's token taken from the environment.
    pub fn target(&self) -> crate::db::Target {
        crate::db::Target::parse(&self.db).with_token_from_env(&self.auth_token_env)
    }
}
