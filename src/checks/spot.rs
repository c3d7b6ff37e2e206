//! Random spot checks: N source rows and points chosen by a seeded generator, each shown with its
//! source value, what the spec makes of it, and what the target holds (the seed's manual check,
//! reproducible with --seed).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::expect::{field, makes_row, same_value};
use super::rows::systems;
use super::{Ctx, Task, result, show_time};
use crate::db::{Db, Value, as_i64, show};
use crate::sql::ident as q;

pub fn spot<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    vec![Box::new(move |db: &dyn Db| {
        let candidates: Vec<_> = systems(ctx).collect();
        let total: i64 = candidates.iter().map(|c| c.2.rows).sum();
        let scope = format!("{} rows, seed {}", ctx.sample, ctx.seed);
        if total == 0 || ctx.sample == 0 {
            return Ok(vec![super::skipped(
                "spot_checks",
                scope,
                "no source rows to sample",
            )]);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
        let mut lines = Vec::new();
        let mut bad = 0u64;
        for _ in 0..ctx.sample {
            let mut k = rng.random_range(0..total);
            let (mp, sp, _) = candidates
                .iter()
                .find(|c| {
                    if k < c.2.rows {
                        true
                    } else {
                        k -= c.2.rows;
                        false
                    }
                })
                .copied()
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
                        "SELECT {ts} FROM {} WHERE {sys} = ?1 ORDER BY {ts} LIMIT 1 OFFSET ?2",
                        q(&m.source)
                    ),
                    &[Value::Integer(sp.system_id), Value::Integer(k)],
                )?
                .first()
                .and_then(|r| as_i64(&r[0]))
                .unwrap_or(0);
            let sources: Vec<String> = p.fields.values().map(|t| t.source.clone()).collect();
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
            let wants: Vec<String> = m.fields.iter().map(|f| field(mp, p, f, "s")).collect();
            let haves: Vec<String> = m.fields.iter().map(|f| format!("t.{}", q(f))).collect();
            let oks: Vec<String> = m
                .fields
                .iter()
                .map(|f| same_value(&format!("t.{}", q(f)), &field(mp, p, f, "s")))
                .collect();
            let row = db.query(
                &format!(
                    "SELECT {src}, {want}, {have}, {makes}, t.{tt} IS NOT NULL, {ok}
                     FROM {source} AS s LEFT JOIN {target} AS t ON t.{sys} = s.{sys} AND t.{pc} = ?2 AND t.{tt} = s.{ts} * {mult}
                     WHERE s.{sys} = ?1 AND s.{ts} = ?3",
                    src = src_cols.join(", "),
                    want = wants.join(", "),
                    have = haves.join(", "),
                    makes = makes_row(mp, p, "s"),
                    ok = oks.join(" AND "),
                    source = q(&m.source),
                    target = q(&m.target),
                ),
                &[Value::Integer(sp.system_id), Value::Integer(p.point_id), Value::Integer(time)],
            )?;
            let Some(r) = row.first() else { continue };
            let ns = sources.len();
            let nf = m.fields.len();
            let makes = as_i64(&r[ns + 2 * nf]) == Some(1);
            let present = as_i64(&r[ns + 2 * nf + 1]) == Some(1);
            let equal = as_i64(&r[ns + 2 * nf + 2]) == Some(1);
            let ok = if makes { present && equal } else { !present };
            if !ok {
                bad += 1;
            }
            let src_text: Vec<String> = sources
                .iter()
                .zip(&r[..ns])
                .map(|(c, v)| format!("{}.{c} = {}", m.source, show(v)))
                .collect();
            let mapped: Vec<usize> = (0..nf)
                .filter(|i| p.fields.contains_key(&m.fields[*i]))
                .collect();
            let want_text: Vec<String> = mapped
                .iter()
                .map(|&i| format!("{} {}", m.fields[i], show(&r[ns + i])))
                .collect();
            let have_text = if present {
                mapped
                    .iter()
                    .map(|&i| format!("{} {}", m.fields[i], show(&r[ns + nf + i])))
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                "no row".into()
            };
            lines.push(format!(
                "{} {} · system {} · {} ({}) @ {}: {} → spec {}; target {}",
                if ok { "ok" } else { "MISMATCH" },
                m.name,
                sp.system_id,
                p.point,
                p.point_id,
                show_time(time * mult, mult),
                src_text.join(", "),
                if makes {
                    want_text.join(", ")
                } else {
                    "no row".into()
                },
                have_text
            ));
        }
        let n = lines.len() as u64;
        Ok(vec![
            result("spot_checks", scope)
                .judged(
                    bad,
                    format!("{n} rows match"),
                    format!("{} match, {bad} differ", n - bad),
                )
                .with_examples(lines),
        ])
    })]
}
