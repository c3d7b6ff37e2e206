//! Row-level differences between two databases, table by table: rows inserted, updated and
//! deleted, with examples; and the schema objects that appeared, vanished or changed. Tables whose
//! fingerprints agree are not read again. Rows are compared by column name, so a column added or
//! dropped shows as such (an absent column reads as NULL).
//!
//! Rows are matched by a key that survives a table rebuild: the rowid where it is the table's
//! INTEGER PRIMARY KEY, else the declared primary key, `name` in `sqlite_sequence`; a table with
//! none of these (its rowids are renumbered by a copy) is compared by content, as a multiset of
//! rows. Schema objects are compared by their normalised SQL (quoting, whitespace, keyword case:
//! `ALTER TABLE … RENAME` writes `CREATE TABLE "posts"` for `CREATE TABLE posts`), and a real
//! change comes with a line diff of the two definitions.
//!
//! A table with a composite primary or unique key (`point_info (system_id, id)`) names its rows
//! by that key in examples, whatever key matches them, and its changed rows are counted by the
//! key's leading column (`5 updated in systems 1, 2, 3, 5, 6`): ids that repeat in every system
//! show which systems a change reached.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::mpsc;

use serde::Serialize;

use super::{Fingerprint, TableKey, fingerprint, table_key};
use crate::db::{Db, DbError, DbExt, Value, as_i64, as_text, show};
use crate::migrate::expect::{NEW_SHELL_DIGITS, SHELL_DIGITS, shell_real};
use crate::migrate::script::{tokens, unquote, without_comments};
use crate::report::Example;
use crate::sql::ident as q;

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct TableDiff {
    pub table: String,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub columns_added: Vec<String>,
    pub columns_removed: Vec<String>,
    /// Up to `limit` examples, by key.
    pub examples: Vec<RowExample>,
    /// Changed rows counted by the leading column of the table's composite key, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<Spread>,
}

/// A column and its value as the sqlite3 shell prints it.
pub type Shown = (String, String);

/// One example of a table's differences: a row inserted, deleted or updated, or the whole table
/// new or gone. Values as the sqlite3 shell prints them (REALs with 15 significant digits, or 17
/// where 15 would print a change as none).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowExample {
    /// A row inserted or deleted: its key and the columns shown beside it (`key` absent: rows
    /// are matched by content), and its other columns (at most 8).
    Row {
        change: RowChange,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<Vec<Shown>>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        context: Vec<Shown>,
        columns: Vec<Shown>,
    },
    /// A row updated: its key, the columns shown beside it, and the columns that changed (at
    /// most 6): `[column, before, after]`.
    Updated {
        key: Vec<Shown>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        context: Vec<Shown>,
        changes: Vec<(String, String, String)>,
    },
    /// The table is gone, with its rows.
    TableGone { table: String, rows: u64 },
    /// The table is new, with its rows.
    TableNew { table: String, rows: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowChange {
    Inserted,
    Deleted,
}

/// Changed rows counted by the value of one column (the leading column of a composite key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Spread {
    pub column: String,
    /// One entry per value, in SQLite's order of the values.
    pub groups: Vec<SpreadGroup>,
    /// Distinct values not kept (beyond `MAX_GROUPS`).
    pub more: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SpreadGroup {
    /// The value as the sqlite3 shell prints it (text without quotes).
    pub value: String,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

/// Distinct values a spread keeps.
const MAX_GROUPS: usize = 10_000;

impl Spread {
    /// The first `shown` values, and how many in all.
    pub fn shown(&self, shown: usize) -> crate::report::SpreadShown {
        crate::report::SpreadShown {
            column: self.column.clone(),
            values: self.values().take(shown).map(String::from).collect(),
            total: self.groups.len() as u64 + self.more,
        }
    }

    /// "systems 1, 2, 3" (or "system 6") for `system_id`, "kind a, b" for `kind`; at most
    /// `shown` values.
    pub fn describe(&self, shown: usize) -> String {
        let one = self.groups.len() == 1 && self.more == 0;
        let label = match self.column.strip_suffix("_id") {
            Some(stem) if !stem.is_empty() && one => stem.to_string(),
            Some(stem) if !stem.is_empty() => format!("{stem}s"),
            _ => self.column.clone(),
        };
        let mut values: Vec<&str> = self
            .groups
            .iter()
            .take(shown)
            .map(|g| g.value.as_str())
            .collect();
        let total = self.groups.len() as u64 + self.more;
        let tail = if total > values.len() as u64 {
            values.push("…");
            format!(" ({total} in all)")
        } else {
            String::new()
        };
        format!("{label} {}{tail}", values.join(", "))
    }

    /// The values, as shown.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|g| g.value.as_str())
    }
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

    /// " in systems 1, 2, 3" when the changed rows are counted by a composite key's leading
    /// column, else nothing.
    pub fn spread_text(&self) -> String {
        match &self.spread {
            Some(s) if !s.groups.is_empty() => format!(" in {}", s.describe(8)),
            _ => String::new(),
        }
    }
}

/// What a diff shows beyond its counts.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Examples per table.
    pub limit: usize,
    /// Per table, columns shown beside each example's key: the columns a script filtered on.
    pub context: BTreeMap<String, Vec<String>>,
}

impl DiffOptions {
    pub fn limit(limit: usize) -> DiffOptions {
        DiffOptions {
            limit,
            ..DiffOptions::default()
        }
    }
}

/// A schema object (table, index, view, trigger) that differs.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SchemaChange {
    pub kind: String,
    pub name: String,
    pub table: String,
    /// "new", "gone" or "changed".
    pub change: String,
    /// For a changed object: the lines of its definition that differ, `- before` and `+ after`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
}

impl std::fmt::Display for SchemaChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::report::render::phrase::schema_change(self))
    }
}

/// A schema object's SQL token by token: comments and whitespace gone, keywords and identifiers
/// lowercased (SQLite's names are case-insensitive), identifiers unquoted when plain; string
/// literals as written. Two definitions SQLite reads the same way normalise to the same tokens.
fn normal_tokens(sql: &str, fold: bool) -> Vec<String> {
    let code = without_comments(sql);
    tokens(&code)
        .into_iter()
        .map(|t| {
            if t.starts_with('\'') {
                return t.to_string();
            }
            let ident = if matches!(t.as_bytes()[0], b'"' | b'`' | b'[') {
                unquote(t)
            } else {
                t.to_string()
            };
            let plain = ident
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && ident
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
            let shown = if plain || t.len() == ident.len() {
                ident
            } else {
                format!("\"{}\"", ident.replace('"', "\"\""))
            };
            if fold {
                shown.to_ascii_lowercase()
            } else {
                shown
            }
        })
        .collect()
}

/// Normalised SQL: equal for definitions that differ only in quoting, whitespace, comments or
/// the case of keywords and names.
pub fn normalize_sql(sql: &str) -> String {
    normal_tokens(sql, true).join(" ")
}

/// A normalised definition in lines for a diff: a break after the opening parenthesis and after
/// every comma at the first level inside it (a table's columns, one a line).
fn definition_lines(sql: &str, fold: bool) -> Vec<String> {
    let mut lines = vec![String::new()];
    let mut depth = 0;
    for t in normal_tokens(sql, fold) {
        let line = lines.last_mut().expect("a line");
        match t.as_str() {
            "(" => {
                depth += 1;
                line.push_str(&t);
                if depth == 1 {
                    lines.push(String::new());
                }
                continue;
            }
            ")" => {
                depth -= 1;
                if depth == 0 {
                    lines.push(t);
                    continue;
                }
            }
            "," if depth == 1 => {
                line.push(',');
                lines.push(String::new());
                continue;
            }
            _ => {}
        }
        let line = lines.last_mut().expect("a line");
        let glue = !(line.is_empty()
            || line.ends_with('(')
            || line.ends_with('.')
            || matches!(t.as_str(), "," | ")" | ";" | "."));
        if glue {
            line.push(' ');
        }
        line.push_str(&t);
    }
    lines.retain(|l| !l.trim().is_empty());
    lines
}

/// The lines of two definitions that differ: `- line` from before, `+ line` from after
/// (compared without case, shown as written).
pub fn definition_diff(before: &str, after: &str) -> Vec<String> {
    use similar::{Algorithm, DiffOp, capture_diff_slices};
    let (a, b) = (
        definition_lines(before, false),
        definition_lines(after, false),
    );
    // compared without the comma that ends a line: a column added at the end puts one after
    // the line before it, which is not a change of that line
    let bare = |sql: &str| -> Vec<String> {
        definition_lines(sql, true)
            .into_iter()
            .map(|l| l.trim_end_matches(',').to_string())
            .collect()
    };
    let (fa, fb) = (bare(before), bare(after));
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, &fa, &fb) {
        let (old, new) = match op {
            DiffOp::Equal { .. } => continue,
            DiffOp::Delete {
                old_index, old_len, ..
            } => (old_index..old_index + old_len, 0..0),
            DiffOp::Insert {
                new_index, new_len, ..
            } => (0..0, new_index..new_index + new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (
                old_index..old_index + old_len,
                new_index..new_index + new_len,
            ),
        };
        removed.extend(old);
        added.extend(new);
    }
    // a line removed in one place and added unchanged in another moved (columns reordered)
    let mut moved = std::collections::BTreeSet::new();
    for &j in &added {
        if let Some(&i) = removed
            .iter()
            .find(|&&i| fa[i] == fb[j] && !moved.contains(&i))
        {
            moved.insert(i);
        }
    }
    let mut out: Vec<String> = removed
        .iter()
        .filter(|i| !moved.contains(i))
        .map(|&i| format!("- {}", a[i].trim_end_matches(',')))
        .collect();
    let mut taken = std::collections::BTreeSet::new();
    for &j in &added {
        let was = removed
            .iter()
            .find(|&&i| moved.contains(&i) && fa[i] == fb[j] && !taken.contains(&i));
        match was {
            Some(&i) => {
                taken.insert(i);
                out.push(format!("~ {} (moved)", b[j].trim_end_matches(',')));
            }
            None => out.push(format!("+ {}", b[j].trim_end_matches(','))),
        }
    }
    out
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
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
    pub fn summary(&self, limit: usize) -> (u64, Vec<Example>) {
        let mut ex: Vec<Example> = self
            .schema
            .iter()
            .map(|c| Example::Schema { change: c.clone() })
            .collect();
        let mut n = self.schema.len() as u64;
        for t in &self.tables {
            n += t.rows() + t.columns_added.len() as u64 + t.columns_removed.len() as u64;
            ex.extend(t.examples.iter().map(|e| Example::Row {
                table: Some(t.table.clone()),
                row: e.clone(),
            }));
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

/// A value in an example: a REAL as the sqlite3 shell prints it (15 significant digits).
fn shown(v: &Value) -> String {
    match v {
        Value::Real(f) => shell_real(*f, SHELL_DIGITS),
        other => show(other),
    }
}

/// Two values that differ, each as the shell prints it; with 17 digits when 15 would print
/// them the same (an example never shows a change as `86.9 → 86.9`).
fn shown_pair(x: &Value, y: &Value) -> (String, String) {
    let (a, b) = (shown(x), shown(y));
    if a != b {
        return (a, b);
    }
    let long = |v: &Value| match v {
        Value::Real(f) => shell_real(*f, NEW_SHELL_DIGITS),
        other => show(other),
    };
    (long(x), long(y))
}

fn show_key(key: &TableKey, row: &[Value]) -> Vec<Shown> {
    key.key
        .iter()
        .zip(row)
        .map(|(k, v)| (k.clone(), shown(v)))
        .collect()
}

fn show_row(names: &[String], row: &[Value], skip: usize) -> Vec<Shown> {
    names
        .iter()
        .zip(row.iter())
        .skip(skip)
        .take(8)
        .map(|(n, v)| (n.clone(), shown(v)))
        .collect()
}

/// How the rows of a table are matched between two states.
#[derive(Debug, Clone, PartialEq)]
pub enum RowKey {
    /// The rowid is the table's INTEGER PRIMARY KEY: stable through copies.
    Rowid,
    /// Unique columns: a declared primary key, `name` in `sqlite_sequence`.
    Columns(Vec<String>),
    /// No stable key (a rowid table without INTEGER PRIMARY KEY, whose rowids a copy renumbers):
    /// rows are compared by content, as a multiset, on these columns.
    Content(Vec<String>),
}

/// The key that matches the rows of `table` in `before` with those in `after` (`common`: the
/// columns both sides have).
pub fn row_key(before: &dyn Db, table: &str, common: &[String]) -> Result<RowKey, DbError> {
    let has_all = |cols: &[String]| cols.iter().all(|c| common.contains(c));
    if table == "sqlite_sequence" && has_all(&["name".to_string()]) {
        return Ok(RowKey::Columns(vec!["name".into()]));
    }
    let tk = table_key(before, table)?;
    if !tk.rowid {
        return Ok(if has_all(&tk.key) {
            RowKey::Columns(tk.key)
        } else {
            RowKey::Content(common.to_vec())
        });
    }
    let mut pk: Vec<(i64, String, String)> = before
        .query(
            "SELECT pk, name, type FROM pragma_table_info(?1) WHERE pk > 0",
            &[Value::Text(table.into())],
        )?
        .into_iter()
        .filter_map(|r| {
            Some((
                as_i64(&r[0])?,
                as_text(&r[1])?,
                as_text(&r[2]).unwrap_or_default(),
            ))
        })
        .collect();
    pk.sort();
    Ok(match pk.as_slice() {
        [(_, _, ty)] if ty.eq_ignore_ascii_case("INTEGER") => RowKey::Rowid,
        [] => RowKey::Content(common.to_vec()),
        cols => {
            let names: Vec<String> = cols.iter().map(|c| c.1.clone()).collect();
            if has_all(&names) {
                RowKey::Columns(names)
            } else {
                RowKey::Content(common.to_vec())
            }
        }
    })
}

/// Every key of `table` that makes a row unique: its primary key (the rowid alias included) and
/// each full unique index or constraint, column names in key order (expression and partial
/// indexes left out).
pub fn unique_keys(db: &dyn Db, table: &str) -> Result<Vec<Vec<String>>, DbError> {
    let t = [Value::Text(table.into())];
    let mut pk: Vec<(i64, String)> = db
        .query(
            "SELECT pk, name FROM pragma_table_info(?1) WHERE pk > 0",
            &t,
        )?
        .into_iter()
        .filter_map(|r| Some((as_i64(&r[0])?, as_text(&r[1])?)))
        .collect();
    pk.sort();
    let mut keys: Vec<Vec<String>> = Vec::new();
    if !pk.is_empty() {
        keys.push(pk.into_iter().map(|(_, n)| n).collect());
    }
    let rows = db.query(
        "SELECT il.name, ii.seqno, ii.name FROM pragma_index_list(?1) AS il \
           JOIN pragma_index_info(il.name) AS ii \
          WHERE il.\"unique\" AND NOT il.partial ORDER BY il.name, ii.seqno",
        &t,
    )?;
    let mut by_index: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for r in rows {
        if let Some(name) = as_text(&r[0]) {
            by_index.entry(name).or_default().push(as_text(&r[2]));
        }
    }
    for cols in by_index.into_values() {
        // an expression column has no name
        if let Some(cols) = cols.into_iter().collect::<Option<Vec<String>>>()
            && !keys.contains(&cols)
        {
            keys.push(cols);
        }
    }
    Ok(keys)
}

/// The composite key (two columns or more) that names a table's rows to a reader: the primary
/// key when it is composite, else the shortest unique key whose leading column is a foreign key
/// (a partition such as `system_id`); None otherwise (a rowid table keyed by its own id, or by
/// a unique pair of plain columns, is still named by its rowid).
pub fn composite_key(db: &dyn Db, table: &str) -> Result<Option<Vec<String>>, DbError> {
    let keys = unique_keys(db, table)?;
    let pk_composite = db
        .query(
            "SELECT count(*) FROM pragma_table_info(?1) WHERE pk > 0",
            &[Value::Text(table.into())],
        )?
        .first()
        .and_then(|r| as_i64(&r[0]))
        .unwrap_or(0)
        > 1;
    if pk_composite {
        return Ok(keys.into_iter().next());
    }
    let fk_columns: Vec<String> = db
        .query(
            "SELECT \"from\" FROM pragma_foreign_key_list(?1)",
            &[Value::Text(table.into())],
        )?
        .into_iter()
        .filter_map(|r| as_text(&r[0]))
        .collect();
    let mut composite: Vec<Vec<String>> = keys
        .into_iter()
        .filter(|k| k.len() > 1 && fk_columns.contains(&k[0]))
        .collect();
    composite.sort_by_key(Vec::len);
    Ok(composite.into_iter().next())
}

/// Visit the rows of `table` in the order of `keys` (binary collation, as the merge compares):
/// `keys…, *` when `all`, else the key columns only; rows with rowid ≤ `max_rowid` when given.
fn scan_ordered(
    db: &dyn Db,
    table: &str,
    keys: &[String],
    all: bool,
    max_rowid: Option<i64>,
    f: &mut dyn FnMut(&[Value]) -> Result<(), DbError>,
) -> Result<(), DbError> {
    let cols: Vec<String> = keys.iter().map(|k| q(k)).collect();
    let order: Vec<String> = cols.iter().map(|c| format!("{c} COLLATE BINARY")).collect();
    let filter = max_rowid.map_or(String::new(), |m| format!(" WHERE rowid <= {m}"));
    let base = format!(
        "SELECT {}{} FROM {}{filter} ORDER BY {}",
        cols.join(", "),
        if all { ", *" } else { "" },
        q(table),
        order.join(", ")
    );
    let Some(page) = db.page_rows() else {
        return db.for_each(&base, &[], f);
    };
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

/// Differences in `table` from `before` to `after` (rows with rowid ≤ `max_rowid` when given).
pub fn diff_table(
    before: &dyn Db,
    after: &dyn Db,
    table: &str,
    max_rowid: Option<i64>,
    limit: usize,
) -> Result<TableDiff, DbError> {
    diff_table_with(before, after, table, max_rowid, &DiffOptions::limit(limit))
}

/// Changed rows counted by the value of one column, on both sides of a diff.
struct Tally {
    column: String,
    /// Where the column sits in a row of `before` and of `after`.
    at_before: Option<usize>,
    at_after: Option<usize>,
    groups: std::collections::HashMap<String, (Value, [u64; 3])>,
    more: u64,
}

impl Tally {
    /// Count a row: slot 0 inserted, 1 updated, 2 deleted (rows of `before` for 1 and 2).
    fn add(&mut self, row: &[Value], slot: usize) {
        let at = if slot == 0 {
            self.at_after
        } else {
            self.at_before
        };
        let Some(v) = at.and_then(|i| row.get(i)) else {
            return;
        };
        let shown = crate::migrate::expect::shell_value(v);
        if let Some(g) = self.groups.get_mut(&shown) {
            g.1[slot] += 1;
        } else if self.groups.len() < MAX_GROUPS {
            let mut n = [0; 3];
            n[slot] = 1;
            self.groups.insert(shown, (v.clone(), n));
        } else {
            self.more += 1;
        }
    }

    fn finish(self) -> Spread {
        let mut groups: Vec<(Value, String, [u64; 3])> = self
            .groups
            .into_iter()
            .map(|(k, (v, n))| (v, k, n))
            .collect();
        groups.sort_by(|a, b| cmp_values(&a.0, &b.0).then_with(|| a.1.cmp(&b.1)));
        Spread {
            column: self.column,
            groups: groups
                .into_iter()
                .map(|(_, value, n)| SpreadGroup {
                    value,
                    inserted: n[0],
                    updated: n[1],
                    deleted: n[2],
                })
                .collect(),
            more: self.more,
        }
    }
}

/// Differences in `table` from `before` to `after` (rows with rowid ≤ `max_rowid` when given),
/// with examples named by the table's composite key and the context columns `opts` gives.
pub fn diff_table_with(
    before: &dyn Db,
    after: &dyn Db,
    table: &str,
    max_rowid: Option<i64>,
    opts: &DiffOptions,
) -> Result<TableDiff, DbError> {
    let limit = opts.limit;
    let cols_b = before.columns(table)?;
    let cols_a = after.columns(table)?;
    let common: Vec<String> = cols_b
        .iter()
        .filter(|c| cols_a.contains(c))
        .cloned()
        .collect();
    let row_key = row_key(before, table, &common)?;
    // the key's columns first in every row, then (except by content) every column
    let (key_names, all, rowid_key) = match &row_key {
        RowKey::Rowid => (vec!["rowid".to_string()], true, true),
        RowKey::Columns(k) => (k.clone(), true, false),
        RowKey::Content(c) => (c.clone(), false, false),
    };
    let key = TableKey {
        key: key_names.clone(),
        rowid: rowid_key,
    };
    let skip = key.key.len();
    let mut names_b: Vec<String> = key.key.clone();
    let mut names_a: Vec<String> = key.key.clone();
    if all {
        names_b.extend(cols_b.iter().cloned());
        names_a.extend(cols_a.iter().cloned());
    }
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
    let pairs: Vec<(String, Option<usize>, Option<usize>)> = if all {
        union
            .iter()
            .map(|c| (c.clone(), at(&names_b, c), at(&names_a, c)))
            .collect()
    } else {
        Vec::new()
    };
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
    // where a column sits in a row: after the key columns, or among them (by content)
    let locate = |names: &[String], c: &str| {
        if all {
            at(names, c)
        } else {
            names.iter().position(|n| n == c)
        }
    };
    // rows are named by the composite key a reader knows them by, whatever key matches them
    let display = composite_key(before, table)?.filter(|k| k.iter().all(|c| common.contains(c)));
    let named_by: Option<Vec<String>> = display
        .clone()
        .filter(|d| !matches!(&row_key, RowKey::Columns(k) if k == d));
    let context: Vec<String> = opts
        .context
        .get(table)
        .map(|cs| {
            cs.iter()
                .filter(|c| {
                    common.contains(c)
                        && !display.as_ref().is_some_and(|d| d.contains(c))
                        && !key.key.contains(c)
                })
                .take(3)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    // a row's key, and the context columns shown beside it
    let key_of = |row: &[Value], names: &[String]| -> (Vec<Shown>, Vec<Shown>) {
        let cols = |cs: &[String]| -> Vec<Shown> {
            cs.iter()
                .filter_map(|c| locate(names, c).map(|i| (c.clone(), shown(&row[i]))))
                .collect()
        };
        let k = match &named_by {
            Some(k) => cols(k),
            None => show_key(&key, row),
        };
        (k, cols(&context))
    };
    let mut tally = display.as_ref().map(|d| Tally {
        column: d[0].clone(),
        at_before: locate(&names_b, &d[0]),
        at_after: locate(&names_a, &d[0]),
        groups: Default::default(),
        more: 0,
    });
    let range = max_rowid.map(|m| (i64::MIN, m));
    // a WITHOUT ROWID table has no rowid to bound
    let max_rowid = if table_key(before, table)?.rowid {
        max_rowid
    } else {
        None
    };
    let scan = |db: &dyn Db, f: &mut dyn FnMut(&[Value]) -> Result<(), DbError>| {
        if rowid_key {
            super::scan(db, table, &key, range, f)
        } else {
            scan_ordered(db, table, &key.key, all, max_rowid, f)
        }
    };
    // by content, a row is shown whole; otherwise by its key, then its other columns
    let (show_from, by_content) = if all { (skip, false) } else { (0, true) };
    // `after` is read on another thread and merged here, both in key order
    let (tx, rx) = mpsc::sync_channel::<Result<Vec<Value>, DbError>>(4096);
    let other = after.reopen()?;
    std::thread::scope(|s| -> Result<(), DbError> {
        s.spawn(move || {
            let r = scan(other.as_ref(), &mut |row| {
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
        let note = |d: &mut TableDiff, change: RowChange, row: &[Value], names: &[String]| {
            if d.examples.len() < limit {
                let (key, context) = if by_content {
                    (None, Vec::new())
                } else {
                    let (k, c) = key_of(row, names);
                    (Some(k), c)
                };
                d.examples.push(RowExample::Row {
                    change,
                    key,
                    context,
                    columns: show_row(names, row, show_from),
                });
            }
        };
        let mut count = |row: &[Value], slot: usize| {
            if let Some(t) = tally.as_mut() {
                t.add(row, slot);
            }
        };
        let null = Value::Null;
        scan(before, &mut |old| loop {
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
                count(old, 2);
                note(&mut d, RowChange::Deleted, old, &names_b);
                return Ok(());
            };
            if ord.is_gt() {
                d.inserted += 1;
                count(row, 0);
                note(&mut d, RowChange::Inserted, row, &names_a);
                new = next_after()?;
                continue;
            }
            let changes: Vec<(String, String, String)> = pairs
                .iter()
                .filter_map(|(name, ib, ia)| {
                    let x = ib.map_or(&null, |i| &old[i]);
                    let y = ia.map_or(&null, |i| &row[i]);
                    (x != y).then(|| {
                        let (a, b) = shown_pair(x, y);
                        (name.clone(), a, b)
                    })
                })
                .collect();
            if !changes.is_empty() {
                d.updated += 1;
                count(old, 1);
                if d.examples.len() < limit {
                    let (key, context) = key_of(old, &names_b);
                    d.examples.push(RowExample::Updated {
                        key,
                        context,
                        changes: changes.into_iter().take(6).collect(),
                    });
                }
            }
            new = next_after()?;
            return Ok(());
        })?;
        while let Some(row) = new {
            d.inserted += 1;
            count(&row, 0);
            note(&mut d, RowChange::Inserted, &row, &names_a);
            new = next_after()?;
        }
        Ok(())
    })?;
    d.spread = tally.map(Tally::finish).filter(|s| !s.groups.is_empty());
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
    diff_databases_with(
        before,
        after,
        fp_before,
        fp_after,
        &DiffOptions::limit(limit),
    )
}

/// The same, with examples named as `opts` says.
pub fn diff_databases_with(
    before: &dyn Db,
    after: &dyn Db,
    fp_before: &Fingerprint,
    fp_after: &Fingerprint,
    opts: &DiffOptions,
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
                    diff: Vec::new(),
                }),
                Some((_, sql2)) if normalize_sql(sql2) != normalize_sql(sql) => {
                    out.schema.push(SchemaChange {
                        kind: k.0.clone(),
                        name: k.1.clone(),
                        table: table.clone(),
                        change: "changed".into(),
                        diff: definition_diff(sql, sql2),
                    })
                }
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
                    diff: Vec::new(),
                });
            }
        }
    }
    let (_, mut tables) = fp_before.differences(fp_after);
    // a table hashes its values in column order: rebuilt with its columns in another order, the
    // same hash can hold values that moved to another column, so it is compared by name too
    for t in fp_before.tables.keys() {
        if fp_after.tables.contains_key(t)
            && !tables.contains(t)
            && before.columns(t)? != after.columns(t)?
        {
            tables.push(t.clone());
        }
    }
    tables.sort();
    for t in tables {
        let d = match (fp_before.tables.get(&t), fp_after.tables.get(&t)) {
            (Some(_), Some(_)) => {
                let d = diff_table_with(before, after, &t, None, opts)?;
                if !d.changed() {
                    // the same rows under new rowids (a copy renumbered a table without a
                    // stable key)
                    continue;
                }
                d
            }
            (Some(h), None) => TableDiff {
                table: t.clone(),
                deleted: h.rows,
                examples: vec![RowExample::TableGone {
                    table: t.clone(),
                    rows: h.rows,
                }],
                ..TableDiff::default()
            },
            (None, Some(h)) => TableDiff {
                table: t.clone(),
                inserted: h.rows,
                examples: vec![RowExample::TableNew {
                    table: t.clone(),
                    rows: h.rows,
                }],
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

#[cfg(test)]
mod tests {

    #[test]
    fn a_column_moved_is_shown_once_as_moved() {
        assert_eq!(
            definition_diff(
                "CREATE TABLE t (id INT, post_id INT, tag TEXT)",
                "CREATE TABLE t (id INT, tag TEXT, post_id INT)"
            ),
            vec!["~ tag TEXT (moved)".to_string()]
        );
    }

    #[test]
    fn a_column_added_at_the_end_is_the_only_line_that_changed() {
        // SQLite's ALTER TABLE ADD COLUMN appends ", c TEXT" after the last definition
        assert_eq!(
            definition_diff(
                "CREATE TABLE t (a INT, b INT NOT NULL DEFAULT (unixepoch()))",
                "CREATE TABLE t (a INT, b INT NOT NULL DEFAULT (unixepoch()), c TEXT)"
            ),
            vec!["+ c TEXT".to_string()]
        );
        // a real change of the last line is still shown
        assert_eq!(
            definition_diff(
                "CREATE TABLE t (a INT, b INT)",
                "CREATE TABLE t (a INT, b TEXT, c TEXT)"
            ),
            vec![
                "- b INT".to_string(),
                "+ b TEXT".to_string(),
                "+ c TEXT".to_string()
            ]
        );
    }
    use super::*;

    /// Examples in the words a report prints.
    fn words(ex: &[RowExample]) -> Vec<String> {
        ex.iter()
            .map(crate::report::render::phrase::row_example)
            .collect()
    }
    use crate::db::{Access, Target, open};

    #[test]
    fn quoting_whitespace_and_keyword_case_are_not_changes() {
        let a = "CREATE TABLE posts (id INTEGER PRIMARY KEY, `user id` integer, title TEXT DEFAULT 'A  b') -- c";
        let b = "create table \"posts\"(\n  id integer primary key,\n  [user id] INTEGER,\n  \"title\" text default 'A  b'\n)";
        assert_eq!(normalize_sql(a), normalize_sql(b));
        assert_ne!(
            normalize_sql("CREATE TABLE t (a TEXT DEFAULT 'x')"),
            normalize_sql("CREATE TABLE t (a TEXT DEFAULT 'X')"),
            "string literals keep their case"
        );
    }

    #[test]
    fn a_real_change_is_shown_line_by_line() {
        let d = definition_diff(
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT)",
            "CREATE TABLE \"posts\" (id INTEGER PRIMARY KEY, title TEXT NOT NULL CHECK (length(title) > 0), body TEXT)",
        );
        assert_eq!(
            d,
            vec![
                "- title TEXT NOT NULL",
                "+ title TEXT NOT NULL CHECK(length(title) > 0)"
            ]
        );
    }

    fn db(dir: &std::path::Path, name: &str, sql: &str) -> Box<dyn Db> {
        let p = dir.join(name);
        rusqlite::Connection::open(&p)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        open(&Target::Local(p), Access::ReadOnly).unwrap()
    }

    #[test]
    fn rows_are_matched_by_a_key_that_survives_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let schema = "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
            CREATE TABLE tags (post_id INTEGER, tag TEXT);
            CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT);";
        let a = db(
            dir.path(),
            "a.db",
            &format!(
                "{schema} INSERT INTO users (name) VALUES ('a'), ('b');
                 INSERT INTO tags VALUES (1, 'x'), (2, 'y'), (1, 'x');
                 INSERT INTO kv VALUES ('p', '1'), ('q', '2');"
            ),
        );
        // the same rows after a copy-and-rename rebuild of every table: rowids renumbered,
        // sqlite_sequence rows in another order, table SQL quoted
        let b = db(
            dir.path(),
            "b.db",
            "CREATE TABLE kv2 (k TEXT PRIMARY KEY, v TEXT); INSERT INTO kv2 VALUES ('q', '2'), ('p', '1');
             CREATE TABLE tags2 (post_id INTEGER, tag TEXT); INSERT INTO tags2 VALUES (2, 'y'), (1, 'x'), (1, 'x');
             CREATE TABLE users2 (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
             CREATE TABLE x (id INTEGER PRIMARY KEY AUTOINCREMENT); INSERT INTO x DEFAULT VALUES; DROP TABLE x;
             INSERT INTO users2 (id, name) VALUES (1, 'a'), (2, 'b');
             ALTER TABLE users2 RENAME TO users; ALTER TABLE tags2 RENAME TO tags; ALTER TABLE kv2 RENAME TO kv;",
        );
        assert_eq!(
            row_key(
                a.as_ref(),
                "sqlite_sequence",
                &["name".into(), "seq".into()]
            )
            .unwrap(),
            RowKey::Columns(vec!["name".into()])
        );
        assert_eq!(
            row_key(a.as_ref(), "tags", &["post_id".into(), "tag".into()]).unwrap(),
            RowKey::Content(vec!["post_id".into(), "tag".into()])
        );
        assert_eq!(
            row_key(a.as_ref(), "kv", &["k".into(), "v".into()]).unwrap(),
            RowKey::Columns(vec!["k".into()])
        );
        assert_eq!(
            row_key(a.as_ref(), "users", &["id".into(), "name".into()]).unwrap(),
            RowKey::Rowid
        );
        let d = diff(a.as_ref(), b.as_ref(), 5).unwrap();
        assert!(d.is_empty(), "{d:?}");
        // a real difference in a table without a key, and in sqlite_sequence, by name
        let c = db(
            dir.path(),
            "c.db",
            &format!(
                "{schema} INSERT INTO users (name) VALUES ('a'), ('b'), ('c'); DELETE FROM users WHERE name = 'c';
                 INSERT INTO tags VALUES (1, 'x'), (2, 'y');
                 INSERT INTO kv VALUES ('p', '1'), ('q', '3');"
            ),
        );
        let d = diff(a.as_ref(), c.as_ref(), 5).unwrap();
        let t = |n: &str| d.tables.iter().find(|t| t.table == n).unwrap().clone();
        assert_eq!((t("tags").deleted, t("tags").inserted), (1, 0));
        assert_eq!(
            words(&t("tags").examples),
            vec!["deleted row: post_id=1 tag=\"x\""]
        );
        assert_eq!(t("kv").updated, 1);
        assert_eq!(
            words(&t("kv").examples),
            vec!["updated k \"q\": v \"2\" → \"3\""]
        );
        assert_eq!(
            words(&t("sqlite_sequence").examples),
            vec!["updated name \"users\": seq 2 → 3"]
        );
    }

    #[test]
    fn rows_up_to_a_rowid_in_tables_with_and_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let schema = "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT); CREATE TABLE w (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;";
        let a = db(
            dir.path(),
            "a.db",
            &format!("{schema} INSERT INTO kv VALUES ('a', '1'); INSERT INTO w VALUES ('a', '1');"),
        );
        let b = db(
            dir.path(),
            "b.db",
            &format!(
                "{schema} INSERT INTO kv VALUES ('a', '2'), ('b', '3'); INSERT INTO w VALUES ('a', '2');"
            ),
        );
        let kv = diff_table(a.as_ref(), b.as_ref(), "kv", Some(1), 5).unwrap();
        assert_eq!((kv.updated, kv.inserted), (1, 0), "row b has rowid 2");
        let w = diff_table(a.as_ref(), b.as_ref(), "w", Some(1), 5).unwrap();
        assert_eq!(w.updated, 1);
    }

    #[test]
    fn reals_in_examples_read_as_the_shell_prints_them_and_a_change_never_looks_like_none() {
        let dir = tempfile::tempdir().unwrap();
        let a = db(
            dir.path(),
            "a.db",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL); INSERT INTO t VALUES (1, 0.1 + 0.2), (2, 86.9), (3, 1.0);",
        );
        let b = db(
            dir.path(),
            "b.db",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL); INSERT INTO t VALUES (1, 0.3), (2, 86.9 + 1e-13), (4, 2.0);",
        );
        let d = diff(a.as_ref(), b.as_ref(), 10).unwrap();
        assert_eq!(
            words(&d.tables[0].examples),
            vec![
                "updated rowid 1: x 0.30000000000000004 → 0.3",
                "updated rowid 2: x 86.9 → 86.9000000000001",
                "deleted rowid 3: id=3 x=1.0",
                "inserted rowid 4: id=4 x=2.0",
            ]
        );
    }
}
