//! `rehearse --sql`: a SQL-script migration (forward, rollback) rehearsed on a copy of a backup.
//! Forward in one transaction → expectations → every change against the declared scope → forward
//! again (nothing may change) → rollback (every table and the schema exactly as before) → forward
//! once more (the change can be redeployed) → report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::{OnStage, Timer, backup_source, extract_stage, workdir};
use crate::checks::result;
use crate::db::{self, Access, Db, Target};
use crate::error::Error;
use crate::fingerprint::{self, Fingerprint, diff};
use crate::migrate::expect::{Expect, TableScope, When, shell_row};
use crate::migrate::script::{self, Script};
use crate::report::{Report, SpecIdentity, Stage, Status};
use crate::table::count;
use crate::verify::file_identity;

pub struct Options {
    /// The backup; None: the bundled fixture.
    pub backup: Option<PathBuf>,
    pub forward: PathBuf,
    pub rollback: Option<PathBuf>,
    pub expect: Option<PathBuf>,
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

/// How a script's outcome reads in a check: rows changed per statement.
fn changed(outs: &[crate::db::StmtOut]) -> u64 {
    outs.iter().map(|o| o.changes).sum()
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

fn check_queries(db: &dyn Db, expect: &Expect, when: When, report: &mut Report) {
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
        report.checks.push(match db.query(&q.sql, &[]) {
            Err(e) => r.judged(
                1,
                q.rows.join("; "),
                format!("the query fails: {}", e.message()),
            ),
            Ok(rows) => {
                let got: Vec<String> = rows.iter().map(|r| shell_row(r)).collect();
                let bad = if got == q.rows { 0 } else { 1 };
                let mut ex = Vec::new();
                if bad == 1 {
                    ex.push(format!("expected: {}", q.rows.join("; ")));
                    ex.push(format!("got:      {}", got.join("; ")));
                }
                r.judged(bad, q.rows.join("; "), got.join("; "))
                    .with_examples(ex)
            }
        });
    }
}

fn open_rw(path: &Path) -> Result<Box<dyn Db>, Error> {
    Ok(db::open(
        &Target::Local(path.to_path_buf()),
        Access::Rehearsal,
    )?)
}

/// Run a script; a failure becomes a failed check naming file, line and statement.
fn run_script(
    s: &Script,
    db: &dyn Db,
    check: &str,
    report: &mut Report,
) -> Result<Option<Vec<crate::db::StmtOut>>, Error> {
    match s.run(db) {
        Ok(out) => Ok(Some(out)),
        Err(script::ScriptError::Failed {
            path,
            line,
            statement,
            message,
        }) => {
            report.checks.push(
                result(check, format!("{}:{line}", path.display()))
                    .judged(1, "every statement runs", message.clone())
                    .with_examples(vec![
                        format!("{}:{line}: {message}", path.display()),
                        format!("statement: {statement}"),
                    ]),
            );
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn rehearse(opts: &Options, on_stage: OnStage) -> Result<Report, Error> {
    let started = Instant::now();
    let forward = script::load(&opts.forward)?;
    let rollback = opts.rollback.as_deref().map(script::load).transpose()?;
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
    let notes = if forward.transaction_lines.is_empty() {
        String::new()
    } else {
        format!(
            " (its own BEGIN/COMMIT at lines {} replaced by one transaction)",
            forward
                .transaction_lines
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let forwarded = t.stage("forward", |report| {
        let out = run_script(&forward, work.as_ref(), "sql.forward", report)?;
        Ok(match out {
            Some(out) => {
                let detail = format!(
                    "{}, {} changed{notes}",
                    plural(forward.statements.len() as u64, "statement"),
                    plural(changed(&out), "row")
                );
                report
                    .checks
                    .push(result("sql.forward", forward.name()).judged(
                        0,
                        "every statement runs",
                        detail.clone(),
                    ));
                (true, Status::Pass, detail)
            }
            None => (false, Status::Fail, format!("failed{notes}")),
        })
    })?;

    let mut size_after = None;
    if !forwarded {
        // nothing of the script may stay: prove it
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
            check_queries(work.as_ref(), &expect_data, When::Forward, report);
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
                format!("{}, {failed} differ", plural(n as u64, "query")),
            ))
        })?;

        on_stage("scope");
        let after_forward = t.stage("scope", |report| {
            let now = fingerprint::fingerprint(work.as_ref())?;
            let d = diff::diff_databases(base.as_ref(), work.as_ref(), &before, &now, 5)?;
            let mut names: Vec<String> = d.tables.iter().map(|x| x.table.clone()).collect();
            names.extend(d.schema.iter().map(|c| c.table.clone()));
            names.extend(expect_data.scope.keys().cloned());
            names.sort();
            names.dedup();
            let mut over_total = 0;
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
                let (over, allowed) = judge_scope(&td, expect_data.scope.get(name), schema_changed);
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
                let mut r = result("sql.scope", format!("table {name}"))
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
                if !declared {
                    // without --expect nothing is declared: changes are shown, not judged
                    r.expected = "no scope declared (give --expect)".into();
                    r.status = Status::Warn;
                    over_total -= over;
                }
                report.checks.push(r);
            }
            let detail = format!(
                "{} changed, {} outside the declared scope",
                plural(d.tables.len() as u64, "table"),
                plural(over_total, "change")
            );
            Ok((
                now,
                if over_total == 0 {
                    Status::Pass
                } else {
                    Status::Fail
                },
                detail,
            ))
        })?;
        size_after = Some(crate::fsutil::size(&path)?);
        // the state after the forward script, kept for the comparisons that follow
        let kept = workdir.path().join("after-forward.db");
        std::fs::copy(&path, &kept).map_err(|e| crate::fsutil::FsError::io(&kept, e))?;
        let forward_db = db::open(&Target::Local(kept), Access::ReadOnly)?;

        on_stage("forward again");
        t.stage("forward again", |report| {
            let Some(out) = run_script(&forward, work.as_ref(), "sql.rerun", report)? else {
                return Ok(((), Status::Fail, "the second run fails".to_string()));
            };
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
                    plural(changed(&out), "row"),
                    plural(n, "change")
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
                    let Some(out) = run_script(rb, work.as_ref(), "sql.rollback", report)? else {
                        return Ok((false, Status::Fail, "the rollback script fails".to_string()));
                    };
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
                    check_queries(work.as_ref(), &expect_data, When::Rollback, report);
                    Ok((
                        true,
                        if n == 0 { Status::Pass } else { Status::Fail },
                        format!(
                            "{} changed; {}",
                            plural(changed(&out), "row"),
                            if n == 0 {
                                "every table as before"
                            } else {
                                "NOT as before"
                            }
                        ),
                    ))
                })?;
                if rolled {
                    on_stage("redeploy");
                    t.stage("redeploy", |report| {
                        if run_script(&forward, work.as_ref(), "sql.redeploy", report)?.is_none() {
                            return Ok((
                                (),
                                Status::Fail,
                                "the forward script fails after the rollback".to_string(),
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
                            "forward runs again after the rollback".to_string(),
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
