//! A plain, row-by-row reference migration, written independently of the engine's statement
//! builder: it reads each source row into Rust, applies the spec's transforms in Rust (with
//! SQLite's own semantics for NULLIF, COALESCE, multiplication and ROUND), and inserts one row at
//! a time with INSERT OR IGNORE.

use std::collections::BTreeMap;

use preflight::spec::{Column, Scalar, Spec, Transform};
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
        let rows: Vec<BTreeMap<String, Value>> = stmt
            .query_map([], |r| {
                Ok(cols
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.clone(), r.get::<_, Value>(i).unwrap()))
                    .collect())
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
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
                        } => row[source].clone(),
                        Column::Source {
                            source,
                            multiply: Some(k),
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
