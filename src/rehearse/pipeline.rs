//! The one rehearsal pipeline. Whatever is rehearsed (the spec's engine migration, a pair of SQL
//! scripts, each pending migration of a project's directory) is a [`Migration`]: it runs forward
//! on the work copy, undoes where it can, and names itself. The harness ([`Rehearsal`]) owns the
//! copy, the report and the clock of the stages; the stages are the named functions below, run
//! in this order by [`run`]:
//!
//! ```text
//! extract → fingerprint → forward → checks → again → undo → redeploy
//!                          │          │        │       │        └ forward once more: the same state
//!                          │          │        │       └ exactly the state before forward
//!                          │          │        └ a second run changes nothing, or the runner skips it
//!                          │          └ the spec's suite, or expectations, scope and hazards
//!                          └ as production's runner runs it
//! ```
//!
//! In the spirit of diesel's `MigrationHarness` (diesel_migrations `src/migration_harness.rs`:
//! the harness runs and reverts, a migration only knows its own `run`/`revert` and name) and
//! refinery's `Migrate` (refinery_core `src/traits/mod.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::judge;
pub use super::judge::{
    Claim, check_queries, compare_dbs, failure_text, frozen_now, plural, push_claim, record_run,
    refused, table_changes,
};
use super::{OnStage, Timer, backup_source, extract_stage, fingerprint_changes, workdir};
use crate::backup::Extracted;
use crate::checks::{self, result};
use crate::db::{self, Access, Db, Target};
use crate::error::Error;
use crate::fingerprint::{self, Fingerprint, diff};
use crate::hazards::{self, Recorder, Touches};
use crate::migrate::expect::{Expect, When};
use crate::migrate::runner::{FrozenClock, LocalSession, Run, Transactions, Watch, Watches};
use crate::migrate::script::{Script, ScriptError};
use crate::report::{CheckResult, Report, SpecIdentity, Stage, Status};
use crate::spec::LoadedSpec;
use crate::spec::validate::Scope;
use crate::table::count;
use crate::verify::{file_identity, run_checks};

/// What one run of a migration did, as the stages judge it.
pub enum Outcome {
    /// The spec's engine: rows inserted, rows already there, batches.
    Engine {
        inserted: u64,
        present: u64,
        batches: u64,
    },
    /// The spec's undo from its journal: rows deleted.
    Journal { deleted: u64 },
    /// SQL run by production's runner, statement by statement.
    Script(Run),
    /// The runner refuses it before anything runs (file and line).
    Refused(ScriptError),
}

/// A second forward run, as production would make it.
pub enum Rerun {
    /// Nothing stops a second run (a script run by hand, the spec's engine): it runs again and
    /// must change nothing.
    Runs,
    /// The runner itself decides by its own records (a tool's tracking table): whether it skips
    /// the migration, and why.
    Decided {
        skipped: bool,
        why: crate::report::Fact,
    },
}

/// Something a rehearsal runs: forward, undo where it exists, and how reports name it.
pub trait Migration {
    /// How checks name it: the forward script, the migration's file.
    fn identity(&self) -> String;
    /// How checks name its undo (the rollback script, the down migration's file).
    fn undo_identity(&self) -> Option<String>;
    /// Run it forward on the work copy (`again`: a second run of the same migration).
    fn forward(&mut self, r: &Rehearsal, again: bool) -> Result<Outcome, Error>;
    /// Undo it on the work copy; None when it cannot be undone.
    fn undo(&mut self, r: &Rehearsal) -> Option<Result<Outcome, Error>>;
    /// Its forward SQL as the runner runs it, where it is SQL (what the hazard checks read).
    fn script(&self) -> Option<&Script> {
        None
    }
    /// What a second run would be.
    fn rerun(&self, r: &Rehearsal) -> Result<Rerun, Error> {
        let _ = r;
        Ok(Rerun::Runs)
    }
}

/// The checks that follow a forward run.
pub enum Checks<'p> {
    /// The spec's suite (`verify`) on the migrated copy.
    Suite {
        spec: &'p LoadedSpec,
        scope: &'p Scope,
        suite: &'p checks::SuiteOptions,
    },
    /// Expected query results and the declared scope of the change; `declared`: an EXPECT file
    /// was given (without one, changes are shown, not judged).
    Expect { expect: &'p Expect, declared: bool },
}

/// How one run of the pipeline names its stages and says why it skips one.
pub struct Plan<'p> {
    /// Appended to every stage's name (a migration's name when a directory has several).
    pub label: Option<String>,
    pub checks: Checks<'p>,
    /// What the forward run is called in skip reasons ("the forward script", "the migration").
    pub what: &'p str,
    /// What to give for expectations and a scope ("give --expect").
    pub hint: crate::report::ScopeHint,
    /// Why there is no undo stage when the migration has none; `with_check`: say so with a
    /// skipped check as well.
    pub no_undo: (String, Option<crate::report::Fixed>),
    /// After the undo, run forward once more.
    pub redeploy: bool,
    /// The runner's bookkeeping table (a tool's tracking table): left out of scopes, hazards
    /// and exact comparisons, as the runner's own rule proves its rows.
    pub bookkeeping: Option<String>,
}

/// How a rehearsal of one migration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Forward ran through (whatever the checks said).
    Forwarded,
    /// Forward failed: what production keeps of it is on the copy.
    Failed,
    /// The runner refused it: nothing ran.
    Refused,
}

/// A state of the work copy kept for later comparisons: a copy of the file, its fingerprint.
/// The copy is removed when this goes.
pub struct Kept {
    pub db: Box<dyn Db>,
    pub fingerprint: Fingerprint,
    // after the connection (fields drop in order)
    _file: tempfile::TempPath,
}

/// The harness: the work directory, the extracted copy and an untouched one, the report, and
/// the clock SQL sees.
pub struct Rehearsal<'a> {
    pub report: Report,
    on_stage: OnStage<'a>,
    started: Instant,
    // dropped last: the directory holds every copy
    pub dir: tempfile::TempDir,
    /// The backup file, and whether it is the bundled fixture.
    pub backup: PathBuf,
    pub bundled: bool,
    pub extracted: Option<Extracted>,
    /// The work copy.
    pub path: PathBuf,
    pub work: Box<dyn Db>,
    /// The untouched copy, and its fingerprint (after [`Rehearsal::fingerprint`]).
    pub base: Box<dyn Db>,
    pub before: Fingerprint,
    /// The state the next migration starts from, when it is not the untouched copy.
    reference: Option<Kept>,
    pub clock: Option<Arc<FrozenClock>>,
    /// Makes the `Watch` each runner session gets: a check that sees every statement as SQLite
    /// prepares it (the expectations' queries included, at line 0).
    pub watch: Option<Box<dyn Fn() -> Box<dyn Watch> + 'a>>,
    /// While a forward run is recorded: what each of its statements touches, as SQLite's
    /// authorizer reports it (every session then gets it beside `watch`).
    recording: Option<Recorder>,
    pub size_before: u64,
    pub size_after: Option<u64>,
    kept: usize,
}

/// The work copy at `path`, named after the user's `backup` in every message (never the
/// temporary copy's name, which means nothing to the user).
fn open_work(path: &std::path::Path, backup: &std::path::Path) -> Result<Box<dyn Db>, Error> {
    Ok(Box::new(db::local::LocalDb::open_as(
        path,
        Target::Local(backup.to_path_buf()),
        Access::Rehearsal,
    )?))
}

impl<'a> Rehearsal<'a> {
    /// The work directory, the backup (the bundled fixture when none is given), the report's
    /// header, and the `extract` stage.
    pub fn extract(
        backup: Option<&Path>,
        spec: SpecIdentity,
        spot: Option<(u64, u64)>,
        on_stage: OnStage<'a>,
    ) -> Result<Rehearsal<'a>, Error> {
        let started = Instant::now();
        let dir = workdir()?;
        let (backup_path, shown) = backup_source(backup, dir.path())?;
        let mut report = Report::new("rehearse", file_identity(&shown, &backup_path)?, spec, spot);
        on_stage("extract");
        let (extracted, pristine) = extract_stage(
            &mut Timer {
                report: &mut report,
            },
            &backup_path,
            dir.path(),
        )?;
        // (debug builds: the switch that proves a panic here leaves no copy of the data)
        crate::interrupt::debug_panic("rehearse-extracted");
        let path = extracted.db.path().to_path_buf();
        let work = open_work(&path, &backup_path)?;
        let base = db::open(&Target::Local(pristine), Access::ReadOnly)?;
        Ok(Rehearsal {
            report,
            on_stage,
            started,
            backup: backup_path,
            bundled: shown == super::BUNDLED_NAME,
            size_before: extracted.uncompressed_bytes,
            extracted: Some(extracted),
            path,
            work,
            base,
            before: Fingerprint {
                schema: String::new(),
                tables: Default::default(),
            },
            reference: None,
            clock: None,
            watch: None,
            recording: None,
            size_after: None,
            kept: 0,
            dir,
        })
    }

    /// Run one stage: tell the progress display, time it, record its status and words.
    pub fn stage<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Rehearsal<'a>) -> Result<(T, Status, String), Error>,
    ) -> Result<T, Error> {
        (self.on_stage)(name);
        let t = Instant::now();
        let (v, status, detail) = f(self)?;
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

    /// A stage that does not run, and why.
    pub fn skip(&mut self, name: &str, why: &str) {
        self.report.stages.push(Stage {
            name: name.into(),
            status: Status::Skip,
            detail: why.into(),
        });
    }

    /// The `fingerprint` stage: every table of the untouched copy.
    pub fn fingerprint(&mut self) -> Result<(), Error> {
        self.before = self.stage("fingerprint", |r| {
            let fp = fingerprint::fingerprint(r.base.as_ref())?;
            let rows: u64 = fp.tables.values().map(|h| h.rows).sum();
            let detail = format!("{} tables, {} rows", fp.tables.len(), count(rows as i64));
            Ok((fp, Status::Pass, detail))
        })?;
        Ok(())
    }

    /// A connection of the runner's own to the work copy, under the frozen clock.
    pub fn session(&self) -> Result<LocalSession, Error> {
        let mut session = LocalSession::open(&self.path, self.clock.clone(), true)?;
        let mut watches: Vec<Box<dyn Watch>> = Vec::new();
        if let Some(make) = &self.watch {
            watches.push(make());
        }
        if let Some(recorder) = &self.recording {
            watches.push(Box::new(recorder.clone()));
        }
        match watches.len() {
            0 => {}
            1 => session.watch(watches.remove(0)),
            _ => session.watch(Box::new(Watches(watches))),
        }
        Ok(session)
    }

    /// Everything committed to the work copy in its main file (a database in WAL mode keeps
    /// commits in its `-wal` file until a checkpoint), so that a copy of the file is the state.
    pub fn settle(&self) -> Result<(), Error> {
        self.work.query("PRAGMA wal_checkpoint(TRUNCATE)", &[])?;
        Ok(())
    }

    /// Keep the work copy's current state for later comparisons.
    pub fn keep(&mut self, name: &str) -> Result<Kept, Error> {
        self.settle()?;
        self.kept += 1;
        let copy = self.dir.path().join(format!("{}-{name}.db", self.kept));
        std::fs::copy(&self.path, &copy).map_err(|e| crate::fsutil::FsError::io(&copy, e))?;
        let file = tempfile::TempPath::try_from_path(&copy)
            .map_err(|e| crate::fsutil::FsError::io(&copy, e))?;
        Ok(Kept {
            db: db::open(&Target::Local(copy), Access::ReadOnly)?,
            fingerprint: fingerprint::fingerprint(self.work.as_ref())?,
            _file: file,
        })
    }

    /// A copy of the work copy's file for checks to read on other threads while the work copy
    /// goes on, when there are cores to share and room for it (None: check the work copy in turn).
    pub fn copy_to_check(&mut self) -> Result<Option<tempfile::TempPath>, Error> {
        if crate::parallel::cores() < 2 {
            return Ok(None);
        }
        self.settle()?;
        let size = crate::fsutil::size(&self.path)?;
        // the copy, and the room the undo and the checks' temporary b-trees need beside it
        match crate::fsutil::free_space(self.dir.path()) {
            Some(free) if free / 2 > size => {}
            _ => return Ok(None),
        }
        self.kept += 1;
        let copy = self.dir.path().join(format!("{}-checked.db", self.kept));
        std::fs::copy(&self.path, &copy).map_err(|e| crate::fsutil::FsError::io(&copy, e))?;
        Ok(Some(
            tempfile::TempPath::try_from_path(&copy)
                .map_err(|e| crate::fsutil::FsError::io(&copy, e))?,
        ))
    }

    /// From now on, the migration that follows starts from the work copy as it is.
    pub fn mark(&mut self) -> Result<(), Error> {
        self.reference = Some(self.keep("before")?);
        Ok(())
    }

    /// The state the current migration started from.
    pub fn reference(&self) -> (&dyn Db, &Fingerprint) {
        match &self.reference {
            Some(k) => (k.db.as_ref(), &k.fingerprint),
            None => (self.base.as_ref(), &self.before),
        }
    }

    /// Put the work copy back to the untouched one (what a runner that keeps nothing leaves).
    pub fn restore(&mut self) -> Result<(), Error> {
        let pristine = self.dir.path().join("before.db");
        // close the work copy's connection (a handle on the untouched copy stands in), replace
        // the file, reopen
        self.work = db::open(&Target::Local(pristine.clone()), Access::ReadOnly)?;
        std::fs::copy(&pristine, &self.path)
            .map_err(|e| crate::fsutil::FsError::io(&self.path, e))?;
        for ext in ["-wal", "-shm", "-journal"] {
            let side = PathBuf::from(format!("{}{ext}", self.path.display()));
            if side.exists() {
                std::fs::remove_file(&side).map_err(|e| crate::fsutil::FsError::io(&side, e))?;
            }
        }
        self.work = open_work(&self.path, &self.backup)?;
        self.reference = None;
        Ok(())
    }

    /// The report, with sizes and the total time.
    pub fn finish(mut self) -> Report {
        let size_before = self.size_before;
        self.report.sizes = self.size_after.map(|after| (size_before, after));
        self.report
            .timings
            .insert("total".into(), self.started.elapsed().as_secs_f64());
        self.report.finish();
        // the copies go with the directory
        drop(self.reference.take());
        drop(self.work);
        drop(self.base);
        drop(self.extracted.take());
        self.report
    }
}

/// Run one migration through the stages: forward, its checks, again, undo, redeploy.
pub fn run(r: &mut Rehearsal, m: &mut dyn Migration, plan: &Plan) -> Result<Ended, Error> {
    let fwd = forward(r, m, plan)?;
    match fwd.ended {
        Ended::Refused => {
            let why = format!("the runner refused {}", plan.what);
            skip_rest(r, plan, &why);
            return Ok(Ended::Refused);
        }
        Ended::Failed => {
            kept_after_failure(r, m, plan, &fwd.diff)?;
            let why = format!("{} failed", plan.what);
            skip_rest(r, plan, &why);
            return Ok(Ended::Failed);
        }
        Ended::Forwarded => {}
    }
    let after_forward = match &plan.checks {
        Checks::Suite { spec, scope, suite } => {
            r.size_after = Some(crate::fsutil::size(&r.path)?);
            if let Some(copy) = r.copy_to_check()? {
                return overlapped(r, m, plan, (spec, scope, suite), copy);
            }
            verify(r, plan, spec, scope, suite)?;
            None
        }
        Checks::Expect { expect, declared } => {
            expectations(r, plan, expect)?;
            self::scope(r, m, plan, expect, *declared, &fwd)?;
            r.size_after = Some(crate::fsutil::size(&r.path)?);
            // the state after forward, kept for the comparisons that follow
            Some(r.keep("after-forward")?)
        }
    };
    after_checks(r, m, plan, after_forward.as_ref())
}

/// What follows the checks: again, undo, redeploy.
fn after_checks(
    r: &mut Rehearsal,
    m: &mut dyn Migration,
    plan: &Plan,
    after_forward: Option<&Kept>,
) -> Result<Ended, Error> {
    again(r, m, plan, after_forward)?;
    if m.undo_identity().is_none() {
        let (why, check) = &plan.no_undo;
        r.skip(&name(plan, undo_name(plan)), why);
        if plan.redeploy {
            r.skip(&name(plan, "redeploy"), why);
        }
        if let Some(fact) = check {
            r.report
                .checks
                .push(checks::skipped("sql.rollback", "rollback", *fact));
        }
        return Ok(Ended::Forwarded);
    }
    let undone = undo(r, m, plan)?;
    if plan.redeploy
        && let Some(after_forward) = after_forward
    {
        if undone {
            redeploy(r, m, plan, after_forward)?;
        } else {
            let why = format!(
                "the {} failed",
                if plan.label.is_some() {
                    "down migration"
                } else {
                    "rollback script"
                }
            );
            r.skip(&name(plan, "redeploy"), &why);
        }
    }
    Ok(Ended::Forwarded)
}

fn name(plan: &Plan, stage: &str) -> String {
    match &plan.label {
        Some(l) => format!("{stage} {l}"),
        None => stage.to_string(),
    }
}

fn undo_name(plan: &Plan) -> &'static str {
    match (&plan.checks, &plan.label) {
        (Checks::Suite { .. }, _) => "undo",
        (_, Some(_)) => "down",
        (_, None) => "rollback",
    }
}

fn forward_name(plan: &Plan) -> &'static str {
    match plan.checks {
        Checks::Suite { .. } => "migrate",
        Checks::Expect { .. } => "forward",
    }
}

fn again_name(plan: &Plan) -> &'static str {
    match plan.checks {
        Checks::Suite { .. } => "migrate again",
        Checks::Expect { .. } => "forward again",
    }
}

/// The stages after forward, skipped for one reason.
fn skip_rest(r: &mut Rehearsal, plan: &Plan, why: &str) {
    let mut names = vec![
        name(plan, "expectations"),
        name(plan, "scope"),
        name(plan, again_name(plan)),
        name(plan, undo_name(plan)),
    ];
    if plan.redeploy {
        names.push(name(plan, "redeploy"));
    }
    for n in names {
        r.skip(&n, why);
    }
}

/// What the forward stage leaves for the stages after it.
pub struct Forwarded {
    pub ended: Ended,
    /// Every change from the state before (empty for the spec's engine, which its suite judges).
    pub diff: diff::DbDiff,
    /// What each statement of a SQL migration touched, as SQLite's authorizer reported it.
    pub touches: Touches,
}

/// `forward`: run it as production's runner runs it, record what the run says (failures with
/// file and line, the runner's warnings, foreign keys left pointing nowhere, the rows of the
/// script's own queries) and every change it made.
pub fn forward(r: &mut Rehearsal, m: &mut dyn Migration, plan: &Plan) -> Result<Forwarded, Error> {
    let stage = name(plan, forward_name(plan));
    r.stage(&stage, |r| {
        // a SQL migration's statements are recorded as SQLite prepares them
        r.recording = m.script().map(|_| Recorder::new());
        let outcome = m.forward(r, false);
        let touches = r
            .recording
            .take()
            .map(|rec| rec.touches())
            .unwrap_or_default();
        match outcome? {
            Outcome::Engine {
                inserted,
                present,
                batches,
            } => Ok((
                Forwarded {
                    ended: Ended::Forwarded,
                    diff: diff::DbDiff::default(),
                    touches,
                },
                Status::Pass,
                format!(
                    "{} rows inserted, {} already present, {batches} batches",
                    count(inserted as i64),
                    count(present as i64)
                ),
            )),
            Outcome::Refused(e) => {
                let detail = refused(&mut r.report, "sql.forward", &e)?;
                Ok((
                    Forwarded {
                        ended: Ended::Refused,
                        diff: diff::DbDiff::default(),
                        touches,
                    },
                    Status::Fail,
                    detail,
                ))
            }
            Outcome::Journal { .. } => unreachable!("forward runs the migration"),
            Outcome::Script(run) => {
                record_run(&mut r.report, &run, "sql.forward", true);
                let (reference, before) = r.reference();
                let now = fingerprint::fingerprint(r.work.as_ref())?;
                // examples show the columns the statements filtered on beside each row's key
                let options = diff::DiffOptions {
                    limit: 5,
                    context: m
                        .script()
                        .map(|s| hazards::rows::context_columns(&touches, s))
                        .unwrap_or_default(),
                };
                let d =
                    diff::diff_databases_with(reference, r.work.as_ref(), before, &now, &options)?;
                let (rows, tables) = judge::table_rows(&d);
                let notes: Vec<String> = run
                    .notes
                    .iter()
                    .filter(|n| !n.warn)
                    .map(|n| n.text.clone())
                    .collect();
                let one_transaction = run.runner.transactions == Transactions::Script
                    && run.runner.holder == crate::migrate::runner::Holder::Preflight;
                let ok =
                    run.failures.is_empty() && (run.fk_violation_count == 0 || !one_transaction);
                let detail = if ok {
                    let ran = crate::report::Fact::Ran {
                        statements: run.ran() as u64,
                        rows,
                        tables,
                        schema_objects: d.schema.len() as u64,
                        notes,
                    };
                    let text = crate::report::render::phrase::fact(&ran);
                    r.report
                        .checks
                        .push(result("sql.forward", m.identity()).judged(
                            0,
                            crate::report::Fixed::EveryStatementRuns,
                            ran,
                        ));
                    text
                } else if notes.is_empty() {
                    failure_text(&run)
                } else {
                    format!("{} ({})", failure_text(&run), notes.join("; "))
                };
                let status = if ok && run.fk_violation_count == 0 {
                    Status::Pass
                } else {
                    Status::Fail
                };
                Ok((
                    Forwarded {
                        ended: if ok { Ended::Forwarded } else { Ended::Failed },
                        diff: d,
                        touches,
                    },
                    status,
                    detail,
                ))
            }
        }
    })
}

/// What production keeps of a failed forward run: nothing under one transaction, else what
/// committed before the error.
fn kept_after_failure(
    r: &mut Rehearsal,
    m: &dyn Migration,
    plan: &Plan,
    d: &diff::DbDiff,
) -> Result<(), Error> {
    // the runner's own record of the failure (golang-migrate's dirty row) is the tool's rule's
    // business
    let mut d = d.clone();
    d.tables
        .retain(|t| Some(&t.table) != plan.bookkeeping.as_ref());
    let d = &d;
    let kept = d.summary(5);
    if kept.0 == 0 {
        let (reference, before) = r.reference();
        let n = compare_dbs(
            reference,
            before,
            r.work.as_ref(),
            plan.bookkeeping.as_deref(),
        )?;
        push_claim(
            &mut r.report,
            Claim {
                check: "sql.atomic",
                scope: m.identity(),
                expected: crate::report::Fixed::FailedScriptKeepsNothing,
                same: crate::report::Fixed::EveryTableAsBefore,
                unit: crate::report::ChangeUnit::Change,
                kept: Some(crate::report::KeptBy::FailedRun),
            },
            n,
        );
    } else {
        r.report.checks.push(
            result("sql.kept", m.identity())
                .judged(
                    kept.0,
                    crate::report::Fixed::FailedScriptKeepsNothing,
                    crate::report::Fact::Stayed {
                        changes: kept.0,
                        tables: judge::table_rows(d).1,
                        schema_objects: d.schema.len() as u64,
                    },
                )
                .with_examples(kept.1),
        );
    }
    Ok(())
}

/// The spec's suite on a copy of the migrated state, on other threads, while the second run and
/// the undo go on with the work copy (the two need nothing from each other). The report reads as
/// if they had run one after the other: the `verify` stage and its checks come first.
fn overlapped(
    r: &mut Rehearsal,
    m: &mut dyn Migration,
    plan: &Plan,
    (spec, scope, suite): (&LoadedSpec, &Scope, &checks::SuiteOptions),
    copy: tempfile::TempPath,
) -> Result<Ended, Error> {
    let stage = name(plan, "verify");
    (r.on_stage)(&stage);
    let at = (r.report.stages.len(), r.report.checks.len());
    let before = r.before.clone();
    let pristine = r.dir.path().join("before.db");
    let mut part = Report::new(
        "rehearse",
        r.report.target.clone(),
        r.report.spec.clone(),
        None,
    );
    let (checked, rest) = std::thread::scope(|s| {
        let checks = s.spawn(|| -> Result<f64, Error> {
            let t = Instant::now();
            let db = db::open(&Target::Local(copy.to_path_buf()), Access::ReadOnly)?;
            run_checks(
                db.as_ref(),
                spec,
                scope,
                suite,
                Some((&before, Target::Local(pristine.clone()))),
                &mut part,
            )?;
            Ok(t.elapsed().as_secs_f64())
        });
        let rest = after_checks(r, m, plan, None);
        (checks.join(), rest)
    });
    let secs = match checked {
        Ok(done) => done?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    let ended = rest?;
    drop(copy);
    let (status, detail) = verdict(&part.checks);
    r.report.stages.insert(
        at.0,
        Stage {
            name: stage.clone(),
            status,
            detail,
        },
    );
    r.report.checks.splice(at.1..at.1, part.checks);
    r.report.timelines.extend(part.timelines);
    r.report.timings.extend(part.timings);
    r.report.timings.insert(format!("stage:{stage}"), secs);
    Ok(ended)
}

/// The `verify` stage's status and words from its checks.
fn verdict(checks: &[CheckResult]) -> (Status, String) {
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    (
        if failed == 0 {
            Status::Pass
        } else {
            Status::Fail
        },
        format!("{} checks, {failed} failed", checks.len()),
    )
}

/// `verify`: the spec's whole suite on the migrated copy, with the untouched copy as baseline.
pub fn verify(
    r: &mut Rehearsal,
    plan: &Plan,
    spec: &LoadedSpec,
    scope: &Scope,
    suite: &checks::SuiteOptions,
) -> Result<(), Error> {
    r.stage(&name(plan, "verify"), |r| {
        let ro = db::open(&Target::Local(r.path.clone()), Access::ReadOnly)?;
        let pristine = r.dir.path().join("before.db");
        run_checks(
            ro.as_ref(),
            spec,
            scope,
            suite,
            Some((&r.before, Target::Local(pristine))),
            &mut r.report,
        )?;
        let (status, detail) = verdict(&r.report.checks);
        Ok(((), status, detail))
    })
}

/// `expectations`: the queries declared for after forward return their rows.
pub fn expectations(r: &mut Rehearsal, plan: &Plan, expect: &Expect) -> Result<(), Error> {
    r.stage(&name(plan, "expectations"), |r| {
        let n0 = r.report.checks.len();
        let mut session = r.session()?;
        check_queries(&mut session, expect, When::Forward, &mut r.report);
        let failed = r.report.checks[n0..]
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        let n = r.report.checks.len() - n0;
        Ok((
            (),
            if failed == 0 {
                Status::Pass
            } else {
                Status::Fail
            },
            if n == 0 {
                format!(
                    "no query declared ({})",
                    crate::report::render::phrase::scope_hint(&plan.hint)
                )
            } else {
                format!("{}, {failed} differ", plural(n as u64, "query"))
            },
        ))
    })
}

/// `scope`: every change forward made, row by row and schema object by object, within what the
/// EXPECT file allows; without one, changes are shown, not judged, and the stage says so (it is
/// no pass). The hazards of the run ([`hazards`]) are judged here too, with or without an EXPECT
/// file. The runner's bookkeeping table is left out of both: the tool writes it by design.
pub fn scope(
    r: &mut Rehearsal,
    m: &dyn Migration,
    plan: &Plan,
    expect: &Expect,
    declared: bool,
    fwd: &Forwarded,
) -> Result<(), Error> {
    r.stage(&name(plan, "scope"), |r| {
        let (reference, _) = r.reference();
        let mut d = fwd.diff.clone();
        let mut before = hazards::Schema::read(reference)?;
        let mut after = hazards::Schema::read(r.work.as_ref())?;
        if let Some(t) = &plan.bookkeeping {
            super::judge::leave_out(reference, r.work.as_ref(), &mut d, t)?;
            d.schema.retain(|c| !hazards::same(&c.table, t));
            before.leave_out(t);
            after.leave_out(t);
        }
        let objects = hazards::scope::changes(&before, &after);
        let mut judged =
            hazards::scope::judge(&d, &objects, declared.then_some(expect), &plan.hint);
        let found = hazards(m, plan, expect, &before, &after, &d, &fwd.touches)?;
        let mut failed: Vec<String> = found
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.check.clone())
            .collect();
        failed.dedup();
        let (status, detail) = judged.stage(&failed);
        if let Some(l) = &plan.label {
            for c in &mut judged.results {
                c.scope.label = Some(l.clone());
            }
        }
        r.report.checks.extend(judged.results);
        r.report.checks.extend(found);
        Ok(((), status, detail))
    })
}

/// The hazard checks of a forward run (`crate::hazards`): what a migration's statements did
/// without saying so (rows a cascade or a trigger changed in a table no statement names, an
/// index, trigger or view gone, a foreign key re-pointed at a backup, a lowered AUTOINCREMENT
/// counter, constraints or a column order lost in a rebuild, a key matched without its system),
/// for a SQL script and for every migration of a directory alike. They read:
/// - `m.script()`: the forward SQL exactly as the runner ran it (statements with their file,
///   line and kind; a directory migration's tracking rows at the end);
/// - `before` and `after`: the schema before this migration and after it;
/// - `d`: every change forward made, row by row;
/// - `touches`: what each statement read and wrote as SQLite's authorizer reported it while
///   preparing it (recorded by [`forward`] on every session it opens);
///
/// each without the runner's bookkeeping table. A hazard fails unless the EXPECT file allows it
/// by name; without one, every hazard found fails. A directory's migration names its results
/// (`plan.label`), except those already named by the migration's file.
pub fn hazards(
    m: &dyn Migration,
    plan: &Plan,
    expect: &Expect,
    before: &hazards::Schema,
    after: &hazards::Schema,
    d: &diff::DbDiff,
    touches: &Touches,
) -> Result<Vec<CheckResult>, Error> {
    let Some(script) = m.script() else {
        return Ok(Vec::new());
    };
    let mut found = hazards::assess(
        &hazards::Evidence {
            script,
            before,
            after,
            diff: d,
            touches,
        },
        expect,
    )?;
    if let Some(l) = &plan.label {
        let file = script.name();
        for c in &mut found {
            if !c.scope.begins_with(&file) {
                c.scope.label = Some(l.clone());
            }
        }
    }
    Ok(found)
}

/// `again`: a second forward run. Where nothing stops one it runs and must change nothing; where
/// the runner keeps records (a tool's tracking table) the runner's own rule must skip it.
pub fn again(
    r: &mut Rehearsal,
    m: &mut dyn Migration,
    plan: &Plan,
    after_forward: Option<&Kept>,
) -> Result<(), Error> {
    let stage = name(plan, again_name(plan));
    if let Rerun::Decided { skipped, why } = m.rerun(r)? {
        return r.stage(&stage, |r| {
            r.report
                .checks
                .push(result("migrations.rerun", m.identity()).judged(
                    u64::from(!skipped),
                    crate::report::Fixed::RecordedAsApplied,
                    why.clone(),
                ));
            Ok((
                (),
                if skipped { Status::Pass } else { Status::Fail },
                crate::report::render::phrase::fact(&why),
            ))
        });
    }
    let Some(after_forward) = after_forward else {
        let migrated = fingerprint::fingerprint(r.work.as_ref())?;
        return r.stage(&stage, |r| {
            let Outcome::Engine { inserted, .. } = m.forward(r, true)? else {
                unreachable!("the spec's engine runs again")
            };
            let after = fingerprint::fingerprint(r.work.as_ref())?;
            let (changed, mut ex) = fingerprint_changes(&migrated, &after);
            if inserted > 0 {
                ex.insert(0, crate::report::Example::InsertedAgain { rows: inserted });
            }
            let violations = inserted + changed;
            r.report.checks.push(
                checks::result("rehearse.rerun", crate::report::Scope::named("database"))
                    .judged(
                        violations,
                        crate::report::Fixed::NothingInsertedEveryTableUnchanged,
                        crate::report::Fact::counts(&[
                            (inserted, crate::report::Noun::Inserted),
                            (changed, crate::report::Noun::Changed),
                        ]),
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
        });
    };
    r.stage(&stage, |r| {
        let run = match m.forward(r, true)? {
            Outcome::Script(run) => run,
            Outcome::Refused(e) => return Ok(((), Status::Fail, e.to_string())),
            _ => unreachable!("a script runs again"),
        };
        let n = compare_dbs(
            after_forward.db.as_ref(),
            &after_forward.fingerprint,
            r.work.as_ref(),
            plan.bookkeeping.as_deref(),
        )?;
        if let Some(f) = run.failures.first() {
            let (status, text) = refuses_twice(r, &*m, &run, f, n);
            return Ok(((), status, text));
        }
        record_run(&mut r.report, &run, "sql.rerun", false);
        let n = push_claim(
            &mut r.report,
            Claim {
                check: "sql.rerun",
                scope: m.identity(),
                expected: crate::report::Fixed::SecondRunChangesNothing,
                same: crate::report::Fixed::NothingChanged,
                unit: crate::report::ChangeUnit::Change,
                kept: None,
            },
            n,
        );
        Ok((
            (),
            if n == 0 { Status::Pass } else { Status::Fail },
            format!(
                "{} touched again, {}",
                plural(run.direct_changes(), "row"),
                if n == 0 {
                    "nothing changed".to_string()
                } else {
                    format!("{} from the first run", plural(n, "change"))
                }
            ),
        ))
    })
}

/// A second run that fails. A script written to run once (an `ALTER TABLE … ADD COLUMN`, a
/// `CREATE TABLE`, a file that records itself in LiveOne's `migrations`) fails on its second
/// run; when the database is then exactly as the first run left it (the runner rolled the
/// failed run back, or nothing before the error changed anything) it "refuses to run twice",
/// which is a pass. When the second run changed something before (or, under a runner that goes
/// on, after) its error, that partial run is what a second deployment does to production: a
/// failure naming the change and the error.
fn refuses_twice(
    r: &mut Rehearsal,
    m: &dyn Migration,
    run: &Run,
    f: &crate::migrate::runner::Failure,
    (n, examples): (u64, Vec<crate::report::Example>),
) -> (Status, String) {
    let at = format!("{}:{}", run.path, f.line);
    let records = crate::migrations::recorded_id(&f.statement);
    let guard = records
        .as_ref()
        .map(|id| format!("; the file records itself in migrations as '{id}'"))
        .unwrap_or_default();
    if n == 0 {
        // the error is the script's guard, not a failure: keep the runner's other words
        let mut quiet = run.clone();
        quiet.failures.clear();
        record_run(&mut r.report, &quiet, "sql.rerun", false);
        let text = format!(
            "refuses to run twice: the second run fails at {at} ({}){guard} and leaves the database exactly as its first run left it",
            f.message
        );
        r.report.checks.push(
            result("sql.rerun", m.identity())
                .judged(
                    0,
                    crate::report::Fixed::SecondRunChangesNothing,
                    crate::report::Fact::RefusesTwice {
                        message: f.message.clone(),
                    },
                )
                .with_examples(vec![
                    crate::report::Example::Failed {
                        file: run.path.clone(),
                        line: f.line as u64,
                        message: f.message.clone(),
                        records,
                    },
                    crate::report::Example::Statement {
                        sql: crate::db::DbError::sql_excerpt(&f.statement),
                    },
                    judge::kept(run, true),
                ]),
        );
        return (Status::Pass, text);
    }
    record_run(&mut r.report, run, "sql.rerun", false);
    push_claim(
        &mut r.report,
        Claim {
            check: "sql.rerun",
            scope: m.identity(),
            expected: crate::report::Fixed::SecondRunChangesNothingOrKeepsNothing,
            same: crate::report::Fixed::NothingChanged,
            unit: crate::report::ChangeUnit::Change,
            kept: Some(crate::report::KeptBy::FailedSecondRun),
        },
        (n, examples),
    );
    (
        Status::Fail,
        format!(
            "a second run makes {} and fails at {at}: {}{guard}; {}",
            plural(n, "change"),
            f.message,
            run.kept()
        ),
    )
}

/// `undo` (the spec), `rollback` (a script) or `down` (a directory's migration): run the undo;
/// schema and every table must be exactly as before forward. Returns whether it ran through.
pub fn undo(r: &mut Rehearsal, m: &mut dyn Migration, plan: &Plan) -> Result<bool, Error> {
    let stage = name(plan, undo_name(plan));
    let undo_id = m.undo_identity().unwrap_or_default();
    r.stage(&stage, |r| {
        let outcome = m.undo(r).expect("an undo exists")?;
        let run = match outcome {
            Outcome::Journal { deleted } => {
                let after = fingerprint::fingerprint(r.work.as_ref())?;
                let (changed, ex) =
                    diff::diff_databases(r.base.as_ref(), r.work.as_ref(), &r.before, &after, 5)?
                        .summary(5);
                r.report.checks.push(
                    checks::result("rehearse.undo", crate::report::Scope::named("database"))
                        .judged(
                            changed,
                            crate::report::Fixed::AsBeforeTheMigration,
                            if changed == 0 {
                                crate::report::Fact::from(crate::report::Fixed::Identical)
                            } else {
                                crate::report::Fact::count(changed, crate::report::Noun::RowsDiffer)
                            },
                        )
                        .with_examples(ex),
                );
                return Ok((
                    true,
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
                ));
            }
            Outcome::Refused(e) => {
                return Ok((
                    false,
                    Status::Fail,
                    refused(&mut r.report, "sql.rollback", &e)?,
                ));
            }
            Outcome::Script(run) => run,
            Outcome::Engine { .. } => unreachable!("an undo runs the undo"),
        };
        record_run(&mut r.report, &run, "sql.rollback", true);
        if !run.failures.is_empty() {
            return Ok((
                false,
                Status::Fail,
                format!(
                    "the {} {}",
                    if plan.label.is_some() {
                        "down migration"
                    } else {
                        "rollback script"
                    },
                    failure_text(&run)
                ),
            ));
        }
        let (reference, before) = r.reference();
        let n = compare_dbs(
            reference,
            before,
            r.work.as_ref(),
            plan.bookkeeping.as_deref(),
        )?;
        let n = push_claim(
            &mut r.report,
            Claim {
                check: "sql.rollback",
                scope: undo_id.clone(),
                expected: if plan.label.is_some() {
                    crate::report::Fixed::AsBeforeTheMigration
                } else {
                    crate::report::Fixed::AsBeforeTheForwardScript
                },
                same: crate::report::Fixed::Identical,
                unit: crate::report::ChangeUnit::Difference,
                kept: None,
            },
            n,
        );
        if let Checks::Expect { expect, .. } = plan.checks {
            let mut session = r.session()?;
            check_queries(&mut session, expect, When::Rollback, &mut r.report);
        }
        Ok((
            true,
            if n == 0 { Status::Pass } else { Status::Fail },
            format!(
                "{} run, {} changed; {}",
                plural(run.ran() as u64, "statement"),
                plural(run.direct_changes(), "row"),
                if n == 0 {
                    "every table as before".to_string()
                } else {
                    format!(
                        "NOT as before: {} from the state before {}",
                        plural(n, "difference"),
                        plan.what
                    )
                }
            ),
        ))
    })
}

/// `redeploy`: after the undo, forward runs again and leaves the state its first run left.
pub fn redeploy(
    r: &mut Rehearsal,
    m: &mut dyn Migration,
    plan: &Plan,
    after_forward: &Kept,
) -> Result<(), Error> {
    r.stage(&name(plan, "redeploy"), |r| {
        let run = match m.forward(r, false)? {
            Outcome::Script(run) => run,
            Outcome::Refused(e) => return Ok(((), Status::Fail, e.to_string())),
            _ => unreachable!("a script runs again"),
        };
        record_run(&mut r.report, &run, "sql.redeploy", false);
        if !run.failures.is_empty() {
            return Ok((
                (),
                Status::Fail,
                format!(
                    "after the {} the forward script {}",
                    if plan.label.is_some() {
                        "down migration"
                    } else {
                        "rollback"
                    },
                    failure_text(&run)
                ),
            ));
        }
        let n = compare_dbs(
            after_forward.db.as_ref(),
            &after_forward.fingerprint,
            r.work.as_ref(),
            plan.bookkeeping.as_deref(),
        )?;
        let n = push_claim(
            &mut r.report,
            Claim {
                check: "sql.redeploy",
                scope: m.identity(),
                expected: crate::report::Fixed::SameStateAsFirstRun,
                same: crate::report::Fixed::Identical,
                unit: crate::report::ChangeUnit::Difference,
                kept: None,
            },
            n,
        );
        let undo = if plan.label.is_some() {
            "the down migration"
        } else {
            "the rollback"
        };
        Ok((
            (),
            if n == 0 { Status::Pass } else { Status::Fail },
            if n == 0 {
                format!("forward runs again after {undo}: the same state as its first run")
            } else {
                format!(
                    "forward runs again after {undo}, but {} from its first run",
                    plural(n, "difference")
                )
            },
        ))
    })
}

impl Rehearsal<'_> {
    /// Freeze the clock every SQL stage sees; returns the instant in words, and why.
    pub fn freeze(&mut self, now: Option<i64>) -> Result<String, Error> {
        let manifest = self.extracted.as_ref().and_then(|e| e.manifest.clone());
        let (now, source) = frozen_now(now, manifest.as_deref(), &self.backup, self.bundled);
        let clock = FrozenClock::new(now)?;
        let shown = format!("clock frozen at {} ({source})", clock.shown());
        self.clock = Some(clock);
        Ok(shown)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::migrate::runner::Runner;
    use crate::migrate::script::parse;

    /// The smallest migration: one script, no undo.
    struct One(Script);

    impl Migration for One {
        fn identity(&self) -> String {
            self.0.name()
        }
        fn undo_identity(&self) -> Option<String> {
            None
        }
        fn forward(&mut self, r: &Rehearsal, _again: bool) -> Result<Outcome, Error> {
            let mut session = r.session()?;
            Ok(Outcome::Script(
                Runner::atomic().execute(&self.0, &mut session)?,
            ))
        }
        fn undo(&mut self, _r: &Rehearsal) -> Option<Result<Outcome, Error>> {
            None
        }
        fn script(&self) -> Option<&Script> {
            Some(&self.0)
        }
    }

    struct Lines(Arc<Mutex<Vec<usize>>>);

    impl Watch for Lines {
        fn authorize(
            &mut self,
            line: usize,
            _action: &rusqlite::hooks::AuthContext<'_>,
        ) -> rusqlite::hooks::Authorization {
            self.0.lock().unwrap().push(line);
            rusqlite::hooks::Authorization::Allow
        }
    }

    #[test]
    fn any_migration_goes_through_the_stages_and_a_watch_sees_its_statements() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(
                "CREATE TABLE t (a INTEGER PRIMARY KEY, b); INSERT INTO t VALUES (1, 'x');",
            )
            .unwrap();
        let gz = dir.path().join("t.db.gz");
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::fast(),
        );
        e.write_all(&std::fs::read(&db).unwrap()).unwrap();
        e.finish().unwrap();

        let spec = SpecIdentity {
            kind: "scripts".into(),
            name: "one".into(),
            origin: "test".into(),
            sha256: "-".into(),
        };
        let mut quiet = |_: &str| {};
        let mut r = Rehearsal::extract(Some(&gz), spec, None, &mut quiet).unwrap();
        r.freeze(Some(0)).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handle = seen.clone();
        r.watch = Some(Box::new(move || Box::new(Lines(handle.clone()))));
        r.fingerprint().unwrap();
        let script = parse(
            Path::new("m.sql"),
            "UPDATE t SET b = 'y';\nINSERT INTO t VALUES (2, 'z');\n",
        )
        .unwrap();
        let expect = Expect::default();
        let ended = run(
            &mut r,
            &mut One(script),
            &Plan {
                label: Some("m".into()),
                checks: Checks::Expect {
                    expect: &expect,
                    declared: false,
                },
                what: "the migration",
                hint: crate::report::ScopeHint::GiveExpect,
                no_undo: ("no undo".into(), None),
                redeploy: true,
                bookkeeping: None,
            },
        )
        .unwrap();
        assert_eq!(ended, Ended::Forwarded);
        let report = r.finish();
        let stages: Vec<(&str, Status)> = report
            .stages
            .iter()
            .map(|s| (s.name.as_str(), s.status))
            .collect();
        assert_eq!(
            stages,
            [
                ("extract", Status::Pass),
                ("fingerprint", Status::Pass),
                ("forward m", Status::Pass),
                ("expectations m", Status::Pass),
                // nothing declared: shown, not judged, and no pass
                ("scope m", Status::Warn),
                // a second run of this script inserts row 2 again: the key refuses it, and the
                // runner's one transaction keeps nothing of it (it refuses to run twice)
                ("forward again m", Status::Pass),
                ("down m", Status::Skip),
                ("redeploy m", Status::Skip),
            ]
        );
        let lines = seen.lock().unwrap().clone();
        assert!(lines.contains(&1) && lines.contains(&2), "{lines:?}");
        // beside the watch, the hazards saw what each statement touched: every one judged, none
        // found
        let judged: Vec<(String, Status)> = report
            .checks
            .iter()
            .filter(|c| crate::hazards::HAZARDS.iter().any(|h| h.0 == c.check))
            .map(|c| (c.scope_text(), c.status))
            .collect();
        assert_eq!(
            judged,
            vec![("m.sql".to_string(), Status::Pass); crate::hazards::HAZARDS.len()]
        );
        let t = report
            .checks
            .iter()
            .find(|c| c.check == "sql.scope")
            .unwrap();
        assert_eq!(
            (t.scope_text(), t.status, t.found_text()),
            (
                "m: table t".to_string(),
                Status::Warn,
                "1 inserted, 1 updated, 0 deleted; not judged".to_string()
            )
        );
    }
}
