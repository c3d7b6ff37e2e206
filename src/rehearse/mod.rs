//! `rehearse`: orchestration only. Extract into a temporary database → fingerprint every table →
//! migrate → verify → migrate again (nothing may change) → undo (every table must be as it was) →
//! report, with the size before and after and the time each stage took.

use std::path::PathBuf;
use std::time::Instant;

use crate::backup::{self, Extracted};
use crate::checks;
use crate::db::{self, Access, Db, Target};
use crate::error::Error;
use crate::fingerprint::{self, Fingerprint, diff};
use crate::migrate::{self, journal};
use crate::report::{Report, Stage, Status};
use crate::spec::LoadedSpec;
use crate::spec::validate::{self, Scope};
use crate::table::count;
use crate::verify::{file_identity, run_checks, spec_identity};

pub mod script;

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
fn fingerprint_changes(before: &Fingerprint, after: &Fingerprint) -> (u64, Vec<String>) {
    let (schema, tables) = before.differences(after);
    let mut ex: Vec<String> = schema
        .then(|| "the schema changed".to_string())
        .into_iter()
        .collect();
    ex.extend(tables.iter().map(|t| {
        match (before.tables.contains_key(t), after.tables.contains_key(t)) {
            (false, _) => format!("table {t} appeared"),
            (_, false) => format!("table {t} is gone"),
            _ => format!("table {t} changed"),
        }
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
    let started = Instant::now();
    let workdir = workdir()?;
    let (backup_path, shown) = backup_source(opts.backup.as_deref(), workdir.path())?;
    let mut report = Report::new(
        "rehearse",
        file_identity(&shown, &backup_path)?,
        spec_identity(&opts.spec),
        Some((opts.suite.sample, opts.suite.seed)),
    );
    let mut t = Timer {
        report: &mut report,
    };

    on_stage("extract");
    let (extracted, pristine) = extract_stage(&mut t, &backup_path, workdir.path())?;
    let path = extracted.db.path().to_path_buf();
    let size_before = extracted.uncompressed_bytes;
    let work: Box<dyn Db> = db::open(&Target::Local(path.clone()), Access::Rehearsal)?;
    let base: Box<dyn Db> = db::open(&Target::Local(pristine.clone()), Access::ReadOnly)?;

    on_stage("fingerprint");
    let before = t.stage("fingerprint", |_| {
        let fp = fingerprint::fingerprint(base.as_ref())?;
        let rows: u64 = fp.tables.values().map(|h| h.rows).sum();
        let detail = format!("{} tables, {} rows", fp.tables.len(), count(rows as i64));
        Ok((fp, Status::Pass, detail))
    })?;

    let plan = validate::plan(&opts.spec, work.as_ref(), &opts.scope)?;
    for w in &plan.warnings {
        crate::warn(w);
    }
    let engine_opts = migrate::Options {
        batch_size: opts.batch_size,
        from_start: false,
    };
    on_stage("migrate");
    t.stage("migrate", |_| {
        let r = migrate::engine::run(work.as_ref(), &plan, &engine_opts, &mut |_| {})?;
        let inserted: u64 = r.iter().map(|x| x.inserted).sum();
        let present: u64 = r.iter().map(|x| x.already_present).sum();
        let batches: u64 = r.iter().map(|x| x.batches).sum();
        Ok((
            (),
            Status::Pass,
            format!(
                "{} rows inserted, {} already present, {batches} batches",
                count(inserted as i64),
                count(present as i64)
            ),
        ))
    })?;
    let size_after = crate::fsutil::size(&path)?;

    on_stage("verify");
    t.stage("verify", |report| {
        let ro = db::open(&Target::Local(path.clone()), Access::ReadOnly)?;
        run_checks(
            ro.as_ref(),
            &opts.spec,
            &opts.scope,
            &opts.suite,
            Some((&before, Target::Local(pristine.clone()))),
            report,
        )?;
        let failed = report
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        Ok((
            (),
            if failed == 0 {
                Status::Pass
            } else {
                Status::Fail
            },
            format!("{} checks, {failed} failed", report.checks.len()),
        ))
    })?;

    on_stage("migrate again");
    let migrated = fingerprint::fingerprint(work.as_ref())?;
    t.stage("migrate again", |report| {
        let again = migrate::Options {
            batch_size: opts.batch_size,
            from_start: true,
        };
        let r = migrate::engine::run(work.as_ref(), &plan, &again, &mut |_| {})?;
        let inserted: u64 = r.iter().map(|x| x.inserted).sum();
        let after = fingerprint::fingerprint(work.as_ref())?;
        let (changed, mut ex) = fingerprint_changes(&migrated, &after);
        if inserted > 0 {
            ex.insert(
                0,
                format!("{} rows inserted by the second run", count(inserted as i64)),
            );
        }
        let violations = inserted + changed;
        report.checks.push(
            checks::result("rehearse.rerun", "database")
                .judged(
                    violations,
                    "0 rows inserted, every table unchanged",
                    format!(
                        "{} inserted, {} changed",
                        count(inserted as i64),
                        count(changed as i64)
                    ),
                )
                .with_examples(ex),
        );
        Ok((
            (),
            if violations == 0 {
                Status::Pass
            } else {
                Status::Fail
            },
            format!(
                "scanned every source row again: {} inserted",
                count(inserted as i64)
            ),
        ))
    })?;

    on_stage("undo");
    t.stage("undo", |report| {
        let mut deleted = 0;
        for mp in plan.migrations.iter().rev() {
            match journal::rollback(work.as_ref(), &mp.migration.name, &mut |_| {}) {
                Ok(s) => deleted += s.deleted,
                Err(journal::JournalError::NothingToUndo { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let after = fingerprint::fingerprint(work.as_ref())?;
        let (changed, ex) =
            diff::diff_databases(base.as_ref(), work.as_ref(), &before, &after, 5)?.summary(5);
        report.checks.push(
            checks::result("rehearse.undo", "database")
                .judged(
                    changed,
                    "schema and every table as before the migration",
                    if changed == 0 {
                        "identical".to_string()
                    } else {
                        format!("{} rows differ", count(changed as i64))
                    },
                )
                .with_examples(ex),
        );
        Ok((
            (),
            if changed == 0 {
                Status::Pass
            } else {
                Status::Fail
            },
            format!(
                "{} rows deleted; {}",
                count(deleted as i64),
                if changed == 0 {
                    "every table as before"
                } else {
                    "NOT as before"
                }
            ),
        ))
    })?;
    drop(work);
    drop(base);
    drop(extracted);
    report.sizes = Some((size_before, size_after));
    report
        .timings
        .insert("total".into(), started.elapsed().as_secs_f64());
    report.finish();
    Ok(report)
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
                    "the schema changed".to_string(),
                    "table gone is gone".into(),
                    "table moved changed".into(),
                    "table new appeared".into(),
                ]
            )
        );
    }
}
