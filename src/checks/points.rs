//! No empty points: a migrated point that is all NULL while its source column or its live rows
//! hold data (the renamed-column trap: half a million rows of NULL labelled 'good').

use super::rows::systems;
use super::{Ctx, Task, result, scope};
use crate::db::{Db, Value, as_i64};
use crate::sql::ident as q;
use crate::table::count as thousands;

pub fn empty_points<'a>(ctx: &'a Ctx<'a>) -> Vec<Task<'a>> {
    systems(ctx)
        .map(|(mp, sp, _)| -> Task<'a> {
            Box::new(move |db: &dyn Db| {
                let m = &mp.migration;
                let any_field = format!(
                    "coalesce({})",
                    m.fields.iter().map(|f| format!("t.{}", q(f))).chain(["NULL".to_string()]).collect::<Vec<_>>().join(", ")
                );
                // whether any row holds a value: the first one found ends the search
                let has_value = |cond: &str, point: i64| -> Result<bool, crate::db::DbError> {
                    Ok(crate::db::DbExt::scalar_i64(
                        db,
                        &format!(
                            "SELECT EXISTS (SELECT 1 FROM {} AS t WHERE t.{} = ?1 AND t.{} = ?2 AND {cond} AND {any_field} IS NOT NULL)",
                            q(&m.target),
                            q(&m.system),
                            q(&m.point_column)
                        ),
                        &[Value::Integer(sp.system_id), Value::Integer(point)],
                    )? == Some(1))
                };
                let migrated_sql = ctx.live_rows(mp).migrated_sql("t");
                let live_sql = ctx.live_rows(mp).live_sql("t");
                // how much data each point's source columns hold
                let sources: Vec<String> = sp
                    .points
                    .iter()
                    .map(|p| {
                        let cols: Vec<String> = p
                            .fields
                            .values()
                            .filter(|t| mp.has_column(&t.source))
                            .map(|t| format!("s.{}", q(&t.source)))
                            .collect();
                        if cols.is_empty() {
                            "0".to_string()
                        } else {
                            format!("count(coalesce({}, NULL))", cols.join(", "))
                        }
                    })
                    .collect();
                let src = db.query(
                    &format!("SELECT {} FROM {} AS s WHERE s.{} = ?1", sources.join(", "), q(&m.source), q(&m.system)),
                    &[Value::Integer(sp.system_id)],
                )?;
                let mut out = Vec::new();
                for (k, p) in sp.points.iter().enumerate() {
                    let values = has_value(&migrated_sql, p.point_id)?;
                    let source_values = as_i64(&src[0][k]).unwrap_or(0);
                    let live_values = match &live_sql {
                        Some(cond) if !values => has_value(cond, p.point_id)?,
                        _ => false,
                    };
                    let empty = !values && (source_values > 0 || live_values);
                    let mut ex = Vec::new();
                    let actual = if values {
                        "values present".to_string()
                    } else {
                        let rows = crate::checks::count(
                            db,
                            &format!(
                                "SELECT count(*) FROM {} AS t WHERE t.{} = ?1 AND t.{} = ?2 AND {migrated_sql}",
                                q(&m.target),
                                q(&m.system),
                                q(&m.point_column)
                            ),
                            &[Value::Integer(sp.system_id), Value::Integer(p.point_id)],
                        )?;
                        format!("{} migrated rows, all NULL", thousands(rows as i64))
                    };
                    if empty {
                        ex.push(format!(
                            "{actual}; the source holds {} values{} for {}",
                            thousands(source_values),
                            if live_values { ", and the live app wrote values" } else { "" },
                            p.point
                        ));
                        let missing: Vec<&str> = p.fields.values().filter(|t| !mp.has_column(&t.source)).map(|t| t.source.as_str()).collect();
                        if !missing.is_empty() {
                            ex.push(format!("the spec reads {}.{}, which does not exist", m.source, missing.join(", ")));
                        }
                    }
                    out.push(
                        result("empty_points", scope(mp, sp, Some(p)))
                            .judged(u64::from(empty), "values where the source or the live app has data", actual)
                            .with_examples(ex),
                    );
                }
                Ok(out)
            })
        })
        .collect()
}
