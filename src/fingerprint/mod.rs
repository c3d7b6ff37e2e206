//! Logical content hashes, in the spirit of SQLite's dbhash: the schema, and every table's rows in
//! rowid (or primary key) order with their types, hashed. Two databases with the same fingerprint
//! hold the same data, whatever their page layout.

pub mod diff;

use std::collections::BTreeMap;

use rusqlite::types::ValueRef;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::{Db, DbError, DbExt, Value, as_i64, as_text};
use crate::sql::ident as q;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TableHash {
    pub rows: u64,
    pub max_rowid: Option<i64>,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Fingerprint {
    /// Hash of every schema row (type, name, table, SQL).
    pub schema: String,
    pub tables: BTreeMap<String, TableHash>,
}

impl Fingerprint {
    /// One sha256 for the whole database: its schema hash and every table's name and hash.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.schema.as_bytes());
        for (name, t) in &self.tables {
            h.update([0u8]);
            h.update(name.as_bytes());
            h.update([0u8]);
            h.update(t.sha256.as_bytes());
        }
        crate::backup::hex(&h.finalize())
    }

    /// Tables whose content differs (or that only one side has), and whether the schema differs.
    pub fn differences(&self, other: &Fingerprint) -> (bool, Vec<String>) {
        let mut names: Vec<&String> = self.tables.keys().chain(other.tables.keys()).collect();
        names.sort();
        names.dedup();
        let tables = names
            .into_iter()
            .filter(|n| self.tables.get(*n) != other.tables.get(*n))
            .cloned()
            .collect();
        (self.schema != other.schema, tables)
    }
}

/// How a table's rows are ordered and keyed.
#[derive(Debug, Clone, PartialEq)]
pub struct TableKey {
    /// `rowid` for rowid tables; the primary key columns for WITHOUT ROWID tables.
    pub key: Vec<String>,
    pub rowid: bool,
}

/// Tables with storage (not virtual), by name.
pub fn tables(db: &dyn Db) -> Result<Vec<String>, DbError> {
    Ok(db
        .query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
            &[],
        )?
        .into_iter()
        .filter_map(|r| as_text(&r[0]))
        .collect())
}

pub fn table_key(db: &dyn Db, table: &str) -> Result<TableKey, DbError> {
    let sql = db
        .query(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            &[Value::Text(table.into())],
        )?
        .into_iter()
        .next()
        .and_then(|r| as_text(&r[0]))
        .unwrap_or_default();
    let without_rowid = sql
        .to_ascii_uppercase()
        .replace(char::is_whitespace, "")
        .contains("WITHOUTROWID");
    if !without_rowid {
        return Ok(TableKey {
            key: vec!["rowid".into()],
            rowid: true,
        });
    }
    let mut pk: Vec<(i64, String)> = db
        .query(
            "SELECT pk, name FROM pragma_table_info(?1) WHERE pk > 0",
            &[Value::Text(table.into())],
        )?
        .into_iter()
        .filter_map(|r| Some((as_i64(&r[0])?, as_text(&r[1])?)))
        .collect();
    pk.sort();
    Ok(TableKey {
        key: pk.into_iter().map(|(_, n)| n).collect(),
        rowid: false,
    })
}

/// `SELECT key…, * FROM t [WHERE rowid <= ?] ORDER BY key…`
pub fn ordered_select(table: &str, key: &TableKey, max_rowid: Option<i64>) -> String {
    select_range(table, key, max_rowid.map(|m| (i64::MIN, m)))
}

/// `SELECT key…, * FROM t [WHERE rowid BETWEEN lo AND hi] ORDER BY key…`
fn select_range(table: &str, key: &TableKey, range: Option<(i64, i64)>) -> String {
    let keys: Vec<String> = key
        .key
        .iter()
        .map(|k| if key.rowid { "rowid".to_string() } else { q(k) })
        .collect();
    let filter = match (key.rowid, range) {
        (true, Some((lo, hi))) => format!(" WHERE rowid BETWEEN {lo} AND {hi}"),
        _ => String::new(),
    };
    format!(
        "SELECT {k}, * FROM {t}{filter} ORDER BY {k}",
        k = keys.join(", "),
        t = q(table)
    )
}

/// Visit every row of `table` (rowids in `range` when given) in key order: `key…, *`. On a
/// server that refuses large responses, in pages (by rowid, or by offset for a WITHOUT ROWID
/// table); the rows, and their order, are the same either way.
pub fn scan(
    db: &dyn Db,
    table: &str,
    key: &TableKey,
    range: Option<(i64, i64)>,
    f: &mut dyn FnMut(&[Value]) -> Result<(), DbError>,
) -> Result<(), DbError> {
    let Some(page) = db.page_rows() else {
        return db.for_each(&select_range(table, key, range), &[], f);
    };
    let (lo, hi) = range.unwrap_or((i64::MIN, i64::MAX));
    if key.rowid {
        // The first page starts at `lo` itself; later pages after the last rowid seen.
        let page_sql = |op: &str| {
            format!(
                "SELECT rowid, * FROM {} WHERE rowid {op} ?1 AND rowid <= ?2 ORDER BY rowid LIMIT {page}",
                q(table)
            )
        };
        let (first, next) = (page_sql(">="), page_sql(">"));
        let (mut sql, mut from) = (&first, lo);
        loop {
            let rows = db.query(sql, &[Value::Integer(from), Value::Integer(hi)])?;
            for r in &rows {
                f(r)?;
            }
            match rows.last().and_then(|r| as_i64(&r[0])) {
                Some(last) if rows.len() == page => (sql, from) = (&next, last),
                _ => return Ok(()),
            }
        }
    }
    let base = select_range(table, key, None);
    let mut offset = 0usize;
    loop {
        let rows = db.query(&format!("{base} LIMIT {page} OFFSET {offset}"), &[])?;
        for r in &rows {
            f(r)?;
        }
        if rows.len() < page {
            return Ok(());
        }
        offset += page;
    }
}

/// Typed encoding of one value into the hash.
fn feed(h: &mut Sha256, v: ValueRef<'_>) {
    match v {
        ValueRef::Null => h.update([0u8]),
        ValueRef::Integer(i) => {
            h.update([1u8]);
            h.update(i.to_le_bytes());
        }
        ValueRef::Real(f) => {
            h.update([2u8]);
            h.update(f.to_bits().to_le_bytes());
        }
        ValueRef::Text(t) => {
            h.update([3u8]);
            h.update((t.len() as u64).to_le_bytes());
            h.update(t);
        }
        ValueRef::Blob(b) => {
            h.update([4u8]);
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        }
    }
}

/// Rows per chunk of rowids: a table is hashed chunk by chunk (chunks on parallel connections),
/// and its hash is the hash of its chunks' digests in order.
pub const CHUNK: i64 = 1 << 19;

/// One chunk of a rowid table (rowids in `lo..=hi`), or the whole of a WITHOUT ROWID table.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    table: String,
    key: TableKey,
    range: Option<(i64, i64)>,
}

/// A part's rows, largest rowid, and digest.
type PartDigest = (u64, Option<i64>, [u8; 32]);

fn hash_part(db: &dyn Db, part: &Part) -> Result<PartDigest, DbError> {
    let sql = select_range(&part.table, &part.key, part.range);
    let mut h = Sha256::new();
    let mut rows = 0u64;
    let mut max = None;
    let rowid = part.key.rowid;
    if let Some(local) = db.as_local() {
        // the fast path: values straight from SQLite, no copies
        let conn = local.conn();
        let mut stmt = conn.prepare(&sql).map_err(|e| local.sql_error(&sql, e))?;
        let n = stmt.column_count();
        let mut it = stmt.query([]).map_err(|e| local.sql_error(&sql, e))?;
        while let Some(r) = it.next().map_err(|e| local.sql_error(&sql, e))? {
            h.update([0xffu8]);
            for i in 0..n {
                feed(&mut h, r.get_ref(i).map_err(|e| local.sql_error(&sql, e))?);
            }
            if rowid {
                max = r.get_ref(0).ok().and_then(|v| v.as_i64().ok());
            }
            rows += 1;
        }
    } else {
        scan(db, &part.table, &part.key, part.range, &mut |r| {
            h.update([0xffu8]);
            for v in r {
                feed(&mut h, ValueRef::from(v));
            }
            if rowid {
                max = as_i64(&r[0]);
            }
            rows += 1;
            Ok(())
        })?;
    }
    Ok((rows, max, h.finalize().into()))
}

/// The parts of a table: chunks of CHUNK rowids up to `max_rowid` (or the table's largest).
fn parts(db: &dyn Db, table: &str, max_rowid: Option<i64>) -> Result<Vec<Part>, DbError> {
    let key = table_key(db, table)?;
    if !key.rowid {
        return Ok(vec![Part {
            table: table.into(),
            key,
            range: None,
        }]);
    }
    let largest = db
        .scalar_i64(&format!("SELECT max(rowid) FROM {}", q(table)), &[])?
        .unwrap_or(0);
    let top = max_rowid.map_or(largest, |m| m.min(largest)).max(0);
    let first = db
        .scalar_i64(&format!("SELECT min(rowid) FROM {}", q(table)), &[])?
        .unwrap_or(1)
        .min(1);
    let mut out = Vec::new();
    let mut k = first.div_euclid(CHUNK);
    loop {
        let lo = (k * CHUNK).max(first);
        let hi = ((k + 1) * CHUNK - 1).min(top);
        out.push(Part {
            table: table.into(),
            key: key.clone(),
            range: Some((lo, hi)),
        });
        if hi >= top {
            break;
        }
        k += 1;
    }
    Ok(out)
}

fn combine(parts: Vec<PartDigest>) -> TableHash {
    let mut h = Sha256::new();
    let mut rows = 0;
    let mut max = None;
    for (n, m, digest) in parts {
        rows += n;
        max = m.or(max);
        h.update(digest);
    }
    TableHash {
        rows,
        max_rowid: max,
        sha256: crate::backup::hex(&h.finalize()),
    }
}

fn workers(db: &dyn Db) -> usize {
    if db.as_local().is_some() {
        crate::parallel::cores()
    } else {
        1
    }
}

/// Hash one table (only rows with rowid ≤ `max_rowid` when given).
pub fn hash_table(db: &dyn Db, table: &str, max_rowid: Option<i64>) -> Result<TableHash, DbError> {
    let parts = parts(db, table, max_rowid)?;
    let digests = crate::parallel::map(db, workers(db), parts, |db, p| hash_part(db, &p))?;
    Ok(combine(digests))
}

fn schema_hash(db: &dyn Db) -> Result<String, DbError> {
    let mut h = Sha256::new();
    for r in db.query(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name",
        &[],
    )? {
        h.update([0xffu8]);
        for v in &r {
            feed(&mut h, ValueRef::from(v));
        }
    }
    Ok(crate::backup::hex(&h.finalize()))
}

/// Fingerprint every table, spread over the available cores for a local file.
pub fn fingerprint(db: &dyn Db) -> Result<Fingerprint, DbError> {
    let schema = schema_hash(db)?;
    let mut all: Vec<Part> = Vec::new();
    for name in tables(db)? {
        all.extend(parts(db, &name, None)?);
    }
    // every part of every table in one queue: a big table's chunks spread over the workers
    let names: Vec<String> = all.iter().map(|p| p.table.clone()).collect();
    let digests = crate::parallel::map(db, workers(db), all, |db, p| hash_part(db, &p))?;
    let mut tables: BTreeMap<String, Vec<PartDigest>> = BTreeMap::new();
    for (name, d) in names.into_iter().zip(digests) {
        tables.entry(name).or_default().push(d);
    }
    Ok(Fingerprint {
        schema,
        tables: tables
            .into_iter()
            .map(|(n, parts)| (n, combine(parts)))
            .collect(),
    })
}

/// Row count of every table, by name.
pub fn table_counts(db: &dyn Db) -> Result<BTreeMap<String, i64>, DbError> {
    tables(db)?
        .into_iter()
        .map(|t| {
            let n = count_rows(db, &t)?;
            Ok((t, n))
        })
        .collect()
}

/// Row count of a table (for reports).
pub fn count_rows(db: &dyn Db, table: &str) -> Result<i64, DbError> {
    Ok(db
        .scalar_i64(&format!("SELECT count(*) FROM {}", q(table)), &[])?
        .unwrap_or(0))
}
