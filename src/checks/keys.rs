//! Keys: every point row's (system, point) is in the point catalogue; a row carrying a point id
//! of another system (the composite-key mistake) is named as such.

use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, Task, result};
use crate::db::{Db, as_i64};
use crate::report::{Example, Fact, Fixed, Noun, Scope};
use crate::sql::ident as q;

pub fn keys<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    let mut targets: Vec<(&str, &str, &str)> = ctx
        .plan
        .migrations
        .iter()
        .map(|mp| {
            (
                mp.migration.target.as_str(),
                mp.migration.system.as_str(),
                mp.migration.point_column.as_str(),
            )
        })
        .collect();
    targets.dedup();
    targets
        .into_iter()
        .map(|(target, sys, pc)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let pairs = db.query(
                    &format!(
                        "SELECT {s}, {p}, count(*) FROM {} GROUP BY {s}, {p}",
                        q(target),
                        s = q(sys),
                        p = q(pc)
                    ),
                    &[],
                )?;
                let mut systems_of: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
                for (s, p) in ctx.points.keys() {
                    systems_of.entry(*p).or_default().insert(*s);
                }
                let mut bad = 0u64;
                let mut ex = Vec::new();
                let mut total = 0i64;
                for r in pairs {
                    let (Some(s), Some(p), Some(n)) = (as_i64(&r[0]), as_i64(&r[1]), as_i64(&r[2]))
                    else {
                        continue;
                    };
                    total += n;
                    if ctx.points.contains_key(&(s, p)) {
                        continue;
                    }
                    bad += n as u64;
                    if ex.len() < 5 {
                        let point_of = systems_of
                            .get(&p)
                            .map(|set| set.iter().copied().collect())
                            .unwrap_or_default();
                        ex.push(Example::UncataloguedPoint {
                            system: s,
                            point: p,
                            rows: n as u64,
                            point_of,
                        });
                    }
                }
                Ok(vec![
                    result("keys", Scope::table(target.to_string()))
                        .judged(
                            bad,
                            Fixed::EverySystemPointCatalogued,
                            Fact::counts(&[
                                (total as u64, Noun::Rows),
                                (bad, Noun::WithoutTheirPoint),
                            ]),
                        )
                        .with_examples(ex),
                ])
            })
        })
        .collect()
}
