//! `rehearse`: orchestration only. Extract into a temporary database → fingerprint every table →
//! migrate → verify → migrate again (nothing may change) → undo (every table must be as it was) →
//! report, with the size before and after and the time each stage took. The stages are
//! `pipeline`'s, over three kinds of migration: the spec's (`spec`), SQL scripts (`script`) and
//! the pending migrations of a project's directory (`directory`).

use std::path::PathBuf;

use crate::backup::{self, Extracted};
use crate::checks;
use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::report::{Example, Report, Stage, Status, TableChange};
use crate::spec::LoadedSpec;
use crate::spec::validate::Scope;
use std::time::Instant;

pub mod directory;
mod judge;
pub mod pipeline;
pub mod script;
mod spec;

pub struct Options {
    /// The backup to rehearse on; None: the bundled fixture.
    pub backup: Option<PathBuf>,
    pub spec: LoadedSpec,
    pub scope: Scope,
    pub batch_size: u64,
    pub suite: checks::SuiteOptions,
}

/// How the bundled fixture is named in reports.
pub const BUNDLED_NAME: &str = "(bundled) fixtures/liveone-small.db.gz";

/// Events for a progress display: a stage starts.
pub type OnStage<'a> = &'a mut dyn FnMut(&str);

pub(crate) struct Timer<'r> {
    pub report: &'r mut Report,
}

impl Timer<'_> {
    pub fn stage<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Report) -> Result<(T, Status, String), Error>,
    ) -> Result<T, Error> {
        let t = Instant::now();
        let (v, status, detail) = f(self.report)?;
        self.report
            .timings
            .insert(format!("stage:{name}"), t.elapsed().as_secs_f64());
        self.report.stages.push(Stage {
            name: name.into(),
            status,
            detail,
        });
        Ok(v)
    }
}

/// Tables (and schema) whose fingerprint moved from `before` to `after`, as a count and examples.
fn fingerprint_changes(before: &Fingerprint, after: &Fingerprint) -> (u64, Vec<Example>) {
    let (schema, tables) = before.differences(after);
    let mut ex: Vec<Example> = schema
        .then_some(Example::SchemaChanged)
        .into_iter()
        .collect();
    ex.extend(tables.iter().map(|t| Example::TableChanged {
        table: t.clone(),
        change: match (before.tables.contains_key(t), after.tables.contains_key(t)) {
            (false, _) => TableChange::Appeared,
            (_, false) => TableChange::Gone,
            _ => TableChange::Changed,
        },
    }));
    let n = ex.len() as u64;
    ex.truncate(5);
    (n, ex)
}

/// The backup to rehearse on and how reports name it: the given file, or the bundled fixture
/// written into `dir`.
pub(crate) fn backup_source(
    backup: Option<&std::path::Path>,
    dir: &std::path::Path,
) -> Result<(PathBuf, String), Error> {
    Ok(match backup {
        Some(p) => (p.to_path_buf(), p.display().to_string()),
        None => {
            let p = dir.join("liveone-small.db.gz");
            std::fs::write(&p, crate::fixture::BUNDLED_FIXTURE)
                .map_err(|e| crate::fsutil::FsError::io(&p, e))?;
            (p, BUNDLED_NAME.to_string())
        }
    })
}

/// Extract into a temporary database, and keep an untouched copy: the baseline for collateral
/// checks and row-level differences.
pub(crate) fn extract_stage(
    t: &mut Timer,
    backup_path: &std::path::Path,
    dir: &std::path::Path,
) -> Result<(Extracted, PathBuf), Error> {
    t.stage("extract", |_| {
        let e = backup::extract(backup_path, None, Some(dir))?;
        let pristine = dir.join("before.db");
        std::fs::copy(e.db.path(), &pristine)
            .map_err(|err| crate::fsutil::FsError::io(&pristine, err))?;
        let detail = format!(
            "{} into a temporary database, integrity ok{}",
            crate::fsutil::human(e.uncompressed_bytes),
            if e.manifest.is_some() {
                ", manifest matched"
            } else {
                ""
            }
        );
        Ok(((e, pristine), Status::Pass, detail))
    })
}

/// The rehearsal's working directory, inside this run's temporary directory (removed however
/// the run ends; see `interrupt`).
pub(crate) fn workdir() -> Result<tempfile::TempDir, Error> {
    let run = crate::interrupt::run_dir()?;
    Ok(tempfile::Builder::new()
        .prefix("rehearse-")
        .tempdir_in(&run)
        .map_err(|e| crate::fsutil::FsError::io(&run, e))?)
}

pub fn rehearse(opts: &Options, on_stage: OnStage) -> Result<Report, Error> {
    spec::rehearse(opts, on_stage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::TableHash;

    fn fp(schema: &str, tables: &[(&str, &str)]) -> Fingerprint {
        Fingerprint {
            schema: schema.into(),
            tables: tables
                .iter()
                .map(|(n, h)| {
                    (
                        n.to_string(),
                        TableHash {
                            rows: 1,
                            max_rowid: Some(1),
                            sha256: h.to_string(),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn fingerprint_changes_name_each_table_and_the_schema() {
        let a = fp("s1", &[("gone", "x"), ("kept", "y"), ("moved", "z")]);
        assert_eq!(fingerprint_changes(&a, &a), (0, vec![]));
        let b = fp("s2", &[("kept", "y"), ("moved", "w"), ("new", "v")]);
        assert_eq!(
            fingerprint_changes(&a, &b),
            (
                4,
                vec![
                    Example::SchemaChanged,
                    Example::TableChanged {
                        table: "gone".into(),
                        change: TableChange::Gone
                    },
                    Example::TableChanged {
                        table: "moved".into(),
                        change: TableChange::Changed
                    },
                    Example::TableChanged {
                        table: "new".into(),
                        change: TableChange::Appeared
                    },
                ]
            )
        );
    }
}
