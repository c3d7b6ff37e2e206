//! Row counts per system and point, every migrated value, and timestamps.

use super::expect::{field, makes_row, same_value};
use super::{Ctx, Task, count, examples, result, scope, show_time};
use crate::db::{Db, Value, as_i64, show};
use crate::spec::Column;
use crate::spec::validate::{MigrationPlan, ResolvedPoint, SystemPlan};
use crate::sql::{ident as q, literal};
use crate::table::count as thousands;

/// Every (migration, system) with resolved points and source rows.
pub fn systems<'a>(
    ctx: &'a Ctx<'a>,
) -> impl Iterator<Item = (&'a MigrationPlan, &'a SystemPlan, super::SourceRange)> + 'a {
    ctx.plan.migrations.iter().flat_map(move |mp| {
        mp.systems
            .iter()
            .filter(|sp| !sp.points.is_empty())
            .filter_map(move |sp| ctx.source(mp, sp).map(|r| (mp, sp, r)))
    })
}

pub fn counts<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, range)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let (sys, tt, ts, mult) = (q(&m.system), q(&m.time.target), q(&m.time.source), m.time.multiply);
                let terms: Vec<String> = sp
                    .points
                    .iter()
                    .map(|p| format!("count(CASE WHEN {} THEN 1 END)", makes_row(mp, p, "s")))
                    .collect();
                let want = db.query(
                    &format!("SELECT {} FROM {} AS s WHERE s.{sys} = ?1", terms.join(", "), q(&m.source)),
                    &[Value::Integer(sp.system_id)],
                )?;
                let have: std::collections::BTreeMap<i64, i64> = db
                    .query(
                        &format!(
                            "SELECT t.{pc}, count(*) FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{tt} BETWEEN ?2 AND ?3 GROUP BY t.{pc}",
                            pc = q(&m.point_column),
                            tgt = q(&m.target)
                        ),
                        &[
                            Value::Integer(sp.system_id),
                            Value::Integer(range.min * mult),
                            Value::Integer(range.max * mult),
                        ],
                    )?
                    .into_iter()
                    .filter_map(|r| Some((as_i64(&r[0])?, as_i64(&r[1])?)))
                    .collect();
                let mut out = Vec::new();
                for (k, p) in sp.points.iter().enumerate() {
                    let expected_n = as_i64(&want[0][k]).unwrap_or(0);
                    let actual_n = have.get(&p.point_id).copied().unwrap_or(0);
                    let violations = expected_n.abs_diff(actual_n);
                    let mut ex = Vec::new();
                    if violations > 0 {
                        let params = [
                            Value::Integer(sp.system_id),
                            Value::Integer(p.point_id),
                            Value::Integer(range.min * mult),
                            Value::Integer(range.max * mult),
                        ];
                        ex.extend(examples(
                            db,
                            &format!(
                                "SELECT s.{ts} FROM {src} AS s WHERE s.{sys} = ?1 AND {mk} AND NOT EXISTS (SELECT 1 FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = ?2 AND t.{tt} = s.{ts} * {mult}) ORDER BY s.{ts}",
                                src = q(&m.source),
                                mk = makes_row(mp, p, "s"),
                                tgt = q(&m.target),
                                pc = q(&m.point_column)
                            ),
                            &params[..2],
                            |r| format!("missing: {}", show_time(as_i64(&r[0]).unwrap_or(0) * mult, mult)),
                        )?);
                        ex.extend(examples(
                            db,
                            &format!(
                                "SELECT t.{tt} FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = ?2 AND t.{tt} BETWEEN ?3 AND ?4 AND NOT EXISTS (SELECT 1 FROM {src} AS s WHERE s.{sys} = ?1 AND s.{ts} = t.{tt} / {mult} AND t.{tt} % {mult} = 0 AND {mk}) ORDER BY t.{tt}",
                                src = q(&m.source),
                                mk = makes_row(mp, p, "s"),
                                tgt = q(&m.target),
                                pc = q(&m.point_column)
                            ),
                            &params,
                            |r| format!("extra: {} ({})", show_time(as_i64(&r[0]).unwrap_or(0), mult), show(&r[0])),
                        )?);
                        ex.truncate(5);
                    }
                    out.push(
                        result("row_counts", scope(mp, sp, Some(p)))
                            .judged(violations, format!("{} rows", thousands(expected_n)), format!("{} rows", thousands(actual_n)))
                            .with_examples(ex),
                    );
                }
                Ok(out)
            })
        })
        .collect()
}

/// Pairs (stored, expected) for every field and column of a migrated row.
fn row_pairs(
    mp: &MigrationPlan,
    p: &crate::spec::validate::ResolvedPoint,
) -> Vec<(String, String)> {
    let m = &mp.migration;
    let mut pairs: Vec<(String, String)> = m
        .fields
        .iter()
        .map(|f| (format!("t.{}", q(f)), field(mp, p, f, "s")))
        .collect();
    for (col, c) in &m.columns {
        let e = match c {
            Column::Source { source, multiply } => match multiply {
                Some(k) => format!("(s.{} * {k})", q(source)),
                None => format!("s.{}", q(source)),
            },
            Column::Value { value } => literal(&value.to_value()),
        };
        pairs.push((format!("t.{}", q(col)), e));
    }
    pairs
}

/// One point's migrated rows compared with their source rows: (rows, rows that differ, examples).
fn values_of_point(
    ctx: &Ctx,
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
    p: &ResolvedPoint,
) -> Result<(u64, u64, Vec<String>), crate::db::DbError> {
    let m = &mp.migration;
    let mult = m.time.multiply;
    let pairs = row_pairs(mp, p);
    // stored and expected side by side, each expected value computed once (LIMIT -1 keeps the
    // subquery from being flattened into the comparison)
    let cols: Vec<String> = pairs
        .iter()
        .enumerate()
        .map(|(i, (a, b))| format!("{a} AS a{i}, {b} AS b{i}"))
        .collect();
    let ok: Vec<String> = (0..pairs.len())
        .map(|i| same_value(&format!("a{i}"), &format!("b{i}")))
        .collect();
    let from = format!(
        "FROM (SELECT t.{tt} AS at, s.{ts} IS NULL AS orphan, {cols}
               FROM {tgt} AS t LEFT JOIN {src} AS s ON s.{sys} = t.{sys} AND s.{ts} = t.{tt} / {mult} AND t.{tt} % {mult} = 0
               WHERE t.{sys} = ?1 AND t.{pc} = ?2 AND {migrated} LIMIT -1)
         WHERE orphan OR NOT ({ok})",
        tgt = q(&m.target),
        src = q(&m.source),
        sys = q(&m.system),
        ts = q(&m.time.source),
        tt = q(&m.time.target),
        pc = q(&m.point_column),
        migrated = ctx.live_rows(mp).migrated_sql("t"),
        cols = cols.join(", "),
        ok = ok.join(" AND ")
    );
    let params = [Value::Integer(sp.system_id), Value::Integer(p.point_id)];
    let n = count(db, &format!("SELECT count(*) {from}"), &params)?;
    let total = count(
        db,
        &format!(
            "SELECT count(*) FROM {} AS t WHERE t.{} = ?1 AND t.{} = ?2 AND {}",
            q(&m.target),
            q(&m.system),
            q(&m.point_column),
            ctx.live_rows(mp).migrated_sql("t")
        ),
        &params,
    )?;
    let mut ex = Vec::new();
    if n > 0 {
        let k = pairs.len();
        let names: Vec<String> = m
            .fields
            .iter()
            .cloned()
            .chain(m.columns.keys().cloned())
            .collect();
        let sel: Vec<String> = (0..k).map(|i| format!("a{i}, b{i}")).collect();
        ex = examples(
            db,
            &format!("SELECT at, orphan, {} {from} ORDER BY at", sel.join(", ")),
            &params,
            |r| {
                let at = show_time(as_i64(&r[0]).unwrap_or(0), mult);
                if as_i64(&r[1]) == Some(1) {
                    return format!("{at}: no source row at this time");
                }
                let diffs: Vec<String> = (0..k)
                    .filter(|i| r[2 + 2 * i] != r[3 + 2 * i])
                    .map(|i| {
                        format!(
                            "{} {} (expected {})",
                            names[i],
                            show(&r[2 + 2 * i]),
                            show(&r[3 + 2 * i])
                        )
                    })
                    .collect();
                format!("{at}: {}", diffs.join(", "))
            },
        )?;
    }
    Ok((total, n, ex))
}

/// Every point of one system at once, in one pass over the rows the journal says the migration
/// inserted for it (in rowid order, so without an index walk and a lookup per row): how many rows
/// differ from what the spec makes of their source row. A row in those ranges that now belongs to
/// another system or point counts as differing too, and so do this system's rows found in other
/// systems' ranges.
fn differing_rows_of_system(
    ctx: &Ctx,
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
    ranges: &[(i64, i64)],
) -> Result<u64, crate::db::DbError> {
    let m = &mp.migration;
    let mult = m.time.multiply;
    // the pairs of every point, with the expected side chosen by the row's point
    let per_point: Vec<(i64, Vec<(String, String)>)> = sp
        .points
        .iter()
        .map(|p| (p.point_id, row_pairs(mp, p)))
        .collect();
    let n = per_point.first().map_or(0, |x| x.1.len());
    let cols: Vec<String> = (0..n)
        .map(|i| {
            let stored = &per_point[0].1[i].0;
            let arms: Vec<String> = per_point
                .iter()
                .map(|(id, pairs)| format!("WHEN {id} THEN {}", pairs[i].1))
                .collect();
            format!(
                "{stored} AS a{i}, CASE t.{} {} END AS b{i}",
                q(&m.point_column),
                arms.join(" ")
            )
        })
        .collect();
    let ok: Vec<String> = (0..n)
        .map(|i| same_value(&format!("a{i}"), &format!("b{i}")))
        .collect();
    let in_ranges = |rs: &[(i64, i64)]| -> String {
        rs.iter()
            .map(|(lo, hi)| format!("t.rowid BETWEEN {} AND {hi}", lo + 1))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let ids: Vec<String> = per_point.iter().map(|(id, _)| id.to_string()).collect();
    // the unary + keeps SQLite on the rowid ranges rather than the (system, point) index
    let sql = format!(
        "SELECT count(*) FROM (
             SELECT s.{ts} IS NULL OR t.{sys} != ?1 OR t.{pc} NOT IN ({ids}) AS foreign_row, {cols}
             FROM {tgt} AS t LEFT JOIN {src} AS s ON s.{sys} = ?1 AND +t.{sys} = ?1 AND s.{ts} = t.{tt} / {mult} AND t.{tt} % {mult} = 0
             WHERE ({ranges}) LIMIT -1)
         WHERE foreign_row OR NOT ({ok})",
        ok = ok.join(" AND "),
        pc = q(&m.point_column),
        ts = q(&m.time.source),
        tt = q(&m.time.target),
        sys = q(&m.system),
        tgt = q(&m.target),
        src = q(&m.source),
        cols = cols.join(", "),
        ranges = in_ranges(ranges),
        ids = ids.join(", ")
    );
    let mut bad = count(db, &sql, &[Value::Integer(sp.system_id)])?;
    // this system's rows inside the ranges of other systems (from its index entries alone)
    let others: Vec<(i64, i64)> = ctx
        .migrated_ranges
        .iter()
        .filter(|((t, s), _)| t == &m.target && *s != sp.system_id)
        .flat_map(|(_, r)| r.iter().copied())
        .collect();
    if !others.is_empty() {
        bad += count(
            db,
            &format!(
                "SELECT count(*) FROM {} AS t WHERE t.{} = ?1 AND ({})",
                q(&m.target),
                q(&m.system),
                in_ranges(&others)
            ),
            &[Value::Integer(sp.system_id)],
        )?;
    }
    Ok(bad)
}

/// Migrated rows per point, from the index alone.
fn migrated_rows_per_point(
    ctx: &Ctx,
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
) -> Result<std::collections::BTreeMap<i64, u64>, crate::db::DbError> {
    let m = &mp.migration;
    Ok(db
        .query(
            &format!(
                "SELECT t.{pc}, count(*) FROM {} AS t WHERE t.{} = ?1 AND {} GROUP BY t.{pc}",
                q(&m.target),
                q(&m.system),
                ctx.live_rows(mp).migrated_sql("t"),
                pc = q(&m.point_column)
            ),
            &[Value::Integer(sp.system_id)],
        )?
        .into_iter()
        .filter_map(|r| Some((as_i64(&r[0])?, as_i64(&r[1])? as u64)))
        .collect())
}

pub fn values<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let ranges = ctx
                    .migrated_ranges
                    .get(&(mp.migration.target.clone(), sp.system_id));
                // with a journal: one pass for the whole system, and point by point only when
                // something differs
                let all_equal = match ranges {
                    Some(r) if r.len() <= 200 => differing_rows_of_system(ctx, db, mp, sp, r)? == 0,
                    _ => false,
                };
                let totals = if all_equal {
                    migrated_rows_per_point(ctx, db, mp, sp)?
                } else {
                    Default::default()
                };
                let mut out = Vec::new();
                for p in &sp.points {
                    let (total, bad, ex) = if all_equal {
                        (totals.get(&p.point_id).copied().unwrap_or(0), 0, Vec::new())
                    } else {
                        values_of_point(ctx, db, mp, sp, p)?
                    };
                    out.push(
                        result("values", scope(mp, sp, Some(p)))
                            .judged(
                                bad,
                                format!(
                                    "{} migrated rows as the spec says",
                                    thousands(total as i64)
                                ),
                                format!("{} differ", thousands(bad as i64)),
                            )
                            .with_examples(ex),
                    );
                }
                Ok(out)
            })
        })
        .collect()
}

/// Target times: each a source time × the multiplier, exactly, and plausible for its unit
/// (milliseconds from 2000 to 2100).
pub fn timestamps<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let mult = m.time.multiply;
                let (lo, hi) = (946_684_800i64.saturating_mul(mult), 4_102_444_800i64.saturating_mul(mult));
                let from = format!(
                    "FROM (SELECT DISTINCT t.{tt} AS tt FROM {tgt} AS t WHERE t.{sys} = ?1) AS x
                     WHERE x.tt % {mult} != 0 OR x.tt < {lo} OR x.tt >= {hi}
                        OR NOT EXISTS (SELECT 1 FROM {src} AS s WHERE s.{sys} = ?1 AND s.{ts} = x.tt / {mult})",
                    tt = q(&m.time.target),
                    tgt = q(&m.target),
                    sys = q(&m.system),
                    src = q(&m.source),
                    ts = q(&m.time.source)
                );
                let p = [Value::Integer(sp.system_id)];
                let n = count(db, &format!("SELECT count(*) {from}"), &p)?;
                let distinct = count(
                    db,
                    &format!("SELECT count(DISTINCT {tt}) FROM {tgt} WHERE {sys} = ?1", tt = q(&m.time.target), tgt = q(&m.target), sys = q(&m.system)),
                    &p,
                )?;
                let ex = if n > 0 {
                    examples(db, &format!("SELECT x.tt {from} ORDER BY x.tt"), &p, |r| {
                        let t = as_i64(&r[0]).unwrap_or(0);
                        if t < lo || t >= hi {
                            format!("{t}: not a time in {} (seconds left unconverted?)", if mult == 1000 { "milliseconds" } else { "target units" })
                        } else if t % mult != 0 {
                            format!("{t}: not a whole source second")
                        } else {
                            format!("{t} ({}): no source row at this time", show_time(t, mult))
                        }
                    })?
                } else {
                    vec![]
                };
                Ok(vec![result("timestamps", scope(mp, sp, None))
                    .judged(n, format!("source time × {mult}"), format!("{} distinct times, {} off", thousands(distinct as i64), thousands(n as i64)))
                    .with_examples(ex)])
            })
        })
        .collect()
}
