//! Date coverage per system: the first and last time the spec carries are in the target, source
//! gaps are listed, and the target has no gap the source does not have.

use super::expect::makes_row;
use super::rows::systems;
use super::{Ctx, Task, count, examples, result, scope, show_time};
use crate::db::{Db, Value, as_i64};
use crate::spec::Kind;
use crate::sql::ident as q;

pub fn coverage<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let (sys, ts, tt, mult) = (q(&m.system), q(&m.time.source), q(&m.time.target), m.time.multiply);
                let any: Vec<String> = sp.points.iter().map(|p| makes_row(mp, p, "s")).collect();
                let carried = format!("({})", any.join(" OR "));
                let p = [Value::Integer(sp.system_id)];
                let src = db.query(
                    &format!("SELECT min(s.{ts}), max(s.{ts}) FROM {} AS s WHERE s.{sys} = ?1 AND {carried}", q(&m.source)),
                    &p,
                )?;
                let ids: Vec<String> = sp.points.iter().map(|p| p.point_id.to_string()).collect();
                let tgt = db.query(
                    &format!(
                        "SELECT min(t.{tt}), max(t.{tt}) FROM {} AS t WHERE t.{sys} = ?1 AND t.{} IN ({})",
                        q(&m.target),
                        q(&m.point_column),
                        ids.join(", ")
                    ),
                    &p,
                )?;
                let (s_first, s_last) = (as_i64(&src[0][0]).map(|t| t * mult), as_i64(&src[0][1]).map(|t| t * mult));
                let (t_first, t_last) = (as_i64(&tgt[0][0]), as_i64(&tgt[0][1]));
                let mut violations = 0;
                let mut ex = Vec::new();
                if s_first != t_first {
                    violations += 1;
                    ex.push(format!("first: source {}, target {}", opt_time(s_first, mult), opt_time(t_first, mult)));
                }
                if s_last != t_last {
                    violations += 1;
                    ex.push(format!("last: source {}, target {}", opt_time(s_last, mult), opt_time(t_last, mult)));
                }
                let missing_from = format!(
                    "FROM {src} AS s WHERE s.{sys} = ?1 AND {carried} AND NOT EXISTS (SELECT 1 FROM {tgt} AS t WHERE t.{sys} = ?1 AND t.{tt} = s.{ts} * {mult})",
                    src = q(&m.source),
                    tgt = q(&m.target)
                );
                let missing = count(db, &format!("SELECT count(*) {missing_from}"), &p)?;
                violations += missing;
                if missing > 0 {
                    ex.extend(examples(db, &format!("SELECT s.{ts} {missing_from} ORDER BY s.{ts}"), &p, |r| {
                        format!("target has nothing at {} (the source has a row)", show_time(as_i64(&r[0]).unwrap_or(0) * mult, mult))
                    })?);
                }
                // gaps in the source itself, listed for the record
                let threshold = match m.kind {
                    Kind::Raw => 600,
                    Kind::Agg5m => 900,
                };
                let gaps_sql = format!(
                    "FROM (SELECT s.{ts} AS at, lead(s.{ts}) OVER (ORDER BY s.{ts}) - s.{ts} AS gap FROM {} AS s WHERE s.{sys} = ?1) WHERE gap > {threshold}",
                    q(&m.source)
                );
                let gaps = count(db, &format!("SELECT count(*) {gaps_sql}"), &p)?;
                if ex.len() < 5 && gaps > 0 {
                    ex.extend(examples(db, &format!("SELECT at, gap {gaps_sql} ORDER BY gap DESC, at"), &p, |r| {
                        let gap = as_i64(&r[1]).unwrap_or(0);
                        format!("source gap of {}h{:02}m after {} (also in the target)", gap / 3600, gap % 3600 / 60, show_time(as_i64(&r[0]).unwrap_or(0) * mult, mult))
                    })?);
                    ex.truncate(5);
                }
                Ok(vec![result("coverage", scope(mp, sp, None))
                    .judged(
                        violations,
                        format!("{} → {}", opt_time(s_first, mult), opt_time(s_last, mult)),
                        format!("{} → {}, {missing} instants missing, {gaps} source gaps > {} min", opt_time(t_first, mult), opt_time(t_last, mult), threshold / 60),
                    )
                    .with_examples(ex)])
            })
        })
        .collect()
}

fn opt_time(t: Option<i64>, mult: i64) -> String {
    t.map_or("none".into(), |t| show_time(t, mult))
}
