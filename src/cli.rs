//! Command-line interface (clap derive only). Shared argument groups are flattened into the
//! subcommands that take them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The exit statuses, as every `--help` ends.
const EXIT_STATUSES: &str = "Exit status:
  0    every check passed (diff: identical; status: nothing pending)
  1    the command ran and a check failed (diff: the databases differ; status: a migration is
       pending, edited or failed)
  2    preflight could not run: bad input, unreadable file, refused confirmation
  130  stopped by Ctrl-C (SIGINT); 143 stopped by SIGTERM";

/// Rehearse and verify data migrations of SQLite and libSQL (Turso) databases before they
/// touch production.
#[derive(Debug, Parser)]
#[command(
    name = "preflight",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = EXIT_STATUSES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a deterministic LiveOne-shaped database.
    ///
    /// The same seed and scale always give the same bytes.
    #[command(after_help = EXIT_STATUSES)]
    Fixture(FixtureArgs),
    /// Snapshot a database into a gzipped backup with a manifest.
    ///
    /// A consistent snapshot (SQLite's online backup API for a file, one read transaction for a
    /// server) written to DIR/<stem>-YYYYMMDD-HHMMSS.db.gz, with a JSON manifest beside it.
    #[command(after_help = EXIT_STATUSES)]
    Backup(BackupArgs),
    /// Extract a backup and check it.
    ///
    /// Gunzip a backup into a temporary database (or --out FILE), check its integrity and,
    /// when a manifest sits beside it, its sha256, size and row counts; print size and rows.
    #[command(after_help = EXIT_STATUSES)]
    Extract(ExtractArgs),
    /// Write like the live LiveOne app, for rehearsing under traffic.
    ///
    /// As during its dual-write window: a session, a reading and its point rows in one
    /// transaction, every --interval-ms.
    #[command(after_help = EXIT_STATUSES)]
    SimulateLive(SimulateLiveArgs),
    /// Run the spec's migration on a database.
    ///
    /// LiveOne's readings → point_readings and readings_agg_5m → point_readings_agg_5m as the
    /// spec says: set-based, in batches, resumable, idempotent, undoable with `rollback`.
    #[command(after_help = EXIT_STATUSES)]
    Migrate(MigrateArgs),
    /// Undo preflight's migrations exactly.
    ///
    /// Delete exactly the rows preflight's migrations inserted (from its journal, proved before
    /// the first delete), and restore the progress table as it was. Rows the live app wrote are
    /// not touched.
    #[command(after_help = EXIT_STATUSES)]
    Rollback(RollbackArgs),
    /// Check a database, read-only.
    ///
    /// The LiveOne suite (every check of the seed checklist and the ones that catch what went
    /// wrong in LiveOne's migration) when the spec describes the database; on any other
    /// database, integrity, foreign keys, --migrations status and --checks invariants.
    #[command(after_help = EXIT_STATUSES)]
    Verify(VerifyArgs),
    /// Rehearse a migration on a copy of a backup, and report.
    ///
    /// The spec's migration, SQL scripts (--sql) or a migrations directory (--migrations), on
    /// a copy of the backup (the bundled LiveOne fixture when none is given): extract →
    /// fingerprint → migrate → verify → migrate again → undo → compare, then report.
    #[command(after_help = EXIT_STATUSES)]
    Rehearse(RehearseArgs),
    /// Apply a SQL script to a database, and say what changed.
    ///
    /// As production's runner would (by default in one transaction: all of it or none of it),
    /// after confirmation.
    #[command(after_help = EXIT_STATUSES)]
    Apply(ApplyArgs),
    /// Compare two databases table by table.
    ///
    /// Rows inserted, updated and deleted, with examples, and schema objects that appeared,
    /// vanished or changed. Exit 0 when identical, 1 when not.
    #[command(after_help = EXIT_STATUSES)]
    Diff(DiffArgs),
    /// Print a database's logical fingerprint.
    ///
    /// A sha256 of its schema and of every table's rows in key order with their types, whatever
    /// the page layout (in the spirit of SQLite's dbhash).
    #[command(after_help = EXIT_STATUSES)]
    Fingerprint(FingerprintArgs),
    /// Compare a migrations directory with what a database has applied.
    ///
    /// By the rules of the tool that runs them: applied, pending, missing from the directory,
    /// edited since, failed. Exit 1 when the database lacks a migration the directory has, or
    /// one was edited or failed.
    #[command(after_help = EXIT_STATUSES)]
    Status(StatusArgs),
    /// Show the migration spec (the built-in LiveOne spec unless --spec is given).
    Spec {
        #[command(subcommand)]
        command: SpecCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Print the spec (as written, TOML; --format json gives it parsed).
    Show(SpecShowArgs),
}

#[derive(Debug, Args)]
pub struct SpecShowArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// The database a command works on, and how to reach it when it is a server.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// The database: a path, a file: URL, or a libsql://, https:// or http:// URL.
    #[arg(value_name = "DB")]
    pub db: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// How to reach a libSQL server: where its token is, and how long to wait for it (one set of
/// flags for every database a command names).
#[derive(Debug, Args, Clone)]
pub struct ConnectArgs {
    /// The environment variable holding the auth token for a remote database.
    #[arg(long, value_name = "NAME", default_value = "TURSO_AUTH_TOKEN")]
    pub auth_token_env: String,
    #[command(flatten)]
    pub timeouts: TimeoutArgs,
}

/// `--yes`: writing to a database that is not a rehearsal copy needs it (or YES typed).
#[derive(Debug, Args, Clone, Copy)]
pub struct Confirm {
    /// Do not ask for confirmation before writing to a database that is not a rehearsal copy
    /// (made by `extract --out`).
    #[arg(long)]
    pub yes: bool,
}

/// `--log-file`: a record of what a writing command did.
#[derive(Debug, Args, Clone)]
pub struct LogArgs {
    /// Append timestamped lines to this file (never the database or another SQLite file).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

/// How long a call to a libSQL server may take before preflight gives up with an error.
#[derive(Debug, Args, Clone, Copy)]
pub struct TimeoutArgs {
    /// Seconds to connect to a server and get its first answer.
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub connect_timeout: u64,
    /// Seconds to wait for any one answer of a server (one statement or one batch).
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
}

impl TimeoutArgs {
    pub fn timeouts(&self) -> crate::db::target::Timeouts {
        crate::db::target::Timeouts {
            connect: std::time::Duration::from_secs(self.connect_timeout),
            read: std::time::Duration::from_secs(self.timeout),
        }
    }
}

/// How production executes a SQL script: a runner profile, and its settings changed one by one.
#[derive(Debug, Clone, Args)]
pub struct RunnerArgs {
    /// How production runs the script: atomic (one transaction, keys on, the first error keeps
    /// nothing), sqlite3 (`sqlite3 DB < file`: keys off, each statement commits, errors do not
    /// stop it), turso-shell (`turso db shell DB < file`: keys on, each statement commits, the
    /// first error stops it), or a migration tool (liveone, drizzle, drizzle-better-sqlite3,
    /// sqlx, golang-migrate, dbmate, goose, prisma, refinery): the file run as that tool runs one
    /// migration file.
    #[arg(long, value_name = "PROFILE", default_value = "atomic", requires = "sql",
          value_parser = clap::builder::PossibleValuesParser::new(crate::migrate::runner::PROFILES))]
    pub runner: String,
    /// Foreign keys when the script starts, instead of the profile's.
    #[arg(long, value_name = "ON|OFF", requires = "sql")]
    pub foreign_keys: Option<crate::migrate::runner::ForeignKeys>,
    /// Transactions, instead of the profile's: one around the script, one per statement, or
    /// as the script writes them.
    #[arg(long, value_name = "HOW", requires = "sql")]
    pub transactions: Option<crate::migrate::runner::Transactions>,
    /// After a failing statement, instead of the profile's: stop, or go on.
    #[arg(long, value_name = "WHAT", requires = "sql")]
    pub on_error: Option<crate::migrate::runner::OnError>,
}

impl RunnerArgs {
    pub fn runner(&self) -> crate::migrate::runner::Runner {
        crate::migrate::runner::Runner::profile(&self.runner)
            .unwrap_or_default()
            .with(self.foreign_keys, self.transactions, self.on_error)
    }
}

/// `--now`: RFC 3339, or Unix seconds; Unix milliseconds.
fn parse_now(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<i64>() {
        return secs
            .checked_mul(1000)
            .ok_or_else(|| format!("{s} is too far from 1970"));
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| format!("{s}: give RFC 3339 (2025-08-30T10:00:00Z) or Unix seconds"))
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// A migration spec (TOML) replacing the built-in LiveOne spec.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Only {
    /// the spec's migrations of raw readings (LiveOne: readings_to_points)
    Raw,
    /// the spec's migrations of 5-minute rows (LiveOne: agg5m_to_points)
    Agg5m,
}

/// Flags of the migration engine, shared by `migrate` and `rehearse`.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// Run only this migration of the spec (repeatable; LiveOne's: readings_to_points,
    /// agg5m_to_points). Without it, every migration.
    #[arg(long = "migration", id = "migration", value_name = "NAME")]
    pub migrations: Vec<String>,
    /// The spec's migrations of one kind only: an older spelling of --migration.
    #[arg(long, value_enum, value_name = "KIND")]
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
    pub target: TargetArgs,
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
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub confirm: Confirm,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The migration to undo (LiveOne's: readings_to_points, agg5m_to_points); repeatable.
    /// Without it, every migration in the journal, newest first.
    #[arg(long = "migration", value_name = "NAME")]
    pub migrations: Vec<String>,
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub confirm: Confirm,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct FixtureArgs {
    /// Size relative to production (1.0 ≈ 253k readings, 74k 5-minute rows).
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub scale: f64,
    /// Seed of the random generator.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub seed: u64,
    /// The database file to write; gzip-compressed when it ends in .gz. Never overwritten.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The database to back up: a local SQLite file, or a libsql://, https:// or http:// URL.
    #[arg(value_name = "DB")]
    pub source: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The directory the backup and its manifest are written to (created if it does not exist;
    /// an existing file is never overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Fail when the compressed backup is smaller than this (e.g. 6MB, 500KiB, 1G).
    #[arg(long, value_name = "SIZE", value_parser = crate::fsutil::parse_size)]
    pub min_size: Option<u64>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A gzipped database backup (.db.gz), or a plain database file.
    #[arg(value_name = "BACKUP")]
    pub backup: PathBuf,
    /// Keep the extracted database at this path (never overwritten), marked as a rehearsal copy
    /// that `migrate`, `rollback` and `apply` may write without confirmation. Without it the
    /// extracted copy is removed when preflight exits.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct SimulateLiveArgs {
    /// A LiveOne-shaped SQLite database (a rehearsal copy, never production).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// The system whose series is continued (a Selectronic or Fronius system).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub system: i64,
    /// Milliseconds between writes.
    #[arg(long, default_value_t = 100, value_name = "MS")]
    pub interval_ms: u64,
    /// How many readings to write.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub count: u64,
    #[command(flatten)]
    pub confirm: Confirm,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// What standard output gets, and the report file: the same flags on every command.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// Also write the whole report to this file, in the format --report-format names or else its
    /// extension says (.json, .md, .xml for JUnit, .html; anything else gets the table).
    /// Standard output is not affected.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The format of --report FILE, whatever its extension.
    #[arg(long, value_enum, value_name = "FORMAT", requires = "report")]
    pub report_format: Option<crate::report::Format>,
    /// The format on standard output.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::report::Format,
    /// List every check on the terminal (by default only failures and warnings are listed, with
    /// the stages and a summary).
    #[arg(long)]
    pub all: bool,
}

/// How the verification suite runs.
#[derive(Debug, Args, Clone, Copy)]
pub struct SuiteArgs {
    /// How many random rows the spot check shows (at most 100000).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub sample: u64,
    /// Seed of the spot check's random choice (same seed, same rows).
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Check integrity with PRAGMA quick_check (pages, b-trees and records, but not every index
    /// entry against its row): much faster on a large database than the full integrity_check.
    /// `rehearse` checks the migrated copy this way by default: the copy passed the full
    /// integrity_check at extract and only SQLite has written it since.
    #[arg(long)]
    pub quick_integrity: bool,
    /// `rehearse`: check the migrated copy with the full integrity_check rather than quick_check
    /// (`verify` always runs the full check unless --quick-integrity).
    #[arg(long, conflicts_with = "quick_integrity")]
    pub full_integrity: bool,
    /// Leave the integrity check out (the report lists `schema.integrity` as skipped): for a
    /// database checked already, or to time the suite apart from SQLite's own check.
    #[arg(long, conflicts_with_all = ["quick_integrity", "full_integrity"])]
    pub skip_integrity: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Run the checks any database gets (integrity, foreign keys, --migrations, --checks) even
    /// where the built-in LiveOne spec matches the schema.
    #[arg(long, conflicts_with_all = ["spec", "baseline"])]
    pub no_spec: bool,
    /// Invariants that must hold (TOML): named queries that must return no rows, exactly the
    /// rows given, or one number within bounds.
    #[arg(long, value_name = "CHECKS.toml")]
    pub checks: Option<PathBuf>,
    #[command(flatten)]
    pub migrations: MigrationsArgs,
    /// A backup of the database before the migration: enables the collateral checks.
    #[arg(long, value_name = "BACKUP.db.gz")]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub suite: SuiteArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// A project's migrations directory and the tool that runs it.
#[derive(Debug, Args, Clone)]
pub struct MigrationsArgs {
    /// The migrations directory (e.g. migrations/, drizzle/, db/migrations/, prisma/migrations/).
    #[arg(long, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// The tool that runs the directory, when detection from its files and the tracking table
    /// cannot tell.
    #[arg(long, value_enum, value_name = "TOOL", requires = "migrations")]
    pub tool: Option<crate::migrations::Tool>,
    /// The tracking table, when it is not the tool's default name.
    #[arg(long, value_name = "TABLE", requires = "migrations")]
    pub migrations_table: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The migrations directory (e.g. migrations/, drizzle/, db/migrations/, prisma/migrations/).
    #[arg(long, value_name = "DIR")]
    pub migrations: PathBuf,
    /// The tool that runs the directory, when detection from its files and the tracking table
    /// cannot tell.
    #[arg(long, value_enum, value_name = "TOOL")]
    pub tool: Option<crate::migrations::Tool>,
    /// The tracking table, when it is not the tool's default name.
    #[arg(long, value_name = "TABLE")]
    pub migrations_table: Option<String>,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("sql_or_migrations").args(["sql", "migrations"]))]
pub struct RehearseArgs {
    /// A gzipped backup; without it, the bundled LiveOne fixture.
    pub backup: Option<PathBuf>,
    /// Rehearse every migration of this directory that the backup has not applied, in order,
    /// each as its tool runs it (e.g. migrations/, drizzle/, db/migrations/, prisma/migrations/).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["spec", "only", "migration", "systems", "allow_missing_points"])]
    pub migrations: Option<PathBuf>,
    /// The tool that runs the directory, when detection from its files and the tracking table
    /// cannot tell.
    #[arg(long, value_enum, value_name = "TOOL", requires = "migrations")]
    pub tool: Option<crate::migrations::Tool>,
    /// The tracking table, when it is not the tool's default name.
    #[arg(long, value_name = "TABLE", requires = "migrations")]
    pub migrations_table: Option<String>,
    /// Expected query results and the declared scope of each migration: DIR/<migration>.toml
    /// (the migration's file name without .sql, e.g. 0003_posts_published_at.toml).
    #[arg(long, value_name = "DIR", requires = "migrations")]
    pub expect_dir: Option<PathBuf>,
    /// Rehearse a SQL-script migration instead of the spec: this forward script runs on the
    /// copy as --runner says production runs it, then again (it must change nothing).
    #[arg(long, value_name = "FORWARD.sql", conflicts_with_all = ["spec", "only", "migration", "migrations", "systems", "allow_missing_points"])]
    pub sql: Option<PathBuf>,
    /// The rollback script: after it, schema and every table must be exactly as before the
    /// forward script, and the forward script must run again.
    #[arg(long, value_name = "ROLLBACK.sql", requires = "sql")]
    pub rollback: Option<PathBuf>,
    /// Expected query results and the declared scope of the change (TOML).
    #[arg(long, value_name = "EXPECT.toml", requires = "sql")]
    pub expect: Option<PathBuf>,
    #[command(flatten)]
    pub runner: RunnerArgs,
    /// The one "now" every stage of a SQL rehearsal sees (unixepoch(), CURRENT_TIMESTAMP, …):
    /// RFC 3339 or Unix seconds. Default: the backup's time.
    #[arg(long, value_name = "TIME", requires = "sql_or_migrations", value_parser = parse_now)]
    pub now: Option<i64>,
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub suite: SuiteArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The SQL script: run as --runner says (by default in one transaction; if any statement
    /// fails, nothing of it stays).
    #[arg(long, value_name = "FILE")]
    pub sql: PathBuf,
    #[command(flatten)]
    pub runner: RunnerArgs,
    #[command(flatten)]
    pub confirm: Confirm,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The database before (a path, a URL, or a gzipped backup).
    #[arg(value_name = "BEFORE")]
    pub before: String,
    /// The database after (a path, a URL, or a gzipped backup).
    #[arg(value_name = "AFTER")]
    pub after: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Examples shown per table.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub examples: usize,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct FingerprintArgs {
    /// The database (a path, a URL, or a gzipped backup).
    #[arg(value_name = "DB")]
    pub db: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

impl ConnectArgs {
    /// A target named on the command line, with a remote one's token taken from the
    /// environment; a malformed URL is an error (never taken for a file name).
    pub fn target(&self, db: &str) -> Result<crate::db::Target, crate::db::DbError> {
        crate::db::target::register_secret_from_env(&self.auth_token_env);
        Ok(crate::db::Target::parse(db)?
            .with_token_from_env(&self.auth_token_env)
            .with_timeouts(self.timeouts.timeouts()))
    }
}

impl TargetArgs {
    /// The target (see [`ConnectArgs::target`]).
    pub fn target(&self) -> Result<crate::db::Target, crate::db::DbError> {
        self.connect.target(&self.db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
