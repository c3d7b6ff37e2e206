//! Row counts per system and point, every migrated value, and timestamps.

use super::expect::{
    bucket_of, carried, field, in_bucket, makes_row, rollup_columns, rollup_expected,
    same_read_value, same_value,
};
use super::{Ctx, Task, count, examples, result, scope, skipped};
use crate::db::{Db, Value, as_i64};
use crate::report::{Diff, Example, Fact, Factor, Fixed, Noun, Time, TimeCause};
use crate::spec::Column;
use crate::spec::validate::{MigrationPlan, ResolvedPoint, SystemPlan};
use crate::sql::{ident as q, literal};

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

/// SQL: the spec makes a target row of point `p` from source row `src` (and carries that row).
pub fn makes_carried_row(mp: &MigrationPlan, p: &ResolvedPoint, src: &str) -> String {
    if mp.finer.is_some() {
        format!("({} AND {})", makes_row(mp, p, src), carried(mp, src))
    } else {
        makes_row(mp, p, src)
    }
}

/// SQL: the spec makes a target row of some point of `sp` from source row `src` (and carries
/// that row): whether the row is carried is asked once, not once per point.
pub fn makes_some_carried_row(mp: &MigrationPlan, sp: &SystemPlan, src: &str) -> String {
    let any: Vec<String> = sp.points.iter().map(|p| makes_row(mp, p, src)).collect();
    let any = format!("({})", any.join(" OR "));
    if mp.finer.is_some() {
        format!("({any} AND {})", carried(mp, src))
    } else {
        any
    }
}

/// The range of target times a system's source rows can make (a roll-up: their buckets).
pub fn target_span(mp: &MigrationPlan, range: &super::SourceRange) -> (i64, i64) {
    let m = &mp.migration;
    let (lo, hi) = match &m.bucket {
        Some(b) => (b.of(range.min), b.of(range.max)),
        None => (range.min, range.max),
    };
    (
        lo.saturating_mul(m.time.multiply),
        hi.saturating_mul(m.time.multiply),
    )
}

pub fn counts<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, range)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let (sys, tt, ts, mult) = (q(&m.system), q(&m.time.target), q(&m.time.source), m.time.multiply);
                let (lo, hi) = target_span(mp, &range);
                let owned = ctx.owned_sql(mp, "t");
                // per point: the source rows it makes a row of (a roll-up: the buckets with a sample);
                // whether a row is carried is asked once per row, in the WHERE clause
                let terms: Vec<String> = sp
                    .points
                    .iter()
                    .map(|p| match &m.bucket {
                        Some(b) => format!(
                            "count(DISTINCT CASE WHEN {} THEN {} END)",
                            makes_row(mp, p, "s"),
                            bucket_of(b, &format!("s.{ts}"))
                        ),
                        None => format!("count(CASE WHEN {} THEN 1 END)", makes_row(mp, p, "s")),
                    })
                    .collect();
                let carried_rows = if m.bucket.is_none() && mp.finer.is_some() { carried(mp, "s") } else { "1".into() };
                let want = db.query(
                    &format!("SELECT {} FROM {} AS s WHERE s.{sys} = ?1 AND {carried_rows}", terms.join(", "), q(&m.source)),
                    &[Value::Integer(sp.system_id)],
                )?;
                // a target row of point p at time t.tt is made by some source row
                let made = |p: &ResolvedPoint| -> String {
                    match &m.bucket {
                        Some(b) => format!(
                            "SELECT 1 FROM {src} AS s WHERE s.{sys} = ?1 AND t.{tt} % {mult} = 0 AND {} AND {}",
                            in_bucket(b, &format!("s.{ts}"), &format!("t.{tt} / {mult}")),
                            makes_row(mp, p, "s"),
                            src = q(&m.source),
                        ),
                        None => format!(
                            "SELECT 1 FROM {src} AS s WHERE s.{sys} = ?1 AND s.{ts} = t.{tt} / {mult} AND t.{tt} % {mult} = 0 AND {}",
                            makes_carried_row(mp, p, "s"),
                            src = q(&m.source),
                        ),
                    }
                };
                // every row but the live app's rows that the spec does not make (a live row with
                // no source row is the live app's own, and live_parity reports it); the time span
                // is only a filter (inside a CASE, where the planner cannot take it for an index
                // range, and the column keeps its affinity): it holds nearly all of the system's
                // rows, and an index on (system, point, time) counts them per point without
                // reading the table
                let arms: Vec<String> = sp.points.iter().map(|p| format!("WHEN {} THEN EXISTS ({})", p.point_id, made(p))).collect();
                let have: std::collections::BTreeMap<i64, i64> = db
                    .query(
                        &format!(
                            "SELECT t.{pc}, count(*) FROM {tgt} AS t WHERE t.{sys} = ?1 AND CASE WHEN t.{tt} BETWEEN ?2 AND ?3 THEN 1 ELSE 0 END AND {owned} AND (NOT {live} OR CASE t.{pc} {arms} ELSE 0 END) GROUP BY t.{pc}",
                            pc = q(&m.point_column),
                            tgt = q(&m.target),
                            live = ctx.live_rows(mp).live_sql("t").unwrap_or_else(|| "0".into()),
                            arms = arms.join(" "),
                        ),
                        &[Value::Integer(sp.system_id), Value::Integer(lo), Value::Integer(hi)],
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
                            Value::Integer(lo),
                            Value::Integer(hi),
                        ];
                        let at = match &m.bucket {
                            Some(b) => format!("{} * {mult}", bucket_of(b, &format!("s.{ts}"))),
                            None => format!("s.{ts} * {mult}"),
                        };
                        let mk = match &m.bucket {
                            Some(_) => makes_row(mp, p, "s"),
                            None => makes_carried_row(mp, p, "s"),
                        };
                        ex.extend(examples(
                            db,
                            &format!(
                                "SELECT DISTINCT {at} AS want FROM {src} AS s WHERE s.{sys} = ?1 AND {mk} AND NOT EXISTS (SELECT 1 FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = ?2 AND t.{tt} = {at}) ORDER BY want",
                                src = q(&m.source),
                                tgt = q(&m.target),
                                pc = q(&m.point_column)
                            ),
                            &params[..2],
                            |r| Example::Missing { at: Time::new(as_i64(&r[0]).unwrap_or(0), mult) },
                        )?);
                        ex.extend(examples(
                            db,
                            &format!(
                                "SELECT t.{tt} FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = ?2 AND t.{tt} BETWEEN ?3 AND ?4 AND {owned} AND NOT {live} AND NOT EXISTS ({made}) ORDER BY t.{tt}",
                                tgt = q(&m.target),
                                pc = q(&m.point_column),
                                live = ctx.live_rows(mp).live_sql("t").unwrap_or_else(|| "0".into()),
                                made = made(p),
                            ),
                            &params,
                            |r| Example::Extra { at: Time::new(as_i64(&r[0]).unwrap_or(0), mult), raw: (&r[0]).into() },
                        )?);
                        ex.truncate(5);
                    }
                    out.push(
                        result("row_counts", scope(mp, sp, Some(p)))
                            .judged(violations, Fact::count(expected_n as u64, Noun::Rows), Fact::count(actual_n as u64, Noun::Rows))
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
            Column::Source {
                source, multiply, ..
            } => match multiply {
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
) -> Result<(u64, u64, Vec<Example>), crate::db::DbError> {
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
        migrated = ctx.mine_sql(mp, "t"),
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
            ctx.mine_sql(mp, "t")
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
                let at = Time::new(as_i64(&r[0]).unwrap_or(0), mult);
                if as_i64(&r[1]) == Some(1) {
                    return Example::NoSourceRow {
                        at,
                        in_bucket: false,
                    };
                }
                let diffs = (0..k)
                    .filter(|i| r[2 + 2 * i] != r[3 + 2 * i])
                    .map(|i| Diff {
                        column: names[i].clone(),
                        found: (&r[2 + 2 * i]).into(),
                        expected: (&r[3 + 2 * i]).into(),
                    })
                    .collect();
                Example::Differs { at, diffs }
            },
        )?;
    }
    Ok((total, n, ex))
}

/// Every point of one system at once, in one pass over the rows the journal says the migration
/// inserted for it (in rowid order, so without an index walk and a lookup per row): how many rows
/// differ from what the spec makes of their source row. A row in those ranges that now belongs to
/// another system or point counts as differing too, and so do this system's rows found in other
/// systems' ranges. With none, the migrated rows per point when the in-process proof counted
/// them.
fn differing_rows_of_system(
    ctx: &Ctx,
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
    ranges: &[(i64, i64)],
) -> Result<(u64, Option<std::collections::BTreeMap<i64, u64>>), crate::db::DbError> {
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
            let first = &per_point[0].1[i].1;
            // one expression for every point needs no CASE; a CASE leaves out the NULL arms
            // (a row of another point is foreign anyway)
            if per_point.iter().all(|(_, pairs)| &pairs[i].1 == first) {
                return format!("{stored} AS a{i}, {first} AS b{i}");
            }
            let arms: Vec<String> = per_point
                .iter()
                .filter(|(_, pairs)| pairs[i].1 != "NULL")
                .map(|(id, pairs)| format!("WHEN {id} THEN {}", pairs[i].1))
                .collect();
            if arms.is_empty() {
                return format!("{stored} AS a{i}, NULL AS b{i}");
            }
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
    let in_ranges = |rs: &[(i64, i64)]| super::ranges_sql("t", rs, "");
    let ids: Vec<String> = per_point.iter().map(|(id, _)| id.to_string()).collect();
    // the unary + keeps SQLite on the rowid ranges rather than the (system, point) index; the
    // subquery is flattened: an expected value is computed once where the first comparison,
    // exact equality, settles it (nearly every row)
    let sql = format!(
        "SELECT count(*) FROM (
             SELECT s.{ts} IS NULL OR t.{sys} != ?1 OR t.{pc} NOT IN ({ids}) AS foreign_row, {cols}
             FROM {tgt} AS t LEFT JOIN {src} AS s ON s.{sys} = ?1 AND +t.{sys} = ?1 AND s.{ts} = t.{tt} / {mult} AND t.{tt} % {mult} = 0
             WHERE ({ranges}))
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
    // the units check's implausible rows are among these rows: counted in the same read
    let proved = super::inproc::raw_all_equal(
        db,
        mp,
        sp,
        &in_ranges(ranges),
        &|p| row_pairs(mp, p),
        &|p| super::units::bad_terms(ctx, mp, p),
    )?
    .map(|(totals, implausible)| {
        if let Some(n) = implausible {
            ctx.note_implausible(mp, sp.system_id, n);
        }
        totals
    });
    let mut bad = match proved {
        Some(_) => 0,
        None => count(db, &sql, &[Value::Integer(sp.system_id)])?,
    };
    // this system's rows inside the ranges of other systems (from its index entries alone)
    let others: Vec<(i64, i64)> = ctx
        .migrated_ranges
        .iter()
        .filter(|((name, s), _)| name == &m.name && *s != sp.system_id)
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
    // nothing foreign in its ranges and nothing of it elsewhere: the proof counted its rows
    Ok((bad, proved.filter(|_| bad == 0)))
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
                ctx.mine_sql(mp, "t"),
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
                if mp.migration.kind == crate::spec::Kind::Rollup {
                    return rollup_values(ctx, db, mp, sp);
                }
                let ranges = ctx.ranges(mp, sp.system_id);
                if ranges.is_none() && matches!(ctx.live_rows(mp), super::LiveRows::Journal(..)) {
                    // the journal holds nothing of this system
                    return Ok(vec![nothing_migrated(mp, sp)]);
                }
                // with a journal: one pass for the whole system, and point by point only when
                // something differs
                let (all_equal, counted) = match ranges {
                    Some(r) if r.len() <= 200 => {
                        let (bad, counted) = differing_rows_of_system(ctx, db, mp, sp, r)?;
                        (bad == 0, counted)
                    }
                    _ => (false, None),
                };
                let totals = match counted {
                    Some(t) => t,
                    None if all_equal => migrated_rows_per_point(ctx, db, mp, sp)?,
                    None => Default::default(),
                };
                if all_equal && totals.values().all(|n| *n == 0) {
                    return Ok(vec![nothing_migrated(mp, sp)]);
                }
                let mut out = Vec::new();
                for p in &sp.points {
                    let (total, bad, ex) = if all_equal {
                        (totals.get(&p.point_id).copied().unwrap_or(0), 0, Vec::new())
                    } else {
                        values_of_point(ctx, db, mp, sp, p)?
                    };
                    out.push(values_result(mp, sp, p, total, bad, ex));
                }
                Ok(out)
            })
        })
        .collect()
}

/// A system of which the migration wrote nothing: nothing to compare.
fn nothing_migrated(mp: &MigrationPlan, sp: &SystemPlan) -> crate::report::CheckResult {
    skipped(
        "values",
        scope(mp, sp, None),
        Fixed::NoMigratedRowsLiveOrFiner,
    )
}

/// One point's values result; no migrated row is nothing to judge, not a pass.
fn values_result(
    mp: &MigrationPlan,
    sp: &SystemPlan,
    p: &ResolvedPoint,
    total: u64,
    bad: u64,
    ex: Vec<Example>,
) -> crate::report::CheckResult {
    if total == 0 && bad == 0 {
        return skipped(
            "values",
            scope(mp, sp, Some(p)),
            Fixed::NoMigratedRowsLiveOrNoSource,
        );
    }
    result("values", scope(mp, sp, Some(p)))
        .judged(
            bad,
            Fact::count(total, Noun::MigratedRowsAsTheSpecSays),
            Fact::count(bad, Noun::Differ),
        )
        .with_examples(ex)
}

/// A roll-up: every migrated row equals the roll-up of its bucket's source rows, recomputed
/// here; a migrated row without a bucket of samples differs too.
fn rollup_values(
    ctx: &Ctx,
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
) -> Result<Vec<crate::report::CheckResult>, crate::db::DbError> {
    if let Some(totals) = super::inproc::rollup_all_equal(ctx, db, mp, sp)? {
        if totals.is_empty() {
            return Ok(vec![nothing_migrated(mp, sp)]);
        }
        return Ok(sp
            .points
            .iter()
            .map(|p| {
                let total = totals.get(&p.point_id).copied().unwrap_or(0);
                values_result(mp, sp, p, total, 0, Vec::new())
            })
            .collect());
    }
    let m = &mp.migration;
    let mult = m.time.multiply;
    let cols = rollup_columns(mp);
    let expected = rollup_expected(mp, sp, "1");
    let ok: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(k, (c, _))| same_value(&format!("t.{}", q(c)), &format!("e.e{k}")))
        .collect();
    let (sys, pc, tt, tgt) = (
        q(&m.system),
        q(&m.point_column),
        q(&m.time.target),
        q(&m.target),
    );
    let mine = ctx.mine_sql(mp, "t");
    let joined = format!(
        "FROM ({expected}) AS e JOIN {tgt} AS t ON t.{sys} = ?1 AND t.{pc} = e.pid AND t.{tt} = e.tt WHERE {mine}"
    );
    let p1 = [Value::Integer(sp.system_id)];
    let per_point =
        |sql: &str| -> Result<std::collections::BTreeMap<i64, (u64, u64)>, crate::db::DbError> {
            Ok(db
                .query(sql, &p1)?
                .into_iter()
                .filter_map(|r| {
                    Some((
                        as_i64(&r[0])?,
                        (as_i64(&r[1])? as u64, as_i64(&r[2]).unwrap_or(0) as u64),
                    ))
                })
                .collect())
        };
    // CASE rather than NOT: its condition stops at the first term that settles it
    let matched_sql = format!(
        "SELECT e.pid, count(*), sum(CASE WHEN {} THEN 0 ELSE 1 END) {joined} GROUP BY e.pid",
        ok.join(" AND ")
    );
    let matched = per_point(&matched_sql)?;
    let totals = per_point(&format!(
        "SELECT t.{pc}, count(*), 0 FROM {tgt} AS t WHERE t.{sys} = ?1 AND {mine} GROUP BY t.{pc}"
    ))?;
    if totals.is_empty() {
        return Ok(vec![nothing_migrated(mp, sp)]);
    }
    let mut out = Vec::new();
    for p in &sp.points {
        let total = totals.get(&p.point_id).map_or(0, |x| x.0);
        let (found, differ) = matched.get(&p.point_id).copied().unwrap_or((0, 0));
        let bad = differ + total.saturating_sub(found);
        let mut ex = Vec::new();
        if bad > 0 {
            let params = [Value::Integer(sp.system_id), Value::Integer(p.point_id)];
            let pairs: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(k, (c, _))| format!("t.{}, e.e{k}", q(c)))
                .collect();
            ex = examples(
                db,
                &format!(
                    "SELECT e.tt, {} {joined} AND e.pid = ?2 AND NOT ({}) ORDER BY e.tt",
                    pairs.join(", "),
                    ok.join(" AND ")
                ),
                &params,
                |r| {
                    let diffs = cols
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| !same_read_value(&r[1 + 2 * k], &r[2 + 2 * k]))
                        .map(|(k, (c, _))| Diff {
                            column: c.to_string(),
                            found: (&r[1 + 2 * k]).into(),
                            expected: (&r[2 + 2 * k]).into(),
                        })
                        .collect();
                    Example::Differs {
                        at: Time::new(as_i64(&r[0]).unwrap_or(0), mult),
                        diffs,
                    }
                },
            )?;
            if ex.len() < 5 && total > found {
                let b = m.bucket.as_ref().expect("a roll-up");
                ex.extend(examples(
                    db,
                    &format!(
                        "SELECT t.{tt} FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{pc} = ?2 AND {mine} AND NOT EXISTS (SELECT 1 FROM {src} AS s WHERE s.{sys} = ?1 AND t.{tt} % {mult} = 0 AND {inb} AND {mk}) ORDER BY t.{tt}",
                        src = q(&m.source),
                        inb = in_bucket(b, &format!("s.{}", q(&m.time.source)), &format!("t.{tt} / {mult}")),
                        mk = makes_row(mp, p, "s"),
                    ),
                    &params,
                    |r| Example::NoSourceRow { at: Time::new(as_i64(&r[0]).unwrap_or(0), mult), in_bucket: true },
                )?);
                ex.truncate(5);
            }
        }
        out.push(values_result(mp, sp, p, total, bad, ex));
    }
    Ok(out)
}

/// The factor from one unit to another as the spec's `[units]` declares it (1 for the same).
pub fn unit_factor(spec: &crate::spec::Spec, from: &str, to: &str) -> Option<f64> {
    if from == to {
        return Some(1.0);
    }
    spec.units.get(to).and_then(|u| u.from.get(from)).copied()
}

/// Target times of migrated rows: each a source time × the multiplier (a roll-up: a bucket
/// name × the multiplier, with source rows in that bucket), and plausible for the time unit the
/// spec gives. The spec's multiplier must be the conversion its units declare.
pub fn timestamps<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let spec = &ctx.plan.spec.spec;
                let mult = m.time.multiply;
                let (tt, tgt, sys, src, ts) = (q(&m.time.target), q(&m.target), q(&m.system), q(&m.source), q(&m.time.source));
                let unit = m.time.unit.as_ref().and_then(|u| spec.units.get(u).map(|i| (u, i)));
                let mut problems = Vec::new();
                if let (Some((to, _)), Some(from)) = (unit, ctx.column_info(mp, &m.time.source).and_then(|c| c.unit.as_ref())) {
                    match unit_factor(spec, from, to) {
                        Some(f) if f == mult as f64 => {}
                        Some(f) => problems.push(Example::TimeConversion { table: m.source.clone(), column: m.time.source.clone(), from: from.to_string(), to: to.to_string(), factor: Some(Factor { spec: mult as f64, unit: f }) }),
                        None => problems.push(Example::TimeConversion { table: m.source.clone(), column: m.time.source.clone(), from: from.to_string(), to: to.to_string(), factor: None }),
                    }
                }
                let plausible = unit.map(|(_, i)| {
                    let mut c = Vec::new();
                    if let Some(lo) = i.min { c.push(format!("x.tt >= {}", super::units::number(lo))); }
                    if let Some(hi) = i.max { c.push(format!("x.tt <= {}", super::units::number(hi))); }
                    if c.is_empty() { "1".to_string() } else { c.join(" AND ") }
                }).unwrap_or_else(|| "1".into());
                let (step, exists) = match &m.bucket {
                    Some(b) => (
                        b.width.saturating_mul(mult),
                        format!("SELECT 1 FROM {src} AS s WHERE s.{sys} = ?1 AND {}", in_bucket(b, &format!("s.{ts}"), &format!("x.tt / {mult}"))),
                    ),
                    None => (
                        mult,
                        format!("SELECT 1 FROM {src} AS s WHERE s.{sys} = ?1 AND s.{ts} = x.tt / {mult} AND {}", carried(mp, "s")),
                    ),
                };
                let times = format!("SELECT DISTINCT t.{tt} AS tt FROM {tgt} AS t WHERE t.{sys} = ?1 AND {}", ctx.mine_sql(mp, "t"));
                let off = format!("x.tt % {step} != 0 OR NOT ({plausible}) OR NOT EXISTS ({exists})");
                let from = format!("FROM ({times}) AS x WHERE {off}");
                let p = [Value::Integer(sp.system_id)];
                // the distinct times and those that are off, in one pass (a NULL time is no time)
                let counts = db.query(&format!("SELECT count(x.tt), count(CASE WHEN {off} THEN 1 END) FROM ({times}) AS x"), &p)?;
                let n_at = |i: usize| counts.first().and_then(|r| as_i64(&r[i])).unwrap_or(0).max(0) as u64;
                let (distinct, n) = (n_at(0), n_at(1));
                if distinct == 0 && problems.is_empty() {
                    return Ok(vec![skipped("timestamps", scope(mp, sp, None), Fixed::NoMigratedRows)]);
                }
                let spec_problems = problems.len() as u64;
                let what = Fact::TimeConversion { multiply: mult, bucket_width: m.bucket.as_ref().map(|b| b.width) };
                if n > 0 {
                    problems.extend(examples(db, &format!("SELECT x.tt, ({plausible}) {from} ORDER BY x.tt"), &p, |r| {
                        let at = Time::new(as_i64(&r[0]).unwrap_or(0), mult);
                        let why = if as_i64(&r[1]) == Some(0) {
                            TimeCause::Implausible { unit: m.time.unit.clone().unwrap_or_else(|| "time".into()) }
                        } else if at.t % step != 0 {
                            TimeCause::NotWhole { bucket: m.bucket.is_some() }
                        } else {
                            TimeCause::NoSourceRow
                        };
                        Example::BadTime { at, why }
                    })?);
                }
                let violations = n + spec_problems;
                problems.truncate(5);
                Ok(vec![result("timestamps", scope(mp, sp, None))
                    .judged(violations, what, Fact::counts(&[(distinct, Noun::DistinctTimes), (n, Noun::Off)]))
                    .with_examples(problems)])
            })
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::inproc;
    use super::*;
    use crate::db::Access;
    use crate::db::local::LocalDb;
    use crate::spec::LoadedSpec;
    use crate::spec::validate::{Scope, plan};

    /// Per (migration, system): whether the in-process proof of its values holds (None: the
    /// journal holds no row of it), and whether its first counter point's never-decrease proof
    /// holds.
    fn proofs(db: &LocalDb) -> Vec<(String, i64, Option<bool>, Option<bool>)> {
        let spec = LoadedSpec::builtin();
        let scope = Scope {
            allow_missing_points: true,
            lenient: true,
            ..Scope::default()
        };
        let plan = plan(&spec, db, &scope).unwrap();
        let ctx = Ctx::build(db, &plan, &super::super::SuiteOptions::default(), None).unwrap();
        systems(&ctx)
            .map(|(mp, sp, _)| {
                let values = if mp.migration.kind == crate::spec::Kind::Rollup {
                    Some(
                        inproc::rollup_all_equal(&ctx, db, mp, sp)
                            .unwrap()
                            .is_some(),
                    )
                } else {
                    let ranges = ctx.ranges(mp, sp.system_id).cloned().unwrap_or_default();
                    (!ranges.is_empty()).then(|| {
                        let in_ranges = super::super::ranges_sql("t", &ranges, "");
                        let counted = inproc::raw_all_equal(
                            db,
                            mp,
                            sp,
                            &in_ranges,
                            &|p| row_pairs(mp, p),
                            &|_| Vec::new(),
                        )
                        .unwrap()
                        .map(|(totals, _)| totals);
                        // what the proof counted is what the index says
                        if let Some(c) = &counted {
                            assert_eq!(*c, migrated_rows_per_point(&ctx, db, mp, sp).unwrap());
                        }
                        counted.is_some()
                    })
                };
                let counter = sp.points.iter().find_map(|p| {
                    let columns = super::super::units::counter_columns(&ctx, mp, p);
                    (!columns.is_empty()).then(|| {
                        let params = [Value::Integer(sp.system_id), Value::Integer(p.point_id)];
                        inproc::never_decrease(db, mp, &columns, &params).unwrap()
                    })
                });
                (mp.migration.name.clone(), sp.system_id, values, counter)
            })
            .collect()
    }

    /// A small LiveOne-shaped database, migrated, with foreign keys off (for faults).
    pub(in crate::checks) fn migrated(dir: &std::path::Path) -> LocalDb {
        let path = dir.join("f.db");
        crate::fixture::generate(
            &path,
            crate::fixture::FixtureOptions {
                scale: 0.002,
                seed: 4,
            },
        )
        .unwrap();
        let db = LocalDb::open(&path, Access::Write).unwrap();
        let spec = LoadedSpec::builtin();
        let plan = plan(&spec, &db, &Scope::default()).unwrap();
        crate::migrate::engine::run(&db, &plan, &Default::default(), &mut |_| {}).unwrap();
        // the faults below break foreign keys on purpose
        db.conn()
            .execute_batch("PRAGMA foreign_keys = OFF")
            .unwrap();
        db
    }

    /// The units check's implausible rows, counted in the values proof's read, are the rows its
    /// own query counts: none on a correct migration, and each implausible value the source
    /// held and the migration carried faithfully (a power above any inverter's, a half of a
    /// whole unit).
    #[test]
    fn implausible_rows_counted_in_the_proof_are_the_units_checks_own() {
        let dir = tempfile::tempdir().unwrap();
        let db = migrated(dir.path());
        let counts = |db: &LocalDb| -> Vec<(i64, Option<u64>, u64)> {
            let spec = LoadedSpec::builtin();
            let plan = plan(&spec, db, &Scope::default()).unwrap();
            let ctx = Ctx::build(db, &plan, &super::super::SuiteOptions::default(), None).unwrap();
            systems(&ctx)
                .filter(|(mp, _, _)| mp.migration.kind != crate::spec::Kind::Rollup)
                .filter_map(|(mp, sp, _)| {
                    let ranges = ctx.ranges(mp, sp.system_id)?;
                    let in_ranges = super::super::ranges_sql("t", ranges, "");
                    let (_, counted) = inproc::raw_all_equal(
                        db,
                        mp,
                        sp,
                        &in_ranges,
                        &|p| row_pairs(mp, p),
                        &|p| super::super::units::bad_terms(&ctx, mp, p),
                    )
                    .unwrap()
                    .expect("the values proof holds");
                    let bad = super::super::units::implausible_sql(&ctx, mp, sp)?;
                    let sql = count(
                        db,
                        &format!(
                            "SELECT count(*) FROM {} AS t WHERE ({in_ranges}) AND +t.system_id = ?1 AND {bad}",
                            q(&mp.migration.target)
                        ),
                        &[Value::Integer(sp.system_id)],
                    )
                    .unwrap();
                    Some((sp.system_id, counted, sql))
                })
                .collect()
        };
        let clean = counts(&db);
        assert!(clean.len() >= 3, "{clean:?}");
        assert!(
            clean.iter().all(|c| c.1 == Some(0) && c.2 == 0),
            "{clean:?}"
        );
        db.conn()
            .execute_batch(
                "UPDATE readings SET solar_w = 2500000 WHERE id IN (SELECT id FROM readings WHERE system_id = 1 AND solar_w IS NOT NULL ORDER BY id LIMIT 3);
                 UPDATE point_readings SET value = 2500000 WHERE system_id = 1 AND point_id = 1 AND measurement_time IN (SELECT inverter_time * 1000 FROM readings WHERE system_id = 1 AND solar_w = 2500000);
                 UPDATE readings SET generator_status = 0.5 WHERE id IN (SELECT id FROM readings WHERE system_id = 2 ORDER BY id LIMIT 2);
                 UPDATE point_readings SET value = 0.5 WHERE system_id = 2 AND point_id = (SELECT id FROM point_info WHERE system_id = 2 AND point_name = 'gen_status') AND measurement_time IN (SELECT inverter_time * 1000 FROM readings WHERE system_id = 2 AND generator_status = 0.5);",
            )
            .unwrap();
        let changed = counts(&db);
        for (system, counted, sql) in &changed {
            assert_eq!(*counted, Some(*sql), "system {system}");
        }
        let of = |s: i64| changed.iter().find(|c| c.0 == s).map(|c| c.2);
        assert_eq!(of(1), Some(3), "{changed:?}");
        assert_eq!(of(2), Some(2), "{changed:?}");
    }

    /// On a correct migration every in-process proof holds (the SQL path is not needed); each
    /// kind of difference makes the proof of that migration and system decline, and only that.
    #[test]
    fn proofs_hold_on_a_correct_migration_and_decline_where_anything_differs() {
        let dir = tempfile::tempdir().unwrap();
        let db = migrated(dir.path());
        let clean = proofs(&db);
        assert!(clean.len() >= 6, "{clean:?}");
        for (m, s, values, counter) in &clean {
            assert_ne!(*values, Some(false), "{m} system {s}: values not proved");
            assert_ne!(*counter, Some(false), "{m} system {s}: counters");
        }
        assert!(
            clean.iter().filter(|c| c.2 == Some(true)).count() >= 6,
            "{clean:?}"
        );
        assert!(clean.iter().any(|c| c.3 == Some(true)), "a counter point");
        let changed = |sql: &str| -> Vec<(String, i64)> {
            db.conn()
                .execute_batch(&format!("SAVEPOINT f; {sql}"))
                .unwrap();
            let now = proofs(&db);
            db.conn().execute_batch("ROLLBACK TO f; RELEASE f").unwrap();
            clean
                .iter()
                .zip(now)
                .filter(|(a, b)| **a != *b)
                .map(|(a, _)| (a.0.clone(), a.1))
                .collect()
        };
        let raw = "readings_to_points".to_string();
        let agg = "readings_to_agg5m".to_string();
        // the last row a migration wrote for a system
        let migrated_row = |table: &str, system: i64| {
            let m = if table == "point_readings" {
                &raw
            } else {
                &agg
            };
            format!(
                "(SELECT max(t.rowid) FROM {table} AS t JOIN preflight_journal AS j ON t.rowid > j.rowid_lo AND t.rowid <= j.rowid_hi AND j.system_id = {system} AND j.migration_name = '{m}' WHERE t.system_id = {system})"
            )
        };
        // one migrated value off by a little more than the tolerance
        assert_eq!(
            changed(&format!(
                "UPDATE point_readings SET value = value * (1 + 1e-8) + 1e-6 WHERE rowid = {}",
                migrated_row("point_readings", 1)
            )),
            vec![(raw.clone(), 1)]
        );
        // a roll-up's average, then one of its counts
        assert_eq!(
            changed(&format!(
                "UPDATE point_readings_agg_5m SET avg = avg + 0.5 WHERE rowid = {}",
                migrated_row("point_readings_agg_5m", 2)
            )),
            vec![(agg.clone(), 2)]
        );
        assert_eq!(
            changed(&format!(
                "UPDATE point_readings_agg_5m SET sample_count = sample_count + 1 WHERE rowid = {}",
                migrated_row("point_readings_agg_5m", 1)
            )),
            vec![(agg.clone(), 1)]
        );
        // a NULL where a value belongs
        assert_eq!(
            changed(&format!(
                "UPDATE point_readings SET value = NULL WHERE rowid = {}",
                migrated_row("point_readings", 2)
            )),
            vec![(raw.clone(), 2)]
        );
        // text in the source: SQL's affinities decide, not the proof
        let texted = changed(
            "UPDATE readings SET solar_w = '12x' WHERE id = (SELECT min(id) FROM readings WHERE system_id = 1)",
        );
        assert!(
            texted.contains(&(raw.clone(), 1)) && texted.contains(&(agg.clone(), 1)),
            "{texted:?}"
        );
        // a migrated row without its source row, and one that moved to another point
        let gone = changed(&format!(
            "DELETE FROM readings WHERE system_id = 2 AND inverter_time * 1000 = (SELECT measurement_time FROM point_readings WHERE rowid = {})",
            migrated_row("point_readings", 2)
        ));
        assert!(
            gone.contains(&(raw.clone(), 2)) && gone.iter().all(|c| c.1 == 2),
            "{gone:?}"
        );
        assert_eq!(
            changed(&format!(
                "UPDATE point_readings SET point_id = 99 WHERE rowid = {}",
                migrated_row("point_readings", 1)
            )),
            vec![(raw, 1)]
        );
        // a lifetime counter that falls
        let falls = changed(
            "UPDATE point_readings SET value = -1 WHERE rowid = (SELECT max(t.rowid) FROM point_readings AS t JOIN point_info AS p ON p.system_id = t.system_id AND p.id = t.point_id WHERE t.system_id = 1 AND p.metric_type = 'energy')",
        );
        assert!(falls.iter().any(|c| c.1 == 1), "{falls:?}");
    }
}
