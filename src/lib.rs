//! preflight: rehearse and verify data migrations of SQLite and libSQL (Turso) databases.

pub mod backup;
pub mod cli;
pub mod error;
pub mod fixture;
pub mod fsutil;
pub mod guard;
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
        Command::SimulateLive(a) => {
            let n = fixture::simulate::run(
                &a.db,
                a.system,
                std::time::Duration::from_millis(a.interval_ms),
                a.count,
            )?;
            print(&format!(
                "wrote {n} readings with their point rows to system {}\n",
                a.system
            ))?;
            Ok(Outcome::Pass)
        }
    }
}

/// Write to standard output; a closed pipe ends the command quietly.
pub fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(Error::Output)
}

mod commands {
    use std::path::Path;

    use super::*;
    use crate::table::{count, pairs, render};

    pub fn fixture(a: cli::FixtureArgs) -> Result<Outcome, Error> {
        let opts = fixture::FixtureOptions {
            scale: a.scale,
            seed: a.seed,
        };
        let bytes = fixture::generate(&a.out, opts)?;
        print(&format!(
            "wrote {} ({}), scale {}, seed {}\n",
            a.out.display(),
            fsutil::human(bytes),
            a.scale,
            a.seed
        ))?;
        Ok(Outcome::Pass)
    }

    fn counts_table(tables: &std::collections::BTreeMap<String, i64>) -> String {
        let rows: Vec<Vec<String>> = tables
            .iter()
            .map(|(t, n)| vec![t.clone(), count(*n)])
            .collect();
        render(&["table", "rows"], &rows)
    }

    pub fn backup(a: cli::BackupArgs) -> Result<Outcome, Error> {
        let s = backup::create(Path::new(&a.source), &a.out, a.min_size)?;
        let m = &s.manifest;
        let head = pairs(&[
            ("backup", s.path.display().to_string()),
            ("manifest", s.manifest_path.display().to_string()),
            ("source", m.source.clone()),
            ("taken (UTC)", m.created_utc.clone()),
            ("SQLite", m.sqlite_version.clone()),
            ("database", fsutil::human(m.uncompressed_bytes)),
            ("compressed", fsutil::human(m.compressed_bytes)),
            ("sha256", m.sha256.clone()),
        ]);
        print(&format!("{head}\n{}\n", counts_table(&m.tables)))?;
        Ok(Outcome::Pass)
    }

    pub fn extract(a: cli::ExtractArgs) -> Result<Outcome, Error> {
        let e = backup::extract(&a.backup, a.out.as_deref(), None)?;
        let place = match &e.db {
            backup::extract::ExtractedDb::Kept(p) => p.display().to_string(),
            backup::extract::ExtractedDb::Temp(p) => format!("{} (removed on exit)", p.display()),
        };
        let head = pairs(&[
            ("backup", e.backup.display().to_string()),
            ("extracted", place),
            (
                "size",
                format!(
                    "{} ({} bytes) from {} compressed",
                    fsutil::human(e.uncompressed_bytes),
                    e.uncompressed_bytes,
                    fsutil::human(e.compressed_bytes)
                ),
            ),
            ("sha256", e.sha256.clone()),
            (
                "manifest",
                match &e.manifest {
                    Some(p) => format!("{} (sha256, size and row counts match)", p.display()),
                    None => "none beside the backup".to_string(),
                },
            ),
            ("integrity", "ok".to_string()),
        ]);
        print(&format!("{head}\n{}\n", counts_table(&e.tables)))?;
        Ok(Outcome::Pass)
    }
}
