//! The progress table, and collateral damage: nothing outside the migration's targets changed,
//! and no row that was in a target table before changed.

use super::rows::systems;
use super::{Ctx, Task, result, scope, skipped};
use crate::db::{Db, DbError, DbExt, Value, as_i64, as_text};
use crate::fingerprint::{self, diff};
use crate::migrate::journal::OWN_TABLES;
use crate::table::count as thousands;

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
                let expected = format!("last {last}, {} rows", thousands(range.rows));
                if !db.table_exists(table)? {
                    return Ok(vec![r.judged(1, expected, format!("no {table} table"))]);
                }
                let row = db.query(
                    &format!("SELECT last_migrated_timestamp, rows_migrated FROM {} WHERE migration_name = ?1 AND system_id = ?2", crate::sql::ident(table)),
                    &[Value::Text(mp.migration.name.clone()), Value::Integer(sp.system_id)],
                )?;
                Ok(vec![match row.first() {
                    None => r.judged(1, expected, "no row"),
                    Some(x) => {
                        let (last_recorded, rows) = (as_i64(&x[0]), as_i64(&x[1]));
                        let mut bad = 0;
                        if last_recorded != Some(last) {
                            bad += 1;
                        }
                        if rows != Some(range.rows) {
                            bad += 1;
                        }
                        r.judged(
                            bad,
                            expected,
                            format!("last {}, {} rows", last_recorded.map_or("NULL".into(), |v| v.to_string()), rows.map_or("NULL".into(), thousands)),
                        )
                    }
                }])
            })
        })
        .collect()
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
            Ok(vec![skipped(
                "collateral",
                "database",
                "no baseline: rehearse, or verify --baseline BACKUP.db.gz",
            )])
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
                return Ok(vec![r.judged(1, "absent, as before", "a new table")]);
            };
            if !exists_now {
                return Ok(vec![r.judged(
                    1,
                    format!("{} rows, as before", thousands(before.rows as i64)),
                    "the table is gone",
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
                let moved: Vec<String> = a
                    .iter()
                    .filter(|x| !b.contains(x))
                    .map(|(n, s)| {
                        format!(
                            "{n}: {} → {}",
                            s.unwrap_or(0),
                            b.iter().find(|y| &y.0 == n).and_then(|y| y.1).unwrap_or(0)
                        )
                    })
                    .collect();
                return Ok(vec![
                    r.judged(
                        moved.len() as u64,
                        "counters outside the targets unchanged",
                        format!("{} moved", moved.len()),
                    )
                    .with_examples(moved),
                ]);
            }
            let is_target = targets.contains(&name);
            let limit = if is_target { before.max_rowid } else { None };
            let now = fingerprint::hash_table(db, &name, limit)?;
            let expected = if is_target {
                format!(
                    "the {} rows that were there, unchanged",
                    thousands(before.rows as i64)
                )
            } else {
                format!("{} rows, unchanged", thousands(before.rows as i64))
            };
            if now.sha256 == before.sha256 && now.rows == before.rows {
                return Ok(vec![r.judged(0, expected, "unchanged")]);
            }
            let d = diff::diff_table(base.open()?.as_ref(), db, &name, limit, 5)?;
            let changed = d.inserted + d.updated + d.deleted;
            Ok(vec![
                r.judged(
                    changed.max(1),
                    expected,
                    format!(
                        "{} inserted, {} updated, {} deleted",
                        d.inserted, d.updated, d.deleted
                    ),
                )
                .with_examples(d.examples),
            ])
        }));
    }
    Ok(tasks)
}
