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
    /// Database to back up (a local SQLite file).
    pub source: String,
    /// Directory the backup and its manifest are written to.
    #[arg(long)]
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
