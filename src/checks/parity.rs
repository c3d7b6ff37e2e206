//! Live parity: in the dual-write window, each row the live app wrote equals what the spec makes
//! of the source for the same key: the same presence, and the same values (for rows copied from
//! an interval table, the fields the spec maps; for a roll-up, every aggregate). The live rows are
//! the best evidence of what a migrated row should look like.
//!
//! A difference is a failure unless a cause is verified in the data, and then it is a warning
//! that names the cause and the count:
//! - the seam: in a system's first live interval, the live row summarises only the latest samples
//!   of the bucket (the live aggregator started inside it), verified by recomputing the roll-up
//!   over exactly that many latest samples;
//! - the live app wrote no row of this point anywhere in the window (it does not write that
//!   point), or no row of any point at that instant (it wrote nothing then);
//! - a live row where the source has no row at all (nothing to migrate there).

use std::collections::{BTreeMap, BTreeSet};

use super::expect::{
    bucket_of, field, in_bucket, makes_row, rollup_expected, same_read_value, same_value,
};
use super::rows::{makes_carried_row, systems};
use super::{Ctx, LiveRows, Task, count, examples, result, skipped};
use crate::db::{Db, DbError, DbExt, Value, as_i64};
use crate::report::{
    Cause, CheckResult, Example, Explained, Fact, Fixed, ParityWhy, PointRef, Scope, Status, Time,
    Unmapped, Value as ReportValue, WindowOf,
};
use crate::spec::validate::{MigrationPlan, ResolvedPoint, SystemPlan};
use crate::spec::{Aggregate, Kind};
use crate::sql::ident as q;

/// Differences found for one point, by cause.
#[derive(Default)]
struct Found {
    violations: u64,
    /// (cause, count)
    warned: BTreeMap<Cause, u64>,
    examples: Vec<Example>,
    notes: Vec<Example>,
}

impl Found {
    fn warn(&mut self, cause: Cause, n: u64) {
        if n > 0 {
            *self.warned.entry(cause).or_default() += n;
        }
    }

    fn into_result(self, scope: Scope, expected: Fact) -> CheckResult {
        let warned: u64 = self.warned.values().sum();
        let actual = Fact::Parity {
            differ: self.violations,
            explained: self
                .warned
                .iter()
                .map(|(&cause, &n)| Explained { cause, n })
                .collect(),
        };
        let mut ex = self.examples;
        ex.extend(self.notes);
        ex.truncate(5);
        let r = result("live_parity", scope)
            .judged(self.violations, expected, actual)
            .with_examples(ex);
        if self.violations == 0 && warned > 0 {
            r.with_status(Status::Warn)
        } else {
            r
        }
    }
}

const NOT_WRITTEN_LIVE: Cause = Cause::NotWrittenLive;
const NOTHING_LIVE_THEN: Cause = Cause::NothingLiveThen;
const NO_SOURCE_ROW: Cause = Cause::NoSourceRow;
const LIVE_POINTS_DIFFER: Cause = Cause::LivePointsDiffer;
const NO_LIVE_POINTS: Cause = Cause::NoLivePoints;
const SEAM: Cause = Cause::Seam;

pub fn parity<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let scope_of = |point: Scope| Scope {
                    migration: Some(m.name.clone()),
                    system: Some(sp.system_id),
                    ..point
                };
                let how = ctx.live_rows(mp);
                if *how == LiveRows::Unknown {
                    return Ok(vec![skipped(
                        "live_parity",
                        super::scope(mp, sp, None),
                        Fixed::LiveRowsUnknown,
                    )]);
                }
                let (sys, pc, tt) = (q(&m.system), q(&m.point_column), q(&m.time.target));
                let live_scan = ctx.live_scan(mp, "t").expect("known");
                let owned = ctx.owned_sql(mp, "t");
                let w = db.query(
                    &format!("SELECT min(t.{tt}), max(t.{tt}) FROM {} AS t WHERE {live_scan} AND {owned}", q(&m.target)),
                    &[Value::Integer(sp.system_id)],
                )?;
                let (Some(lo), Some(hi)) = (as_i64(&w[0][0]), as_i64(&w[0][1])) else {
                    return Ok(vec![skipped("live_parity", super::scope(mp, sp, None), if owned == "1" { Fixed::NoLiveRowsOfThisSystem } else { Fixed::NoLiveRowsAtTimesOfThisMigration })]);
                };
                let window = [Value::Integer(sp.system_id), Value::Integer(lo), Value::Integer(hi)];
                // live rows per point in the window; the points are every mapped one, and for
                // raw rows and roll-ups also any point the live app writes
                let live_per_point: BTreeMap<i64, u64> = db
                    .query(
                        &format!("SELECT t.{pc}, count(*) FROM {} AS t WHERE t.{tt} BETWEEN ?2 AND ?3 AND {live_scan} AND {owned} GROUP BY t.{pc}", q(&m.target)),
                        &window,
                    )?
                    .into_iter()
                    .filter_map(|r| Some((as_i64(&r[0])?, as_i64(&r[1])? as u64)))
                    .collect();
                let mut ids: BTreeSet<i64> = sp.points.iter().map(|p| p.point_id).collect();
                if matches!(m.kind, Kind::Raw | Kind::Rollup) {
                    ids.extend(live_per_point.keys().copied());
                }
                let names = |id: i64| -> (Option<&ResolvedPoint>, Scope) {
                    let mapped = sp.points.iter().find(|p| p.point_id == id);
                    let (name, unmapped) = match mapped {
                        Some(p) => (p.point.clone(), None),
                        None => match ctx.points.get(&(sp.system_id, id)) {
                            Some((key, _)) => (key.clone(), Some(Unmapped::NotInSpec)),
                            None => (String::new(), Some(Unmapped::NotCatalogued)),
                        },
                    };
                    (mapped, Scope { point: Some(PointRef { id, name }), unmapped, ..Scope::default() })
                };
                if m.kind == Kind::Rollup {
                    return rollup_parity(ctx, db, mp, sp, (lo, hi), &ids, &live_per_point, &|id| names(id).1, &scope_of);
                }
                let mult = m.time.multiply;
                let live = how.live_sql("l").expect("known");
                let (src, ts) = (q(&m.source), q(&m.time.source));
                let carried = super::expect::carried(mp, "s");
                // instants at which the live app wrote nothing at all
                let nothing_live = format!(
                    "NOT EXISTS (SELECT 1 FROM {tgt} AS a WHERE a.{sys} = ?1 AND a.{tt} = s.{ts} * {mult} AND {alive})",
                    tgt = q(&m.target),
                    alive = how.live_sql("a").expect("known"),
                );
                let instants = count(
                    db,
                    &format!("SELECT count(*) FROM {src} AS s WHERE s.{sys} = ?1 AND s.{ts} BETWEEN ?2 AND ?3 AND {carried}"),
                    &[Value::Integer(sp.system_id), Value::Integer(lo.div_euclid(mult)), Value::Integer(hi.div_euclid(mult))],
                )?;
                let mut out = Vec::new();
                for id in ids {
                    let (mapped, name) = names(id);
                    let fields: Vec<&String> = match (m.kind, mapped) {
                        (Kind::Agg5m, Some(p)) => m.fields.iter().filter(|f| p.fields.contains_key(*f)).collect(),
                        _ => m.fields.iter().collect(),
                    };
                    let makes = mapped.map_or_else(|| "0".to_string(), |p| makes_carried_row(mp, p, "s"));
                    let want = |f: &str| mapped.map_or_else(|| "NULL".to_string(), |p| field(mp, p, f, "s"));
                    let equal: Vec<String> = fields.iter().map(|f| format!("l.{} IS {}", q(f), want(f))).collect();
                    let params = [
                        Value::Integer(sp.system_id),
                        Value::Integer(id),
                        Value::Integer(lo.div_euclid(mult)),
                        Value::Integer(hi.div_euclid(mult)),
                    ];
                    let from = format!(
                        "FROM {src} AS s LEFT JOIN {tgt} AS l ON l.{sys} = s.{sys} AND l.{pc} = ?2 AND l.{tt} = s.{ts} * {mult} AND {live}
                         WHERE s.{sys} = ?1 AND s.{ts} BETWEEN ?3 AND ?4 AND {carried}
                           AND NOT (CASE WHEN {makes} THEN l.{tt} IS NOT NULL AND {eq} ELSE l.{tt} IS NULL END)",
                        tgt = q(&m.target),
                        eq = if equal.is_empty() { "1".into() } else { equal.join(" AND ") },
                    );
                    // a row the spec makes with a value (a row of NULLs is never the live app's)
                    let valued = {
                        let any: Vec<String> = fields.iter().map(|f| format!("{} IS NOT NULL", want(f))).collect();
                        if any.is_empty() { "0".to_string() } else { format!("({})", any.join(" OR ")) }
                    };
                    let c = db.query(
                        &format!("SELECT count(*), count(CASE WHEN l.{tt} IS NULL AND {valued} AND {nothing_live} THEN 1 END), count(CASE WHEN l.{tt} IS NULL AND {valued} THEN 1 END) {from}"),
                        &params,
                    )?;
                    let mismatched = as_i64(&c[0][0]).unwrap_or(0) as u64;
                    let absent_then = as_i64(&c[0][1]).unwrap_or(0) as u64;
                    let absent = as_i64(&c[0][2]).unwrap_or(0) as u64;
                    let mut found = Found::default();
                    if live_per_point.get(&id).copied().unwrap_or(0) == 0 {
                        found.warn(NOT_WRITTEN_LIVE, absent);
                        found.violations += mismatched - absent;
                    } else {
                        found.warn(NOTHING_LIVE_THEN, absent_then);
                        found.violations += mismatched - absent_then;
                    }
                    // live rows at instants the source has no row for
                    let orphan_from = format!(
                        "FROM {tgt} AS l WHERE l.{sys} = ?1 AND l.{pc} = ?2 AND l.{tt} BETWEEN ?3 * {mult} AND ?4 * {mult} AND {live} AND {lowned}
                         AND NOT EXISTS (SELECT 1 FROM {src} AS s WHERE s.{sys} = ?1 AND s.{ts} = l.{tt} / {mult} AND l.{tt} % {mult} = 0)",
                        tgt = q(&m.target),
                        lowned = ctx.owned_sql(mp, "l"),
                    );
                    let orphans = count(db, &format!("SELECT count(*) {orphan_from}"), &params)?;
                    found.warn(NO_SOURCE_ROW, orphans);
                    if mismatched > 0 {
                        let lives: Vec<String> = fields.iter().map(|f| format!("l.{}", q(f))).collect();
                        let wants: Vec<String> = fields.iter().map(|f| want(f)).collect();
                        let k = fields.len();
                        let names: Vec<&String> = fields.clone();
                        found.examples = examples(
                            db,
                            &format!(
                                // rows present on both sides with different values first: they say most
                                "SELECT s.{ts}, {makes}, l.{tt} IS NOT NULL, {}, {}, ({makes}) AND l.{tt} IS NOT NULL AS both_sides {from} ORDER BY both_sides DESC, s.{ts}",
                                lives.join(", "),
                                wants.join(", ")
                            ),
                            &params,
                            |r| {
                                let at = Time::new(as_i64(&r[0]).unwrap_or(0) * mult, mult);
                                let (makes, present) = (as_i64(&r[1]) == Some(1), as_i64(&r[2]) == Some(1));
                                // the columns holding a value
                                let side = |off: usize| -> Vec<(String, ReportValue)> {
                                    names
                                        .iter()
                                        .enumerate()
                                        .filter(|(i, _)| r[off + i] != Value::Null)
                                        .map(|(i, f)| ((*f).clone(), (&r[off + i]).into()))
                                        .collect()
                                };
                                Example::LiveParity {
                                    at,
                                    live: present.then(|| side(3)),
                                    spec: makes.then(|| side(3 + k)),
                                    why: (!makes && mapped.is_none()).then_some(ParityWhy::MapsNothing),
                                }
                            },
                        )?;
                    }
                    if orphans > 0 && found.examples.len() < 5 {
                        found.notes.extend(examples(db, &format!("SELECT l.{tt} {orphan_from} ORDER BY l.{tt}"), &params, |r| {
                            Example::LiveRowNoSource { at: Time::new(as_i64(&r[0]).unwrap_or(0), mult) }
                        })?);
                    }
                    out.push(found.into_result(
                        scope_of(name),
                        Fact::Window { rows: instants, of: WindowOf::SourceInstants, first: Time::new(lo, mult), last: Time::new(hi, mult) },
                    ));
                }
                Ok(out)
            })
        })
        .collect()
}

/// The aggregate columns of a roll-up, in `rollup_expected` order (its aggregates come first).
fn aggregate_columns(mp: &MigrationPlan) -> Vec<(String, Aggregate)> {
    mp.migration
        .aggregate
        .iter()
        .map(|(c, a)| (c.clone(), *a))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn rollup_parity(
    ctx: &Ctx,
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
    (lo, hi): (i64, i64),
    ids: &BTreeSet<i64>,
    live_per_point: &BTreeMap<i64, u64>,
    names: &dyn Fn(i64) -> Scope,
    scope_of: &dyn Fn(Scope) -> Scope,
) -> Result<Vec<CheckResult>, DbError> {
    let m = &mp.migration;
    let b = m.bucket.as_ref().expect("a roll-up");
    let mult = m.time.multiply;
    let (sys, pc, tt, tgt, src, ts) = (
        q(&m.system),
        q(&m.point_column),
        q(&m.time.target),
        q(&m.target),
        q(&m.source),
        q(&m.time.source),
    );
    let live = ctx.live_rows(mp).live_sql("l").expect("known");
    let aggs = aggregate_columns(mp);
    let n = aggs.len();
    // the roll-up of the window's buckets, and the live rows, side by side
    let range = format!(
        "s.{ts} > {} AND s.{ts} <= {}",
        lo.div_euclid(mult) - b.width,
        hi.div_euclid(mult) + b.width
    );
    let expected = rollup_expected(mp, sp, &range);
    let e_cols: Vec<String> = (0..n).map(|k| format!("e.e{k}")).collect();
    let l_cols: Vec<String> = aggs.iter().map(|(c, _)| format!("l.{}", q(c))).collect();
    let equal: Vec<String> = aggs
        .iter()
        .enumerate()
        .map(|(k, (c, _))| same_value(&format!("l.{}", q(c)), &format!("e.e{k}")))
        .collect();
    let owned = ctx.owned_sql(mp, "l");
    let live_rows = format!(
        "SELECT l.* FROM {tgt} AS l WHERE l.{sys} = ?1 AND l.{tt} BETWEEN ?2 AND ?3 AND {live} AND {owned}"
    );
    // the spec's rows of the window, each with the live row of its key (looked up by the key)
    let spec_side = format!(
        "FROM (SELECT * FROM ({expected}) WHERE tt BETWEEN ?2 AND ?3 LIMIT -1) AS e
         LEFT JOIN {tgt} AS l ON l.{sys} = ?1 AND l.{pc} = e.pid AND l.{tt} = e.tt AND {live} AND {owned}
         WHERE l.{pc} IS NULL OR NOT ({})",
        equal.join(" AND ")
    );
    // live rows with no spec row: the point has no sample in that bucket
    let sampled: Vec<String> = sp
        .points
        .iter()
        .map(|p| {
            format!(
                "WHEN {} THEN EXISTS (SELECT 1 FROM {src} AS s WHERE s.{sys} = ?1 AND l.{tt} % {mult} = 0 AND {} AND {})",
                p.point_id,
                in_bucket(b, &format!("s.{ts}"), &format!("l.{tt} / {mult}")),
                makes_row(mp, p, "s")
            )
        })
        .collect();
    let live_side = format!(
        "FROM ({live_rows}) AS l WHERE NOT (CASE l.{pc} {} ELSE 0 END)",
        sampled.join(" ")
    );
    let window = [
        Value::Integer(sp.system_id),
        Value::Integer(lo),
        Value::Integer(hi),
    ];
    const READ: i64 = 2_000;
    let nulls = vec!["NULL"; n].join(", ");
    let mut rows = db.query(
        &format!(
            "SELECT e.pid, e.tt, 1, l.{pc} IS NOT NULL, {}, {} {spec_side} ORDER BY 1, 2 LIMIT {READ}",
            e_cols.join(", "),
            l_cols.join(", ")
        ),
        &window,
    )?;
    rows.extend(db.query(
        &format!(
            "SELECT l.{pc}, l.{tt}, 0, 1, {nulls}, {} {live_side} ORDER BY 1, 2 LIMIT {READ}",
            l_cols.join(", ")
        ),
        &window,
    )?);
    let total = count(db, &format!("SELECT count(*) {spec_side}"), &window)?
        + count(db, &format!("SELECT count(*) {live_side}"), &window)?;
    // what the causes need: the times with any live row, the buckets with any source row
    let live_times: BTreeSet<i64> = db
        .query(
            &format!("SELECT DISTINCT l.{tt} FROM ({live_rows}) AS l"),
            &window,
        )?
        .iter()
        .filter_map(|r| as_i64(&r[0]))
        .collect();
    let source_buckets: BTreeSet<i64> = db
        .query(
            &format!(
                "SELECT DISTINCT {} * {mult} FROM {src} AS s WHERE s.{sys} = ?1 AND {range}",
                bucket_of(b, &format!("s.{ts}"))
            ),
            &[Value::Integer(sp.system_id)],
        )?
        .iter()
        .filter_map(|r| as_i64(&r[0]))
        .collect();
    let seam = lo;
    let counted = |cols: &[Value], a: Aggregate| -> Option<i64> {
        aggs.iter()
            .position(|(_, x)| *x == a)
            .map(|k| as_i64(&cols[k]).unwrap_or(0))
    };
    let mut found: BTreeMap<i64, Found> = BTreeMap::new();
    for r in &rows {
        let (Some(id), Some(at)) = (as_i64(&r[0]), as_i64(&r[1])) else {
            continue;
        };
        let (has_e, has_l) = (as_i64(&r[2]) == Some(1), as_i64(&r[3]) == Some(1));
        let (e, l) = (&r[4..4 + n], &r[4 + n..4 + 2 * n]);
        let f = found.entry(id).or_default();
        let mapped = sp.points.iter().find(|p| p.point_id == id);
        let show_side = |vals: &[Value]| -> Vec<(String, ReportValue)> {
            aggs.iter()
                .zip(vals)
                .map(|((c, _), v)| (c.clone(), v.into()))
                .collect()
        };
        let example = |why: Option<ParityWhy>| Example::LiveParity {
            at: Time::new(at, mult),
            live: has_l.then(|| show_side(l)),
            spec: has_e.then(|| show_side(e)),
            why,
        };
        match (has_e, has_l) {
            (true, true) => {
                // the seam: the live row summarises the bucket's latest k samples only
                let k = counted(l, Aggregate::Count)
                    .zip(counted(l, Aggregate::CountNull))
                    .map(|(a, b)| a + b);
                let all = counted(e, Aggregate::Count)
                    .zip(counted(e, Aggregate::CountNull))
                    .map(|(a, b)| a + b);
                let explained = match (at == seam, k, all, mapped) {
                    (true, Some(k), Some(all), Some(p)) if k > 0 && k < all => {
                        let suffix = latest_samples(db, mp, sp, p, at, k)?;
                        suffix.len() == n
                            && suffix.iter().zip(l).all(|(a, b)| same_read_value(a, b))
                    }
                    _ => false,
                };
                // otherwise: the live row is the roll-up of the live app's own point rows, which
                // differ from the source rows in this interval
                let from_points = if explained {
                    None
                } else {
                    from_live_points(ctx, db, mp, sp, id, at)?
                };
                if explained {
                    f.warn(SEAM, 1);
                    if f.notes.len() < 2 {
                        f.notes.push(example(Some(ParityWhy::Seam {
                            held: k.unwrap_or(0),
                            of: all.unwrap_or(0),
                        })));
                    }
                } else if let Some((rows, v)) = from_points.filter(|(_, v)| {
                    v.len() == n && v.iter().zip(l).all(|(a, b)| same_read_value(a, b))
                }) {
                    let _ = v;
                    f.warn(LIVE_POINTS_DIFFER, 1);
                    if f.notes.len() < 2 {
                        f.notes.push(example(Some(ParityWhy::LivePoints { rows })));
                    }
                } else {
                    f.violations += 1;
                    if f.examples.len() < 5 {
                        f.examples.push(example(None));
                    }
                }
            }
            (true, false) => {
                if live_per_point.get(&id).copied().unwrap_or(0) == 0 {
                    f.warn(NOT_WRITTEN_LIVE, 1);
                } else if !live_times.contains(&at) {
                    f.warn(NOTHING_LIVE_THEN, 1);
                } else if from_live_points(ctx, db, mp, sp, id, at)?
                    .is_some_and(|(rows, _)| rows == 0)
                {
                    f.warn(NO_LIVE_POINTS, 1);
                } else {
                    f.violations += 1;
                    if f.examples.len() < 5 {
                        f.examples.push(example(None));
                    }
                }
            }
            (false, true) => {
                if !source_buckets.contains(&at) {
                    f.warn(NO_SOURCE_ROW, 1);
                } else if from_live_points(ctx, db, mp, sp, id, at)?.is_some_and(|(rows, v)| {
                    rows > 0 && v.len() == n && v.iter().zip(l).all(|(a, b)| same_read_value(a, b))
                }) {
                    f.warn(LIVE_POINTS_DIFFER, 1);
                } else {
                    f.violations += 1;
                    if f.examples.len() < 5 {
                        f.examples
                            .push(example(mapped.is_none().then_some(ParityWhy::NotMapped)));
                    }
                }
            }
            (false, false) => {}
        }
    }
    // the first live interval cannot hold samples from before the live app wrote its first raw
    // point row (the deploy instant): a live row that does was overwritten
    if let Some(deploy) = first_live_raw_row(ctx, db, mp, sp)? {
        let b = m.bucket.as_ref().expect("a roll-up");
        for p in &sp.points {
            let (Some(kc), Some(kn)) = (
                aggs.iter().position(|(_, a)| *a == Aggregate::Count),
                aggs.iter().position(|(_, a)| *a == Aggregate::CountNull),
            ) else {
                break;
            };
            let held = db.query(
                &format!(
                    "SELECT l.{c} + l.{n}, (SELECT count(*) FROM {src} AS s WHERE s.{sys} = ?1 AND {inb} AND s.{ts} >= ?4 AND {mk}) FROM {tgt} AS l WHERE l.{sys} = ?1 AND l.{pc} = ?2 AND l.{tt} = ?3 AND {live}",
                    c = q(&aggs[kc].0),
                    n = q(&aggs[kn].0),
                    inb = in_bucket(b, &format!("s.{ts}"), &format!("{}", seam.div_euclid(mult))),
                    mk = makes_row(mp, p, "s"),
                ),
                &[
                    Value::Integer(sp.system_id),
                    Value::Integer(p.point_id),
                    Value::Integer(seam),
                    Value::Integer(deploy),
                ],
            )?;
            if let Some(r) = held.first()
                && let (Some(k), Some(after)) = (as_i64(&r[0]), as_i64(&r[1]))
                && k > after
            {
                let f = found.entry(p.point_id).or_default();
                f.violations += 1;
                f.examples.insert(
                    0,
                    Example::Overwritten {
                        at: Time::new(seam, mult),
                        held: k,
                        after,
                        deploy: Time::new(deploy * mult, mult),
                    },
                );
            }
        }
    }
    // differences beyond those read are failures: nothing explained them
    let unread = total.saturating_sub(rows.len() as u64);
    let buckets = source_buckets
        .iter()
        .filter(|t| (lo..=hi).contains(*t))
        .count();
    let mut out = Vec::new();
    for &id in ids {
        let name = names(id);
        let mut f = found.remove(&id).unwrap_or_default();
        if id == *ids.iter().next_back().expect("not empty") {
            f.violations += unread;
        }
        out.push(f.into_result(
            scope_of(name),
            Fact::Window {
                rows: buckets as u64,
                of: WindowOf::IntervalsWithSourceRows,
                first: Time::new(lo, mult),
                last: Time::new(hi, mult),
            },
        ));
    }
    Ok(out)
}

/// When a raw migration of the same source has live rows for this system: the source time of
/// the first of them (the deploy instant).
fn first_live_raw_row(
    ctx: &Ctx,
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
) -> Result<Option<i64>, DbError> {
    let m = &mp.migration;
    for raw in ctx.plan.migrations.iter().filter(|x| {
        x.migration.kind == Kind::Raw
            && x.migration.source == m.source
            && x.migration.system == m.system
            && x.migration.time.source == m.time.source
    }) {
        let r = &raw.migration;
        let Some(live) = ctx.live_scan(raw, "t") else {
            continue;
        };
        let first = db.scalar_i64(
            &format!(
                "SELECT min(t.{tt}) FROM {tgt} AS t WHERE {live}",
                tt = q(&r.time.target),
                tgt = q(&r.target),
            ),
            &[Value::Integer(sp.system_id)],
        )?;
        if let Some(t) = first {
            return Ok(Some(t.div_euclid(r.time.multiply)));
        }
    }
    Ok(None)
}

/// The live 5-minute row of point `id` at `at` as the live aggregator computes it, from the live
/// point rows of a raw migration of the same source (the finest data the live app had): how many
/// point rows there are in the bucket, and the aggregates in the roll-up's order. None without
/// such a raw migration.
fn from_live_points(
    ctx: &Ctx,
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
    id: i64,
    at: i64,
) -> Result<Option<(i64, Vec<Value>)>, DbError> {
    let m = &mp.migration;
    let b = m.bucket.as_ref().expect("a roll-up");
    let Some(raw) = ctx.plan.migrations.iter().find(|x| {
        x.migration.kind == Kind::Raw
            && x.migration.source == m.source
            && x.migration.system == m.system
            && x.migration.time.source == m.time.source
            && x.migration.time.multiply == m.time.multiply
            && x.migration.fields.contains(&b.value)
    }) else {
        return Ok(None);
    };
    let r = &raw.migration;
    let Some(live) = ctx.live_rows(raw).live_sql("r") else {
        return Ok(None);
    };
    let (tt, w) = (q(&r.time.target), b.width * m.time.multiply);
    let range = match b.closed {
        crate::spec::Closed::End => format!("r.{tt} > ?3 - {w} AND r.{tt} <= ?3"),
        crate::spec::Closed::Start => format!("r.{tt} >= ?3 AND r.{tt} < ?3 + {w}"),
    };
    let aggs: Vec<String> = aggregate_columns(mp)
        .iter()
        .map(|(_, a)| match a {
            Aggregate::Avg => "avg(v)".to_string(),
            Aggregate::Min => "min(v)".into(),
            Aggregate::Max => "max(v)".into(),
            Aggregate::Sum => "sum(v)".into(),
            Aggregate::Count => "count(v)".into(),
            Aggregate::CountNull => "(count(*) - count(v))".into(),
            Aggregate::Last => {
                "(SELECT v FROM x WHERE v IS NOT NULL ORDER BY t DESC LIMIT 1)".into()
            }
            Aggregate::First => "(SELECT v FROM x WHERE v IS NOT NULL ORDER BY t LIMIT 1)".into(),
        })
        .collect();
    let row = db.query(
        &format!(
            "WITH x AS (SELECT r.{tt} AS t, r.{v} AS v FROM {rt} AS r WHERE r.{sys} = ?1 AND r.{pc} = ?2 AND {range} AND {live})
             SELECT count(*), {} FROM x",
            aggs.join(", "),
            v = q(&b.value),
            rt = q(&r.target),
            sys = q(&r.system),
            pc = q(&r.point_column),
        ),
        &[Value::Integer(sp.system_id), Value::Integer(id), Value::Integer(at)],
    )?;
    Ok(row
        .into_iter()
        .next()
        .map(|mut r| (as_i64(&r[0]).unwrap_or(0), r.split_off(1))))
}

/// The roll-up of the latest `k` samples of point `p` in the bucket at target time `at`, in the
/// order of the roll-up's aggregates.
fn latest_samples(
    db: &dyn Db,
    mp: &MigrationPlan,
    sp: &SystemPlan,
    p: &ResolvedPoint,
    at: i64,
    k: i64,
) -> Result<Vec<Value>, DbError> {
    let m = &mp.migration;
    let b = m.bucket.as_ref().expect("a roll-up");
    let (sys, src, ts) = (q(&m.system), q(&m.source), q(&m.time.source));
    let v = field(mp, p, &b.value, "s");
    let aggs: Vec<String> = aggregate_columns(mp)
        .iter()
        .map(|(_, a)| match a {
            Aggregate::Avg => "avg(v)".to_string(),
            Aggregate::Min => "min(v)".into(),
            Aggregate::Max => "max(v)".into(),
            Aggregate::Sum => "sum(v)".into(),
            Aggregate::Count => "count(v)".into(),
            Aggregate::CountNull => "sum(v IS NULL)".into(),
            Aggregate::Last => {
                "(SELECT v FROM x WHERE v IS NOT NULL ORDER BY t DESC LIMIT 1)".into()
            }
            Aggregate::First => "(SELECT v FROM x WHERE v IS NOT NULL ORDER BY t LIMIT 1)".into(),
        })
        .collect();
    let sql = format!(
        "WITH x AS (SELECT s.{ts} AS t, {v} AS v FROM {src} AS s
                    WHERE s.{sys} = ?1 AND {inb} AND {mk} ORDER BY s.{ts} DESC LIMIT ?3)
         SELECT {} FROM x",
        aggs.join(", "),
        inb = in_bucket(b, &format!("s.{ts}"), "?2"),
        mk = makes_row(mp, p, "s"),
    );
    Ok(db
        .query(
            &sql,
            &[
                Value::Integer(sp.system_id),
                Value::Integer(at.div_euclid(m.time.multiply)),
                Value::Integer(k),
            ],
        )?
        .into_iter()
        .next()
        .unwrap_or_default())
}
