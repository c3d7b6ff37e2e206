//! Statement builders: the spec, resolved against the schema, becomes `INSERT … SELECT`
//! statements that run inside the database. Every identifier has been checked against the
//! real schema by the planner and is quoted here; constants are rendered as SQL literals.

use crate::spec::validate::{Finer, MigrationPlan, SystemPlan};
use crate::spec::{Aggregate, Closed, Column, Kind, Scalar, Transform};
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
    transform_of(t, column_exists, "s")
}

/// The same, of the source row named `alias`.
fn transform_of(t: &Transform, column_exists: bool, alias: &str) -> String {
    let mut e = if column_exists {
        format!("{alias}.{}", q(&t.source))
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
        Column::Source {
            source, multiply, ..
        } => match multiply {
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
    cols.extend(m.target_fields());
    cols.extend(m.columns.keys().cloned());
    cols
}

/// SQL condition on the source row `s`: the superseding roll-up's source holds no row of the
/// same system within the interval `s` summarises (both bounds included).
fn nothing_finer(f: &Finer, m: &crate::spec::Migration) -> String {
    let t = q(&m.time.source);
    let (lo, hi) = match f.closed {
        Closed::End => (format!("s.{t} - {}", f.width), format!("s.{t}")),
        Closed::Start => (format!("s.{t}"), format!("s.{t} + {}", f.width)),
    };
    format!(
        "NOT EXISTS (SELECT 1 FROM {src} AS f WHERE f.{fs} = s.{sys} AND f.{ft} >= {lo} AND f.{ft} <= {hi})",
        src = q(&f.source),
        fs = q(&f.system),
        ft = q(&f.time),
        sys = q(&m.system),
    )
}

/// Extra condition on the source row `s` of a migration (empty when every row counts).
fn carried_filter(mp: &MigrationPlan) -> String {
    mp.finer
        .as_ref()
        .map(|f| format!(" AND {}", nothing_finer(f, &mp.migration)))
        .unwrap_or_default()
}

/// SQL: whether point `p` has a sample in source row `s` (any of its fields not NULL).
fn present_expr(
    mp: &MigrationPlan,
    fields: &std::collections::BTreeMap<String, Transform>,
) -> String {
    if mp.migration.write_nulls {
        return "1".into();
    }
    let any: Vec<String> = fields
        .values()
        .map(|t| {
            format!(
                "({}) IS NOT NULL",
                transform_expr(t, mp.has_column(&t.source))
            )
        })
        .collect();
    any.join(" OR ")
}

/// The bucket a source time falls in, as SQL over integer times.
fn bucket_expr(b: &crate::spec::Bucket, t: &str) -> String {
    match b.closed {
        // ceil(t / w) * w for any sign: -floor(-t / w) * w
        Closed::End => format!(
            "(-((-({t}) - ((-({t})) % {w} + {w}) % {w}) / {w}) * {w})",
            w = b.width
        ),
        Closed::Start => format!("(({t}) - (({t}) % {w} + {w}) % {w})", w = b.width),
    }
}

/// A roll-up: the rows one system's source rows with time in (?2, ?3] make, one per point and
/// bucket with at least one sample. The batch window is aligned to bucket bounds by the engine.
///
/// The source rows are read once, in time order from the (system, time) index, each with every
/// point's value and whether it is a sample; they are grouped by bucket with every point's
/// aggregates side by side (the grouping sorts one row per source row, not one per source row
/// and point); the points are then spread into rows. The first and last value come from the
/// bucket's first and last source row when that row has one, else from the row at the time of
/// the first or last value.
fn rollup_select_sql(mp: &MigrationPlan, sp: &SystemPlan) -> String {
    let m = &mp.migration;
    let b = m.bucket.as_ref().expect("a roll-up has buckets");
    let (src, sys, ts) = (q(&m.source), q(&m.system), q(&m.time.source));
    let value_of = |p: &crate::spec::validate::ResolvedPoint, alias: &str| -> String {
        p.fields.get(&b.value).map_or_else(
            || "NULL".to_string(),
            |t| transform_of(t, mp.has_column(&t.source), alias),
        )
    };
    // each source row once: its bucket, time, and per point k its value v{k} and sample flag f{k}
    let mut rows = vec![
        format!("{} AS b", bucket_expr(b, &format!("s.{ts}"))),
        format!("s.{ts} AS t"),
    ];
    let mut grouped = vec![
        "x.b AS b".to_string(),
        "max(x.t) AS t_hi".to_string(),
        "min(x.t) AS t_lo".to_string(),
    ];
    let sources: Vec<(usize, &String)> = m
        .columns
        .values()
        .enumerate()
        .filter_map(|(c, col)| match col {
            Column::Source { source, .. } => Some((c, source)),
            Column::Value { .. } => None,
        })
        .collect();
    for (c, source) in &sources {
        rows.push(format!("s.{} AS c{c}", q(source)));
    }
    // a column that summarises a source column as an earlier one does (created_at and
    // updated_at alike): the earlier one's aggregate
    let same_column = |c: usize| -> Option<usize> {
        let key = |col: &Column| match col {
            Column::Source {
                source, aggregate, ..
            } => Some((source.clone(), aggregate.unwrap_or(Aggregate::Last))),
            Column::Value { .. } => None,
        };
        let cols: Vec<&Column> = m.columns.values().collect();
        let mine = key(cols[c])?;
        (0..c).find(|&e| key(cols[e]).as_ref() == Some(&mine))
    };
    for (k, p) in sp.points.iter().enumerate() {
        rows.push(format!("{} AS v{k}", value_of(p, "s")));
        rows.push(format!("({}) AS f{k}", present_expr(mp, &p.fields)));
        grouped.push(format!("sum(x.f{k}) AS n{k}"));
        for a in m.aggregate.values() {
            let e = match a {
                Aggregate::Avg => format!("avg(x.v{k}) AS avg{k}"),
                Aggregate::Min => format!("min(x.v{k}) AS min{k}"),
                Aggregate::Max => format!("max(x.v{k}) AS max{k}"),
                Aggregate::Sum => format!("sum(x.v{k}) AS sum{k}"),
                Aggregate::Count | Aggregate::CountNull => format!("count(x.v{k}) AS count{k}"),
                Aggregate::Last => {
                    format!("max(CASE WHEN x.v{k} IS NOT NULL THEN x.t END) AS last{k}")
                }
                Aggregate::First => {
                    format!("min(CASE WHEN x.v{k} IS NOT NULL THEN x.t END) AS first{k}")
                }
            };
            if !grouped.contains(&e) {
                grouped.push(e);
            }
        }
        for (c, col) in m.columns.values().enumerate() {
            if let Column::Source { aggregate, .. } = col {
                if same_column(c).is_some() {
                    continue; // summarised once, under the first column that reads it so
                }
                let x = format!("CASE WHEN x.f{k} THEN x.c{c} END");
                grouped.push(match aggregate.unwrap_or(Aggregate::Last) {
                    Aggregate::Avg => format!("avg({x}) AS c{c}_{k}"),
                    Aggregate::Min => format!("min({x}) AS c{c}_{k}"),
                    Aggregate::Max => format!("max({x}) AS c{c}_{k}"),
                    Aggregate::Sum => format!("sum({x}) AS c{c}_{k}"),
                    Aggregate::Count => format!("count({x}) AS c{c}_{k}"),
                    Aggregate::CountNull => format!("(sum(x.f{k}) - count({x})) AS c{c}_{k}"),
                    Aggregate::Last => format!("max(CASE WHEN x.f{k} THEN x.t END) AS c{c}_{k}"),
                    Aggregate::First => format!("min(CASE WHEN x.f{k} THEN x.t END) AS c{c}_{k}"),
                });
            }
        }
    }
    // one column of the output: per point, from its aggregates
    let spread = |f: &dyn Fn(usize, &crate::spec::validate::ResolvedPoint) -> String| -> String {
        let arms: Vec<String> = sp
            .points
            .iter()
            .enumerate()
            .map(|(k, p)| format!("WHEN {} THEN {}", p.point_id, f(k, p)))
            .collect();
        format!("CASE p.column1 {} END", arms.join(" "))
    };
    // the value of the source row at `time`: the bucket's first or last row (joined once) when
    // it is that row, else looked up
    let at = |time: String, edge: &str, what: &dyn Fn(&str) -> String| {
        format!(
            "CASE WHEN {time} = g.t_{edge} THEN {} ELSE (SELECT {} FROM {src} AS s WHERE s.{sys} = ?1 AND s.{ts} = {time}) END",
            what(edge),
            what("s")
        )
    };
    let mut outer = vec![
        format!("?1 AS {sys}"),
        format!("p.column1 AS {}", q(&m.point_column)),
        format!("g.b * {} AS {}", m.time.multiply, q(&m.time.target)),
    ];
    for (col, a) in &m.aggregate {
        let e = spread(&|k, p| match a {
            Aggregate::Avg => format!("g.avg{k}"),
            Aggregate::Min => format!("g.min{k}"),
            Aggregate::Max => format!("g.max{k}"),
            Aggregate::Sum => format!("g.sum{k}"),
            Aggregate::Count => format!("g.count{k}"),
            Aggregate::CountNull => format!("(g.n{k} - g.count{k})"),
            Aggregate::Last => at(format!("g.last{k}"), "hi", &|a| value_of(p, a)),
            Aggregate::First => at(format!("g.first{k}"), "lo", &|a| value_of(p, a)),
        });
        outer.push(format!("{e} AS {}", q(col)));
    }
    for (c, (col, column)) in m.columns.iter().enumerate() {
        let e = match column {
            Column::Source {
                source,
                multiply,
                aggregate,
            } => {
                let c = same_column(c).unwrap_or(c);
                let e = spread(&|k, _| match aggregate.unwrap_or(Aggregate::Last) {
                    Aggregate::Last => at(format!("g.c{c}_{k}"), "hi", &|a| {
                        format!("{a}.{}", q(source))
                    }),
                    Aggregate::First => at(format!("g.c{c}_{k}"), "lo", &|a| {
                        format!("{a}.{}", q(source))
                    }),
                    _ => format!("g.c{c}_{k}"),
                });
                match multiply {
                    Some(f) => format!("({e}) * {f}"),
                    None => e,
                }
            }
            Column::Value { value } => scalar(value),
        };
        outer.push(format!("{e} AS {}", q(col)));
    }
    let points: Vec<String> = sp
        .points
        .iter()
        .map(|p| format!("({})", p.point_id))
        .collect();
    format!(
        "SELECT {outer} FROM (
           SELECT {grouped} FROM (
             SELECT {rows} FROM {src} AS s WHERE s.{sys} = ?1 AND s.{ts} > ?2 AND s.{ts} <= ?3 LIMIT -1) AS x
           GROUP BY x.b LIMIT -1) AS g
         JOIN {src} AS hi ON hi.{sys} = ?1 AND hi.{ts} = g.t_hi
         JOIN {src} AS lo ON lo.{sys} = ?1 AND lo.{ts} = g.t_lo
         CROSS JOIN (VALUES {points}) AS p
         WHERE {samples} > 0",
        outer = outer.join(", "),
        grouped = grouped.join(", "),
        rows = rows.join(", "),
        points = points.join(", "),
        samples = spread(&|k, _| format!("g.n{k}")),
    )
}

/// The rows the spec makes of one system's source rows with time in (?2, ?3] (?1 = system).
/// None when the system has no resolved point.
pub fn select_sql(mp: &MigrationPlan, sp: &SystemPlan) -> Option<String> {
    if sp.points.is_empty() {
        return None;
    }
    if mp.migration.kind == Kind::Rollup {
        return Some(rollup_select_sql(mp, sp));
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
        "SELECT {} FROM {} AS s CROSS JOIN (VALUES {}) AS p WHERE s.{} = ?1 AND s.{} > ?2 AND s.{} <= ?3{}",
        exprs.join(", "),
        q(&m.source),
        points.join(", "),
        q(&m.system),
        q(&m.time.source),
        q(&m.time.source),
        carried_filter(mp),
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
/// not NULL; a roll-up makes one per point and bucket with a sample). Rows a finer source
/// supersedes are counted as scanned, not as carried.
pub fn carried_count_sql(mp: &MigrationPlan, sp: &SystemPlan) -> Option<String> {
    if sp.points.is_empty() {
        return None;
    }
    let m = &mp.migration;
    let filter = carried_filter(mp);
    // `s.c`: the row is carried (always, without a finer source)
    let when = |e: &str| {
        if filter.is_empty() {
            e.to_string()
        } else {
            format!("CASE WHEN s.c THEN {e} END")
        }
    };
    if let Some(b) = &m.bucket {
        // a roll-up makes one row per point and bucket with a sample
        let bucket = bucket_expr(b, &format!("s.{}", q(&m.time.source)));
        let per_bucket: Vec<String> = sp
            .points
            .iter()
            .enumerate()
            .map(|(k, p)| format!("max({}) AS n{k}", present_expr(mp, &p.fields)))
            .collect();
        let made: Vec<String> = (0..sp.points.len())
            .map(|k| format!("ifnull(sum(n{k}), 0)"))
            .collect();
        return Some(format!(
            "SELECT (SELECT count(*) FROM {src} AS s WHERE s.{sys} = ?1 AND s.{t} > ?2 AND s.{t} <= ?3),
                    {made} FROM (SELECT {bucket} AS b, {per_bucket} FROM {src} AS s WHERE s.{sys} = ?1 AND s.{t} > ?2 AND s.{t} <= ?3 GROUP BY b)",
            src = q(&m.source),
            sys = q(&m.system),
            t = q(&m.time.source),
            made = made.join(" + "),
            per_bucket = per_bucket.join(", "),
        ));
    }
    let terms: Vec<String> = if m.write_nulls {
        vec![format!("count({}) * {}", when("1"), sp.points.len())]
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
                    format!("count({})", when(&exprs[0]))
                } else {
                    format!(
                        "count({})",
                        when(&format!("COALESCE({})", exprs.join(", ")))
                    )
                }
            })
            .collect()
    };
    let window = format!(
        "s.{} = ?1 AND s.{t} > ?2 AND s.{t} <= ?3",
        q(&m.system),
        t = q(&m.time.source)
    );
    Some(if filter.is_empty() {
        format!(
            "SELECT count(*), {} FROM {} AS s WHERE {window}",
            terms.join(" + "),
            q(&m.source),
        )
    } else {
        format!(
            "SELECT count(*), {} FROM (SELECT s.*, (1{filter}) AS c FROM {} AS s WHERE {window}) AS s",
            terms.join(" + "),
            q(&m.source),
        )
    })
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
    fn bucket_sql_names_the_spec_buckets() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for closed in [crate::spec::Closed::End, crate::spec::Closed::Start] {
            let b = crate::spec::Bucket {
                width: 300,
                closed,
                value: "value".into(),
            };
            for t in -700..700 {
                let got: i64 = conn
                    .query_row(
                        &format!("SELECT {}", bucket_expr(&b, &t.to_string())),
                        [],
                        |r| r.get(0),
                    )
                    .unwrap();
                assert_eq!(got, b.of(t), "{closed:?} {t}");
            }
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
