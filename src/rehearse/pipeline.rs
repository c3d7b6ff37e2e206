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

use super::{OnStage, Timer, backup_source, extract_stage, fingerprint_changes, workdir};
use crate::backup::Extracted;
use crate::checks::{self, result};
use crate::db::{self, Access, Db, DbExt, Target};
use crate::error::Error;
use crate::fingerprint::{self, Fingerprint, diff};
use crate::migrate::expect::{Expect, TableScope, When, row_matches, shell_row};
use crate::migrate::runner::{Conn, FrozenClock, LocalSession, Run, Transactions};
use crate::migrate::script::{Kind, Script, ScriptError, tokens, unquote, without_comments};
use crate::report::{Report, ScriptOutput, SpecIdentity, Stage, Status};
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
    Decided { skipped: bool, why: String },
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
    pub hint: String,
    /// Why there is no undo stage when the migration has none; `with_check`: say so with a
    /// skipped check as well.
    pub no_undo: (String, bool),
    /// After the undo, run forward once more.
    pub redeploy: bool,
    /// The runner's bookkeeping table (a tool's tracking table): left out of scopes and exact
    /// comparisons, as the runner's own rule proves its rows.
    pub bookkeeping: Option<String>,
    /// Fail a forward run whose `DROP TABLE` took rows of other tables with it (see
    /// [`dropped_with`]).
    pub cascades: bool,
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
    pub size_before: u64,
    pub size_after: Option<u64>,
    kept: usize,
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
        let path = extracted.db.path().to_path_buf();
        let work = db::open(&Target::Local(path.clone()), Access::Rehearsal)?;
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
        Ok(LocalSession::open(&self.path, self.clock.clone(), true)?)
    }

    /// Keep the work copy's current state for later comparisons.
    pub fn keep(&mut self, name: &str) -> Result<Kept, Error> {
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
        self.work = db::open(&Target::Local(self.path.clone()), Access::Rehearsal)?;
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
            verify(r, plan, spec, scope, suite)?;
            None
        }
        Checks::Expect { expect, declared } => {
            expectations(r, plan, expect)?;
            self::scope(r, plan, expect, *declared, &fwd.diff)?;
            hazards(r, m, plan, &fwd.diff)?;
            r.size_after = Some(crate::fsutil::size(&r.path)?);
            // the state after forward, kept for the comparisons that follow
            Some(r.keep("after-forward")?)
        }
    };
    again(r, m, plan, after_forward.as_ref())?;
    if m.undo_identity().is_none() {
        let (why, with_check) = &plan.no_undo;
        r.skip(&name(plan, undo_name(plan)), why);
        if plan.redeploy {
            r.skip(&name(plan, "redeploy"), why);
        }
        if *with_check {
            r.report
                .checks
                .push(checks::skipped("sql.rollback", "rollback", why.as_str()));
        }
        return Ok(Ended::Forwarded);
    }
    let undone = undo(r, m, plan)?;
    if plan.redeploy
        && let Some(after_forward) = &after_forward
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
}

/// `forward`: run it as production's runner runs it, record what the run says (failures with
/// file and line, the runner's warnings, foreign keys left pointing nowhere, the rows of the
/// script's own queries) and every change it made.
pub fn forward(r: &mut Rehearsal, m: &mut dyn Migration, plan: &Plan) -> Result<Forwarded, Error> {
    let stage = name(plan, forward_name(plan));
    r.stage(&stage, |r| {
        let outcome = m.forward(r, false)?;
        match outcome {
            Outcome::Engine {
                inserted,
                present,
                batches,
            } => Ok((
                Forwarded {
                    ended: Ended::Forwarded,
                    diff: diff::DbDiff::default(),
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
                let d = diff::diff_databases(reference, r.work.as_ref(), before, &now, 5)?;
                let (rows, per_table) = table_changes(&d);
                let notes: Vec<&str> = run
                    .notes
                    .iter()
                    .filter(|n| !n.warn)
                    .map(|n| n.text.as_str())
                    .collect();
                let notes = if notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", notes.join("; "))
                };
                let one_transaction = run.runner.transactions == Transactions::Script
                    && run.runner.holder == crate::migrate::runner::Holder::Preflight;
                let ok =
                    run.failures.is_empty() && (run.fk_violation_count == 0 || !one_transaction);
                let detail = if ok {
                    let text = format!(
                        "{} run, {} changed{}{notes}",
                        plural(run.ran() as u64, "statement"),
                        plural(rows, "row"),
                        if per_table.is_empty() {
                            String::new()
                        } else {
                            format!(": {per_table}")
                        }
                    );
                    r.report
                        .checks
                        .push(result("sql.forward", m.identity()).judged(
                            0,
                            "every statement runs",
                            text.clone(),
                        ));
                    text
                } else {
                    format!("{}{notes}", failure_text(&run))
                };
                let mut lost = Vec::new();
                if plan.cascades
                    && let Some(script) = m.script()
                {
                    lost = dropped_with(r.reference().0, script, &run, &d)?;
                }
                for l in &lost {
                    r.report.checks.push(
                        result("sql.cascade", format!("{}:{}", run.path, l.line))
                            .judged(
                                l.deleted + l.updated,
                                "a DROP TABLE takes no row of another table with it",
                                l.to_string(),
                            )
                            .with_examples(vec![format!("{}:{}: {l}", run.path, l.line)]),
                    );
                }
                let detail = if lost.is_empty() {
                    detail
                } else {
                    format!(
                        "{detail}; {}",
                        lost.iter()
                            .map(|l| format!("line {}: {l}", l.line))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                };
                let status = if ok && run.fk_violation_count == 0 && lost.is_empty() {
                    Status::Pass
                } else {
                    Status::Fail
                };
                Ok((
                    Forwarded {
                        ended: if ok { Ended::Forwarded } else { Ended::Failed },
                        diff: d,
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
                expected: "a failed script leaves every table as before",
                same: "every table as before",
                noun: "change",
                tail: " stayed",
            },
            n,
        );
    } else {
        r.report.checks.push(
            result("sql.kept", m.identity())
                .judged(
                    kept.0,
                    "a failed script leaves every table as before",
                    format!(
                        "{} stayed: {}",
                        plural(kept.0, "change"),
                        table_changes(d).1
                    ),
                )
                .with_examples(kept.1),
        );
    }
    Ok(())
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
        let failed = r
            .report
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
            format!("{} checks, {failed} failed", r.report.checks.len()),
        ))
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
                format!("no query declared ({})", plan.hint)
            } else {
                format!("{}, {failed} differ", plural(n as u64, "query"))
            },
        ))
    })
}

/// `scope`: every table's change, row by row, within what the EXPECT file allows; without one,
/// changes are shown (warnings), not judged.
pub fn scope(
    r: &mut Rehearsal,
    plan: &Plan,
    expect: &Expect,
    declared: bool,
    d: &diff::DbDiff,
) -> Result<(), Error> {
    r.stage(&name(plan, "scope"), |r| {
        let mut names: Vec<String> = d.tables.iter().map(|x| x.table.clone()).collect();
        names.extend(d.schema.iter().map(|c| c.table.clone()));
        names.extend(expect.scope.keys().cloned());
        names.retain(|n| Some(n) != plan.bookkeeping.as_ref());
        names.sort();
        names.dedup();
        let mut over_total = 0;
        let mut changed = 0;
        for name in &names {
            let td = d
                .tables
                .iter()
                .find(|x| &x.table == name)
                .cloned()
                .unwrap_or_else(|| diff::TableDiff {
                    table: name.clone(),
                    ..Default::default()
                });
            let schema: Vec<String> = d
                .schema
                .iter()
                .filter(|c| &c.table == name)
                .map(|c| c.to_string())
                .collect();
            let schema_changed = !schema.is_empty()
                || !td.columns_added.is_empty()
                || !td.columns_removed.is_empty();
            if td.changed() || schema_changed {
                changed += 1;
            }
            let (over, allowed) = judge_scope(&td, expect.scope.get(name), schema_changed);
            over_total += over;
            let mut ex = schema.clone();
            ex.extend(td.columns_added.iter().map(|c| format!("column {c} added")));
            ex.extend(
                td.columns_removed
                    .iter()
                    .map(|c| format!("column {c} removed")),
            );
            ex.extend(td.examples.iter().cloned());
            ex.truncate(5);
            let mut c = result("sql.scope", format!("table {name}"))
                .judged(
                    over,
                    allowed,
                    format!(
                        "{} inserted, {} updated, {} deleted{}",
                        td.inserted,
                        td.updated,
                        td.deleted,
                        if schema_changed {
                            ", schema changed"
                        } else {
                            ""
                        }
                    ),
                )
                .with_examples(ex);
            if let Some(l) = &plan.label {
                c.scope = format!("{l}: table {name}");
            }
            if !declared {
                // without an EXPECT file nothing is declared: changes are shown, not judged
                c.expected = format!("no scope declared ({})", plan.hint);
                c.status = Status::Warn;
                over_total -= over;
            }
            r.report.checks.push(c);
        }
        let detail = format!(
            "{} changed, {} outside the declared scope",
            plural(changed, "table"),
            plural(over_total, "change")
        );
        Ok((
            (),
            if over_total == 0 {
                Status::Pass
            } else {
                Status::Fail
            },
            detail,
        ))
    })
}

/// The hazard checks of a forward run: where checks of what a migration's statements risk
/// (a `DROP TABLE` of a parent whose children cascade, a rebuild that loses indexes or
/// triggers, a key matched without its system) attach. They see the migration and every change
/// its forward run made, and add their results to `r.report`; a check that needs the statements
/// as they run attaches a `migrate::runner::Watch` to the runner's session instead. None are
/// registered yet: this stage records nothing.
pub fn hazards(
    r: &mut Rehearsal,
    m: &dyn Migration,
    plan: &Plan,
    d: &diff::DbDiff,
) -> Result<(), Error> {
    let _ = (r, m, plan, d);
    Ok(())
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
                    "recorded as applied: the tool skips it on its next run",
                    why.clone(),
                ));
            Ok(((), if skipped { Status::Pass } else { Status::Fail }, why))
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
                ex.insert(
                    0,
                    format!("{} rows inserted by the second run", count(inserted as i64)),
                );
            }
            let violations = inserted + changed;
            r.report.checks.push(
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
        });
    };
    r.stage(&stage, |r| {
        let run = match m.forward(r, true)? {
            Outcome::Script(run) => run,
            Outcome::Refused(e) => return Ok(((), Status::Fail, e.to_string())),
            _ => unreachable!("a script runs again"),
        };
        record_run(&mut r.report, &run, "sql.rerun", false);
        if !run.failures.is_empty() {
            return Ok((
                (),
                Status::Fail,
                format!("the second run {}", failure_text(&run)),
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
                check: "sql.rerun",
                scope: m.identity(),
                expected: "a second run changes nothing",
                same: "nothing changed",
                noun: "change",
                tail: "",
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
                    "schema and every table as before the migration"
                } else {
                    "schema and every table as before the forward script"
                },
                same: "identical",
                noun: "difference",
                tail: "",
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
                expected: "the same state as the first forward run",
                same: "identical",
                noun: "difference",
                tail: "",
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

/// Rows of one table that a `DROP TABLE` of its parent took with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    /// The `DROP TABLE`'s line.
    pub line: usize,
    pub parent: String,
    pub table: String,
    pub deleted: u64,
    pub updated: u64,
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut what = Vec::new();
        if self.deleted > 0 {
            what.push(format!("deleted {}", plural(self.deleted, "row")));
        }
        if self.updated > 0 {
            what.push(format!(
                "set {} to NULL or its default",
                plural(self.updated, "row")
            ));
        }
        write!(
            f,
            "DROP TABLE {} {} of {} (its ON DELETE action ran: foreign keys were on)",
            self.parent,
            what.join(" and "),
            self.table
        )
    }
}

/// Rows a `DROP TABLE` took from other tables. With foreign keys on, SQLite empties a table
/// before dropping it, and its children's `ON DELETE` actions run (CASCADE deletes, SET NULL and
/// SET DEFAULT update): sqlite.org/foreignkeys.html, section 5, "CREATE, ALTER and DROP TABLE
/// commands". A table rebuild that drops a parent with keys on empties its children; no tool
/// says so. A child whose rows were deleted (or updated) while a parent it has such an action on
/// was dropped, with keys on at that statement, lost them to it. A child the script deletes
/// from or updates itself is left out: the rows cannot be told apart.
pub fn dropped_with(
    reference: &dyn Db,
    script: &Script,
    run: &Run,
    d: &diff::DbDiff,
) -> Result<Vec<Loss>, Error> {
    let truthy = |v: &str| matches!(v, "1" | "on" | "true" | "yes");
    let mut keys = run.runner.foreign_keys == crate::migrate::runner::ForeignKeys::On;
    // (line, dropped table, keys on)
    let mut drops = Vec::new();
    let mut written = std::collections::BTreeSet::new();
    for (st, ran) in script.statements.iter().zip(&run.statements) {
        let ran_ok = matches!(ran.outcome, crate::migrate::runner::Outcome::Ran { .. });
        if let Kind::Pragma {
            name,
            value: Some(v),
        } = &st.kind
            && name == "foreign_keys"
            && ran_ok
            && !run.notes.iter().any(|n| n.warn && n.line == st.line)
        {
            keys = truthy(v);
        }
        let code = without_comments(&st.sql);
        let toks = tokens(&code);
        let up: Vec<String> = toks.iter().map(|t| t.to_ascii_uppercase()).collect();
        let word = |i: usize| up.get(i).map(String::as_str).unwrap_or("");
        let name_at = |mut i: usize| {
            if toks.get(i + 1) == Some(&".") {
                i += 2;
            }
            toks.get(i).map(|t| unquote(t).to_ascii_lowercase())
        };
        match (word(0), word(1)) {
            ("DROP", "TABLE") if ran_ok => {
                let at = if word(2) == "IF" && word(3) == "EXISTS" {
                    4
                } else {
                    2
                };
                if let Some(t) = name_at(at) {
                    drops.push((st.line, t, keys));
                }
            }
            ("DELETE", "FROM") => written.extend(name_at(2)),
            ("UPDATE", _) => {
                let at = if word(1) == "OR" { 3 } else { 1 };
                written.extend(name_at(at));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for t in &d.tables {
        if t.deleted + t.updated == 0
            || written.contains(&t.table.to_ascii_lowercase())
            || !reference.table_exists(&t.table)?
        {
            continue;
        }
        let actions = reference.query(
            "SELECT DISTINCT \"table\", upper(on_delete) FROM pragma_foreign_key_list(?1)",
            &[db::Value::Text(t.table.clone())],
        )?;
        for a in actions {
            let parent = crate::db::as_text(&a[0]).unwrap_or_default();
            let action = crate::db::as_text(&a[1]).unwrap_or_default();
            let (deleted, updated) = match action.as_str() {
                "CASCADE" => (t.deleted, 0),
                "SET NULL" | "SET DEFAULT" => (0, t.updated),
                _ => continue,
            };
            if deleted + updated == 0 || parent.eq_ignore_ascii_case(&t.table) {
                continue;
            }
            if let Some((line, _, _)) = drops
                .iter()
                .find(|(_, name, on)| *on && name.eq_ignore_ascii_case(&parent))
            {
                out.push(Loss {
                    line: *line,
                    parent: parent.clone(),
                    table: t.table.clone(),
                    deleted,
                    updated,
                });
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// What the stages share.

/// What a comparison of the work copy with a reference state proves, for the report.
pub struct Claim<'a> {
    pub check: &'a str,
    pub scope: String,
    pub expected: &'a str,
    /// The actual value when nothing differs.
    pub same: &'a str,
    /// What one difference is called ("change", "difference"), and what follows the count.
    pub noun: &'a str,
    pub tail: &'a str,
}

/// Differences between a reference state and the work copy (a count and examples), leaving out
/// `bookkeeping`'s rows: the table itself and its line in `sqlite_sequence`.
pub fn compare_dbs(
    reference: &dyn Db,
    fp: &Fingerprint,
    work: &dyn Db,
    bookkeeping: Option<&str>,
) -> Result<(u64, Vec<String>), Error> {
    let now = fingerprint::fingerprint(work)?;
    let mut d = diff::diff_databases(reference, work, fp, &now, 5)?;
    if let Some(t) = bookkeeping {
        d.tables.retain(|x| x.table != t);
        if d.tables.iter().any(|x| x.table == "sqlite_sequence") {
            let q = "SELECT name, seq FROM sqlite_sequence WHERE name <> ?1 ORDER BY name";
            let p = [db::Value::Text(t.to_string())];
            let same = !reference.table_exists("sqlite_sequence")?
                || !work.table_exists("sqlite_sequence")?
                || reference.query(q, &p)? == work.query(q, &p)?;
            if same {
                d.tables.retain(|x| x.table != "sqlite_sequence");
            }
        }
    }
    Ok(d.summary(5))
}

/// Record a comparison's claim as a check.
pub fn push_claim(report: &mut Report, claim: Claim, (n, ex): (u64, Vec<String>)) -> u64 {
    report.checks.push(
        result(claim.check, claim.scope)
            .judged(
                n,
                claim.expected,
                if n == 0 {
                    claim.same.to_string()
                } else {
                    format!("{}{}", plural(n, claim.noun), claim.tail)
                },
            )
            .with_examples(ex),
    );
    n
}

/// Does a table's change stay within its declared scope? (violations, what was allowed)
fn judge_scope(
    d: &diff::TableDiff,
    scope: Option<&TableScope>,
    schema_changed: bool,
) -> (u64, String) {
    let allowed = scope.copied().unwrap_or_default();
    let mut over = 0;
    over += d.inserted.saturating_sub(allowed.inserted);
    over += d.updated.saturating_sub(allowed.updated);
    over += d.deleted.saturating_sub(allowed.deleted);
    if schema_changed && !allowed.schema {
        over += 1;
    }
    let text = match scope {
        None => "no change (not in the declared scope)".to_string(),
        Some(s) => format!(
            "at most {} inserted, {} updated, {} deleted{}",
            s.inserted,
            s.updated,
            s.deleted,
            if s.schema { ", schema may change" } else { "" }
        ),
    };
    (over, text)
}

/// Run one query on a session (the clock frozen as for the scripts): its rows, or SQLite's
/// words.
fn query(session: &mut LocalSession, sql: &str) -> Result<Vec<Vec<crate::db::Value>>, String> {
    session
        .run(0, sql, false, usize::MAX)
        .map(|r| r.output.map(|o| o.rows).unwrap_or_default())
        .map_err(|e| e.message)
}

fn check_queries(session: &mut LocalSession, expect: &Expect, when: When, report: &mut Report) {
    for q in expect.queries.iter().filter(|q| q.after == when) {
        let name = q
            .name
            .clone()
            .unwrap_or_else(|| crate::db::DbError::sql_excerpt(&q.sql));
        let scope = format!(
            "after {}: {name}",
            if when == When::Forward {
                "forward"
            } else {
                "rollback"
            }
        );
        let r = result("expect.query", scope);
        report.checks.push(match query(session, &q.sql) {
            Err(e) => r.judged(1, q.rows.join("; "), format!("the query fails: {e}")),
            Ok(rows) => {
                let same = rows.len() == q.rows.len()
                    && rows
                        .iter()
                        .zip(&q.rows)
                        .all(|(got, want)| row_matches(want, got));
                let got: Vec<String> = rows.iter().map(|r| shell_row(r)).collect();
                let mut ex = Vec::new();
                if !same {
                    ex.push(format!("expected: {}", q.rows.join("; ")));
                    ex.push(format!("got:      {}", got.join("; ")));
                }
                r.judged(u64::from(!same), q.rows.join("; "), got.join("; "))
                    .with_examples(ex)
            }
        });
    }
}

/// The first failure of a run, in words: "failed at f.sql:9: near …; nothing of the script was
/// kept".
pub fn failure_text(run: &Run) -> String {
    match run.failures.first() {
        Some(f) => format!(
            "failed at {}:{}: {}{}; {}",
            run.path,
            f.line,
            f.message,
            match run.failures.len() {
                1 => String::new(),
                n => format!(" ({} more errors after it)", n - 1),
            },
            run.kept()
        ),
        None if run.fk_violation_count > 0 => format!(
            "{} left pointing to a missing parent; {}",
            plural(run.fk_violation_count, "row"),
            run.kept()
        ),
        None => "ran".into(),
    }
}

/// Record what a run says beyond its rows: failures as a failed `check`, warnings of the runner,
/// foreign keys left pointing nowhere, and the rows its own queries returned.
pub fn record_run(report: &mut Report, run: &Run, check: &str, outputs: bool) {
    for f in &run.failures {
        report.checks.push(
            result(check, format!("{}:{}", run.path, f.line))
                .judged(1, "every statement runs", f.message.clone())
                .with_examples(vec![
                    format!("{}:{}: {}", run.path, f.line, f.message),
                    format!("statement: {}", f.statement),
                    run.kept(),
                ]),
        );
    }
    for n in run.notes.iter().filter(|n| n.warn) {
        report.checks.push(
            result("sql.runner", format!("{}:{}", run.path, n.line))
                .judged(0, "the statement does what it reads", n.text.clone())
                .with_status(Status::Warn)
                .with_examples(vec![n.text.clone()]),
        );
    }
    if run.fk_violation_count > 0 {
        report.checks.push(
            result("sql.foreign_keys", run.path.clone())
                .judged(
                    run.fk_violation_count,
                    "every foreign key finds its parent (PRAGMA foreign_key_check)",
                    format!(
                        "{} pointing to a missing parent",
                        plural(run.fk_violation_count, "row")
                    ),
                )
                .with_examples(
                    run.fk_violations
                        .iter()
                        .take(5)
                        .map(|v| {
                            format!(
                                "{} rowid {} → no row in {}",
                                v.table,
                                v.rowid.map_or("?".into(), |r| r.to_string()),
                                v.parent
                            )
                        })
                        .collect(),
                ),
        );
    }
    if outputs {
        for (st, out) in run.outputs() {
            report.outputs.push(ScriptOutput {
                at: format!("{}:{}", run.path, st.line),
                statement: st.statement.clone(),
                rows: out.rows.iter().map(|r| shell_row(r)).collect(),
                total: out.total,
            });
        }
    }
}

/// A script the runner refuses, as a failed check naming file and line; the stage's text.
pub fn refused(report: &mut Report, check: &str, e: &ScriptError) -> Result<String, Error> {
    let ScriptError::Refused {
        path,
        line,
        statement,
        why,
    } = e
    else {
        return Err(Error::Script(ScriptError::Db(crate::db::DbError::Open {
            target: String::new(),
            message: e.to_string(),
        })));
    };
    let at = format!("{}:{line}", path.display());
    report.checks.push(
        result(check, at.clone())
            .judged(
                1,
                "the runner runs every statement",
                format!("refused: {why}"),
            )
            .with_examples(vec![
                format!("{at}: refused: {why}"),
                format!("statement: {statement}"),
            ]),
    );
    Ok(format!("refused at {at}: {why}; nothing was run"))
}

/// Rows changed, table by table, from a diff: "comments 3 deleted, posts 1 updated".
pub fn table_changes(d: &diff::DbDiff) -> (u64, String) {
    let mut rows = 0;
    let mut parts = Vec::new();
    for t in &d.tables {
        rows += t.rows();
        let mut what = Vec::new();
        for (n, w) in [
            (t.inserted, "inserted"),
            (t.updated, "updated"),
            (t.deleted, "deleted"),
        ] {
            if n > 0 {
                what.push(format!("{} {w}", count(n as i64)));
            }
        }
        if !t.columns_added.is_empty() || !t.columns_removed.is_empty() {
            what.push("columns changed".into());
        }
        parts.push(format!("{} {}", t.table, what.join(", ")));
    }
    let mut text = parts.join("; ");
    if !d.schema.is_empty() {
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&format!(
            "schema: {} changed",
            plural(d.schema.len() as u64, "object")
        ));
    }
    (rows, text)
}

/// The instant the clock is frozen at, and where it comes from: `now`, else the backup's time.
pub fn frozen_now(
    now: Option<i64>,
    manifest: Option<&Path>,
    backup: &Path,
    bundled: bool,
) -> (i64, String) {
    if let Some(n) = now {
        return (n, "--now".into());
    }
    let from_manifest = manifest
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<crate::backup::manifest::Manifest>(&t).ok())
        .and_then(|m| {
            time::OffsetDateTime::parse(
                &m.created_utc,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
        });
    if let Some(t) = from_manifest {
        return (
            (t.unix_timestamp_nanos() / 1_000_000) as i64,
            "the backup's manifest".into(),
        );
    }
    // the gzip header's MTIME: when the compressed file was made (0: not recorded)
    let mut head = [0u8; 8];
    let gz_time = std::fs::File::open(backup)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .ok()
        .filter(|_| head[..2] == [0x1f, 0x8b])
        .map(|_| u32::from_le_bytes([head[4], head[5], head[6], head[7]]))
        .filter(|&t| t > 0);
    if let Some(t) = gz_time {
        return (
            i64::from(t) * 1000,
            "the time in the backup's gzip header".into(),
        );
    }
    if bundled {
        return (
            crate::fixture::BACKUP_TIME * 1000,
            "the bundled fixture's backup time".into(),
        );
    }
    let mtime = std::fs::metadata(backup)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    (
        mtime,
        "the backup file's modification time; give --now to choose".into(),
    )
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

/// "1 row", "2 rows", "1 query", "3 queries".
pub fn plural(n: u64, word: &str) -> String {
    let many = if let Some(stem) = word.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{word}s")
    };
    format!(
        "{} {}",
        count(n as i64),
        if n == 1 { word.to_string() } else { many }
    )
}
