//! Units: each point's transform converts its source column's unit (the spec's `[columns]`)
//! into the point's `metric_unit` (the spec's `[units]`); stored values are plausible for that
//! unit and rounded where the spec rounds; lifetime counters (declared in `[columns]`) never
//! decrease, across the seam between migrated history and live rows.

use super::inproc::Bad;
use super::rows::{systems, unit_factor};
use super::{Ctx, Task, count, examples, result, scope, skipped};
use crate::db::{Db, Value, as_i64};
use crate::report::{Example, Fact, Factor, Fixed, Noun, Time};
use crate::spec::Transform;
use crate::spec::validate::{MigrationPlan, ResolvedPoint};
use crate::sql::ident as q;

/// A target column a point fills, and how its value relates to the point's samples.
struct Filled<'p> {
    column: &'p str,
    /// The transform whose output the column holds, or summarises (a roll-up's value field).
    transform: Option<&'p Transform>,
    /// The value is one of the samples (not a mean or a count).
    is_a_value: bool,
    /// The value is in the point's unit.
    in_unit: bool,
}

/// The target columns point `p` fills.
fn filled<'p>(mp: &'p MigrationPlan, p: &'p ResolvedPoint) -> Vec<Filled<'p>> {
    let m = &mp.migration;
    match &m.bucket {
        Some(b) => m
            .aggregate
            .iter()
            .map(|(c, a)| Filled {
                column: c.as_str(),
                transform: p.fields.get(&b.value),
                is_a_value: a.is_a_value(),
                in_unit: a.in_value_unit() && p.fields.contains_key(&b.value),
            })
            .collect(),
        None => m
            .fields
            .iter()
            .filter_map(|f| {
                p.fields.get(f).map(|t| Filled {
                    column: f.as_str(),
                    transform: Some(t),
                    is_a_value: true,
                    in_unit: true,
                })
            })
            .collect(),
    }
}

/// The spec's conversion of each source column's unit (as its `[columns]` section declares)
/// into the point's unit (through `[units]`).
fn spec_problem(ctx: &Ctx, mp: &MigrationPlan, p: &ResolvedPoint) -> Option<Example> {
    let spec = &ctx.plan.spec.spec;
    for (f, t) in &p.fields {
        let Some(from) = ctx
            .column_info(mp, &t.source)
            .and_then(|c| c.unit.as_deref())
        else {
            continue;
        };
        if !spec.units.contains_key(&p.metric_unit) {
            continue; // the spec says nothing of this point unit
        }
        let conversion = |factor: Option<Factor>| Example::Conversion {
            field: f.to_string(),
            table: mp.migration.source.clone(),
            column: t.source.clone(),
            from: from.to_string(),
            to: p.metric_unit.clone(),
            factor,
        };
        let Some(need) = unit_factor(spec, from, &p.metric_unit) else {
            return Some(conversion(None));
        };
        let have = t.multiply.unwrap_or(1.0);
        if (have - need).abs() > f64::EPSILON * need.abs() {
            return Some(conversion(Some(Factor {
                spec: have,
                unit: need,
            })));
        }
    }
    None
}

/// The terms by which a stored row of point `p` is implausible for its unit, not whole where
/// the unit is whole, or not rounded where the spec rounds: (column on alias `t`, term).
pub(super) fn bad_terms(ctx: &Ctx, mp: &MigrationPlan, p: &ResolvedPoint) -> Vec<(String, Bad)> {
    let unit = ctx.plan.spec.spec.units.get(&p.metric_unit);
    let mut bad: Vec<(String, Bad)> = Vec::new();
    for f in filled(mp, p) {
        let col = format!("t.{}", q(f.column));
        let as_text = f.transform.is_some_and(|t| t.as_text);
        if f.in_unit && !as_text {
            if let Some(u) = unit {
                if let Some(lo) = u.min {
                    bad.push((col.clone(), Bad::Below(lo)));
                }
                if let Some(hi) = u.max {
                    bad.push((col.clone(), Bad::Above(hi)));
                }
                if u.whole && f.is_a_value {
                    bad.push((col.clone(), Bad::NotWhole));
                }
            }
            if let (true, Some(Transform { round: Some(n), .. })) = (f.is_a_value, f.transform) {
                bad.push((col.clone(), Bad::NotRounded(i64::from(*n))));
            }
        }
    }
    bad
}

/// SQL on alias `t`: a stored row of point `p` that is implausible (`bad_terms`).
fn bad_row(ctx: &Ctx, mp: &MigrationPlan, p: &ResolvedPoint) -> Option<String> {
    let bad: Vec<String> = bad_terms(ctx, mp, p)
        .into_iter()
        .map(|(col, b)| match b {
            Bad::Below(lo) => format!("({col} < {})", number(lo)),
            Bad::Above(hi) => format!("({col} > {})", number(hi)),
            Bad::NotWhole => format!("({col} != round({col}))"),
            Bad::NotRounded(n) => format!("({col} != round({col}, {n}))"),
        })
        .collect();
    (!bad.is_empty()).then(|| format!("({})", bad.join(" OR ")))
}

/// A spec number as an SQL literal: an integer when whole (SQLite then compares exactly),
/// else a real.
pub(super) fn number(v: f64) -> String {
    match super::inproc::whole_bound(v) {
        Some(i) => i.to_string(),
        None => format!("{v:e}"),
    }
}

/// One point: the spec's conversion, and its migrated rows (`scan`) checked.
fn point_units(
    ctx: &Ctx,
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &crate::spec::validate::SystemPlan,
    p: &ResolvedPoint,
    scan: bool,
) -> Result<crate::report::CheckResult, crate::db::DbError> {
    let m = &mp.migration;
    let unit = p.metric_unit.as_str();
    let mut problems: Vec<Example> = spec_problem(ctx, mp, p).into_iter().collect();
    let mut violations = problems.len() as u64;
    if let (true, Some(bad)) = (scan, bad_row(ctx, mp, p)) {
        let from = format!(
            "FROM {} AS t WHERE t.{} = ?1 AND t.{} = ?2 AND {} AND {bad}",
            q(&m.target),
            q(&m.system),
            q(&m.point_column),
            ctx.mine_sql(mp, "t")
        );
        let params = [Value::Integer(sp.system_id), Value::Integer(p.point_id)];
        let n = count(db, &format!("SELECT count(*) {from}"), &params)?;
        violations += n;
        if n > 0 {
            let fields: Vec<&str> = filled(mp, p).iter().map(|f| f.column).collect();
            let cols: Vec<String> = fields.iter().map(|f| format!("t.{}", q(f))).collect();
            problems.extend(examples(
                db,
                &format!(
                    "SELECT t.{tt}, {} {from} ORDER BY t.{tt}",
                    cols.join(", "),
                    tt = q(&m.time.target)
                ),
                &params,
                |r| Example::Implausible {
                    at: Time::new(as_i64(&r[0]).unwrap_or(0), m.time.multiply),
                    values: fields
                        .iter()
                        .zip(&r[1..])
                        .map(|(f, v)| (f.to_string(), v.into()))
                        .collect(),
                    unit: unit.to_string(),
                },
            )?);
        }
    }
    problems.truncate(5);
    Ok(result("units", scope(mp, sp, Some(p)))
        .judged(
            violations,
            Fact::Plausible {
                unit: unit.to_string(),
            },
            if violations == 0 {
                Fact::from(Fixed::Ok)
            } else {
                Fact::count(violations, Noun::Problems)
            },
        )
        .with_examples(problems))
}

/// SQL on alias `t`: a migrated row of system `sp` that is implausible for its point's unit
/// (None: no point of the system can be).
pub(super) fn implausible_sql(
    ctx: &Ctx,
    mp: &MigrationPlan,
    sp: &crate::spec::validate::SystemPlan,
) -> Option<String> {
    let arms: Vec<String> = sp
        .points
        .iter()
        .filter_map(|p| bad_row(ctx, mp, p).map(|b| format!("WHEN {} THEN {b}", p.point_id)))
        .collect();
    (!arms.is_empty()).then(|| {
        format!(
            "CASE t.{} {} ELSE 0 END",
            q(&mp.migration.point_column),
            arms.join(" ")
        )
    })
}

pub fn units<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                // with a journal, one pass over the migrated rows of the whole system; point by
                // point only when some row is implausible
                let mut all_plausible = false;
                if let Some(ranges) = ctx.ranges(mp, sp.system_id)
                    && ranges.len() <= 200
                {
                    all_plausible = match (
                        implausible_sql(ctx, mp, sp),
                        ctx.implausible(mp, sp.system_id),
                    ) {
                        (None, _) => true,
                        // the values check's read of the same rows counted them
                        (Some(_), Some(n)) => n == 0,
                        (Some(bad), None) => {
                            let sql = format!(
                                "SELECT count(*) FROM {} AS t WHERE ({}) AND +t.{} = ?1 AND {bad}",
                                q(&m.target),
                                super::ranges_sql("t", ranges, ""),
                                q(&m.system)
                            );
                            count(db, &sql, &[Value::Integer(sp.system_id)])? == 0
                        }
                    };
                }
                sp.points
                    .iter()
                    .map(|p| point_units(ctx, db, mp, sp, p, !all_plausible))
                    .collect()
            })
        })
        .collect()
}

/// A lifetime counter: a point fed from a column the spec declares a counter. The columns to
/// follow: those holding its values (a roll-up: its values and their mean).
pub(super) fn counter_columns<'p>(
    ctx: &Ctx,
    mp: &'p MigrationPlan,
    p: &'p ResolvedPoint,
) -> Vec<&'p str> {
    let counter = p
        .fields
        .values()
        .any(|t| ctx.column_info(mp, &t.source).is_some_and(|c| c.counter));
    if !counter {
        return Vec::new();
    }
    filled(mp, p)
        .into_iter()
        .filter(|f| f.in_unit)
        .map(|f| f.column)
        .collect()
}

/// Whether no column of `columns` ever decreases over one point's rows, in one pass for all of
/// them: a value below the largest before it (NULLs aside) means a decrease somewhere between
/// them in the non-NULL values, and no such value means none (the count of decreases, which
/// differs from this one's, is then counted column by column).
fn no_decrease(
    db: &dyn Db,
    mp: &MigrationPlan,
    columns: &[&str],
    params: &[Value],
) -> Result<bool, crate::db::DbError> {
    let m = &mp.migration;
    let sql = rises_sql(
        &m.target,
        &m.system,
        &m.point_column,
        &m.time.target,
        columns,
    );
    Ok(count(db, &sql, params)? == 0)
}

/// The rows of system ?1 and point ?2 with a value of `columns` below the largest before it.
fn rises_sql(target: &str, system: &str, point: &str, time: &str, columns: &[&str]) -> String {
    let cols: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, f)| format!("t.{f} AS v{i}, max(t.{f}) OVER w AS p{i}", f = q(f)))
        .collect();
    let below: Vec<String> = (0..columns.len()).map(|i| format!("v{i} < p{i}")).collect();
    format!(
        "SELECT count(*) FROM (SELECT {cols} FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = ?2 \
         WINDOW w AS (ORDER BY t.{tt} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) WHERE {below}",
        cols = cols.join(", "),
        tgt = q(target),
        sys = q(system),
        pc = q(point),
        tt = q(time),
        below = below.join(" OR ")
    )
}

pub fn counters<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    let mut tasks: Vec<Task<'a>> = Vec::new();
    for (mp, sp, _) in systems(ctx) {
        for p in &sp.points {
            let columns = counter_columns(ctx, mp, p);
            if columns.is_empty() {
                continue;
            }
            tasks.push(Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let live = ctx.live_rows(mp).live_sql("t").unwrap_or_else(|| "0".into());
                let params = [Value::Integer(sp.system_id), Value::Integer(p.point_id)];
                let rows = count(
                    db,
                    &format!("SELECT count(*) FROM {} AS t WHERE t.{} = ?1 AND t.{} = ?2", q(&m.target), q(&m.system), q(&m.point_column)),
                    &params,
                )?;
                if rows == 0 {
                    return Ok(vec![skipped("counters", scope(mp, sp, Some(p)), Fixed::NoRows)]);
                }
                let mut n = 0;
                let mut ex = Vec::new();
                // a local file is read in place (stopping at a decrease); a server answers one pass
                let proved = if db.as_local().is_some() {
                    super::inproc::never_decrease(db, mp, &columns, &params)?
                } else {
                    no_decrease(db, mp, &columns, &params)?
                };
                for f in columns.iter().filter(|_| !proved) {
                    let column = f.to_string();
                    let (tt, f, tgt, sys, pc) = (q(&m.time.target), q(f), q(&m.target), q(&m.system), q(&m.point_column));
                    let rows = format!("FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = ?2 AND t.{f} IS NOT NULL WINDOW w AS (ORDER BY t.{tt})");
                    // the count needs only the values; the examples also say which side of the seam
                    let k = count(db, &format!("SELECT count(*) FROM (SELECT t.{f} AS v, lag(t.{f}) OVER w AS prev {rows}) WHERE v < prev"), &params)?;
                    n += k;
                    if k > 0 && ex.len() < 5 {
                        let inner = format!("SELECT t.{tt} AS at, t.{f} AS v, lag(t.{f}) OVER w AS prev, ({live}) AS live, lag(({live})) OVER w AS prev_live {rows}");
                        ex.extend(examples(db, &format!("SELECT at, prev, v, prev_live, live FROM ({inner}) WHERE v < prev ORDER BY at"), &params, |r| {
                            let seam = as_i64(&r[3]) == Some(0) && as_i64(&r[4]) == Some(1);
                            Example::Decrease {
                                at: Time::new(as_i64(&r[0]).unwrap_or(0), m.time.multiply),
                                column: column.clone(),
                                from: (&r[1]).into(),
                                to: (&r[2]).into(),
                                seam,
                            }
                        })?);
                        ex.truncate(5);
                    }
                }
                Ok(vec![result("counters", scope(mp, sp, Some(p)))
                    .judged(n, Fact::NeverDecrease { columns: columns.iter().map(|c| c.to_string()).collect() }, Fact::counts(&[(rows as u64, Noun::Rows), (n, Noun::Decreases)]))
                    .with_examples(ex)])
            }));
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Spec, UnitInfo};

    proptest::proptest! {
        /// The one-pass test of every column says "no decrease" exactly when the count of
        /// decreases, column by column over the non-NULL values in time order, is zero.
        #[test]
        fn one_pass_finds_a_decrease_exactly_when_the_count_does(
            rows in proptest::collection::vec(
                (proptest::option::of(-3i64..4), proptest::option::of(0u8..3)),
                0..12,
            ),
            shuffle in proptest::collection::vec(0usize..100, 12),
        ) {
            let conn = rusqlite::Connection::open_in_memory().unwrap();
            conn.execute_batch("CREATE TABLE t (sys INTEGER, pt INTEGER, tt INTEGER, a, b)").unwrap();
            // inserted out of time order, beside another point's rows
            let mut order: Vec<usize> = (0..rows.len()).collect();
            order.sort_by_key(|&i| shuffle[i]);
            for &i in &order {
                let (a, b) = rows[i];
                // b mixes types: an integer, a real, or text
                let b: Option<rusqlite::types::Value> = b.map(|k| match k {
                    0 => rusqlite::types::Value::Integer(i as i64 % 3),
                    1 => rusqlite::types::Value::Real(i as f64 / 2.0),
                    _ => rusqlite::types::Value::Text(format!("{}", i % 4)),
                });
                conn.execute("INSERT INTO t VALUES (1, 7, ?1, ?2, ?3)", rusqlite::params![i as i64 * 10, a, b]).unwrap();
                conn.execute("INSERT INTO t VALUES (1, 8, ?1, 9 - ?2, 0)", rusqlite::params![i as i64 * 10, i as i64]).unwrap();
            }
            let decreases = |c: &str| -> i64 {
                conn.query_row(&format!("SELECT count(*) FROM (SELECT {c} AS v, lag({c}) OVER (ORDER BY tt) AS prev FROM t WHERE sys = 1 AND pt = 7 AND {c} IS NOT NULL) WHERE v < prev"), [], |r| r.get(0)).unwrap()
            };
            let sql = rises_sql("t", "sys", "pt", "tt", &["a", "b"]);
            let rises: i64 = conn.query_row(&sql, [1, 7], |r| r.get(0)).unwrap();
            proptest::prop_assert_eq!(rises == 0, decreases("a") + decreases("b") == 0);
        }
    }

    #[test]
    fn unit_factors_come_from_the_spec() {
        let mut spec: Spec = toml::from_str("name = \"x\"\nmigration = []").unwrap();
        assert_eq!(unit_factor(&spec, "W", "W"), Some(1.0));
        assert_eq!(unit_factor(&spec, "kWh", "Wh"), None);
        spec.units.insert(
            "Wh".into(),
            UnitInfo {
                from: [("kWh".to_string(), 1000.0)].into(),
                ..UnitInfo::default()
            },
        );
        assert_eq!(unit_factor(&spec, "kWh", "Wh"), Some(1000.0));
        assert_eq!(unit_factor(&spec, "Wh", "kWh"), None);
    }
}
