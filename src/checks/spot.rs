//! Random spot checks: N source rows and points chosen by a seeded generator, each shown with its
//! source value, what the spec makes of it, and what the target holds (the seed's manual check,
//! reproducible with --seed). A roll-up shows the bucket the row falls in. Only the fields the
//! spec fills are compared, and only on rows the migration wrote: a row the live app wrote is
//! shown as such (live_parity compares those).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::expect::{
    bucket_of, carried, field, in_bucket, makes_row, rollup_columns, rollup_expected, same_value,
};
use super::rows::systems;
use super::{Ctx, Task, result};
use crate::db::{Db, Value, as_i64};
use crate::report::{
    Example, Fact, Fixed, Noun, PointRef, SampleSource, Sampled, Scope, Time, Verdict,
};
use crate::sql::ident as q;

pub fn spot<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    vec![Box::new(move |db: &dyn Db| {
        let scope = Scope {
            sample: Some((ctx.sample, ctx.seed)),
            ..Scope::default()
        };
        // the source rows each (migration, system) carries
        let mut candidates = Vec::new();
        for (mp, sp, range) in systems(ctx) {
            let m = &mp.migration;
            let rows = if mp.finer.is_some() {
                super::count(
                    db,
                    &format!(
                        "SELECT count(*) FROM {} AS s WHERE s.{} = ?1 AND {}",
                        q(&m.source),
                        q(&m.system),
                        carried(mp, "s")
                    ),
                    &[Value::Integer(sp.system_id)],
                )? as i64
            } else {
                range.rows
            };
            if rows > 0 {
                candidates.push((mp, sp, rows));
            }
        }
        let total: i64 = candidates.iter().map(|c| c.2).sum();
        if total == 0 || ctx.sample == 0 {
            return Ok(vec![super::skipped(
                "spot_checks",
                scope,
                Fixed::NoSourceRowsToSample,
            )]);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
        let mut lines = Vec::new();
        let (mut bad, mut compared) = (0u64, 0u64);
        for _ in 0..ctx.sample {
            let mut k = rng.random_range(0..total);
            let (mp, sp, _) = *candidates
                .iter()
                .find(|c| {
                    if k < c.2 {
                        true
                    } else {
                        k -= c.2;
                        false
                    }
                })
                .expect("k is below the total");
            let p = &sp.points[rng.random_range(0..sp.points.len())];
            let m = &mp.migration;
            let (sys, ts, tt, pc, mult) = (
                q(&m.system),
                q(&m.time.source),
                q(&m.time.target),
                q(&m.point_column),
                m.time.multiply,
            );
            let time = db
                .query(
                    &format!(
                        "SELECT s.{ts} FROM {} AS s WHERE s.{sys} = ?1 AND {} ORDER BY s.{ts} LIMIT 1 OFFSET ?2",
                        q(&m.source),
                        carried(mp, "s")
                    ),
                    &[Value::Integer(sp.system_id), Value::Integer(k)],
                )?
                .first()
                .and_then(|r| as_i64(&r[0]))
                .unwrap_or(0);
            let mut sources: Vec<String> = Vec::new();
            for t in p.fields.values() {
                if !sources.contains(&t.source) {
                    sources.push(t.source.clone());
                }
            }
            let src_cols: Vec<String> = sources
                .iter()
                .map(|c| {
                    if mp.has_column(c) {
                        format!("s.{}", q(c))
                    } else {
                        "NULL".into()
                    }
                })
                .collect();
            // (target column, expected SQL) for what the spec fills, and where the row is
            let (pairs, at, from, source_rows): (Vec<(String, String)>, String, String, String) =
                match &m.bucket {
                    Some(b) => {
                        let cols = rollup_columns(mp);
                        let bucket = bucket_of(b, "?3");
                        let range = in_bucket(b, &format!("s.{ts}"), &bucket);
                        (
                            cols.iter()
                                .enumerate()
                                .filter(|(_, (c, _))| m.aggregate.contains_key(c))
                                .map(|(k, (c, _))| (c.clone(), format!("e.e{k}")))
                                .collect(),
                            format!("{bucket} * {mult}"),
                            format!(
                                "FROM (SELECT * FROM ({}) WHERE pid = ?2) AS e",
                                rollup_expected(mp, sp, &range)
                            ),
                            format!(
                                "SELECT group_concat(x, ', ') FROM (SELECT {} AS x FROM {} AS s WHERE s.{sys} = ?1 AND {range} AND {} ORDER BY s.{ts} LIMIT 8)",
                                if src_cols.len() == 1 {
                                    format!("quote({})", src_cols[0])
                                } else {
                                    format!("quote(coalesce({}))", src_cols.join(", "))
                                },
                                q(&m.source),
                                makes_row(mp, p, "s")
                            ),
                        )
                    }
                    None => (
                        m.fields
                            .iter()
                            .filter(|f| p.fields.contains_key(*f))
                            .map(|f| (f.clone(), field(mp, p, f, "s")))
                            .collect(),
                        format!("s.{ts} * {mult}"),
                        format!("FROM {} AS s", q(&m.source)),
                        String::new(),
                    ),
                };
            let makes = match &m.bucket {
                Some(_) => "1".to_string(),
                None => makes_row(mp, p, "s"),
            };
            let wants: Vec<String> = pairs.iter().map(|(_, e)| e.clone()).collect();
            let haves: Vec<String> = pairs.iter().map(|(c, _)| format!("t.{}", q(c))).collect();
            let oks: Vec<String> = pairs
                .iter()
                .map(|(c, e)| same_value(&format!("t.{}", q(c)), e))
                .collect();
            let src_sel = if m.bucket.is_some() {
                format!("({source_rows})")
            } else {
                src_cols.join(", ")
            };
            let row = db.query(
                &format!(
                    "SELECT {src_sel}, {want}, {have}, {makes}, t.{tt} IS NOT NULL, {ok}, {mine}
                     {from} LEFT JOIN {target} AS t ON t.{sys} = ?1 AND t.{pc} = ?2 AND t.{tt} = {at}
                     WHERE {cond}",
                    cond = if m.bucket.is_some() { "1".to_string() } else { format!("s.{sys} = ?1 AND s.{ts} = ?3") },
                    want = wants.join(", "),
                    have = haves.join(", "),
                    ok = if oks.is_empty() { "1".into() } else { oks.join(" AND ") },
                    mine = ctx.mine_sql(mp, "t"),
                    target = q(&m.target),
                ),
                &[
                    Value::Integer(sp.system_id),
                    Value::Integer(p.point_id),
                    Value::Integer(time),
                ],
            )?;
            let target_time = match &m.bucket {
                Some(b) => b.of(time) * mult,
                None => time * mult,
            };
            let at = Sampled {
                migration: m.name.clone(),
                system: sp.system_id,
                point: PointRef {
                    id: p.point_id,
                    name: p.point.clone(),
                },
                at: Time::new(target_time, mult),
            };
            let Some(r) = row.first() else {
                // a roll-up bucket in which this point has no sample
                lines.push(Example::Sample {
                    verdict: Verdict::Ok,
                    at,
                    source: None,
                    spec: None,
                    target: None,
                });
                compared += 1;
                continue;
            };
            let ns = if m.bucket.is_some() { 1 } else { sources.len() };
            let nf = pairs.len();
            let makes = as_i64(&r[ns + 2 * nf]) == Some(1);
            let present = as_i64(&r[ns + 2 * nf + 1]) == Some(1);
            let equal = as_i64(&r[ns + 2 * nf + 2]) == Some(1);
            let migrated = as_i64(&r[ns + 2 * nf + 3]) == Some(1);
            let source = if m.bucket.is_some() {
                SampleSource::Samples {
                    table: m.source.clone(),
                    columns: sources.iter().map(|c| c.to_string()).collect(),
                    samples: crate::db::as_text(&r[0]).unwrap_or_default(),
                }
            } else {
                SampleSource::Row {
                    table: m.source.clone(),
                    values: sources
                        .iter()
                        .zip(&r[..ns])
                        .map(|(c, v)| (c.to_string(), v.into()))
                        .collect(),
                }
            };
            let side = |off: usize| -> Vec<(String, crate::report::Value)> {
                pairs
                    .iter()
                    .enumerate()
                    .map(|(i, (c, _))| (c.to_string(), (&r[off + i]).into()))
                    .collect()
            };
            let spec = makes.then(|| side(ns));
            let (verdict, target) = if present && !migrated {
                // written by the live app: live_parity compares it
                (Verdict::Live, Some(side(ns + nf)))
            } else {
                compared += 1;
                let ok = if makes { present && equal } else { !present };
                if !ok {
                    bad += 1;
                }
                (
                    if ok { Verdict::Ok } else { Verdict::Mismatch },
                    present.then(|| side(ns + nf)),
                )
            };
            lines.push(Example::Sample {
                verdict,
                at,
                source: Some(source),
                spec,
                target,
            });
        }
        if compared == 0 {
            return Ok(vec![
                super::skipped("spot_checks", scope, Fixed::EverySampleLive).with_examples(lines),
            ]);
        }
        Ok(vec![
            result("spot_checks", scope)
                .judged(
                    bad,
                    Fact::count(compared, Noun::MigratedRowsMatch),
                    Fact::counts(&[(compared - bad, Noun::Match), (bad, Noun::Differ)]),
                )
                .with_examples(lines),
        ])
    })]
}
