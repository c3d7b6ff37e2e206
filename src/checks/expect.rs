//! What the spec says a target field holds, derived here on its own from the spec's meaning (not
//! through the engine's statement builder), so that a mistake in one is not repeated in the other.

use crate::spec::validate::{MigrationPlan, Plan, ResolvedPoint, SystemPlan};
use crate::spec::{Aggregate, Bucket, Closed, Column, Scalar, Transform};
use crate::sql::{ident as q, literal};

fn lit(s: &Scalar) -> String {
    literal(&s.to_value())
}

/// The expected value of one field, as SQL over the source row `src`.
pub fn expected(mp: &MigrationPlan, t: &Transform, src: &str) -> String {
    // a column the source lacks holds nothing
    let mut v = if mp.has_column(&t.source) {
        format!("{src}.{}", q(&t.source))
    } else {
        "NULL".into()
    };
    if let Some(x) = &t.null_if {
        v = format!("(CASE WHEN {v} = {} THEN NULL ELSE {v} END)", lit(x));
    }
    if let Some(x) = &t.null_as {
        v = format!("(CASE WHEN {v} IS NULL THEN {} ELSE {v} END)", lit(x));
    }
    if let Some(f) = t.multiply {
        let factor = if f.fract() == 0.0 {
            format!("{}", f as i64)
        } else {
            literal(&rusqlite::types::Value::Real(f))
        };
        v = format!("({v} * {factor})");
    }
    if let Some(d) = t.round {
        v = format!("round({v}, {d})");
    }
    if t.as_text {
        v = format!("CAST({v} AS TEXT)");
    }
    v
}

/// Expected value of `field` for point `p` (NULL when the point does not map it).
pub fn field(mp: &MigrationPlan, p: &ResolvedPoint, field: &str, src: &str) -> String {
    p.fields
        .get(field)
        .map_or_else(|| "NULL".to_string(), |t| expected(mp, t, src))
}

/// Whether the spec makes a target row of point `p` from the source row `src`.
pub fn makes_row(mp: &MigrationPlan, p: &ResolvedPoint, src: &str) -> String {
    if mp.migration.write_nulls {
        return "1".into();
    }
    let any: Vec<String> = p
        .fields
        .values()
        .map(|t| format!("{} IS NOT NULL", expected(mp, t, src)))
        .collect();
    format!("({})", any.join(" OR "))
}

/// SQL: the name of the bucket time `t` falls in (integer times; `/` truncates toward zero).
pub fn bucket_of(b: &Bucket, t: &str) -> String {
    let w = b.width;
    match b.closed {
        Closed::End => format!("((({t}) / {w} + (({t}) % {w} > 0)) * {w})"),
        Closed::Start => format!("((({t}) / {w} - (({t}) % {w} < 0)) * {w})"),
    }
}

/// SQL: source time `t` lies in the bucket named `name`.
pub fn in_bucket(b: &Bucket, t: &str, name: &str) -> String {
    let w = b.width;
    match b.closed {
        Closed::End => format!("({t} > {name} - {w} AND {t} <= {name})"),
        Closed::Start => format!("({t} >= {name} AND {t} < {name} + {w})"),
    }
}

/// SQL: no row of the superseding roll-up's source lies within the interval a row of `mp` at
/// source time `time` of system `system` summarises, both bounds included ("1" without one).
pub fn nothing_finer(mp: &MigrationPlan, system: &str, time: &str) -> String {
    let Some(f) = &mp.finer else {
        return "1".into();
    };
    let (src, fs, ft, w) = (q(&f.source), q(&f.system), q(&f.time), f.width);
    match f.closed {
        Closed::End => format!(
            "(coalesce((SELECT max(f.{ft}) FROM {src} AS f WHERE f.{fs} = {system} AND f.{ft} <= {time}), {time} - {w} - 1) < {time} - {w})"
        ),
        Closed::Start => format!(
            "(coalesce((SELECT min(f.{ft}) FROM {src} AS f WHERE f.{fs} = {system} AND f.{ft} >= {time}), {time} + {w} + 1) > {time} + {w})"
        ),
    }
}

/// SQL: the source row `src` is carried (not superseded by finer data).
pub fn carried(mp: &MigrationPlan, src: &str) -> String {
    nothing_finer(
        mp,
        &format!("{src}.{}", q(&mp.migration.system)),
        &format!("{src}.{}", q(&mp.migration.time.source)),
    )
}

/// SQL on target alias `t`, when the target is shared: the row's time is one this migration
/// answers for (a superseded migration where nothing finer exists, its roll-up elsewhere).
pub fn owned(plan: &Plan, mp: &MigrationPlan, t: &str) -> Option<String> {
    let m = &mp.migration;
    let at = |x: &MigrationPlan| {
        (
            format!("{t}.{}", q(&m.system)),
            format!(
                "({t}.{} / {})",
                q(&m.time.target),
                x.migration.time.multiply
            ),
        )
    };
    if mp.finer.is_some() {
        let (s, time) = at(mp);
        return Some(nothing_finer(mp, &s, &time));
    }
    let superseded: Vec<String> = plan
        .migrations
        .iter()
        .filter(|x| x.finer.as_ref().is_some_and(|f| f.migration == m.name))
        .map(|x| {
            let (s, time) = at(x);
            format!("NOT {}", nothing_finer(x, &s, &time))
        })
        .collect();
    (!superseded.is_empty()).then(|| format!("({})", superseded.join(" AND ")))
}

/// The rows a roll-up makes of one system's source rows (`?1`) with `range` (a condition on
/// `s`, or "1"): the point (`pid`), the target time (`tt`), then every aggregate and column in
/// `rollup_columns` order as `e0`, `e1`, …. Computed here once per bucket for all points (a
/// materialized summary, each distinct aggregate once), then one SELECT per point, joined with
/// UNION ALL. A first or last value is read from the bucket's first or last source row when that
/// row has it (nearly always), else looked up within the bucket; either once per bucket.
pub fn rollup_expected(mp: &MigrationPlan, sp: &SystemPlan, range: &str) -> String {
    let m = &mp.migration;
    let b = m.bucket.as_ref().expect("a roll-up");
    let (sys, ts, src) = (q(&m.system), q(&m.time.source), q(&m.source));
    let cols = rollup_columns(mp);
    let mut g = Summary {
        items: vec![
            format!("{} AS b", bucket_of(b, &format!("s.{ts}"))),
            format!("max(s.{ts}) AS t_last"),
            format!("min(s.{ts}) AS t_first"),
        ],
        ..Summary::default()
    };
    // the value `what` of the bucket's last (first) source row where `cond` holds: that row's
    // when the bucket's last (first) row has it, which is nearly always; else looked up, once
    // per bucket
    let at = |g: &mut Summary,
              last: bool,
              cond: &dyn Fn(&str) -> String,
              what: &dyn Fn(&str) -> String|
     -> String {
        let (row, order) = if last { ("l", "DESC") } else { ("f", "ASC") };
        // the bucket's bounds are the index range; `range` only filters (inside a CASE, where
        // the planner cannot take it for the range and walk all of it)
        let lookup = format!(
            "(SELECT {} FROM {src} AS s WHERE s.{sys} = ?1 AND {} AND CASE WHEN {range} THEN {} ELSE 0 END ORDER BY s.{ts} {order} LIMIT 1)",
            what("s"),
            in_bucket(b, &format!("s.{ts}"), "g0.b"),
            cond("s"),
        );
        let k = g.row_values.len();
        g.row_values.push(format!(
            "CASE WHEN {} THEN {} ELSE {lookup} END AS r{k}",
            cond(row),
            what(row)
        ));
        g.rows[usize::from(!last)] = true;
        format!("g.r{k}")
    };
    let mut per_point = Vec::new();
    for p in &sp.points {
        let v = field(mp, p, &b.value, "s");
        let value = |x: &str| field(mp, p, &b.value, x);
        let valued_at = |x: &str| format!("({} IS NOT NULL)", field(mp, p, &b.value, x));
        let sample_at = |x: &str| makes_row(mp, p, x);
        let sample = makes_row(mp, p, "s");
        // `count(v)` as the sum of `v IS NOT NULL`: the same aggregate as the sample count
        // where a sample is a value
        let samples = g.agg(format!("sum({sample})"));
        let valued = g.agg(format!("sum(({v} IS NOT NULL))"));
        let mut select = vec![
            format!("{} AS pid", p.point_id),
            format!("g.b * {} AS tt", m.time.multiply),
        ];
        for (k, (_, how)) in cols.iter().enumerate() {
            let e = match how {
                Source::Aggregate(a) => match a {
                    Aggregate::Avg => format!("g.{}", g.agg(format!("avg({v})"))),
                    Aggregate::Min => format!("g.{}", g.agg(format!("min({v})"))),
                    Aggregate::Max => format!("g.{}", g.agg(format!("max({v})"))),
                    Aggregate::Sum => format!("g.{}", g.agg(format!("sum({v})"))),
                    Aggregate::Count => format!("g.{valued}"),
                    Aggregate::CountNull => format!("(g.{samples} - g.{valued})"),
                    Aggregate::Last => at(&mut g, true, &valued_at, &value),
                    Aggregate::First => at(&mut g, false, &valued_at, &value),
                },
                Source::Column {
                    column,
                    aggregate,
                    multiply,
                } => {
                    let x = format!("(CASE WHEN {sample} THEN s.{} END)", q(column));
                    let column_of = |a: &str| format!("{a}.{}", q(column));
                    let e = match aggregate {
                        Aggregate::Last => at(&mut g, true, &sample_at, &column_of),
                        Aggregate::First => at(&mut g, false, &sample_at, &column_of),
                        Aggregate::Avg => format!("g.{}", g.agg(format!("avg({x})"))),
                        Aggregate::Min => format!("g.{}", g.agg(format!("min({x})"))),
                        Aggregate::Max => format!("g.{}", g.agg(format!("max({x})"))),
                        Aggregate::Sum => format!("g.{}", g.agg(format!("sum({x})"))),
                        Aggregate::Count => format!("g.{}", g.agg(format!("count({x})"))),
                        Aggregate::CountNull => {
                            format!("(g.{samples} - g.{})", g.agg(format!("count({x})")))
                        }
                    };
                    match multiply {
                        Some(f) => format!("({e} * {f})"),
                        None => e,
                    }
                }
                Source::Constant(v) => lit(v),
            };
            select.push(format!("{e} AS e{k}"));
        }
        per_point.push(format!(
            "SELECT {} FROM g WHERE g.{samples} > 0",
            select.join(", ")
        ));
    }
    let summary = format!(
        "SELECT {} FROM {src} AS s WHERE s.{sys} = ?1 AND {range} GROUP BY b",
        g.items.join(", ")
    );
    // the bucket's last and first rows joined by their time (no rowid: the source may be a
    // WITHOUT ROWID table or a view); grouped by bucket again, so that two rows at one time
    // cannot double a bucket
    let g = if g.row_values.is_empty() {
        summary
    } else {
        let join = |alias: &str, time: &str| {
            format!(
                " LEFT JOIN {src} AS {alias} ON {alias}.{sys} = ?1 AND {alias}.{ts} = g0.{time}"
            )
        };
        format!(
            "SELECT g0.*, {} FROM ({summary}) AS g0{}{} GROUP BY g0.b",
            g.row_values.join(", "),
            if g.rows[0] {
                join("l", "t_last")
            } else {
                String::new()
            },
            if g.rows[1] {
                join("f", "t_first")
            } else {
                String::new()
            },
        )
    };
    format!(
        "WITH g AS MATERIALIZED ({g})
         {}",
        per_point.join(" UNION ALL ")
    )
}

/// A roll-up's per-bucket summary: each distinct aggregate once, and the first and last values,
/// read from the bucket's first and last source rows.
#[derive(Default)]
struct Summary {
    items: Vec<String>,
    seen: std::collections::HashMap<String, String>,
    /// Values read from the bucket's last or first row, and which of the two rows are read.
    row_values: Vec<String>,
    rows: [bool; 2],
}

impl Summary {
    /// The column holding aggregate `expr`, added when new.
    fn agg(&mut self, expr: String) -> String {
        if let Some(a) = self.seen.get(&expr) {
            return a.clone();
        }
        let a = format!("a{}", self.seen.len());
        self.items.push(format!("{expr} AS {a}"));
        self.seen.insert(expr, a.clone());
        a
    }
}

/// Where a roll-up's target column comes from.
#[derive(Debug, Clone)]
pub enum Source {
    Aggregate(Aggregate),
    Column {
        column: String,
        aggregate: Aggregate,
        multiply: Option<i64>,
    },
    Constant(Scalar),
}

/// A roll-up's target columns with their source: the aggregates, then the other columns.
pub fn rollup_columns(mp: &MigrationPlan) -> Vec<(String, Source)> {
    let m = &mp.migration;
    let mut out: Vec<(String, Source)> = m
        .aggregate
        .iter()
        .map(|(c, a)| (c.clone(), Source::Aggregate(*a)))
        .collect();
    for (c, col) in &m.columns {
        out.push((
            c.clone(),
            match col {
                Column::Source {
                    source,
                    multiply,
                    aggregate,
                } => Source::Column {
                    column: source.clone(),
                    aggregate: aggregate.unwrap_or(Aggregate::Last),
                    multiply: *multiply,
                },
                Column::Value { value } => Source::Constant(value.clone()),
            },
        ));
    }
    out
}

/// The same comparison as `same_value`, on values already read (for showing what differs).
pub fn same_read_value(a: &rusqlite::types::Value, b: &rusqlite::types::Value) -> bool {
    use rusqlite::types::Value as V;
    let num = |v: &V| match v {
        V::Integer(i) => Some(*i as f64),
        V::Real(r) => Some(*r),
        _ => None,
    };
    a == b
        || match (num(a), num(b)) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
            _ => false,
        }
}

/// SQL: `a` (a stored target value) equals `b` (an expected value): both NULL, integers and text
/// exactly, reals to a relative 1e-9. The exact comparison comes first; it settles nearly every row.
pub fn same_value(a: &str, b: &str) -> String {
    format!(
        "({a} IS {b} OR (typeof({b}) = 'real' AND typeof({a}) IN ('integer', 'real') AND abs({a} - {b}) <= 1e-9 * max(abs({a}), abs({b}))))"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn eval(sql: &str) -> i64 {
        Connection::open_in_memory()
            .unwrap()
            .query_row(&format!("SELECT {sql}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn buckets_in_sql_are_the_spec_buckets() {
        use crate::spec::{Bucket, Closed};
        for closed in [Closed::End, Closed::Start] {
            for width in [1, 7, 300] {
                let b = Bucket {
                    width,
                    closed,
                    value: "value".into(),
                };
                for t in (-905..905).chain([1_762_408_379, 1_762_408_500, 1_762_408_501]) {
                    let name = eval(&bucket_of(&b, &t.to_string()));
                    assert_eq!(name, b.of(t), "{closed:?} {width} {t}");
                    assert_eq!(eval(&in_bucket(&b, &t.to_string(), &name.to_string())), 1);
                    assert!(b.last_time(name) >= t && b.last_time(name) - width < t);
                }
            }
        }
        // (end - 300, end]: a sample on a boundary closes the interval it ends
        let b = Bucket {
            width: 300,
            closed: Closed::End,
            value: "v".into(),
        };
        assert_eq!((b.of(300), b.of(301), b.of(0), b.of(-1)), (300, 600, 0, 0));
    }

    #[test]
    fn comparison_is_exact_for_integers_and_relative_for_reals() {
        assert_eq!(eval(&same_value("4312.0", "4312")), 1);
        assert_eq!(eval(&same_value("4313.0", "4312")), 0);
        assert_eq!(
            eval(&same_value("32768026.0", "32768025.999999996")),
            1,
            "relative 1e-9"
        );
        assert_eq!(eval(&same_value("32768.026", "32768026.0")), 0);
        assert_eq!(eval(&same_value("NULL", "NULL")), 1);
        assert_eq!(eval(&same_value("0.0", "NULL")), 0);
        assert_eq!(eval(&same_value("'E021'", "'E021'")), 1);
    }
}
