//! Coverage over time, for views that draw it (the HTML report): per migration and system, the
//! rows of the source, the rows the migration wrote and the rows the live app wrote, counted in
//! equal slices of one time axis, with the source's gaps and the first live row (the seam).
//! It judges nothing: the `coverage` check does; this only measures.

use super::rows::systems;
use super::{Ctx, LiveRows};
use crate::db::{Db, DbError, Value, as_i64};
use crate::report::{SystemTimeline, Timeline};
use crate::sql::ident as q;

/// Slices of the time axis: enough to show a two-day seam in a year of data, few enough to draw.
pub const BUCKETS: usize = 240;

/// Rows per bucket from a query returning (bucket, count…) rows.
fn per_bucket(rows: &[Vec<Value>], column: usize) -> Vec<u64> {
    let mut out = vec![0u64; BUCKETS];
    for r in rows {
        if let (Some(b), Some(n)) = (as_i64(&r[0]), r.get(column).and_then(as_i64))
            && (0..BUCKETS as i64).contains(&b)
        {
            out[b as usize] += n.max(0) as u64;
        }
    }
    out
}

/// One timeline per migration, over the systems the plan migrates.
pub fn timelines(ctx: &Ctx, db: &dyn Db) -> Result<Vec<Timeline>, DbError> {
    let mut out = Vec::new();
    for mp in &ctx.plan.migrations {
        let m = &mp.migration;
        let mult = m.time.multiply;
        let systems: Vec<_> = systems(ctx)
            .filter(|(x, _, _)| x.migration.name == m.name)
            .collect();
        if systems.is_empty() {
            continue;
        }
        let (sys, tt, ts) = (q(&m.system), q(&m.time.target), q(&m.time.source));
        // one axis for every system: the source's span and the target's
        let mut start = i64::MAX;
        let mut end = i64::MIN;
        for (_, sp, range) in &systems {
            start = start.min(range.min.saturating_mul(mult));
            end = end.max(range.max.saturating_mul(mult));
            let t = db.query(
                &format!(
                    "SELECT min({tt}), max({tt}) FROM {} WHERE {sys} = ?1",
                    q(&m.target)
                ),
                &[Value::Integer(sp.system_id)],
            )?;
            if let (Some(lo), Some(hi)) = (as_i64(&t[0][0]), as_i64(&t[0][1])) {
                start = start.min(lo);
                end = end.max(hi);
            }
        }
        let span = (end - start).max(1);
        let bucket = |col: &str| {
            format!(
                "(({col}) - {start}) * {BUCKETS} / {}",
                span.saturating_add(1)
            )
        };
        let live = ctx.live_rows(mp);
        let is_live = live.live_sql("t").unwrap_or_else(|| "0".into());
        let is_migrated = match live {
            LiveRows::Unknown => "1".to_string(),
            l => l.migrated_sql("t"),
        };
        let mut tracks = Vec::new();
        for (_, sp, _) in &systems {
            let p = [Value::Integer(sp.system_id)];
            let src = db.query(
                &format!(
                    "SELECT {}, count(*) FROM {} AS s WHERE s.{sys} = ?1 GROUP BY 1",
                    bucket(&format!("s.{ts} * {mult}")),
                    q(&m.source)
                ),
                &p,
            )?;
            let tgt = db.query(
                &format!(
                    "SELECT {}, sum({is_migrated}), sum({is_live}) FROM {} AS t WHERE t.{sys} = ?1 GROUP BY 1",
                    bucket(&format!("t.{tt}")),
                    q(&m.target)
                ),
                &p,
            )?;
            // the spec's gap threshold says what a gap is; without one, none is drawn
            let gaps = match &m.coverage {
                Some(c) => db
                    .query(
                        &format!(
                            "SELECT at, nxt FROM (SELECT s.{ts} AS at, lead(s.{ts}) OVER (ORDER BY s.{ts}) AS nxt FROM {} AS s WHERE s.{sys} = ?1)
                             WHERE nxt - at > {} ORDER BY nxt - at DESC, at LIMIT 50",
                            q(&m.source),
                            c.gap
                        ),
                        &p,
                    )?
                    .iter()
                    .filter_map(|r| Some((as_i64(&r[0])? * mult, as_i64(&r[1])? * mult)))
                    .collect(),
                None => Vec::new(),
            };
            let seam = match live.live_sql("t") {
                Some(l) => db
                    .query(
                        &format!(
                            "SELECT min(t.{tt}) FROM {} AS t WHERE t.{sys} = ?1 AND {l}",
                            q(&m.target)
                        ),
                        &p,
                    )?
                    .first()
                    .and_then(|r| as_i64(&r[0])),
                None => None,
            };
            tracks.push(SystemTimeline {
                system_id: sp.system_id,
                vendor_type: sp.vendor_type.clone(),
                source: per_bucket(&src, 1),
                migrated: per_bucket(&tgt, 1),
                live: per_bucket(&tgt, 2),
                gaps,
                seam,
            });
        }
        out.push(Timeline {
            migration: m.name.clone(),
            per_second: mult,
            start,
            end,
            buckets: BUCKETS,
            systems: tracks,
        });
    }
    Ok(out)
}
