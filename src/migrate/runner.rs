//! How production executes a SQL script: a runner profile is a name and three settings. A
//! rehearsal reproduces them, because the runner decides the result (a `PRAGMA foreign_keys=OFF`
//! takes effect under one runner and is silently ignored under another; an error stops one runner
//! and not another).
//!
//! The profiles of single-script runners (`atomic`, `sqlite3`, `turso-shell`) and of the
//! migration tools (drizzle, dbmate, sqlx, …) are all expressed with these settings.

use serde::Serialize;

/// Whether foreign keys are enforced when the script starts (a script may change it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ForeignKeys {
    On,
    Off,
}

/// How statements are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Transactions {
    /// One transaction around the whole script (its own BEGIN/COMMIT folded into it).
    Script,
    /// Each statement on its own (autocommit), the script's BEGIN/COMMIT ignored.
    Statement,
    /// As the script says: autocommit, except between its own BEGIN and COMMIT/ROLLBACK.
    AsWritten,
}

/// What happens after a statement fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Stop at the failing statement (rolling back what the open transaction holds).
    Stop,
    /// Report the error and go on with the next statement.
    Continue,
}

/// A runner: how one script is executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Runner {
    /// The profile's name as `--runner` takes it (or `custom`).
    pub name: String,
    pub foreign_keys: ForeignKeys,
    pub transactions: Transactions,
    pub on_error: OnError,
}
