//! preflight: rehearse and verify data migrations of SQLite and libSQL (Turso) databases.

pub mod backup;
pub mod cli;
mod commands;
pub mod db;
pub mod error;
pub mod fixture;
pub mod fsutil;
pub mod guard;
pub mod migrate;
pub mod spec;
pub mod sql;
pub mod table;

use std::io::Write;

use cli::{Cli, Command};
pub use error::{Error, Outcome};

/// Run one command line; the binary only maps the result to an exit code.
pub fn run(cli: Cli) -> Result<Outcome, Error> {
    match cli.command {
        Command::Fixture(a) => commands::fixture(a),
        Command::Backup(a) => commands::backup(a),
        Command::Extract(a) => commands::extract(a),
        Command::SimulateLive(a) => commands::simulate_live(a),
        Command::Migrate(a) => commands::migrate(a),
        Command::Rollback(a) => commands::rollback(a),
        Command::Spec {
            command: cli::SpecCommand::Show(a),
        } => commands::spec_show(a),
    }
}

/// Write to standard output; a closed pipe ends the command quietly.
pub fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(Error::Output)
}

/// A warning on standard error.
pub fn warn(text: &str) {
    eprintln!("preflight: warning: {text}");
}
