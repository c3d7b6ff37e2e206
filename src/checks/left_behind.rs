//! Nothing left behind: every source column that holds data, for each vendor's systems, is carried
//! by the spec or explicitly ignored (for the migration or the vendor); a column ignored because
//! it repeats a carried one really does, row by row; and no vendor with source rows is left
//! without a mapping.

use std::collections::{BTreeMap, BTreeSet};

use super::expect::{expected, same_value};
use super::{Ctx, Task, per_migration, result};
use crate::db::{Db, DbExt, as_i64};
use crate::report::{Duplicates, Example, Fact, Fixed, Scope};
use crate::spec::Column;
use crate::sql::ident as q;

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
            let scope = Scope {
                migration: Some(m.name.clone()),
                vendor: Some(vendor.to_string()),
                ..Scope::default()
            };
            let Some(vm) = m.vendor(&vendor) else {
                out.push(result("left_behind", scope).judged(
                    1,
                    Fixed::AMappingForEveryVendor,
                    Fact::Unmapped {
                        rows: rows as u64,
                        systems: systems.iter().map(|x| x.0).collect(),
                    },
                ));
                continue;
            };
            let carried: BTreeSet<&str> = vm
                .points
                .iter()
                .flat_map(|p| p.fields.values().map(|t| t.source.as_str()))
                .collect();
            // the same for every migration from this table: asked once
            let counts = ctx.query_once(
                db,
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
            )?;
            let left: Vec<Example> = columns
                .iter()
                .zip(&counts[0])
                .filter(|(c, n)| {
                    as_i64(n).unwrap_or(0) > 0
                        && !carried.contains(c.as_str())
                        && !structural.contains(c.as_str())
                        && !m.ignore.contains_key(*c)
                        && !vm.ignore.contains_key(*c)
                        && !vm.duplicates.contains_key(*c)
                })
                .map(|(c, n)| Example::LeftBehind {
                    table: m.source.clone(),
                    column: c.to_string(),
                    rows: as_i64(n).unwrap_or(0) as u64,
                })
                .collect();
            let with_data = counts[0]
                .iter()
                .filter(|n| as_i64(n).unwrap_or(0) > 0)
                .count();
            // a duplicate must equal the transform of the column it repeats wherever it holds data
            let mut unequal: Vec<Example> = Vec::new();
            let mut unequal_rows = 0u64;
            for (c, t) in &vm.duplicates {
                if !columns.contains(c) {
                    continue;
                }
                let want = expected(mp, t, "s");
                let from = format!(
                    "FROM {} AS s WHERE s.{} IN ({}) AND s.{col} IS NOT NULL AND NOT {}",
                    q(&m.source),
                    q(&m.system),
                    ids.join(", "),
                    same_value(&format!("s.{}", q(c)), &want),
                    col = q(c),
                );
                let n = crate::checks::count(db, &format!("SELECT count(*) {from}"), &[])?;
                if n > 0 {
                    unequal_rows += n;
                    unequal.extend(crate::checks::examples(
                        db,
                        &format!(
                            "SELECT s.{}, s.{}, {want} {from} ORDER BY s.{}",
                            q(&m.time.source),
                            q(c),
                            q(&m.time.source)
                        ),
                        &[],
                        |r| Example::Duplicate {
                            table: m.source.clone(),
                            column: c.to_string(),
                            at: (&r[0]).into(),
                            found: (&r[1]).into(),
                            repeats: t.source.clone(),
                            expected: (&r[2]).into(),
                        },
                    )?);
                }
            }
            let violations = left.len() as u64 + unequal_rows;
            let duplicates = (!vm.duplicates.is_empty()).then_some(Duplicates {
                checked: vm.duplicates.len() as u64,
                rows_differ: unequal_rows,
            });
            out.push(
                result("left_behind", scope)
                    .judged(
                        violations,
                        Fact::AccountedFor {
                            columns_with_data: with_data as u64,
                        },
                        Fact::LeftBehind {
                            columns: left.len() as u64,
                            duplicates,
                        },
                    )
                    .with_examples(left.into_iter().chain(unequal).take(5).collect()),
            );
        }
        Ok(out)
    })
}
