//! Nothing left behind: every source column that holds data, for each vendor's systems, is carried
//! by the spec or explicitly ignored; and no vendor with source rows is left without a mapping.

use std::collections::{BTreeMap, BTreeSet};

use super::{Ctx, Task, per_migration, result};
use crate::db::{Db, DbExt, as_i64};
use crate::spec::Column;
use crate::sql::ident as q;
use crate::table::count as thousands;

pub fn left_behind<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    per_migration(ctx, move |db: &dyn Db, mp| {
        let m = &mp.migration;
        let c = &ctx.plan.spec.spec.catalog;
        // systems with source rows, and their vendors
        let vendor_of = crate::spec::validate::system_vendors(db, c)?;
        let with_rows: Vec<(i64, i64)> = db
            .query(
                &format!(
                    "SELECT {s}, count(*) FROM {} GROUP BY {s}",
                    q(&m.source),
                    s = q(&m.system)
                ),
                &[],
            )?
            .into_iter()
            .filter_map(|r| Some((as_i64(&r[0])?, as_i64(&r[1])?)))
            .collect();
        let mut by_vendor: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
        for (s, n) in with_rows {
            by_vendor
                .entry(
                    vendor_of
                        .get(&s)
                        .cloned()
                        .unwrap_or_else(|| "(unknown)".into()),
                )
                .or_default()
                .push((s, n));
        }
        let columns = db.columns(&m.source)?;
        let mut structural: BTreeSet<&str> = [m.system.as_str(), m.time.source.as_str()].into();
        for col in m.columns.values() {
            if let Column::Source { source, .. } = col {
                structural.insert(source);
            }
        }
        let mut out = Vec::new();
        for (vendor, systems) in by_vendor {
            let rows: i64 = systems.iter().map(|x| x.1).sum();
            let ids: Vec<String> = systems.iter().map(|x| x.0.to_string()).collect();
            let scope = format!("{} · vendor {vendor}", m.name);
            let Some(vm) = m.vendor(&vendor) else {
                out.push(result("left_behind", scope).judged(
                    1,
                    "a mapping for every vendor with rows",
                    format!(
                        "{} rows of systems {} and no mapping",
                        thousands(rows),
                        ids.join(", ")
                    ),
                ));
                continue;
            };
            let carried: BTreeSet<&str> = vm
                .points
                .iter()
                .flat_map(|p| p.fields.values().map(|t| t.source.as_str()))
                .collect();
            let counts = db.query(
                &format!(
                    "SELECT {} FROM {} WHERE {} IN ({})",
                    columns
                        .iter()
                        .map(|c| format!("count({})", q(c)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    q(&m.source),
                    q(&m.system),
                    ids.join(", ")
                ),
                &[],
            )?;
            let left: Vec<String> = columns
                .iter()
                .zip(&counts[0])
                .filter(|(c, n)| {
                    as_i64(n).unwrap_or(0) > 0
                        && !carried.contains(c.as_str())
                        && !structural.contains(c.as_str())
                        && !m.ignore.contains_key(*c)
                })
                .map(|(c, n)| {
                    format!(
                        "{}.{c}: {} rows with data, neither carried nor ignored",
                        m.source,
                        thousands(as_i64(n).unwrap_or(0))
                    )
                })
                .collect();
            let with_data = counts[0]
                .iter()
                .filter(|n| as_i64(n).unwrap_or(0) > 0)
                .count();
            out.push(
                result("left_behind", scope)
                    .judged(
                        left.len() as u64,
                        format!("{with_data} columns with data, all accounted for"),
                        format!("{} left behind", left.len()),
                    )
                    .with_examples(left.into_iter().take(5).collect()),
            );
        }
        Ok(out)
    })
}
