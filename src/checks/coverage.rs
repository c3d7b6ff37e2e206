//! Date coverage per system: the first and last time the spec carries are in the target, every
//! carried instant (a roll-up: every bucket with a sample) has a target row, and the source's
//! gaps (over the spec's threshold) are listed.

use super::expect::{bucket_of, makes_row};
use super::rows::{makes_some_carried_row, systems};
use super::{Ctx, Task, examples, result, scope, skipped};
use crate::db::{Db, Value, as_i64};
use crate::report::{Edge, Example, Fact, Fixed, Gaps, Length, Time};
use crate::sql::ident as q;

pub fn coverage<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let (sys, ts, tt, mult) = (q(&m.system), q(&m.time.source), q(&m.time.target), m.time.multiply);
                let carried = match &m.bucket {
                    Some(_) => {
                        let any: Vec<String> = sp.points.iter().map(|p| makes_row(mp, p, "s")).collect();
                        format!("({})", any.join(" OR "))
                    }
                    None => makes_some_carried_row(mp, sp, "s"),
                };
                // the target time a carried source row is expected at
                let at = match &m.bucket {
                    Some(b) => format!("{} * {mult}", bucket_of(b, &format!("s.{ts}"))),
                    None => format!("s.{ts} * {mult}"),
                };
                let p = [Value::Integer(sp.system_id)];
                // the carried times with no target row at all
                let absent = format!("NOT EXISTS (SELECT 1 FROM {} AS t WHERE t.{sys} = ?1 AND t.{tt} = {at})", q(&m.target));
                // the span and the carried times missing, in one pass over the source rows
                let src = db.query(
                    &format!("SELECT min({at}), max({at}), count(DISTINCT CASE WHEN {absent} THEN {at} END) FROM {} AS s WHERE s.{sys} = ?1 AND {carried}", q(&m.source)),
                    &p,
                )?;
                let (s_first, s_last) = (as_i64(&src[0][0]), as_i64(&src[0][1]));
                let (Some(first), Some(last)) = (s_first, s_last) else {
                    return Ok(vec![skipped(
                        "coverage",
                        scope(mp, sp, None),
                        Fixed::NoSourceRowOfThisSystem,
                    )]);
                };
                let ids: Vec<String> = sp.points.iter().map(|p| p.point_id.to_string()).collect();
                // target rows of the mapped points at times this migration answers for: the first
                // and the last apart, so that each stops at its end of a (system, time) index
                let rows = format!(
                    "FROM {} AS t WHERE t.{sys} = ?1 AND t.{} IN ({}) AND t.{tt} BETWEEN ?2 AND ?3 AND {}",
                    q(&m.target),
                    q(&m.point_column),
                    ids.join(", "),
                    ctx.owned_sql(mp, "t")
                );
                let tgt = db.query(
                    &format!("SELECT (SELECT min(t.{tt}) {rows}), (SELECT max(t.{tt}) {rows})"),
                    &[p[0].clone(), Value::Integer(first), Value::Integer(last)],
                )?;
                let (t_first, t_last) = (as_i64(&tgt[0][0]), as_i64(&tgt[0][1]));
                let mut violations = 0;
                let mut ex = Vec::new();
                if s_first != t_first {
                    violations += 1;
                    ex.push(Example::Edge { edge: Edge::First, source: opt_time(s_first, mult), target: opt_time(t_first, mult) });
                }
                if s_last != t_last {
                    violations += 1;
                    ex.push(Example::Edge { edge: Edge::Last, source: opt_time(s_last, mult), target: opt_time(t_last, mult) });
                }
                let missing = as_i64(&src[0][2]).unwrap_or(0).max(0) as u64;
                violations += missing;
                if missing > 0 {
                    let missing_from = format!("FROM {} AS s WHERE s.{sys} = ?1 AND {carried} AND {absent}", q(&m.source));
                    ex.extend(examples(db, &format!("SELECT DISTINCT {at} AS x {missing_from} ORDER BY x"), &p, |r| {
                        Example::TargetHasNothing { at: Time::new(as_i64(&r[0]).unwrap_or(0), mult) }
                    })?);
                    ex.truncate(5);
                }
                // gaps in the source itself, listed for the record
                let seconds = ctx.column_info(mp, &m.time.source).and_then(|c| c.unit.as_deref()) == Some("s");
                let gap_note = match &m.coverage {
                    Some(c) => {
                        let gaps_sql = format!(
                            "FROM (SELECT s.{ts} AS at, lead(s.{ts}) OVER (ORDER BY s.{ts}) - s.{ts} AS gap FROM {} AS s WHERE s.{sys} = ?1) WHERE gap > {}",
                            q(&m.source),
                            c.gap
                        );
                        // every gap in one pass (they are few: a source with many is a finding
                        // in itself), the longest listed
                        let gaps = db.query(&format!("SELECT at, gap {gaps_sql} ORDER BY gap DESC, at"), &p)?;
                        for r in gaps.iter().take(5usize.saturating_sub(ex.len())) {
                            ex.push(Example::SourceGap {
                                after: Time::new(as_i64(&r[0]).unwrap_or(0) * mult, mult),
                                gap: Length { units: as_i64(&r[1]).unwrap_or(0), seconds },
                                cadence: Length { units: c.cadence, seconds },
                            });
                        }
                        Some(Gaps { n: gaps.len() as u64, longer_than: Length { units: c.gap, seconds } })
                    }
                    None => None,
                };
                Ok(vec![result("coverage", scope(mp, sp, None))
                    .judged(
                        violations,
                        Fact::Span { first: Some(Time::new(first, mult)), last: Some(Time::new(last, mult)) },
                        Fact::Coverage { first: opt_time(t_first, mult), last: opt_time(t_last, mult), missing, gaps: gap_note },
                    )
                    .with_examples(ex)])
            })
        })
        .collect()
}

fn opt_time(t: Option<i64>, mult: i64) -> Option<Time> {
    t.map(|t| Time::new(t, mult))
}
