//! preflight: rehearse and verify data migrations of SQLite and libSQL (Turso) databases.

pub mod backup;
pub mod checks;
pub mod cli;
mod commands;
pub mod db;
pub mod error;
pub mod fingerprint;
pub mod fixture;
pub mod fsutil;
pub mod guard;
pub mod hazards;
pub mod interrupt;
pub mod migrate;
pub mod migrations;
pub mod parallel;
pub mod rehearse;
pub mod report;
pub mod spec;
pub mod sql;
pub mod table;
pub mod verify;
pub mod views;

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
        Command::Verify(a) => commands::verify(a),
        Command::Rehearse(a) => commands::rehearse(a),
        Command::Apply(a) => commands::apply(a),
        Command::Diff(a) => commands::diff(a),
        Command::Fingerprint(a) => commands::fingerprint(a),
        Command::Status(a) => commands::status(a),
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
