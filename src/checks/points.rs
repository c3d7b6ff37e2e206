//! No empty points: a migrated point that is all NULL while its source column or its live rows
//! hold data (the renamed-column trap: half a million rows of NULL labelled 'good'), or a point
//! the spec makes nothing of while the live app writes values for it. No migrated row at all is
//! not "all NULL": it is reported as nothing to judge, with what the spec would have made.

use super::expect::{bucket_of, carried, makes_row};
use super::rows::systems;
use super::{Ctx, Task, result, scope, skipped};
use crate::db::{Db, Value, as_i64};
use crate::report::{Example, Fact, Fixed, Noun};
use crate::spec::Aggregate;
use crate::spec::validate::{MigrationPlan, ResolvedPoint};
use crate::sql::ident as q;

/// SQL on alias `t`: the stored row of point `p` holds something (a roll-up: a value, or a
/// sample counted, with or without a value).
fn holds_something(mp: &MigrationPlan, p: &ResolvedPoint) -> String {
    let m = &mp.migration;
    let mut terms: Vec<String> = Vec::new();
    match &m.bucket {
        Some(b) => {
            for (c, a) in &m.aggregate {
                match a {
                    Aggregate::Count | Aggregate::CountNull => {
                        terms.push(format!("t.{} > 0", q(c)))
                    }
                    _ if p.fields.contains_key(&b.value) => {
                        terms.push(format!("t.{} IS NOT NULL", q(c)))
                    }
                    _ => {}
                }
            }
        }
        None => {
            for f in m.fields.iter().filter(|f| p.fields.contains_key(*f)) {
                terms.push(format!("t.{} IS NOT NULL", q(f)));
            }
        }
    }
    if terms.is_empty() {
        "0".into()
    } else {
        format!("({})", terms.join(" OR "))
    }
}

pub fn empty_points<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let (tgt, sys, pc) = (q(&m.target), q(&m.system), q(&m.point_column));
                let params = |p: &ResolvedPoint| [Value::Integer(sp.system_id), Value::Integer(p.point_id)];
                let exists = |cond: &str, p: &ResolvedPoint| -> Result<bool, crate::db::DbError> {
                    Ok(crate::db::DbExt::scalar_i64(
                        db,
                        &format!("SELECT EXISTS (SELECT 1 FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = ?2 AND {cond})"),
                        &params(p),
                    )? == Some(1))
                };
                let mine = ctx.mine_sql(mp, "t");
                let owned = ctx.owned_sql(mp, "t");
                let live_sql = ctx.live_rows(mp).live_sql("t").map(|l| format!("{l} AND {owned}"));
                // per point: source rows whose mapped columns hold data, and rows the spec makes;
                // the second over the carried rows alone, so that whether a row is carried (a
                // lookup in the finer source) is asked once per row rather than once per point
                let mut value_terms: Vec<String> = Vec::new();
                let mut makes: Vec<String> = Vec::new();
                for p in &sp.points {
                    let cols: Vec<String> = p
                        .fields
                        .values()
                        .filter(|t| mp.has_column(&t.source))
                        .map(|t| format!("s.{}", q(&t.source)))
                        .collect();
                    value_terms.push(if cols.is_empty() {
                        "0".to_string()
                    } else {
                        format!("count(coalesce({}, NULL))", cols.join(", "))
                    });
                    makes.push(match &m.bucket {
                        Some(b) => format!(
                            "count(DISTINCT CASE WHEN {} THEN {} END)",
                            makes_row(mp, p, "s"),
                            bucket_of(b, &format!("s.{}", q(&m.time.source)))
                        ),
                        None => format!("count(CASE WHEN {} THEN 1 END)", makes_row(mp, p, "s")),
                    });
                }
                let per_row = |terms: &[String], rows: &str| {
                    db.query(
                        &format!("SELECT {} FROM {} AS s WHERE s.{sys} = ?1 AND {rows}", terms.join(", "), q(&m.source)),
                        &[Value::Integer(sp.system_id)],
                    )
                };
                // each a pass over the system's source rows, made only for a point without a
                // migrated value (whether a row is carried, a lookup in the finer source, asked
                // only of the rows the point makes)
                let source_count = |term: &str, rows: &str| -> Result<i64, crate::db::DbError> {
                    Ok(per_row(&[term.to_string()], rows)?.first().and_then(|r| as_i64(&r[0])).unwrap_or(0))
                };
                let carried_rows = if mp.finer.is_some() { carried(mp, "s") } else { "1".into() };
                let mut out = Vec::new();
                let mut nothing_carried = 0;
                for (k, p) in sp.points.iter().enumerate() {
                    let something = holds_something(mp, p);
                    let migrated = crate::checks::count(
                        db,
                        &format!("SELECT count(*) FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = ?2 AND {mine}"),
                        &params(p),
                    )?;
                    let values = migrated > 0 && exists(&format!("{mine} AND {something}"), p)?;
                    let live_values = match &live_sql {
                        Some(cond) if !values => exists(&format!("{cond} AND {something}"), p)?,
                        _ => false,
                    };
                    let missing: Vec<&str> = p.fields.values().filter(|t| !mp.has_column(&t.source)).map(|t| t.source.as_str()).collect();
                    let missing_note = (!missing.is_empty())
                        .then(|| Example::SpecReadsMissing { table: m.source.clone(), columns: missing.iter().map(|c| c.to_string()).collect() });
                    let r = result("empty_points", scope(mp, sp, Some(p)));
                    let expected = Fixed::ValuesWhereThereIsData;
                    let source_values = if !values && migrated > 0 { source_count(&value_terms[k], "1")? } else { 0 };
                    let spec_rows = if !values && migrated == 0 { source_count(&makes[k], &carried_rows)? } else { 0 };
                    if values {
                        out.push(r.judged(0, expected, Fact::count(migrated, Noun::MigratedRowsWithValues)));
                    } else if migrated > 0 {
                        // every migrated row is empty: wrong only where there was data to carry
                        let empty = source_values > 0 || live_values;
                        let actual = Fact::count(migrated, Noun::MigratedRowsAllNull);
                        let mut ex = Vec::new();
                        if empty {
                            ex.push(Example::AllNull { migrated, source_values: source_values as u64, live_values, point: p.point.clone() });
                            ex.extend(missing_note);
                        }
                        out.push(r.judged(u64::from(empty), expected, actual).with_examples(ex));
                    } else if spec_rows == 0 && live_values {
                        let mut ex = vec![Example::LiveOnly { point: p.point.clone() }];
                        ex.extend(missing_note);
                        out.push(r.judged(1, expected, Fixed::NoMigratedRowTheSpecMakesNone).with_examples(ex));
                    } else if spec_rows > 0 {
                        out.push(skipped(
                            "empty_points",
                            scope(mp, sp, Some(p)),
                            Fact::AlreadyPresent { rows: spec_rows as u64 },
                        ));
                    } else {
                        out.push(skipped(
                            "empty_points",
                            scope(mp, sp, Some(p)),
                            Fact::NothingCarried { point: p.point.clone() },
                        ));
                        nothing_carried += 1;
                    }
                }
                if nothing_carried == sp.points.len() {
                    return Ok(vec![skipped(
                        "empty_points",
                        scope(mp, sp, None),
                        Fixed::NoSourceValueOfThisSystem,
                    )]);
                }
                Ok(out)
            })
        })
        .collect()
}
