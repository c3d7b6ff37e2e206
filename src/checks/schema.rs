//! Schema checks: mapped columns and points exist, targets and their indexes are present, the
//! file is sound, foreign keys hold.

use super::{Ctx, Task, count, examples, per_migration, result};
use crate::db::{Db, DbError, Value, as_text};
use crate::report::{Example, Fact, Fixed, IndexChange, Noun, Scope};

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
            result("schema.columns", Scope::migration(&mp.migration.name))
                .judged(
                    missing.len() as u64,
                    Fact::count(mapped as u64, Noun::MappedFieldsReadExistingColumns),
                    if missing.is_empty() {
                        Fact::from(Fixed::AllPresent)
                    } else {
                        Fact::ColumnsLacking {
                            fields: missing.len() as u64,
                            table: mp.migration.source.clone(),
                        }
                    },
                )
                .with_examples(
                    missing
                        .iter()
                        .take(5)
                        .map(|c| Example::NoColumn {
                            vendor: c.vendor_type.clone(),
                            point: c.point.clone(),
                            field: c.field.clone(),
                            table: mp.migration.source.clone(),
                            column: c.column.clone(),
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
            result("schema.points", Scope::migration(&mp.migration.name))
                .judged(
                    missing.len() as u64,
                    Fixed::EveryMappedPointInPointInfo,
                    Fact::counts(&[
                        (resolved as u64, Noun::Resolved),
                        (missing.len() as u64, Noun::Missing),
                    ]),
                )
                .with_examples(
                    missing
                        .iter()
                        .take(5)
                        .map(|p| Example::NoPoint {
                            system: p.system_id,
                            vendor: p.vendor_type.clone(),
                            point: p.point.clone(),
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
            problems.push(Example::NoUniqueKey {
                columns: vec![
                    m.system.clone(),
                    m.point_column.clone(),
                    m.time.target.clone(),
                ],
            });
        }
        let mut expected = Fact::UniqueKey {
            table: m.target.clone(),
        };
        if let Some(base) = &ctx.baseline {
            let before = indexes(base.open()?.as_ref(), &m.target)?;
            expected = Fact::IndexesAsBefore {
                indexes: before.len() as u64,
            };
            let index = |name: &str, change| Example::Index {
                name: name.to_string(),
                change,
            };
            for (name, sql) in &before {
                match now.iter().find(|(n, _)| n == name) {
                    None => problems.push(index(name, IndexChange::Gone)),
                    Some((_, s)) if s != sql => {
                        problems.push(index(name, IndexChange::Changed { sql: s.clone() }))
                    }
                    _ => {}
                }
            }
            for (name, _) in &now {
                if !before.iter().any(|(n, _)| n == name) {
                    problems.push(index(name, IndexChange::New));
                }
            }
        }
        Ok(vec![
            result("schema.targets", Scope::named(&m.target))
                .judged(
                    problems.len() as u64,
                    expected,
                    Fact::Indexes {
                        names: now.iter().map(|(n, _)| n.clone()).collect(),
                    },
                )
                .with_examples(problems.into_iter().take(5).collect()),
        ])
    })
}

/// Every page used once, on a server: one aggregate over `dbstat` and the freelist count (the
/// local census also walks the freelist itself).
fn remote_census(db: &dyn Db) -> Result<Option<String>, DbError> {
    // one statement, so one state of the file even where the census runs outside a pinned read
    // transaction while the server takes writes
    let r = db.query(
        "SELECT count(*), count(DISTINCT pageno), min(pageno), max(pageno),
                (SELECT page_count FROM pragma_page_count()),
                (SELECT freelist_count FROM pragma_freelist_count()),
                (SELECT page_size FROM pragma_page_size())
         FROM dbstat",
        &[],
    )?;
    let get = |i: usize| crate::db::as_i64(&r[0][i]);
    let (pages, distinct) = (get(0).unwrap_or(0), get(1).unwrap_or(0));
    let (lowest, highest) = (get(2).unwrap_or(0), get(3).unwrap_or(0));
    let page_count = get(4).unwrap_or(0);
    let free = get(5).unwrap_or(0);
    let page_size = get(6).unwrap_or(4096);
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
    integrity_tasks(ctx.quick_integrity, ctx.skip_integrity, db)
}

/// The integrity tasks without a plan (any database).
pub fn integrity_tasks<'a>(quick: bool, skip: bool, db: &dyn Db) -> Result<Vec<Task<'a>>, DbError> {
    if skip {
        return Ok(vec![Box::new(|_: &dyn Db| {
            Ok(vec![super::skipped(
                "schema.integrity",
                Scope::named("database"),
                Fixed::IntegrityLeftOut,
            )])
        })]);
    }
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
            None => result("schema.integrity", Scope::named("pages")).judged(
                0,
                Fixed::EveryPageUsedOnce,
                Fixed::Ok,
            ),
            Some(text) => result("schema.integrity", Scope::named("pages")).judged(
                1,
                Fixed::EveryPageUsedOnce,
                Fact::Message { text },
            ),
        }])
    })];
    for table in tables {
        tasks.push(Box::new(move |db: &dyn Db| {
            // on a server's pinned read, `schedule` gives this task a connection of its own
            let rows = db.query(
                &format!("PRAGMA {pragma}({})", crate::sql::ident(&table)),
                &[],
            )?;
            let first = rows
                .first()
                .and_then(|r| as_text(&r[0]))
                .unwrap_or_default();
            let expected = Fact::PragmaOk {
                pragma: pragma.to_string(),
            };
            Ok(vec![if first == "ok" {
                result("schema.integrity", Scope::table(&table)).judged(0, expected, Fixed::Ok)
            } else {
                result("schema.integrity", Scope::table(&table)).judged(
                    1,
                    expected,
                    Fact::TableMessage {
                        table: table.clone(),
                        message: first,
                    },
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
                // proved over the distinct keys where that can be done, else every row is read
                let n = if super::fkeys::proved_clean(db, &table)? {
                    0
                } else {
                    count(db, "SELECT count(*) FROM pragma_foreign_key_check(?1)", &p)?
                };
                let ex = if n > 0 {
                    examples(
                        db,
                        "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check(?1)",
                        &p,
                        |r| Example::NoParent {
                            table: (&r[0]).into(),
                            rowid: (&r[1]).into(),
                            parent: (&r[2]).into(),
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
