//! The progress table, and collateral damage: nothing outside the migration's targets changed,
//! and no row that was in a target table before changed.

use super::expect::{bucket_of, makes_row};
use super::rows::{makes_carried_row, systems};
use super::{Ctx, Task, count, examples, result, scope, skipped};
use crate::db::{Db, DbError, DbExt, Value, as_i64, as_text};
use crate::fingerprint::{self, diff};
use crate::migrate::journal::OWN_TABLES;
use crate::report::{Example, Fact, Fixed, Noun};
use crate::spec::validate::{MigrationPlan, SystemPlan};
use crate::sql::ident as q;

pub fn progress<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, range)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let r = result("progress", scope(mp, sp, None));
                let table = &ctx.plan.spec.spec.progress_table;
                // a roll-up records the end of the last bucket it covered
                let last = match &mp.migration.bucket {
                    Some(b) => b.last_time(b.of(range.max)),
                    None => range.max,
                };
                let expected = Fact::Progress { last: Some(last), rows: Some(range.rows) };
                if !db.table_exists(table)? {
                    return Ok(vec![r.judged(1, expected, Fact::NoTable { table: table.clone() })]);
                }
                let row = db.query(
                    &format!("SELECT last_migrated_timestamp, rows_migrated FROM {} WHERE migration_name = ?1 AND system_id = ?2", crate::sql::ident(table)),
                    &[Value::Text(mp.migration.name.clone()), Value::Integer(sp.system_id)],
                )?;
                Ok(vec![match row.first() {
                    None => r.judged(1, expected, Fixed::NoRow),
                    Some(x) => {
                        let (last_recorded, rows) = (as_i64(&x[0]), as_i64(&x[1]));
                        if let (Some(mark), Some(rows)) = (last_recorded, rows)
                            && mark < last
                            && let Some(after) = after_the_mark(db, mp, sp, mark, rows, range.rows)?
                        {
                            let (behind, missing, ex) = after;
                            let found = Fact::ProgressBehind { last: mark, rows, after: behind, lacking: missing };
                            return Ok(vec![r.judged(missing, expected, found).with_examples(ex)]);
                        }
                        let mut bad = 0;
                        if last_recorded != Some(last) {
                            bad += 1;
                        }
                        if rows != Some(range.rows) {
                            bad += 1;
                        }
                        r.judged(bad, expected, Fact::Progress { last: last_recorded, rows })
                    }
                }])
            })
        })
        .collect()
}

/// A progress mark behind the last source row is right when the live app wrote the rows after
/// it, target rows and all (the dual-write window): when the recorded row count is the source
/// rows up to the mark, returns (source rows after the mark, how many of them lack a
/// target row the spec makes of them, examples); None when the count does not fit the mark.
/// (A roll-up's rows in the mark's own bucket count too: the live app adds to that bucket. A
/// roll-up's bucket row that exists answers for every source row of the bucket here; whether it
/// took them all in is the values check's to judge.)
fn after_the_mark(
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
    mark: i64,
    recorded: i64,
    total: i64,
) -> Result<Option<(i64, u64, Vec<Example>)>, DbError> {
    let m = &mp.migration;
    let (sys, ts, mult) = (q(&m.system), q(&m.time.source), m.time.multiply);
    let (src, tgt, pc, tt) = (
        q(&m.source),
        q(&m.target),
        q(&m.point_column),
        q(&m.time.target),
    );
    let params = [Value::Integer(sp.system_id), Value::Integer(mark)];
    // a roll-up's last bucket may take more source rows after the migration counted it: the rows
    // of that bucket and after are the window whose target rows must exist
    let window = match &m.bucket {
        Some(b) => format!(
            "{} >= {}",
            bucket_of(b, &format!("s.{ts}")),
            bucket_of(b, "?2")
        ),
        None => format!("s.{ts} > ?2"),
    };
    let n = |cond: &str| {
        count(
            db,
            &format!("SELECT count(*) FROM {src} AS s WHERE s.{sys} = ?1 AND {cond}"),
            &params,
        )
        .map(|n| n as i64)
    };
    let after = n(&format!("s.{ts} > ?2"))?;
    let in_window = n(&window)?;
    let behind = total - recorded;
    if after == 0 || behind < after || behind > in_window {
        return Ok(None);
    }
    // the target time of the row a source row makes (a roll-up: its bucket's)
    let at = match &m.bucket {
        Some(b) => format!("{} * {mult}", bucket_of(b, &format!("s.{ts}"))),
        None => format!("s.{ts} * {mult}"),
    };
    let lacks: Vec<String> = sp
        .points
        .iter()
        .map(|p| {
            let makes = match &m.bucket {
                Some(_) => makes_row(mp, p, "s"),
                None => makes_carried_row(mp, p, "s"),
            };
            format!(
                "({makes} AND NOT EXISTS (SELECT 1 FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = {} AND t.{tt} = {at}))",
                p.point_id
            )
        })
        .collect();
    if lacks.is_empty() {
        return Ok(Some((behind, 0, Vec::new())));
    }
    let from = format!(
        "FROM {src} AS s WHERE s.{sys} = ?1 AND {window} AND ({})",
        lacks.join(" OR ")
    );
    let missing = count(db, &format!("SELECT count(*) {from}"), &params)?;
    let ex = if missing > 0 {
        examples(
            db,
            &format!("SELECT s.{ts} {from} ORDER BY s.{ts}"),
            &params,
            |r| Example::NoTargetRow {
                table: m.source.clone(),
                column: m.time.source.clone(),
                value: (&r[0]).into(),
                target: m.target.clone(),
            },
        )?
    } else {
        Vec::new()
    };
    Ok(Some((behind, missing, ex)))
}

/// Tables the migration is allowed to change.
fn own(ctx: &Ctx, table: &str) -> bool {
    table == ctx.plan.spec.spec.progress_table
        || OWN_TABLES.contains(&table)
        || ctx
            .plan
            .migrations
            .iter()
            .any(|m| m.migration.target == table)
}

pub fn collateral<'a>(ctx: &'a Ctx<'a>, db: &dyn Db) -> Result<Vec<Task<'a>>, DbError> {
    let Some(base) = &ctx.baseline else {
        return Ok(vec![Box::new(|_db: &dyn Db| {
            Ok(vec![skipped("collateral", "database", Fixed::NoBaseline)])
        })]);
    };
    let mut names: Vec<String> = base.fingerprint.tables.keys().cloned().collect();
    for t in fingerprint::tables(db)? {
        if !names.contains(&t) {
            names.push(t);
        }
    }
    names.sort();
    let targets: Vec<String> = ctx
        .plan
        .migrations
        .iter()
        .map(|m| m.migration.target.clone())
        .collect();
    let mut tasks: Vec<Task<'a>> = Vec::new();
    for name in names {
        if name != "sqlite_sequence" && own(ctx, &name) && !targets.contains(&name) {
            continue;
        }
        let targets = targets.clone();
        tasks.push(Box::new(move |db: &dyn Db| {
            let before = base.fingerprint.tables.get(&name);
            let exists_now = db.table_exists(&name)?;
            let r = result("collateral", format!("table {name}"));
            let Some(before) = before else {
                return Ok(vec![r.judged(1, Fixed::AbsentAsBefore, Fixed::ANewTable)]);
            };
            if !exists_now {
                return Ok(vec![r.judged(
                    1,
                    Fact::count(before.rows, Noun::RowsAsBefore),
                    Fixed::TableGone,
                )]);
            }
            if name == "sqlite_sequence" {
                // counters of tables outside the migration must not move
                let q = "SELECT name, seq FROM sqlite_sequence ORDER BY name";
                let keep = |rows: Vec<Vec<Value>>| -> Vec<(String, Option<i64>)> {
                    rows.into_iter()
                        .filter_map(|r| Some((as_text(&r[0])?, as_i64(&r[1]))))
                        .filter(|(n, _)| !targets.contains(n))
                        .collect()
                };
                let (a, b) = (keep(base.open()?.query(q, &[])?), keep(db.query(q, &[])?));
                let moved: Vec<Example> = a
                    .iter()
                    .filter(|x| !b.contains(x))
                    .map(|(n, s)| Example::Counter {
                        table: n.clone(),
                        from: s.unwrap_or(0),
                        to: b.iter().find(|y| &y.0 == n).and_then(|y| y.1).unwrap_or(0),
                    })
                    .collect();
                return Ok(vec![
                    r.judged(
                        moved.len() as u64,
                        Fixed::CountersOutsideTargetsUnchanged,
                        Fact::count(moved.len() as u64, Noun::Moved),
                    )
                    .with_examples(moved),
                ]);
            }
            let is_target = targets.contains(&name);
            let limit = if is_target { before.max_rowid } else { None };
            let now = fingerprint::hash_table(db, &name, limit)?;
            let expected = if is_target {
                Fact::RowsThatWereThere { rows: before.rows }
            } else {
                Fact::count(before.rows, Noun::RowsUnchanged)
            };
            if now.sha256 == before.sha256 && now.rows == before.rows {
                return Ok(vec![r.judged(0, expected, Fixed::Unchanged)]);
            }
            let d = diff::diff_table(base.open()?.as_ref(), db, &name, limit, 5)?;
            let changed = d.inserted + d.updated + d.deleted;
            Ok(vec![
                r.judged(
                    changed.max(1),
                    expected,
                    Fact::RowChanges {
                        inserted: d.inserted,
                        updated: d.updated,
                        deleted: d.deleted,
                    },
                )
                .with_examples(
                    d.examples
                        .into_iter()
                        .map(|row| Example::Row { table: None, row })
                        .collect(),
                ),
            ])
        }));
    }
    Ok(tasks)
}
