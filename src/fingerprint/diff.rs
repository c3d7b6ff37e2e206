//! Row-level differences between two databases, table by table: rows inserted, updated and
//! deleted, keyed by rowid (or primary key), with examples. Tables whose fingerprints agree are
//! not read again.

use std::cmp::Ordering;
use std::sync::mpsc;

use serde::Serialize;

use super::{TableKey, ordered_select, table_key};
use crate::db::{Db, DbError, DbExt, Value, show};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TableDiff {
    pub table: String,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Up to `limit` examples, by key.
    pub examples: Vec<String>,
}

impl TableDiff {
    pub fn changed(&self) -> bool {
        self.inserted + self.updated + self.deleted > 0
    }
}

/// SQLite's ORDER BY for values of the BINARY collation: NULL < numbers < text < blobs.
pub fn cmp_values(a: &Value, b: &Value) -> Ordering {
    fn class(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) => 1,
            Value::Text(_) => 2,
            Value::Blob(_) => 3,
        }
    }
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Integer(x), Value::Real(y)) => (*x as f64).total_cmp(y),
        (Value::Real(x), Value::Integer(y)) => x.total_cmp(&(*y as f64)),
        (Value::Real(x), Value::Real(y)) => x.total_cmp(y),
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        _ => class(a).cmp(&class(b)),
    }
}

fn key_of<'a>(row: &'a [Value], key: &TableKey) -> &'a [Value] {
    &row[..key.key.len()]
}

fn show_key(key: &TableKey, row: &[Value]) -> String {
    key.key
        .iter()
        .zip(row)
        .map(|(k, v)| format!("{k} {}", show(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn show_row(names: &[String], row: &[Value], skip: usize) -> String {
    names
        .iter()
        .zip(row.iter())
        .skip(skip)
        .take(8)
        .map(|(n, v)| format!("{n}={}", show(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Differences in `table` from `before` to `after` (rows with rowid ≤ `max_rowid` when given).
pub fn diff_table(
    before: &dyn Db,
    after: &dyn Db,
    table: &str,
    max_rowid: Option<i64>,
    limit: usize,
) -> Result<TableDiff, DbError> {
    let key = table_key(before, table)?;
    let sql = ordered_select(table, &key, max_rowid);
    let mut names: Vec<String> = key.key.clone();
    names.extend(before.columns(table)?);
    let skip = key.key.len();
    let mut d = TableDiff {
        table: table.to_string(),
        ..TableDiff::default()
    };
    // `after` is read on another thread and merged here, both in key order
    let (tx, rx) = mpsc::sync_channel::<Result<Vec<Value>, DbError>>(4096);
    let other = after.reopen()?;
    let sql2 = sql.clone();
    std::thread::scope(|s| -> Result<(), DbError> {
        s.spawn(move || {
            let r = other.for_each(&sql2, &[], &mut |row| {
                tx.send(Ok(row.to_vec())).map_err(|_| DbError::Open {
                    target: String::new(),
                    message: "diff reader stopped".into(),
                })
            });
            if let Err(e) = r {
                let _ = tx.send(Err(e));
            }
        });
        let next_b = || -> Result<Option<Vec<Value>>, DbError> { rx.recv().ok().transpose() };
        let mut b = next_b()?;
        let example = |d: &mut TableDiff, text: String| {
            if d.examples.len() < limit {
                d.examples.push(text);
            }
        };
        before.for_each(&sql, &[], &mut |a| {
            loop {
                match &b {
                    Some(row_b) => {
                        let ord = key_of(a, &key)
                            .iter()
                            .zip(key_of(row_b, &key))
                            .map(|(x, y)| cmp_values(x, y))
                            .find(|o| o.is_ne())
                            .unwrap_or(Ordering::Equal);
                        match ord {
                            Ordering::Greater => {
                                d.inserted += 1;
                                example(
                                    &mut d,
                                    format!(
                                        "inserted {}: {}",
                                        show_key(&key, row_b),
                                        show_row(&names, row_b, skip)
                                    ),
                                );
                                b = next_b()?;
                            }
                            Ordering::Equal => {
                                if a != row_b.as_slice() {
                                    d.updated += 1;
                                    let changes: Vec<String> = names
                                        .iter()
                                        .zip(a.iter().zip(row_b.iter()))
                                        .skip(skip)
                                        .filter(|(_, (x, y))| x != y)
                                        .take(6)
                                        .map(|(n, (x, y))| format!("{n} {} → {}", show(x), show(y)))
                                        .collect();
                                    example(
                                        &mut d,
                                        format!(
                                            "updated {}: {}",
                                            show_key(&key, a),
                                            changes.join(", ")
                                        ),
                                    );
                                }
                                b = next_b()?;
                                return Ok(());
                            }
                            Ordering::Less => {
                                d.deleted += 1;
                                example(
                                    &mut d,
                                    format!(
                                        "deleted {}: {}",
                                        show_key(&key, a),
                                        show_row(&names, a, skip)
                                    ),
                                );
                                return Ok(());
                            }
                        }
                    }
                    None => {
                        d.deleted += 1;
                        example(
                            &mut d,
                            format!(
                                "deleted {}: {}",
                                show_key(&key, a),
                                show_row(&names, a, skip)
                            ),
                        );
                        return Ok(());
                    }
                }
            }
        })?;
        while let Some(row_b) = b {
            d.inserted += 1;
            example(
                &mut d,
                format!(
                    "inserted {}: {}",
                    show_key(&key, &row_b),
                    show_row(&names, &row_b, skip)
                ),
            );
            b = next_b()?;
        }
        Ok(())
    })?;
    Ok(d)
}
