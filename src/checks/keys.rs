//! Keys: every point row's (system, point) is in the point catalogue; a row carrying a point id
//! of another system (the composite-key mistake) is named as such.

use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, Task, result};
use crate::db::{Db, as_i64};
use crate::sql::ident as q;
use crate::table::count as thousands;

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
                let pairs = db.query(&format!("SELECT {s}, {p}, count(*) FROM {} GROUP BY {s}, {p}", q(target), s = q(sys), p = q(pc)), &[])?;
                let mut systems_of: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
                for (s, p) in ctx.points.keys() {
                    systems_of.entry(*p).or_default().insert(*s);
                }
                let mut bad = 0u64;
                let mut ex = Vec::new();
                let mut total = 0i64;
                for r in pairs {
                    let (Some(s), Some(p), Some(n)) = (as_i64(&r[0]), as_i64(&r[1]), as_i64(&r[2])) else { continue };
                    total += n;
                    if ctx.points.contains_key(&(s, p)) {
                        continue;
                    }
                    bad += n as u64;
                    if ex.len() < 5 {
                        let elsewhere = systems_of.get(&p).map(|set| set.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "));
                        ex.push(match elsewhere {
                            Some(list) => format!("system {s}, point {p}: {} rows; system {s} has no point {p}, it is a point of system {list}", thousands(n)),
                            None => format!("system {s}, point {p}: {} rows; no system has point {p}", thousands(n)),
                        });
                    }
                }
                Ok(vec![result("keys", format!("table {target}"))
                    .judged(bad, "every (system, point) catalogued", format!("{} rows, {} without their point", thousands(total), thousands(bad as i64)))
                    .with_examples(ex)])
            })
        })
        .collect()
}
