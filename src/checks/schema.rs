//! Schema checks: mapped columns and points exist, targets and their indexes are present, the
//! file is sound, foreign keys hold.

use super::{Ctx, Task, count, examples, per_migration, result};
use crate::db::{Db, DbError, DbExt, Value, as_text, show};
use crate::report::{Fact, Noun, Scope};

pub fn columns<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    per_migration(ctx, move |_db: &dyn Db, mp| {
        let missing: Vec<_> = ctx
            .plan
            .missing_columns
            .iter()
            .filter(|c| c.migration == mp.migration.name)
            .collect();
        let mapped: usize = mp
            .migration
            .vendors
            .iter()
            .flat_map(|v| &v.points)
            .map(|p| p.fields.len())
            .sum();
        Ok(vec![
            result("schema.columns", mp.migration.name.clone())
                .judged(
                    missing.len() as u64,
                    format!("{mapped} mapped fields read existing columns"),
                    if missing.is_empty() {
                        "all present".to_string()
                    } else {
                        format!(
                            "{} read columns {} lacks (NULL)",
                            missing.len(),
                            mp.migration.source
                        )
                    },
                )
                .with_examples(
                    missing
                        .iter()
                        .take(5)
                        .map(|c| {
                            format!(
                                "vendor {} · point {}: {} ← {}.{} does not exist",
                                c.vendor_type, c.point, c.field, mp.migration.source, c.column
                            )
                        })
                        .collect(),
                ),
        ])
    })
}

pub fn points<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    per_migration(ctx, move |_db: &dyn Db, mp| {
        let missing: Vec<_> = ctx
            .plan
            .missing_points
            .iter()
            .filter(|p| p.migration == mp.migration.name)
            .collect();
        let resolved: usize = mp.systems.iter().map(|s| s.points.len()).sum();
        Ok(vec![
            result("schema.points", mp.migration.name.clone())
                .judged(
                    missing.len() as u64,
                    "every mapped point in point_info",
                    format!("{resolved} resolved, {} missing", missing.len()),
                )
                .with_examples(
                    missing
                        .iter()
                        .take(5)
                        .map(|p| {
                            format!(
                                "system {} ({}): no point {}",
                                p.system_id, p.vendor_type, p.point
                            )
                        })
                        .collect(),
                ),
        ])
    })
}

fn indexes(db: &dyn Db, table: &str) -> Result<Vec<(String, String)>, DbError> {
    Ok(db
        .query(
            "SELECT name, ifnull(sql, '') FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 ORDER BY name",
            &[Value::Text(table.into())],
        )?
        .into_iter()
        .filter_map(|r| Some((as_text(&r[0])?, as_text(&r[1])?)))
        .collect())
}

pub fn targets<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    per_migration(ctx, move |db: &dyn Db, mp| {
        let m = &mp.migration;
        // a target shared by several migrations is checked once
        let first = ctx
            .plan
            .migrations
            .iter()
            .find(|x| x.migration.target == m.target)
            .is_some_and(|x| x.migration.name == m.name);
        if !first {
            return Ok(vec![]);
        }
        let now = indexes(db, &m.target)?;
        let mut problems = Vec::new();
        let unique = db.query(
                    "SELECT 1 FROM pragma_index_list(?1) AS l WHERE l.\"unique\" = 1 AND (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(l.name) ORDER BY name)) = ?2",
                    &[Value::Text(m.target.clone()), Value::Text({
                        let mut k = [m.system.clone(), m.point_column.clone(), m.time.target.clone()];
                        k.sort();
                        k.join(",")
                    })],
                )?;
        if unique.is_empty() {
            problems.push(format!(
                "no UNIQUE key on ({}, {}, {})",
                m.system, m.point_column, m.time.target
            ));
        }
        let mut expected = format!("{} with a unique key on (system, point, time)", m.target);
        if let Some(base) = &ctx.baseline {
            let before = indexes(base.open()?.as_ref(), &m.target)?;
            expected = format!("{} indexes as before the migration", before.len());
            for (name, sql) in &before {
                match now.iter().find(|(n, _)| n == name) {
                    None => problems.push(format!("index {name} is gone")),
                    Some((_, s)) if s != sql => problems.push(format!("index {name} changed: {s}")),
                    _ => {}
                }
            }
            for (name, _) in &now {
                if !before.iter().any(|(n, _)| n == name) {
                    problems.push(format!("index {name} is new"));
                }
            }
        }
        let names: Vec<&str> = now.iter().map(|(n, _)| n.as_str()).collect();
        Ok(vec![
            result("schema.targets", m.target.clone())
                .judged(
                    problems.len() as u64,
                    expected,
                    format!("{} indexes: {}", now.len(), names.join(", ")),
                )
                .with_examples(problems.into_iter().take(5).collect()),
        ])
    })
}

/// Every page used once, on a server: one aggregate over `dbstat` and the freelist count (the
/// local census also walks the freelist itself).
fn remote_census(db: &dyn Db) -> Result<Option<String>, DbError> {
    let r = db.query(
        "SELECT count(*), count(DISTINCT pageno), min(pageno), max(pageno) FROM dbstat",
        &[],
    )?;
    let get = |i: usize| crate::db::as_i64(&r[0][i]).unwrap_or(0);
    let (pages, distinct, lowest, highest) = (get(0), get(1), get(2), get(3));
    let page_count = db.scalar_i64("PRAGMA page_count", &[])?.unwrap_or(0);
    let free = db.scalar_i64("PRAGMA freelist_count", &[])?.unwrap_or(0);
    let page_size = db.scalar_i64("PRAGMA page_size", &[])?.unwrap_or(4096);
    let lock_page = (1i64 << 30) / page_size + 1;
    let reserved = i64::from(lock_page <= page_count);
    Ok(if pages != distinct {
        Some(format!("{} pages are used twice", pages - distinct))
    } else if lowest < 1 || highest > page_count {
        Some(format!(
            "a b-tree refers to page {highest}, outside the file's {page_count} pages"
        ))
    } else if distinct + free + reserved != page_count {
        Some(format!(
            "{} of {page_count} pages are neither in a b-tree nor free",
            page_count - distinct - free - reserved
        ))
    } else {
        None
    })
}

/// Integrity: `PRAGMA integrity_check(TABLE)` for every table (each its own task), and a page
/// census for what the table-scoped form leaves out.
pub fn integrity<'a>(ctx: &'a Ctx<'a>, db: &dyn Db) -> Result<Vec<Task<'a>>, DbError> {
    integrity_tasks(ctx.quick_integrity, db)
}

/// The integrity tasks without a plan (any database).
pub fn integrity_tasks<'a>(quick: bool, db: &dyn Db) -> Result<Vec<Task<'a>>, DbError> {
    let pragma = if quick {
        "quick_check"
    } else {
        "integrity_check"
    };
    let mut tables: Vec<String> = db
        .query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND rootpage > 0",
            &[],
        )?
        .into_iter()
        .filter_map(|r| as_text(&r[0]))
        .collect();
    tables.push("sqlite_schema".into());
    tables.sort();
    let local_path = db.as_local().map(|l| l.path().to_path_buf());
    let mut tasks: Vec<Task<'a>> = vec![Box::new(move |db: &dyn Db| {
        let problem = match &local_path {
            Some(path) => match crate::backup::integrity::census_and_work(path) {
                Ok((p, _)) => p.map(|p| p.0),
                Err(e) => Some(e.to_string()),
            },
            None => remote_census(db)?,
        };
        Ok(vec![match problem {
            None => result("schema.integrity", "pages").judged(0, "every page used once", "ok"),
            Some(p) => result("schema.integrity", "pages").judged(1, "every page used once", p),
        }])
    })];
    for table in tables {
        tasks.push(Box::new(move |db: &dyn Db| {
            let rows = db.query(
                &format!("PRAGMA {pragma}({})", crate::sql::ident(&table)),
                &[],
            )?;
            let first = rows
                .first()
                .and_then(|r| as_text(&r[0]))
                .unwrap_or_default();
            let expected = format!("{pragma}: ok");
            Ok(vec![if first == "ok" {
                result("schema.integrity", Scope::table(&table)).judged(0, expected, "ok")
            } else {
                result("schema.integrity", Scope::table(&table)).judged(
                    1,
                    expected,
                    format!("table {table}: {first}"),
                )
            }])
        }));
    }
    Ok(tasks)
}

pub fn foreign_keys<'a>(_ctx: &'a Ctx<'a>, db: &dyn Db) -> Result<Vec<Task<'a>>, DbError> {
    foreign_key_tasks(db)
}

/// The foreign-key tasks without a plan (any database).
pub fn foreign_key_tasks<'a>(db: &dyn Db) -> Result<Vec<Task<'a>>, DbError> {
    let tables: Vec<String> = db
        .query(
            "SELECT m.name FROM sqlite_schema AS m WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_foreign_key_list(m.name)) ORDER BY m.name",
            &[],
        )?
        .into_iter()
        .filter_map(|r| as_text(&r[0]))
        .collect();
    Ok(tables
        .into_iter()
        .map(|table| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let p = [Value::Text(table.clone())];
                let n = count(db, "SELECT count(*) FROM pragma_foreign_key_check(?1)", &p)?;
                let ex = if n > 0 {
                    examples(
                        db,
                        "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check(?1)",
                        &p,
                        |r| {
                            format!(
                                "{} rowid {} has no parent in {}",
                                show(&r[0]),
                                show(&r[1]),
                                show(&r[2])
                            )
                        },
                    )?
                } else {
                    vec![]
                };
                Ok(vec![
                    result("schema.foreign_keys", Scope::table(&table))
                        .judged(
                            n,
                            Fact::count(0, Noun::Violations),
                            Fact::count(n, Noun::Violations),
                        )
                        .with_examples(ex),
                ])
            })
        })
        .collect())
}
