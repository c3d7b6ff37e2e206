//! Statement builders: the spec, resolved against the schema, becomes `INSERT … SELECT`
//! statements that run inside the database. Every identifier has been checked against the
//! real schema by the planner and is quoted here; constants are rendered as SQL literals.

use crate::spec::validate::{MigrationPlan, SystemPlan};
use crate::spec::{Column, Scalar, Transform};
use crate::sql::{ident as q, literal};

fn scalar(s: &Scalar) -> String {
    literal(&s.to_value())
}

fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 9e15 {
        format!("{}", f as i64)
    } else {
        literal(&rusqlite::types::Value::Real(f))
    }
}

/// The SQL expression for one transform of the source row `s`. A column the source does not
/// have reads as NULL (only reachable with `on_missing_column = "null"`).
pub fn transform_expr(t: &Transform, column_exists: bool) -> String {
    let mut e = if column_exists {
        format!("s.{}", q(&t.source))
    } else {
        "NULL".to_string()
    };
    if let Some(v) = &t.null_if {
        e = format!("NULLIF({e}, {})", scalar(v));
    }
    if let Some(v) = &t.null_as {
        e = format!("COALESCE({e}, {})", scalar(v));
    }
    if let Some(f) = t.multiply {
        e = format!("{e} * {}", number(f));
    }
    if let Some(n) = t.round {
        e = format!("ROUND({e}, {n})");
    }
    if t.as_text {
        e = format!("CAST({e} AS TEXT)");
    }
    e
}

fn column_expr(c: &Column) -> String {
    match c {
        Column::Source { source, multiply } => match multiply {
            Some(m) => format!("s.{} * {m}", q(source)),
            None => format!("s.{}", q(source)),
        },
        Column::Value { value } => scalar(value),
    }
}

/// Target columns in the order the SELECT produces them.
pub fn target_columns(mp: &MigrationPlan) -> Vec<String> {
    let m = &mp.migration;
    let mut cols = vec![
        m.system.clone(),
        m.point_column.clone(),
        m.time.target.clone(),
    ];
    cols.extend(m.fields.iter().cloned());
    cols.extend(m.columns.keys().cloned());
    cols
}

/// The rows the spec makes of one system's source rows with time in (?2, ?3] (?1 = system).
/// None when the system has no resolved point.
pub fn select_sql(mp: &MigrationPlan, sp: &SystemPlan) -> Option<String> {
    if sp.points.is_empty() {
        return None;
    }
    let m = &mp.migration;
    let mut exprs = vec![
        format!("s.{} AS {}", q(&m.system), q(&m.system)),
        format!("p.column1 AS {}", q(&m.point_column)),
        format!(
            "s.{} * {} AS {}",
            q(&m.time.source),
            m.time.multiply,
            q(&m.time.target)
        ),
    ];
    for f in &m.fields {
        let arms: Vec<String> = sp
            .points
            .iter()
            .filter_map(|p| {
                p.fields.get(f).map(|t| {
                    format!(
                        "WHEN {} THEN {}",
                        p.point_id,
                        transform_expr(t, mp.has_column(&t.source))
                    )
                })
            })
            .collect();
        if arms.is_empty() {
            exprs.push(format!("NULL AS {}", q(f)));
        } else {
            exprs.push(format!("CASE p.column1 {} END AS {}", arms.join(" "), q(f)));
        }
    }
    for (c, col) in &m.columns {
        exprs.push(format!("{} AS {}", column_expr(col), q(c)));
    }
    let points: Vec<String> = sp
        .points
        .iter()
        .map(|p| format!("({})", p.point_id))
        .collect();
    // CROSS JOIN keeps the source outermost: rows come out in time order, every point of an
    // instant together, which keeps the target's indexes appending.
    let inner = format!(
        "SELECT {} FROM {} AS s CROSS JOIN (VALUES {}) AS p WHERE s.{} = ?1 AND s.{} > ?2 AND s.{} <= ?3",
        exprs.join(", "),
        q(&m.source),
        points.join(", "),
        q(&m.system),
        q(&m.time.source),
        q(&m.time.source),
    );
    if m.write_nulls {
        Some(inner)
    } else {
        // LIMIT -1 keeps the subquery from being flattened, so each CASE is evaluated once
        // rather than again in the outer WHERE
        let any: Vec<String> = m
            .fields
            .iter()
            .map(|f| format!("{} IS NOT NULL", q(f)))
            .collect();
        Some(format!(
            "SELECT * FROM ({inner} LIMIT -1) WHERE {}",
            any.join(" OR ")
        ))
    }
}

/// How many source rows one system has in (?2, ?3], and how many rows the spec makes of them:
/// one pass over the source, a plain count per point (a row is made when any of its fields is
/// not NULL).
pub fn carried_count_sql(mp: &MigrationPlan, sp: &SystemPlan) -> Option<String> {
    if sp.points.is_empty() {
        return None;
    }
    let m = &mp.migration;
    let terms: Vec<String> = if m.write_nulls {
        vec![format!("count(*) * {}", sp.points.len())]
    } else {
        sp.points
            .iter()
            .map(|p| {
                let exprs: Vec<String> = p
                    .fields
                    .values()
                    .map(|t| transform_expr(t, mp.has_column(&t.source)))
                    .collect();
                if exprs.len() == 1 {
                    format!("count({})", exprs[0])
                } else {
                    format!("count(COALESCE({}))", exprs.join(", "))
                }
            })
            .collect()
    };
    Some(format!(
        "SELECT count(*), {} FROM {} AS s WHERE s.{} = ?1 AND s.{t} > ?2 AND s.{t} <= ?3",
        terms.join(" + "),
        q(&m.source),
        q(&m.system),
        t = q(&m.time.source),
    ))
}

pub fn insert_sql(mp: &MigrationPlan, select: &str) -> String {
    let cols: Vec<String> = target_columns(mp).iter().map(|c| q(c)).collect();
    let select = if mp.migration.write_nulls {
        // an upsert after INSERT … SELECT needs a WHERE clause to parse
        format!("SELECT * FROM ({select}) WHERE true")
    } else {
        select.to_string()
    };
    format!(
        "INSERT INTO {} ({}) {select} ON CONFLICT DO NOTHING",
        q(&mp.migration.target),
        cols.join(", ")
    )
}

pub fn count_sql(select: &str) -> String {
    format!("SELECT count(*) FROM ({select})")
}

/// How many of the rows the spec makes are not in the target yet.
pub fn would_insert_sql(mp: &MigrationPlan, select: &str) -> String {
    let m = &mp.migration;
    format!(
        "SELECT count(*) FROM ({select}) AS x WHERE NOT EXISTS (SELECT 1 FROM {t} AS t WHERE t.{s} = x.{s} AND t.{p} = x.{p} AND t.{tt} = x.{tt})",
        t = q(&m.target),
        s = q(&m.system),
        p = q(&m.point_column),
        tt = q(&m.time.target),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(source: &str) -> Transform {
        Transform {
            source: source.into(),
            null_if: None,
            null_as: None,
            multiply: None,
            round: None,
            as_text: false,
        }
    }

    #[test]
    fn transforms_apply_in_order() {
        let mut x = t("solar_kwh_total");
        x.multiply = Some(1000.0);
        x.round = Some(0);
        assert_eq!(
            transform_expr(&x, true),
            "ROUND(s.\"solar_kwh_total\" * 1000, 0)"
        );
        let mut x = t("fault_code");
        x.null_if = Some(Scalar::Text("0".into()));
        x.as_text = true;
        assert_eq!(
            transform_expr(&x, true),
            "CAST(NULLIF(s.\"fault_code\", '0') AS TEXT)"
        );
        let mut x = t("generator_status");
        x.null_as = Some(Scalar::Int(0));
        assert_eq!(
            transform_expr(&x, true),
            "COALESCE(s.\"generator_status\", 0)"
        );
        assert_eq!(transform_expr(&t("shunt_w"), false), "NULL");
        let mut x = t("x");
        x.multiply = Some(0.001);
        assert_eq!(transform_expr(&x, true), "s.\"x\" * 0.001");
    }
}
