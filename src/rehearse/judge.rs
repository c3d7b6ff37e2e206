//! How the rehearsal's stages judge what a run did: its failures, warnings and orphans as
//! checks, its changes table by table, comparisons with a kept state (leaving a runner's own
//! bookkeeping out), and the instant the clock is frozen at. What a run did without saying so
//! (cascades, triggers, lost objects) is `crate::hazards`' to judge.

use std::path::Path;

use crate::checks::result;
use crate::db::{self, Db, DbExt};
use crate::error::Error;
use crate::fingerprint::{self, Fingerprint, diff};
use crate::migrate::expect::{Expect, When, row_matches, shell_row};
use crate::migrate::runner::{Conn, LocalSession, Run};
use crate::migrate::script::ScriptError;
use crate::report::render::phrase;
use crate::report::{
    ChangeUnit, Example, Fact, Fixed, KeptBy, Report, RowsSide, ScriptOutput, Status, TableRows,
};

/// What a comparison of the work copy with a reference state proves, for the report.
pub struct Claim<'a> {
    pub check: &'a str,
    pub scope: String,
    pub expected: Fixed,
    /// What is found when nothing differs.
    pub same: Fixed,
    /// What one difference is called, and why differences stayed.
    pub unit: ChangeUnit,
    pub kept: Option<KeptBy>,
}

/// Differences between a reference state and the work copy (a count and examples), leaving out
/// `bookkeeping`'s rows: the table itself and its line in `sqlite_sequence`.
pub fn compare_dbs(
    reference: &dyn Db,
    fp: &Fingerprint,
    work: &dyn Db,
    bookkeeping: Option<&str>,
) -> Result<(u64, Vec<Example>), Error> {
    let now = fingerprint::fingerprint(work)?;
    let mut d = diff::diff_databases(reference, work, fp, &now, 5)?;
    if let Some(t) = bookkeeping {
        leave_out(reference, work, &mut d, t)?;
    }
    Ok(d.summary(5))
}

/// A diff without the rows of a runner's bookkeeping table `t`, and without its line in
/// `sqlite_sequence` (that table stays in when another line of it changed).
pub fn leave_out(
    reference: &dyn Db,
    work: &dyn Db,
    d: &mut diff::DbDiff,
    t: &str,
) -> Result<(), Error> {
    d.tables.retain(|x| !x.table.eq_ignore_ascii_case(t));
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
    Ok(())
}

/// Record a comparison's claim as a check.
pub fn push_claim(report: &mut Report, claim: Claim, (n, ex): (u64, Vec<Example>)) -> u64 {
    report.checks.push(
        result(claim.check, claim.scope)
            .judged(
                n,
                claim.expected,
                if n == 0 {
                    Fact::from(claim.same)
                } else {
                    Fact::Changes {
                        n,
                        of: claim.unit,
                        kept: claim.kept,
                    }
                },
            )
            .with_examples(ex),
    );
    n
}

/// Run one query on a session (the clock frozen as for the scripts): its rows, or SQLite's
/// words.
fn query(session: &mut LocalSession, sql: &str) -> Result<Vec<Vec<crate::db::Value>>, String> {
    session
        .run(0, sql, false, usize::MAX)
        .map(|r| r.output.map(|o| o.rows).unwrap_or_default())
        .map_err(|e| e.message)
}

pub fn check_queries(session: &mut LocalSession, expect: &Expect, when: When, report: &mut Report) {
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
        let expected = Fact::ShellRows {
            rows: q.rows.clone(),
        };
        report.checks.push(match query(session, &q.sql) {
            Err(message) => r.judged(1, expected, Fact::QueryFails { message }),
            Ok(rows) => {
                let same = rows.len() == q.rows.len()
                    && rows
                        .iter()
                        .zip(&q.rows)
                        .all(|(got, want)| row_matches(want, got));
                let got: Vec<String> = rows.iter().map(|r| shell_row(r)).collect();
                let mut ex = Vec::new();
                if !same {
                    ex.push(Example::ShellRows {
                        side: RowsSide::Expected,
                        rows: q.rows.clone(),
                    });
                    ex.push(Example::ShellRows {
                        side: RowsSide::Got,
                        rows: got.clone(),
                    });
                }
                r.judged(u64::from(!same), expected, Fact::ShellRows { rows: got })
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
                .judged(
                    1,
                    Fixed::EveryStatementRuns,
                    Fact::SqliteError {
                        message: f.message.clone(),
                    },
                )
                .with_examples(vec![
                    Example::Failed {
                        file: run.path.clone(),
                        line: f.line as u64,
                        message: f.message.clone(),
                        records: None,
                    },
                    Example::Statement {
                        sql: f.statement.clone(),
                    },
                    kept(run, false),
                ]),
        );
    }
    for n in run.notes.iter().filter(|n| n.warn) {
        report.checks.push(
            result("sql.runner", format!("{}:{}", run.path, n.line))
                .judged(
                    0,
                    Fixed::StatementDoesWhatItReads,
                    Fact::RunnerNote {
                        text: n.text.clone(),
                    },
                )
                .with_status(Status::Warn)
                .with_examples(vec![Example::RunnerNote {
                    text: n.text.clone(),
                }]),
        );
    }
    if run.fk_violation_count > 0 {
        report.checks.push(
            result("sql.foreign_keys", run.path.clone())
                .judged(
                    run.fk_violation_count,
                    Fixed::EveryForeignKeyFindsItsParent,
                    Fact::Orphans {
                        rows: run.fk_violation_count,
                    },
                )
                .with_examples(
                    run.fk_violations
                        .iter()
                        .take(5)
                        .map(|v| Example::Orphan {
                            table: v.table.clone(),
                            rowid: v.rowid,
                            parent: v.parent.clone(),
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
                Fixed::RunnerRunsEveryStatement,
                Fact::Refused { why: why.clone() },
            )
            .with_examples(vec![
                Example::Refused {
                    file: path.display().to_string(),
                    line: *line as u64,
                    why: why.clone(),
                },
                Example::Statement {
                    sql: statement.clone(),
                },
            ]),
    );
    Ok(format!("refused at {at}: {why}; nothing was run"))
}

/// Rows changed in each table of a diff, as the report carries them, and how many rows in all.
pub fn table_rows(d: &diff::DbDiff) -> (u64, Vec<TableRows>) {
    let tables: Vec<TableRows> = d
        .tables
        .iter()
        .map(|t| TableRows {
            table: t.table.clone(),
            inserted: t.inserted,
            updated: t.updated,
            deleted: t.deleted,
            columns_changed: !t.columns_added.is_empty() || !t.columns_removed.is_empty(),
            spread: t
                .spread
                .as_ref()
                .filter(|s| !s.groups.is_empty())
                .map(|s| s.shown(8)),
        })
        .collect();
    (d.tables.iter().map(|t| t.rows()).sum(), tables)
}

/// Rows changed, table by table, from a diff: "comments 3 deleted, posts 1 updated".
pub fn table_changes(d: &diff::DbDiff) -> (u64, String) {
    let (rows, tables) = table_rows(d);
    (rows, phrase::tables_changed(&tables, d.schema.len() as u64))
}

/// Which statements' effects a run kept, and which were rolled back.
pub fn kept(run: &Run, second_run: bool) -> Example {
    let ran = run
        .statements
        .iter()
        .filter(|s| matches!(s.outcome, crate::migrate::runner::Outcome::Ran { .. }) && !s.control);
    let (kept, lost): (Vec<_>, Vec<_>) = ran.partition(|s| s.kept);
    Example::Kept {
        kept: kept.iter().map(|s| s.line as u64).collect(),
        rolled_back: lost.iter().map(|s| s.line as u64).collect(),
        failed: !run.failures.is_empty(),
        second_run,
    }
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

pub use crate::report::render::phrase::plural;
