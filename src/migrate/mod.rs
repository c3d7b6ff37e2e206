//! The migration engine: plan (spec + schema → resolved points), sql (statement builders),
//! engine (batches, resume, dry run), journal (progress and exact undo).

pub mod engine;
pub mod expect;
pub mod journal;
pub mod runner;
pub mod script;
pub mod sql;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use engine::{Event, MigrateError, Options, SystemResult};

/// `--log-file`: timestamped lines appended, like the seed's logs.
pub struct Logger {
    file: Option<(std::fs::File, PathBuf)>,
}

impl Logger {
    pub fn none() -> Logger {
        Logger { file: None }
    }

    pub fn open(path: Option<&Path>) -> Result<Logger, crate::fsutil::FsError> {
        let Some(path) = path else {
            return Ok(Logger::none());
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| crate::fsutil::FsError::io(path, e))?;
        Ok(Logger {
            file: Some((file, path.to_path_buf())),
        })
    }

    pub fn line(&mut self, text: &str) {
        if let Some((f, _)) = &mut self.file {
            let at = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            // a log that cannot be written must not stop a migration half-way
            let _ = writeln!(f, "{at} {text}");
        }
    }
}

/// Describe an engine event as a log line.
pub fn describe(e: &Event) -> Option<String> {
    match e {
        Event::Start { total_source_rows } => {
            Some(format!("{total_source_rows} source rows to migrate"))
        }
        Event::Batch {
            migration,
            system_id,
            lo,
            hi,
            source_rows,
            carried,
            inserted,
            seconds,
        } => Some(format!(
            "{migration} system {system_id}: batch ({lo}, {hi}]: {source_rows} source rows, {carried} carried, {} already present, {inserted} inserted, {seconds:.2} s",
            carried - inserted
        )),
        Event::SystemDone(r) => Some(format!(
            "{} system {} ({}) done: {} source rows, {} carried, {} already present, {} inserted in {} batches, {:.2} s",
            r.migration,
            r.system_id,
            r.vendor_type,
            r.source_rows,
            r.carried,
            r.already_present,
            r.inserted,
            r.batches,
            r.seconds
        )),
    }
}
