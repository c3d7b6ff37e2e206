//! `rehearse --sql`: a SQL-script migration (forward, rollback) rehearsed on a copy of a backup,
//! executed as production's runner executes it (`migrate::runner`), with the clock frozen at one
//! instant for every stage. Forward → expectations → every change against the declared scope →
//! forward again (nothing may change) → rollback (every table and the schema exactly as before)
//! → forward once more (the change can be redeployed) → report.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::{BUNDLED_NAME, OnStage, Timer, backup_source, extract_stage, workdir};
use crate::checks::result;
use crate::db::{self, Access, Db, Target};
use crate::error::Error;
use crate::fingerprint::{self, Fingerprint, diff};
use crate::hazards;
use crate::migrate::expect::{Expect, When, row_matches, shell_row};
use crate::migrate::runner::{Conn, FrozenClock, LocalSession, Run, Runner};
use crate::migrate::script::{self, Script};
use crate::report::{Report, ScriptOutput, SpecIdentity, Stage, Status};
use crate::table::count;
use crate::verify::file_identity;

pub struct Options {
    /// The backup; None: the bundled fixture.
    pub backup: Option<PathBuf>,
    pub forward: PathBuf,
    pub rollback: Option<PathBuf>,
    pub expect: Option<PathBuf>,
    /// How production executes the scripts.
    pub runner: Runner,
    /// The "now" every stage sees, in Unix milliseconds; None: the backup's time.
    pub now: Option<i64>,
}

/// How the report names the scripts: their paths, and one sha256 of their texts.
fn identity(
    forward: &Script,
    rollback: Option<&Script>,
    expect: Option<(&Path, &str)>,
) -> SpecIdentity {
    let mut h = Sha256::new();
    let texts = [
        Some(forward.text.as_str()),
        rollback.map(|r| r.text.as_str()),
        expect.map(|(_, t)| t),
    ];
    for t in texts.into_iter().flatten() {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
    let mut origin = format!("forward {}", forward.name());
    if let Some(r) = rollback {
        origin.push_str(&format!(", rollback {}", r.name()));
    }
    if let Some((p, _)) = expect {
        origin.push_str(&format!(", expect {}", p.display()));
    }
    SpecIdentity {
        kind: "scripts".into(),
        name: "sql scripts".into(),
        origin,
        sha256: crate::backup::hex(&h.finalize()),
    }
}

/// What a comparison of the work copy with a reference state proves, for the report.
struct Claim<'a> {
    check: &'a str,
    scope: String,
    expected: &'a str,
    /// The actual value when nothing differs.
    same: &'a str,
    /// What one difference is called ("change", "difference"), and what follows the count.
    noun: &'a str,
    tail: &'a str,
}

/// Compare the work copy with a reference state (a database and its fingerprint) and record the
/// claim as a check; returns how many differences there are.
fn compare(
    report: &mut Report,
    claim: Claim,
    reference: (&dyn Db, &Fingerprint),
    work: &dyn Db,
) -> Result<u64, Error> {
    let now = fingerprint::fingerprint(work)?;
    let (n, ex) = diff::diff_databases(reference.0, work, reference.1, &now, 5)?.summary(5);
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
    Ok(n)
}

fn skip_stage(report: &mut Report, name: &str, why: &str) {
    report.stages.push(Stage {
        name: name.into(),
        status: Status::Skip,
        detail: why.into(),
    });
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

/// Everything a rehearsal's stages share.
struct Ctx<'a> {
    runner: &'a Runner,
    clock: Arc<FrozenClock>,
    work: PathBuf,
}

impl Ctx<'_> {
    fn session(&self) -> Result<LocalSession, Error> {
        Ok(LocalSession::open(
            &self.work,
            Some(self.clock.clone()),
            true,
        )?)
    }

    /// Run a script on the work copy as production's runner would.
    fn run(&self, s: &Script) -> Result<Run, Error> {
        let mut session = self.session()?;
        Ok(self.runner.execute(s, &mut session)?)
    }

    /// The same, recording what each statement touches as SQLite's authorizer reports it.
    fn run_recorded(&self, s: &Script) -> Result<(Run, hazards::Touches), Error> {
        let mut session = self.session()?;
        let recorder = hazards::Recorder::new();
        session.watch(Box::new(recorder.clone()));
        let run = self.runner.execute(s, &mut session)?;
        Ok((run, recorder.touches()))
    }
}

/// The first failure of a run, in words: "failed at f.sql:9: near …; nothing of the script was
/// kept".
fn failure_text(run: &Run) -> String {
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
fn record_run(report: &mut Report, run: &Run, check: &str, outputs: bool) {
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
fn refused(report: &mut Report, check: &str, e: &script::ScriptError) -> Result<String, Error> {
    let script::ScriptError::Refused {
        path,
        line,
        statement,
        why,
    } = e
    else {
        return Err(Error::Script(script::ScriptError::Db(
            crate::db::DbError::Open {
                target: String::new(),
                message: e.to_string(),
            },
        )));
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
fn table_changes(d: &diff::DbDiff) -> (u64, String) {
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
        parts.push(format!(
            "{} {}{}",
            t.table,
            what.join(", "),
            t.spread_text()
        ));
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

/// The instant the clock is frozen at, and where it comes from.
fn frozen_now(
    opts: &Options,
    manifest: Option<&Path>,
    backup: &Path,
    bundled: bool,
) -> (i64, String) {
    if let Some(n) = opts.now {
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

fn open_rw(path: &Path) -> Result<Box<dyn Db>, Error> {
    Ok(db::open(
        &Target::Local(path.to_path_buf()),
        Access::Rehearsal,
    )?)
}

pub fn rehearse(opts: &Options, on_stage: OnStage) -> Result<Report, Error> {
    let started = Instant::now();
    let forward = script::load(&opts.forward)?;
    let rollback = opts.rollback.as_deref().map(script::load).transpose()?;
    // a script that does not parse stops here, before anything has run
    for s in std::iter::once(&forward).chain(rollback.as_ref()) {
        if let Some(e) = s.syntax_error() {
            return Err(e.into());
        }
    }
    // one the runner refuses is a failed rehearsal: production would not run it either
    let forward_refused = opts.runner.check(&forward).err();
    let rollback_refused = rollback.as_ref().and_then(|r| opts.runner.check(r).err());
    let expect = match &opts.expect {
        Some(p) => Some((p.clone(), Expect::load(p)?)),
        None => None,
    };
    let workdir = workdir()?;
    let (backup_path, shown) = backup_source(opts.backup.as_deref(), workdir.path())?;
    let mut report = Report::new(
        "rehearse",
        file_identity(&shown, &backup_path)?,
        identity(
            &forward,
            rollback.as_ref(),
            expect.as_ref().map(|(p, (_, t))| (p.as_path(), t.as_str())),
        ),
        None,
    );
    let expect_data: Expect = expect
        .as_ref()
        .map(|(_, (e, _))| e.clone())
        .unwrap_or_default();
    let declared = expect.is_some();
    let mut t = Timer {
        report: &mut report,
    };

    on_stage("extract");
    let (extracted, pristine) = extract_stage(&mut t, &backup_path, workdir.path())?;
    let path = extracted.db.path().to_path_buf();
    let (now, source) = frozen_now(
        opts,
        extracted.manifest.as_deref(),
        &backup_path,
        shown == BUNDLED_NAME,
    );
    let ctx = Ctx {
        runner: &opts.runner,
        clock: FrozenClock::new(now)?,
        work: path.clone(),
    };
    t.report.runner = Some(format!(
        "{}; clock frozen at {} ({source})",
        opts.runner.describe(),
        ctx.clock.shown()
    ));
    let work = open_rw(&path)?;
    let base = db::open(&Target::Local(pristine.clone()), Access::ReadOnly)?;

    on_stage("fingerprint");
    let before: Fingerprint = t.stage("fingerprint", |_| {
        let fp = fingerprint::fingerprint(base.as_ref())?;
        let rows: u64 = fp.tables.values().map(|h| h.rows).sum();
        let detail = format!("{} tables, {} rows", fp.tables.len(), count(rows as i64));
        Ok((fp, Status::Pass, detail))
    })?;

    on_stage("forward");
    let (forwarded, after_forward, forward_diff, touches) = t.stage("forward", |report| {
        if let Some(e) = &forward_refused {
            let detail = refused(report, "sql.forward", e)?;
            let now = before.clone();
            return Ok((
                (
                    false,
                    now,
                    diff::DbDiff::default(),
                    hazards::Touches::default(),
                ),
                Status::Fail,
                detail,
            ));
        }
        let (run, touches) = ctx.run_recorded(&forward)?;
        record_run(report, &run, "sql.forward", true);
        let now = fingerprint::fingerprint(work.as_ref())?;
        // examples show the columns the statements filtered on beside each row's key
        let diff_opts = diff::DiffOptions {
            limit: 5,
            context: hazards::rows::context_columns(&touches, &forward),
        };
        let d = diff::diff_databases_with(base.as_ref(), work.as_ref(), &before, &now, &diff_opts)?;
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
        let one_transaction =
            opts.runner.transactions == crate::migrate::runner::Transactions::Script;
        let ok = run.failures.is_empty() && (run.fk_violation_count == 0 || !one_transaction);
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
            report
                .checks
                .push(result("sql.forward", forward.name()).judged(
                    0,
                    "every statement runs",
                    text.clone(),
                ));
            text
        } else {
            format!("{}{notes}", failure_text(&run))
        };
        let status = if ok && run.fk_violation_count == 0 {
            Status::Pass
        } else {
            Status::Fail
        };
        Ok(((ok, now, d, touches), status, detail))
    })?;

    let mut size_after = None;
    if forward_refused.is_some() {
        for s in [
            "expectations",
            "scope",
            "forward again",
            "rollback",
            "redeploy",
        ] {
            skip_stage(t.report, s, "the runner refused the forward script");
        }
    } else if !forwarded {
        // what production keeps of a failed script: nothing under one transaction, else what
        // committed before the error
        let kept = forward_diff.summary(5);
        if kept.0 == 0 {
            compare(
                t.report,
                Claim {
                    check: "sql.atomic",
                    scope: forward.name(),
                    expected: "a failed script leaves every table as before",
                    same: "every table as before",
                    noun: "change",
                    tail: " stayed",
                },
                (base.as_ref(), &before),
                work.as_ref(),
            )?;
        } else {
            t.report.checks.push(
                result("sql.kept", forward.name())
                    .judged(
                        kept.0,
                        "a failed script leaves every table as before",
                        format!(
                            "{} stayed: {}",
                            plural(kept.0, "change"),
                            table_changes(&forward_diff).1
                        ),
                    )
                    .with_examples(kept.1),
            );
        }
        for s in [
            "expectations",
            "scope",
            "forward again",
            "rollback",
            "redeploy",
        ] {
            skip_stage(t.report, s, "the forward script failed");
        }
    } else {
        on_stage("expectations");
        t.stage("expectations", |report| {
            let n0 = report.checks.len();
            let mut session = ctx.session()?;
            check_queries(&mut session, &expect_data, When::Forward, report);
            let failed = report.checks[n0..]
                .iter()
                .filter(|c| c.status == Status::Fail)
                .count();
            let n = report.checks.len() - n0;
            Ok((
                (),
                if failed == 0 {
                    Status::Pass
                } else {
                    Status::Fail
                },
                if n == 0 {
                    "no query declared (give --expect)".to_string()
                } else {
                    format!("{}, {failed} differ", plural(n as u64, "query"))
                },
            ))
        })?;

        on_stage("scope");
        t.stage("scope", |report| {
            // every change against the declared scope, and the hazards, which need no scope
            let schema_before = hazards::Schema::read(base.as_ref())?;
            let schema_after = hazards::Schema::read(work.as_ref())?;
            let objects = hazards::scope::changes(&schema_before, &schema_after);
            let judged =
                hazards::scope::judge(&forward_diff, &objects, declared.then_some(&expect_data));
            let found = hazards::assess(
                &hazards::Evidence {
                    script: &forward,
                    before: &schema_before,
                    after: &schema_after,
                    diff: &forward_diff,
                    touches: &touches,
                },
                &expect_data,
            )?;
            let mut failed: Vec<String> = found
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| c.check.clone())
                .collect();
            failed.dedup();
            let (status, detail) = judged.stage(&failed);
            report.checks.extend(judged.results);
            report.checks.extend(found);
            Ok(((), status, detail))
        })?;
        size_after = Some(crate::fsutil::size(&path)?);
        // the state after the forward script, kept for the comparisons that follow
        let kept = workdir.path().join("after-forward.db");
        std::fs::copy(&path, &kept).map_err(|e| crate::fsutil::FsError::io(&kept, e))?;
        let forward_db = db::open(&Target::Local(kept), Access::ReadOnly)?;

        on_stage("forward again");
        t.stage("forward again", |report| {
            let run = ctx.run(&forward)?;
            record_run(report, &run, "sql.rerun", false);
            if !run.failures.is_empty() {
                return Ok((
                    (),
                    Status::Fail,
                    format!("the second run {}", failure_text(&run)),
                ));
            }
            let n = compare(
                report,
                Claim {
                    check: "sql.rerun",
                    scope: forward.name(),
                    expected: "a second run changes nothing",
                    same: "nothing changed",
                    noun: "change",
                    tail: "",
                },
                (forward_db.as_ref(), &after_forward),
                work.as_ref(),
            )?;
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
        })?;

        match &rollback {
            None => {
                report_skip(t.report, "no --rollback given");
            }
            Some(rb) => {
                on_stage("rollback");
                let rolled = t.stage("rollback", |report| {
                    if let Some(e) = &rollback_refused {
                        return Ok((false, Status::Fail, refused(report, "sql.rollback", e)?));
                    }
                    let run = ctx.run(rb)?;
                    record_run(report, &run, "sql.rollback", true);
                    if !run.failures.is_empty() {
                        return Ok((
                            false,
                            Status::Fail,
                            format!("the rollback script {}", failure_text(&run)),
                        ));
                    }
                    let n = compare(
                        report,
                        Claim {
                            check: "sql.rollback",
                            scope: rb.name(),
                            expected: "schema and every table as before the forward script",
                            same: "identical",
                            noun: "difference",
                            tail: "",
                        },
                        (base.as_ref(), &before),
                        work.as_ref(),
                    )?;
                    let mut session = ctx.session()?;
                    check_queries(&mut session, &expect_data, When::Rollback, report);
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
                                    "NOT as before: {} from the state before the forward script",
                                    plural(n, "difference")
                                )
                            }
                        ),
                    ))
                })?;
                if rolled {
                    on_stage("redeploy");
                    t.stage("redeploy", |report| {
                        let run = ctx.run(&forward)?;
                        record_run(report, &run, "sql.redeploy", false);
                        if !run.failures.is_empty() {
                            return Ok((
                                (),
                                Status::Fail,
                                format!(
                                    "after the rollback the forward script {}",
                                    failure_text(&run)
                                ),
                            ));
                        }
                        let n = compare(
                            report,
                            Claim {
                                check: "sql.redeploy",
                                scope: forward.name(),
                                expected: "the same state as the first forward run",
                                same: "identical",
                                noun: "difference",
                                tail: "",
                            },
                            (forward_db.as_ref(), &after_forward),
                            work.as_ref(),
                        )?;
                        Ok((
                            (),
                            if n == 0 { Status::Pass } else { Status::Fail },
                            if n == 0 {
                                "forward runs again after the rollback: the same state as its first run"
                                    .to_string()
                            } else {
                                format!(
                                    "forward runs again after the rollback, but {} from its first run",
                                    plural(n, "difference")
                                )
                            },
                        ))
                    })?;
                } else {
                    skip_stage(t.report, "redeploy", "the rollback script failed");
                }
            }
        }
    }
    drop(work);
    drop(base);
    drop(ctx);
    let size_before = extracted.uncompressed_bytes;
    drop(extracted);
    report.sizes = size_after.map(|after| (size_before, after));
    report
        .timings
        .insert("total".into(), started.elapsed().as_secs_f64());
    report.finish();
    Ok(report)
}

/// "1 row", "2 rows", "1 query", "3 queries".
fn plural(n: u64, word: &str) -> String {
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

fn report_skip(report: &mut Report, why: &str) {
    skip_stage(report, "rollback", why);
    skip_stage(report, "redeploy", why);
    report
        .checks
        .push(crate::checks::skipped("sql.rollback", "rollback", why));
}
