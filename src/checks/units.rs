//! Units: each point's transform converts its source column's unit into the point's
//! `metric_unit`; stored values are plausible for that unit; Wh are whole where the spec rounds;
//! lifetime counters never decrease, across the seam between migrated history and live rows.

use super::rows::systems;
use super::{Ctx, Task, count, examples, result, scope, show_time};
use crate::db::{Db, Value, as_i64, show};
use crate::spec::Transform;
use crate::spec::validate::{MigrationPlan, ResolvedPoint};
use crate::sql::ident as q;

/// The unit a legacy column holds, from its name.
pub fn source_unit(column: &str) -> Option<&'static str> {
    let c = column.to_ascii_lowercase();
    if c.contains("kwh") {
        Some("kWh")
    } else if c.ends_with("_wh") || c.contains("wh_interval") || c.contains("interval_wh") {
        Some("Wh")
    } else if c.contains("timestamp") || c.ends_with("_time") {
        Some("s")
    } else if c.contains("soc") {
        Some("%")
    } else if c.ends_with("_w") || c.contains("_w_") {
        Some("W")
    } else if c.contains("status") {
        Some("bool")
    } else if c.contains("code") {
        Some("text")
    } else {
        None
    }
}

/// The factor that turns `from` into `to`, when the pair is known.
fn factor(from: &str, to: &str) -> Option<f64> {
    match (from, to) {
        ("kWh", "Wh") | ("s", "epochMs") => Some(1000.0),
        (a, b) if a == b => Some(1.0),
        ("text", "text") => Some(1.0),
        _ => None,
    }
}

/// SQL: `v` is plausible for `unit`.
fn plausible(v: &str, unit: &str) -> Option<String> {
    Some(match unit {
        "W" => format!("abs({v}) <= 1000000"),
        "Wh" => format!("{v} >= 0 AND {v} <= 1000000000000"),
        "%" => format!("{v} >= 0 AND {v} <= 100"),
        "epochMs" => format!("{v} >= 946684800000 AND {v} < 4102444800000"),
        "bool" => format!("{v} IN (0, 1)"),
        "text" => format!("{v} IS NOT NULL"),
        _ => return None,
    })
}

fn spec_problem(mp: &MigrationPlan, p: &ResolvedPoint) -> Option<String> {
    for (f, t) in &p.fields {
        let Some(from) = source_unit(&t.source) else {
            continue;
        };
        let Some(need) = factor(from, &p.metric_unit) else {
            continue;
        };
        let have = t.multiply.unwrap_or(1.0);
        if (have - need).abs() > f64::EPSILON * need {
            return Some(format!(
                "{f} ← {}.{} is {from}, the point is {}: the spec multiplies by {have}, the unit needs {need}",
                mp.migration.source, t.source, p.metric_unit
            ));
        }
    }
    None
}

/// SQL on alias `t`: a stored row of point `p` that is implausible for its unit, or not whole
/// Wh where the spec rounds.
fn bad_row(mp: &MigrationPlan, p: &ResolvedPoint) -> Option<String> {
    let mut bad: Vec<String> = Vec::new();
    for f in mp
        .migration
        .fields
        .iter()
        .filter(|f| p.fields.contains_key(*f))
    {
        let col = format!("t.{}", q(f));
        let check_unit = if p.fields[f].as_text {
            "text"
        } else {
            p.metric_unit.as_str()
        };
        if let Some(ok) = plausible(&col, check_unit) {
            bad.push(format!("({col} IS NOT NULL AND NOT ({ok}))"));
        }
        if matches!(p.fields[f], Transform { round: Some(0), .. }) && p.metric_unit == "Wh" {
            bad.push(format!("({col} != round({col}))"));
        }
    }
    (!bad.is_empty()).then(|| format!("({})", bad.join(" OR ")))
}

/// One point: the spec's conversion, and every stored row (migrated and live) counted.
fn point_units(
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &crate::spec::validate::SystemPlan,
    p: &ResolvedPoint,
    scan: bool,
) -> Result<crate::report::CheckResult, crate::db::DbError> {
    let m = &mp.migration;
    let unit = p.metric_unit.as_str();
    let mut problems: Vec<String> = spec_problem(mp, p).into_iter().collect();
    let mut violations = problems.len() as u64;
    if let (true, Some(bad)) = (scan, bad_row(mp, p)) {
        let from = format!(
            "FROM {} AS t WHERE t.{} = ?1 AND t.{} = ?2 AND {bad}",
            q(&m.target),
            q(&m.system),
            q(&m.point_column)
        );
        let params = [Value::Integer(sp.system_id), Value::Integer(p.point_id)];
        let n = count(db, &format!("SELECT count(*) {from}"), &params)?;
        violations += n;
        if n > 0 {
            let fields: Vec<&String> = m
                .fields
                .iter()
                .filter(|f| p.fields.contains_key(*f))
                .collect();
            let cols: Vec<String> = fields.iter().map(|f| format!("t.{}", q(f))).collect();
            problems.extend(examples(
                db,
                &format!(
                    "SELECT t.{tt}, {} {from} ORDER BY t.{tt}",
                    cols.join(", "),
                    tt = q(&m.time.target)
                ),
                &params,
                |r| {
                    let vals: Vec<String> = fields
                        .iter()
                        .zip(&r[1..])
                        .map(|(f, v)| format!("{f} {}", show(v)))
                        .collect();
                    format!(
                        "{}: {} (not a plausible {unit})",
                        show_time(as_i64(&r[0]).unwrap_or(0), m.time.multiply),
                        vals.join(", ")
                    )
                },
            )?);
        }
    }
    problems.truncate(5);
    Ok(result("units", scope(mp, sp, Some(p)))
        .judged(
            violations,
            format!("{unit}, converted and plausible"),
            if violations == 0 {
                "ok".to_string()
            } else {
                format!("{violations} problems")
            },
        )
        .with_examples(problems))
}

pub fn units<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                // with a journal, one pass over the migrated rows and one over the live rows for
                // the whole system; point by point only when some row is implausible
                let mut all_plausible = false;
                if let (Some(ranges), Some(live)) = (
                    ctx.migrated_ranges.get(&(m.target.clone(), sp.system_id)),
                    ctx.live_rows(mp).live_rowid_sql("t"),
                ) && ranges.len() <= 200
                {
                    let arms: Vec<String> = sp
                        .points
                        .iter()
                        .filter_map(|p| bad_row(mp, p).map(|b| format!("WHEN {} THEN {b}", p.point_id)))
                        .collect();
                    all_plausible = arms.is_empty() || {
                        let migrated: Vec<String> = ranges.iter().map(|(lo, hi)| format!("t.rowid BETWEEN {} AND {hi}", lo + 1)).collect();
                        let bad = format!("CASE t.{} {} ELSE 0 END", q(&m.point_column), arms.join(" "));
                        let sql = format!(
                            "SELECT count(*) FROM {} AS t WHERE (({}) OR {live}) AND +t.{} = ?1 AND {bad}",
                            q(&m.target),
                            migrated.join(" OR "),
                            q(&m.system)
                        );
                        count(db, &sql, &[Value::Integer(sp.system_id)])? == 0
                    };
                }
                sp.points.iter().map(|p| point_units(db, mp, sp, p, !all_plausible)).collect()
            })
        })
        .collect()
}

/// A lifetime counter: an energy point fed from a running total.
fn counter_field<'p>(mp: &MigrationPlan, p: &'p ResolvedPoint) -> Option<&'p String> {
    if p.metric_unit != "Wh" {
        return None;
    }
    p.fields
        .iter()
        .find(|(f, t)| t.source.contains("total") && mp.migration.fields.contains(f))
        .map(|(f, _)| f)
}

pub fn counters<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    let mut tasks: Vec<Task<'a>> = Vec::new();
    for (mp, sp, _) in systems(ctx) {
        for p in &sp.points {
            let Some(f) = counter_field(mp, p) else {
                continue;
            };
            tasks.push(Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let live = ctx.live_rows(mp).live_sql("t").unwrap_or_else(|| "0".into());
                let inner = format!(
                    "SELECT t.{tt} AS at, t.{f} AS v, lag(t.{f}) OVER w AS prev, ({live}) AS live, lag(({live})) OVER w AS prev_live
                     FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = ?2 AND t.{f} IS NOT NULL
                     WINDOW w AS (ORDER BY t.{tt})",
                    tt = q(&m.time.target),
                    f = q(f),
                    tgt = q(&m.target),
                    sys = q(&m.system),
                    pc = q(&m.point_column)
                );
                let params = [Value::Integer(sp.system_id), Value::Integer(p.point_id)];
                let n = count(db, &format!("SELECT count(*) FROM ({inner}) WHERE v < prev"), &params)?;
                let rows = count(
                    db,
                    &format!("SELECT count(*) FROM {} AS t WHERE t.{} = ?1 AND t.{} = ?2", q(&m.target), q(&m.system), q(&m.point_column)),
                    &params,
                )?;
                let ex = if n > 0 {
                    examples(db, &format!("SELECT at, prev, v, prev_live, live FROM ({inner}) WHERE v < prev ORDER BY at"), &params, |r| {
                        let seam = as_i64(&r[3]) == Some(0) && as_i64(&r[4]) == Some(1);
                        format!(
                            "{}: {} → {}{}",
                            show_time(as_i64(&r[0]).unwrap_or(0), m.time.multiply),
                            show(&r[1]),
                            show(&r[2]),
                            if seam { " (at the seam from migrated to live rows)" } else { "" }
                        )
                    })?
                } else {
                    vec![]
                };
                Ok(vec![result("counters", scope(mp, sp, Some(p)))
                    .judged(n, "never decreases", format!("{} rows, {n} decreases", crate::table::count(rows as i64)))
                    .with_examples(ex)])
            }));
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_come_from_column_names() {
        assert_eq!(source_unit("solar_kwh_total"), Some("kWh"));
        assert_eq!(source_unit("solar_kwh_total_last"), Some("kWh"));
        assert_eq!(source_unit("solar_wh_interval"), Some("Wh"));
        assert_eq!(source_unit("solar_interval_wh"), Some("Wh"));
        assert_eq!(source_unit("fault_timestamp"), Some("s"));
        assert_eq!(source_unit("battery_soc_last"), Some("%"));
        assert_eq!(source_unit("solar_w_avg"), Some("W"));
        assert_eq!(source_unit("solar_remote_w"), Some("W"));
        assert_eq!(source_unit("generator_status"), Some("bool"));
        assert_eq!(factor("kWh", "Wh"), Some(1000.0));
        assert_eq!(factor("s", "epochMs"), Some(1000.0));
        assert_eq!(factor("W", "W"), Some(1.0));
    }
}
