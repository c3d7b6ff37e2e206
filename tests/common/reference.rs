//! A plain, row-by-row reference migration, written independently of the engine's statement
//! builder: it reads each source row into Rust, applies the spec's transforms in Rust (with
//! SQLite's own semantics for NULLIF, COALESCE, multiplication and ROUND), and inserts one row at
//! a time with INSERT OR IGNORE.

use std::collections::BTreeMap;

use preflight::spec::{Aggregate, Closed, Column, Kind, Migration, Scalar, Spec, Transform};
use rusqlite::Connection;
use rusqlite::types::Value;

fn scalar(s: &Scalar) -> Value {
    match s {
        Scalar::Int(i) => Value::Integer(*i),
        Scalar::Float(f) => Value::Real(*f),
        Scalar::Text(t) => Value::Text(t.clone()),
    }
}

/// `a = b` as SQLite compares values of these types.
fn sql_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Integer(x), Value::Real(y)) | (Value::Real(y), Value::Integer(x)) => {
            (*x as f64) == *y
        }
        (Value::Real(x), Value::Real(y)) => x == y,
        (Value::Text(x), Value::Text(y)) => x == y,
        _ => false,
    }
}

fn multiply(v: Value, f: f64) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Integer(i) if f.fract() == 0.0 => match i.checked_mul(f as i64) {
            Some(p) => Value::Integer(p),
            None => Value::Real(i as f64 * f),
        },
        Value::Integer(i) => Value::Real(i as f64 * f),
        Value::Real(x) => Value::Real(x * f),
        other => panic!("the reference multiplies numbers only, got {other:?}"),
    }
}

/// SQLite's ROUND(x, 0): add a half and truncate toward zero (half away from zero).
fn round(v: Value, n: i32) -> Value {
    assert_eq!(n, 0, "the reference rounds to whole numbers only");
    match v {
        Value::Null => Value::Null,
        Value::Integer(i) => Value::Real(i as f64),
        Value::Real(r) if r >= 0.0 => Value::Real((r + 0.5).trunc()),
        Value::Real(r) => Value::Real(-((-r) + 0.5).trunc()),
        other => panic!("cannot round {other:?}"),
    }
}

pub fn apply(t: &Transform, v: Value) -> Value {
    let mut v = v;
    if let Some(n) = &t.null_if
        && sql_eq(&v, &scalar(n))
    {
        v = Value::Null;
    }
    if let (Some(a), Value::Null) = (&t.null_as, &v) {
        v = scalar(a);
    }
    if let Some(f) = t.multiply {
        v = multiply(v, f);
    }
    if let Some(n) = t.round {
        v = round(v, n);
    }
    if t.as_text {
        v = match v {
            Value::Integer(i) => Value::Text(i.to_string()),
            Value::Text(s) => Value::Text(s),
            Value::Null => Value::Null,
            other => panic!("the reference casts integers and text only, got {other:?}"),
        };
    }
    v
}

fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Migrate `conn` row by row as `spec` says. Returns how many rows the spec made per migration
/// and system (whether or not their key was already there).
pub fn migrate(conn: &Connection, spec: &Spec) -> BTreeMap<(String, i64), u64> {
    let mut made: BTreeMap<(String, i64), u64> = BTreeMap::new();
    let systems: BTreeMap<i64, String> = conn
        .prepare("SELECT id, vendor_type FROM systems")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let points: BTreeMap<(i64, String), i64> = conn
        .prepare("SELECT system_id, origin_sub_id, id FROM point_info")
        .unwrap()
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for m in &spec.migrations {
        if m.kind == Kind::Rollup {
            rollup(conn, m, &systems, &points, &mut made);
            continue;
        }
        let rows = source_rows(conn, m);
        let mut target_cols = vec![
            m.system.clone(),
            m.point_column.clone(),
            m.time.target.clone(),
        ];
        target_cols.extend(m.fields.iter().cloned());
        target_cols.extend(m.columns.keys().cloned());
        let insert = format!(
            "INSERT OR IGNORE INTO {} ({}) VALUES ({})",
            q(&m.target),
            target_cols
                .iter()
                .map(|c| q(c))
                .collect::<Vec<_>>()
                .join(", "),
            vec!["?"; target_cols.len()].join(", ")
        );
        let mut progress: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for row in &rows {
            let Value::Integer(system) = row[&m.system] else {
                continue;
            };
            let Some(vendor) = systems.get(&system) else {
                continue;
            };
            let Some(vm) = m.vendors.iter().find(|v| &v.vendor_type == vendor) else {
                continue;
            };
            let Value::Integer(t) = row[&m.time.source] else {
                panic!("time must be an integer")
            };
            let finer = m
                .superseded_by
                .as_ref()
                .is_some_and(|r| has_finer(conn, spec, r, system, t));
            let resolved: Vec<_> = vm
                .points
                .iter()
                .filter_map(|p| points.get(&(system, p.point.clone())).map(|id| (p, *id)))
                .collect();
            if resolved.is_empty() {
                continue;
            }
            let e = progress.entry(system).or_insert((i64::MIN, 0));
            e.0 = e.0.max(t);
            e.1 += 1;
            if finer {
                continue;
            }
            for (p, id) in resolved {
                let fields: Vec<Value> = m
                    .fields
                    .iter()
                    .map(|f| match p.fields.get(f) {
                        Some(tr) => apply(tr, row.get(&tr.source).cloned().unwrap_or(Value::Null)),
                        None => Value::Null,
                    })
                    .collect();
                if !m.write_nulls && fields.iter().all(|v| *v == Value::Null) {
                    continue;
                }
                *made.entry((m.name.clone(), system)).or_default() += 1;
                let mut values = vec![
                    Value::Integer(system),
                    Value::Integer(id),
                    Value::Integer(t * m.time.multiply),
                ];
                values.extend(fields);
                for col in m.columns.values() {
                    values.push(match col {
                        Column::Source {
                            source,
                            multiply: None,
                            ..
                        } => row[source].clone(),
                        Column::Source {
                            source,
                            multiply: Some(k),
                            ..
                        } => multiply(row[source].clone(), *k as f64),
                        Column::Value { value } => scalar(value),
                    });
                }
                conn.execute(&insert, rusqlite::params_from_iter(values))
                    .unwrap();
            }
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS reference_progress (migration_name TEXT, system_id INTEGER, last_migrated_timestamp INTEGER, rows_migrated INTEGER)",
        )
        .unwrap();
        for (system, (last, rows)) in progress {
            conn.execute(
                "INSERT INTO reference_progress VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![m.name, system, last, rows],
            )
            .unwrap();
        }
    }
    made
}

/// Whether the source of roll-up `name` holds a row of `system` within the interval that a row
/// at time `t` summarises (both bounds).
fn has_finer(conn: &Connection, spec: &Spec, name: &str, system: i64, t: i64) -> bool {
    let r = spec.migrations.iter().find(|m| m.name == name).unwrap();
    let b = r.bucket.as_ref().unwrap();
    let (lo, hi) = match b.closed {
        Closed::End => (t - b.width, t),
        Closed::Start => (t, t + b.width),
    };
    conn.query_row(
        &format!(
            "SELECT count(*) FROM {} WHERE {} = ?1 AND {t} BETWEEN ?2 AND ?3",
            q(&r.source),
            q(&r.system),
            t = q(&r.time.source)
        ),
        rusqlite::params![system, lo, hi],
        |x| x.get::<_, i64>(0),
    )
    .unwrap()
        > 0
}

/// The bucket a time falls in, computed the long way round.
fn bucket(closed: Closed, width: i64, t: i64) -> i64 {
    let floor = if t >= 0 {
        t / width * width
    } else {
        -((-t + width - 1) / width) * width
    };
    match closed {
        Closed::Start => floor,
        Closed::End if floor == t => t,
        Closed::End => floor + width,
    }
}

/// SQLite's own avg of some values (its summation, so that the result is bit for bit the same).
fn sqlite_avg(conn: &Connection, values: &[Value]) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    let list: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::Integer(i) => format!("({i})"),
            Value::Real(r) => format!("({r:e})"),
            other => panic!("avg of {other:?}"),
        })
        .collect();
    conn.query_row(
        &format!("SELECT avg(column1) FROM (VALUES {})", list.join(", ")),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

fn cmp(a: &Value, b: &Value) -> std::cmp::Ordering {
    let f = |v: &Value| match v {
        Value::Integer(i) => *i as f64,
        Value::Real(r) => *r,
        _ => f64::NAN,
    };
    f(a).partial_cmp(&f(b)).unwrap()
}

/// A roll-up, row by row: each source row is a sample of each point it makes a row of; samples
/// are grouped per bucket and summarised in Rust.
/// Every row of a migration's source, by column name, in system and time order.
fn source_rows(conn: &Connection, m: &Migration) -> Vec<BTreeMap<String, Value>> {
    let cols: Vec<String> = conn
        .prepare(&format!("SELECT * FROM {} LIMIT 0", q(&m.source)))
        .unwrap()
        .column_names()
        .map(String::from)
        .collect();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT * FROM {} ORDER BY {}, {}",
            q(&m.source),
            q(&m.system),
            q(&m.time.source)
        ))
        .unwrap();
    stmt.query_map([], |r| {
        Ok(cols
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), r.get::<_, Value>(i).unwrap()))
            .collect())
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn rollup(
    conn: &Connection,
    m: &Migration,
    systems: &BTreeMap<i64, String>,
    points: &BTreeMap<(i64, String), i64>,
    made: &mut BTreeMap<(String, i64), u64>,
) {
    let b = m.bucket.as_ref().unwrap();
    let rows = source_rows(conn, m);
    // (system, point id, bucket) → samples (time, value, the row)
    type Samples<'r> = Vec<(i64, Value, &'r BTreeMap<String, Value>)>;
    let mut groups: BTreeMap<(i64, i64, i64), Samples> = BTreeMap::new();
    let mut progress: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for row in &rows {
        let Value::Integer(system) = row[&m.system] else {
            continue;
        };
        let Some(vm) = systems
            .get(&system)
            .and_then(|v| m.vendors.iter().find(|x| &x.vendor_type == v))
        else {
            continue;
        };
        let Value::Integer(t) = row[&m.time.source] else {
            panic!("time must be an integer")
        };
        let resolved: Vec<_> = vm
            .points
            .iter()
            .filter_map(|p| points.get(&(system, p.point.clone())).map(|id| (p, *id)))
            .collect();
        if resolved.is_empty() {
            continue;
        }
        let e = progress.entry(system).or_insert((i64::MIN, 0));
        e.0 = e.0.max(t);
        e.1 += 1;
        for (p, id) in resolved {
            let values: Vec<Value> = p
                .fields
                .values()
                .map(|tr| apply(tr, row.get(&tr.source).cloned().unwrap_or(Value::Null)))
                .collect();
            if !m.write_nulls && values.iter().all(|v| *v == Value::Null) {
                continue;
            }
            let v = p.fields.get(&b.value).map_or(Value::Null, |tr| {
                apply(tr, row.get(&tr.source).cloned().unwrap_or(Value::Null))
            });
            groups
                .entry((system, id, bucket(b.closed, b.width, t)))
                .or_default()
                .push((t, v, row));
        }
    }
    let mut target_cols = vec![
        m.system.clone(),
        m.point_column.clone(),
        m.time.target.clone(),
    ];
    target_cols.extend(m.aggregate.keys().cloned());
    target_cols.extend(m.columns.keys().cloned());
    let insert = format!(
        "INSERT OR IGNORE INTO {} ({}) VALUES ({})",
        q(&m.target),
        target_cols
            .iter()
            .map(|c| q(c))
            .collect::<Vec<_>>()
            .join(", "),
        vec!["?"; target_cols.len()].join(", ")
    );
    for ((system, id, bk), samples) in groups {
        *made.entry((m.name.clone(), system)).or_default() += 1;
        let with_value: Vec<&(i64, Value, &BTreeMap<String, Value>)> =
            samples.iter().filter(|s| s.1 != Value::Null).collect();
        let vals: Vec<Value> = with_value.iter().map(|s| s.1.clone()).collect();
        let mut out = vec![
            Value::Integer(system),
            Value::Integer(id),
            Value::Integer(bk * m.time.multiply),
        ];
        for a in m.aggregate.values() {
            out.push(match a {
                Aggregate::Avg => sqlite_avg(conn, &vals),
                Aggregate::Min => vals
                    .iter()
                    .min_by(|a, b| cmp(a, b))
                    .cloned()
                    .unwrap_or(Value::Null),
                Aggregate::Max => vals
                    .iter()
                    .max_by(|a, b| cmp(a, b))
                    .cloned()
                    .unwrap_or(Value::Null),
                Aggregate::Sum => {
                    if vals.is_empty() {
                        Value::Null
                    } else if vals.iter().all(|v| matches!(v, Value::Integer(_))) {
                        Value::Integer(
                            vals.iter()
                                .map(|v| if let Value::Integer(i) = v { *i } else { 0 })
                                .sum(),
                        )
                    } else {
                        Value::Real(
                            vals.iter()
                                .map(|v| match v {
                                    Value::Integer(i) => *i as f64,
                                    Value::Real(r) => *r,
                                    _ => 0.0,
                                })
                                .sum(),
                        )
                    }
                }
                Aggregate::First => with_value.first().map_or(Value::Null, |s| s.1.clone()),
                Aggregate::Last => with_value.last().map_or(Value::Null, |s| s.1.clone()),
                Aggregate::Count => Value::Integer(vals.len() as i64),
                Aggregate::CountNull => Value::Integer((samples.len() - vals.len()) as i64),
            });
        }
        for col in m.columns.values() {
            out.push(match col {
                Column::Value { value } => scalar(value),
                Column::Source {
                    source,
                    multiply: k,
                    aggregate,
                } => {
                    let xs: Vec<Value> = samples
                        .iter()
                        .map(|s| s.2[source].clone())
                        .filter(|v| *v != Value::Null)
                        .collect();
                    let v = match aggregate.unwrap_or(Aggregate::Last) {
                        Aggregate::Max => xs
                            .iter()
                            .max_by(|a, b| cmp(a, b))
                            .cloned()
                            .unwrap_or(Value::Null),
                        Aggregate::Min => xs
                            .iter()
                            .min_by(|a, b| cmp(a, b))
                            .cloned()
                            .unwrap_or(Value::Null),
                        Aggregate::Last => {
                            samples.last().map_or(Value::Null, |s| s.2[source].clone())
                        }
                        Aggregate::First => {
                            samples.first().map_or(Value::Null, |s| s.2[source].clone())
                        }
                        Aggregate::Count => Value::Integer(xs.len() as i64),
                        other => panic!("the reference does not roll up columns with {other:?}"),
                    };
                    match k {
                        Some(k) => multiply(v, *k as f64),
                        None => v,
                    }
                }
            });
        }
        conn.execute(&insert, rusqlite::params_from_iter(out))
            .unwrap();
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS reference_progress (migration_name TEXT, system_id INTEGER, last_migrated_timestamp INTEGER, rows_migrated INTEGER)",
    )
    .unwrap();
    for (system, (last, rows)) in progress {
        // a roll-up records the end of the last bucket it covered
        let last = match b.closed {
            Closed::End => bucket(b.closed, b.width, last),
            Closed::Start => bucket(b.closed, b.width, last) + b.width - 1,
        };
        conn.execute(
            "INSERT INTO reference_progress VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![m.name, system, last, rows],
        )
        .unwrap();
    }
}
