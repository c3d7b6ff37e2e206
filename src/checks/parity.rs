//! Live parity: in the dual-write window, each row the live app wrote equals what the spec makes
//! of the legacy row for the same instant: the same presence, and exactly the same value and
//! value_str (for 5-minute rows, the fields both sides have). The live rows are the best evidence
//! of what a migrated row should look like.

use std::collections::BTreeSet;

use super::expect::{field, makes_row};
use super::rows::systems;
use super::{Ctx, LiveRows, Task, count, examples, result, scope, show_time, skipped};
use crate::db::{Db, Value, as_i64, show};
use crate::spec::Kind;
use crate::spec::validate::ResolvedPoint;
use crate::sql::ident as q;
use crate::table::count as thousands;

pub fn parity<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let how = ctx.live_rows(mp);
                if *how == LiveRows::Unknown {
                    return Ok(vec![skipped(
                        "live_parity",
                        scope(mp, sp, None),
                        "cannot tell live rows apart: no preflight journal and no live marker in the spec",
                    )]);
                }
                let (sys, pc, tt, ts, mult) = (q(&m.system), q(&m.point_column), q(&m.time.target), q(&m.time.source), m.time.multiply);
                let live_scan = how.live_rowid_sql("t").expect("known");
                let live = how.live_sql("l").expect("known");
                let w = db.query(
                    &format!("SELECT min(t.{tt}), max(t.{tt}) FROM {} AS t WHERE t.{sys} = ?1 AND {live_scan}", q(&m.target)),
                    &[Value::Integer(sp.system_id)],
                )?;
                let (Some(lo), Some(hi)) = (as_i64(&w[0][0]), as_i64(&w[0][1])) else {
                    return Ok(vec![skipped("live_parity", scope(mp, sp, None), "no live rows for this system")]);
                };
                // points: every mapped one; for raw rows also any point the live app writes
                let mut ids: BTreeSet<i64> = sp.points.iter().map(|p| p.point_id).collect();
                if m.kind == Kind::Raw {
                    for r in db.query(
                        &format!("SELECT DISTINCT t.{pc} FROM {} AS t WHERE t.{sys} = ?1 AND t.{tt} BETWEEN ?2 AND ?3 AND {live_scan}", q(&m.target)),
                        &[Value::Integer(sp.system_id), Value::Integer(lo), Value::Integer(hi)],
                    )? {
                        if let Some(id) = as_i64(&r[0]) {
                            ids.insert(id);
                        }
                    }
                }
                let mut out = Vec::new();
                for id in ids {
                    let mapped: Option<&ResolvedPoint> = sp.points.iter().find(|p| p.point_id == id);
                    let name = match mapped {
                        Some(p) => format!("{} ({id})", p.point),
                        None => match ctx.points.get(&(sp.system_id, id)) {
                            Some((key, _)) => format!("{key} ({id}), not in the spec"),
                            None => format!("point {id}, not catalogued"),
                        },
                    };
                    let fields: Vec<&String> = match (m.kind, mapped) {
                        (Kind::Agg5m, Some(p)) => m.fields.iter().filter(|f| p.fields.contains_key(*f)).collect(),
                        _ => m.fields.iter().collect(),
                    };
                    let makes = mapped.map_or_else(|| "0".to_string(), |p| makes_row(mp, p, "s"));
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
                         WHERE s.{sys} = ?1 AND s.{ts} BETWEEN ?3 AND ?4
                           AND NOT (CASE WHEN {makes} THEN l.{tt} IS NOT NULL AND {eq} ELSE l.{tt} IS NULL END)",
                        src = q(&m.source),
                        tgt = q(&m.target),
                        eq = if equal.is_empty() { "1".into() } else { equal.join(" AND ") },
                    );
                    let mismatched = count(db, &format!("SELECT count(*) {from}"), &params)?;
                    // live rows at instants the legacy table has no row for
                    let orphan_from = format!(
                        "FROM {tgt} AS l WHERE l.{sys} = ?1 AND l.{pc} = ?2 AND l.{tt} BETWEEN ?3 * {mult} AND ?4 * {mult} AND {live}
                         AND NOT EXISTS (SELECT 1 FROM {src} AS s WHERE s.{sys} = ?1 AND s.{ts} = l.{tt} / {mult} AND l.{tt} % {mult} = 0)",
                        src = q(&m.source),
                        tgt = q(&m.target),
                    );
                    let orphans = count(db, &format!("SELECT count(*) {orphan_from}"), &params)?;
                    let instants = count(
                        db,
                        &format!("SELECT count(*) FROM {} AS s WHERE s.{sys} = ?1 AND s.{ts} BETWEEN ?3 AND ?4", q(&m.source)),
                        &params,
                    )?;
                    let mut ex = Vec::new();
                    if mismatched > 0 {
                        let lives: Vec<String> = fields.iter().map(|f| format!("l.{}", q(f))).collect();
                        let wants: Vec<String> = fields.iter().map(|f| want(f)).collect();
                        let names: Vec<&String> = fields.clone();
                        ex = examples(
                            db,
                            &format!(
                                // rows present on both sides with different values first: they say most
                                "SELECT s.{ts}, {makes}, l.{tt} IS NOT NULL, {}, {}, ({makes}) AND l.{tt} IS NOT NULL AS both_sides {from} ORDER BY both_sides DESC, s.{ts}",
                                lives.join(", "),
                                wants.join(", ")
                            ),
                            &params,
                            |r| {
                                let at = show_time(as_i64(&r[0]).unwrap_or(0) * mult, mult);
                                let (makes, present) = (as_i64(&r[1]) == Some(1), as_i64(&r[2]) == Some(1));
                                let k = names.len();
                                let side = |off: usize| {
                                    names
                                        .iter()
                                        .enumerate()
                                        .filter(|(i, _)| r[off + i] != Value::Null)
                                        .map(|(i, f)| format!("{f} {}", show(&r[off + i])))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                };
                                let live_side = if present { side(3) } else { "no row".into() };
                                let spec_side = if makes {
                                    let s = side(3 + k);
                                    if s.is_empty() { "a row of NULLs".into() } else { s }
                                } else if mapped.is_none() {
                                    "nothing (the spec does not map this point)".into()
                                } else {
                                    "no row".into()
                                };
                                format!("{at}: live {live_side}; spec {spec_side}")
                            },
                        )?;
                    }
                    if orphans > 0 && ex.len() < 5 {
                        ex.extend(examples(db, &format!("SELECT l.{tt} {orphan_from} ORDER BY l.{tt}"), &params, |r| {
                            format!("{}: live row, no legacy row at this instant", show_time(as_i64(&r[0]).unwrap_or(0), mult))
                        })?);
                        ex.truncate(5);
                    }
                    let violations = mismatched + orphans;
                    out.push(
                        result("live_parity", format!("{} · system {} · {name}", m.name, sp.system_id))
                            .judged(
                                violations,
                                format!("{} legacy instants in {} → {}", thousands(instants as i64), show_time(lo, mult), show_time(hi, mult)),
                                format!("{} differ", thousands(violations as i64)),
                            )
                            .with_examples(ex),
                    );
                }
                Ok(out)
            })
        })
        .collect()
}
