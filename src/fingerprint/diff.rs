//! Row-level differences between two databases, table by table: rows inserted, updated and
//! deleted, keyed by rowid (or primary key), with examples; and the schema objects that appeared,
//! vanished or changed. Tables whose fingerprints agree are not read again. Rows are compared by
//! column name, so a column added or dropped shows as such (an absent column reads as NULL).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::mpsc;

use serde::Serialize;

use super::{Fingerprint, TableKey, fingerprint, table_key};
use crate::db::{Db, DbError, DbExt, Value, as_text, show};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TableDiff {
    pub table: String,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub columns_added: Vec<String>,
    pub columns_removed: Vec<String>,
    /// Up to `limit` examples, by key.
    pub examples: Vec<String>,
}

impl TableDiff {
    pub fn changed(&self) -> bool {
        self.inserted + self.updated + self.deleted > 0
            || !self.columns_added.is_empty()
            || !self.columns_removed.is_empty()
    }

    pub fn rows(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }
}

/// A schema object (table, index, view, trigger) that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchemaChange {
    pub kind: String,
    pub name: String,
    pub table: String,
    /// "new", "gone" or "changed".
    pub change: String,
}

impl std::fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.change.as_str() {
            "new" => write!(f, "{} {} (on {}) is new", self.kind, self.name, self.table),
            "gone" => write!(f, "{} {} (on {}) is gone", self.kind, self.name, self.table),
            _ => write!(f, "{} {} (on {}) changed", self.kind, self.name, self.table),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DbDiff {
    pub schema: Vec<SchemaChange>,
    /// Tables that differ (tables only one side has included), by name.
    pub tables: Vec<TableDiff>,
}

impl DbDiff {
    pub fn is_empty(&self) -> bool {
        self.schema.is_empty() && self.tables.is_empty()
    }

    /// How many differences (schema objects, rows, columns) and up to `limit` examples:
    /// schema changes first, then rows, each named by its table.
    pub fn summary(&self, limit: usize) -> (u64, Vec<String>) {
        let mut ex: Vec<String> = self.schema.iter().map(|c| c.to_string()).collect();
        let mut n = self.schema.len() as u64;
        for t in &self.tables {
            n += t.rows() + t.columns_added.len() as u64 + t.columns_removed.len() as u64;
            ex.extend(t.examples.iter().map(|e| format!("{}: {e}", t.table)));
        }
        ex.truncate(limit);
        (n, ex)
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
    let cols_b = before.columns(table)?;
    let cols_a = after.columns(table)?;
    let mut names_b: Vec<String> = key.key.clone();
    names_b.extend(cols_b.iter().cloned());
    let mut names_a: Vec<String> = key.key.clone();
    names_a.extend(cols_a.iter().cloned());
    let skip = key.key.len();
    // compare by name: for each column of either side, where it sits in each row
    let mut union: Vec<String> = cols_b.clone();
    union.extend(cols_a.iter().filter(|c| !cols_b.contains(c)).cloned());
    let at = |names: &[String], c: &str| {
        names
            .iter()
            .skip(skip)
            .position(|n| n == c)
            .map(|i| i + skip)
    };
    let pairs: Vec<(String, Option<usize>, Option<usize>)> = union
        .iter()
        .map(|c| (c.clone(), at(&names_b, c), at(&names_a, c)))
        .collect();
    let mut d = TableDiff {
        table: table.to_string(),
        columns_added: cols_a
            .iter()
            .filter(|c| !cols_b.contains(c))
            .cloned()
            .collect(),
        columns_removed: cols_b
            .iter()
            .filter(|c| !cols_a.contains(c))
            .cloned()
            .collect(),
        ..TableDiff::default()
    };
    let range = max_rowid.map(|m| (i64::MIN, m));
    // `after` is read on another thread and merged here, both in key order
    let (tx, rx) = mpsc::sync_channel::<Result<Vec<Value>, DbError>>(4096);
    let other = after.reopen()?;
    let key_a = key.clone();
    std::thread::scope(|s| -> Result<(), DbError> {
        s.spawn(move || {
            let r = super::scan(other.as_ref(), table, &key_a, range, &mut |row| {
                tx.send(Ok(row.to_vec())).map_err(|_| DbError::Open {
                    target: String::new(),
                    message: "diff reader stopped".into(),
                })
            });
            if let Err(e) = r {
                let _ = tx.send(Err(e));
            }
        });
        let next_after = || -> Result<Option<Vec<Value>>, DbError> { rx.recv().ok().transpose() };
        let mut new = next_after()?;
        let note = |d: &mut TableDiff, what: &str, row: &[Value], names: &[String]| {
            if d.examples.len() < limit {
                d.examples.push(format!(
                    "{what} {}: {}",
                    show_key(&key, row),
                    show_row(names, row, skip)
                ));
            }
        };
        let null = Value::Null;
        super::scan(before, table, &key, range, &mut |old| loop {
            // a row of `before` sorting before the next row of `after` (or after all of them)
            // is gone; a row of `after` sorting before it is new
            let ord = new.as_ref().map_or(Ordering::Less, |n| {
                old[..skip]
                    .iter()
                    .zip(&n[..skip])
                    .map(|(x, y)| cmp_values(x, y))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            });
            let Some(row) = new.as_ref().filter(|_| ord.is_ge()) else {
                d.deleted += 1;
                note(&mut d, "deleted", old, &names_b);
                return Ok(());
            };
            if ord.is_gt() {
                d.inserted += 1;
                note(&mut d, "inserted", row, &names_a);
                new = next_after()?;
                continue;
            }
            let changes: Vec<String> = pairs
                .iter()
                .filter_map(|(name, ib, ia)| {
                    let x = ib.map_or(&null, |i| &old[i]);
                    let y = ia.map_or(&null, |i| &row[i]);
                    (x != y).then(|| format!("{name} {} → {}", show(x), show(y)))
                })
                .collect();
            if !changes.is_empty() {
                d.updated += 1;
                if d.examples.len() < limit {
                    d.examples.push(format!(
                        "updated {}: {}",
                        show_key(&key, old),
                        changes.into_iter().take(6).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            new = next_after()?;
            return Ok(());
        })?;
        while let Some(row) = new {
            d.inserted += 1;
            note(&mut d, "inserted", &row, &names_a);
            new = next_after()?;
        }
        Ok(())
    })?;
    Ok(d)
}

/// (type, name) → (table, SQL) of every schema object.
type SchemaObjects = BTreeMap<(String, String), (String, String)>;

fn schema_objects(db: &dyn Db) -> Result<SchemaObjects, DbError> {
    Ok(db
        .query(
            "SELECT type, name, tbl_name, ifnull(sql, '') FROM sqlite_schema",
            &[],
        )?
        .into_iter()
        .filter_map(|r| {
            Some((
                (as_text(&r[0])?, as_text(&r[1])?),
                (
                    as_text(&r[2]).unwrap_or_default(),
                    as_text(&r[3]).unwrap_or_default(),
                ),
            ))
        })
        .collect())
}

/// Every difference between two databases, given their fingerprints.
pub fn diff_databases(
    before: &dyn Db,
    after: &dyn Db,
    fp_before: &Fingerprint,
    fp_after: &Fingerprint,
    limit: usize,
) -> Result<DbDiff, DbError> {
    let mut out = DbDiff::default();
    if fp_before.schema != fp_after.schema {
        let (a, b) = (schema_objects(before)?, schema_objects(after)?);
        for (k, (table, sql)) in &a {
            match b.get(k) {
                None => out.schema.push(SchemaChange {
                    kind: k.0.clone(),
                    name: k.1.clone(),
                    table: table.clone(),
                    change: "gone".into(),
                }),
                Some((_, sql2)) if sql2 != sql => out.schema.push(SchemaChange {
                    kind: k.0.clone(),
                    name: k.1.clone(),
                    table: table.clone(),
                    change: "changed".into(),
                }),
                _ => {}
            }
        }
        for (k, (table, _)) in &b {
            if !a.contains_key(k) {
                out.schema.push(SchemaChange {
                    kind: k.0.clone(),
                    name: k.1.clone(),
                    table: table.clone(),
                    change: "new".into(),
                });
            }
        }
    }
    let (_, tables) = fp_before.differences(fp_after);
    for t in tables {
        let d = match (fp_before.tables.get(&t), fp_after.tables.get(&t)) {
            (Some(_), Some(_)) => diff_table(before, after, &t, None, limit)?,
            (Some(h), None) => TableDiff {
                table: t.clone(),
                deleted: h.rows,
                examples: vec![format!("table {t} is gone ({} rows)", h.rows)],
                ..TableDiff::default()
            },
            (None, Some(h)) => TableDiff {
                table: t.clone(),
                inserted: h.rows,
                examples: vec![format!("table {t} is new ({} rows)", h.rows)],
                ..TableDiff::default()
            },
            (None, None) => continue,
        };
        out.tables.push(d);
    }
    Ok(out)
}

/// Fingerprint both sides, then diff them.
pub fn diff(before: &dyn Db, after: &dyn Db, limit: usize) -> Result<DbDiff, DbError> {
    let (a, b) = (fingerprint(before)?, fingerprint(after)?);
    diff_databases(before, after, &a, &b, limit)
}
