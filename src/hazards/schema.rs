//! A database's schema as the hazards compare it: tables with their columns (type, affinity,
//! NOT NULL, default), unique keys, foreign keys and CHECK constraints; indexes, triggers and
//! views with their SQL; the AUTOINCREMENT counters. Read through SQLite's own pragmas
//! (`table_xinfo`, `index_list`, `foreign_key_list`); only CHECK constraints, which no pragma
//! reports, are read from the table's SQL (`shape::table_items`).
//!
//! `replica` builds an empty in-memory database with the same schema, where statements can be
//! prepared (a view compiled, a trigger fired) without touching any row.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::shape::{self, TableItem};
use crate::db::{Db, DbError, Value, as_i64, as_text};
use crate::fingerprint::diff::normalize_sql;

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub decl_type: String,
    pub notnull: bool,
    pub default: Option<String>,
    /// Position in the primary key (0: not in it).
    pub pk: i64,
    /// Its definition in the table's SQL, normalised.
    pub definition: String,
    /// The same as written (case kept), for people.
    pub written: String,
}

impl Column {
    /// The column's type affinity, by SQLite's rules (datatype3.html, section 3.1).
    pub fn affinity(&self) -> &'static str {
        affinity(&self.decl_type)
    }
}

/// SQLite's affinity of a declared type: the first rule that matches, in order.
pub fn affinity(decl: &str) -> &'static str {
    let t = decl.to_ascii_uppercase();
    if t.contains("INT") {
        "INTEGER"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "TEXT"
    } else if t.contains("BLOB") || t.trim().is_empty() {
        "BLOB"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub parent: String,
    /// Parent columns as declared (None: the parent's primary key).
    pub parent_columns: Vec<Option<String>>,
    pub on_delete: String,
    pub on_update: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UniqueKey {
    pub columns: Vec<String>,
    /// `pk`, `u` (a UNIQUE constraint), `c` (CREATE UNIQUE INDEX)
    pub origin: String,
    pub index: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub sql: String,
    pub columns: Vec<Column>,
    pub foreign_keys: Vec<ForeignKey>,
    pub unique: Vec<UniqueKey>,
    /// CHECK constraints, normalised, with the column they are written on.
    pub checks: Vec<(Option<String>, String)>,
    /// Table constraints (not column definitions): normalised, and as written.
    pub constraints: Vec<(String, String)>,
    pub without_rowid: bool,
    pub rows: u64,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn has(&self, name: &str) -> bool {
        self.column(name).is_some()
    }

    /// Can this column never hold NULL, whatever its declaration says? The rowid alias (a
    /// single INTEGER PRIMARY KEY) and the primary key of a WITHOUT ROWID table
    /// (lang_createtable.html: "NOT NULL is enforced on every column of the PRIMARY KEY in a
    /// WITHOUT ROWID table").
    pub fn never_null(&self, name: &str) -> bool {
        let Some(c) = self.column(name) else {
            return false;
        };
        let pk = self.columns.iter().filter(|c| c.pk > 0).count();
        c.pk > 0 && (self.without_rowid || (pk == 1 && c.decl_type.eq_ignore_ascii_case("INTEGER")))
    }

    /// Keys of two columns or more, each in key order.
    pub fn composite_keys(&self) -> impl Iterator<Item = &UniqueKey> {
        self.unique.iter().filter(|k| k.columns.len() > 1)
    }

    /// Is this set of columns unique by some key (a key whose columns are all among them)?
    pub fn unique_on(&self, cols: &[String]) -> bool {
        self.unique.iter().any(|k| {
            k.columns
                .iter()
                .all(|c| cols.iter().any(|x| x.eq_ignore_ascii_case(c)))
        })
    }
}

/// An index, trigger or view.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub kind: &'static str,
    pub name: String,
    pub table: String,
    pub sql: String,
}

impl Object {
    /// Its normalised SQL with its own name taken out: two objects that differ only by name
    /// compare equal.
    pub fn shape(&self) -> String {
        let name = normalize_sql(&format!("\"{}\"", self.name.replace('"', "\"\"")));
        normalize_sql(&self.sql)
            .split(' ')
            .map(|t| if t == name { "?" } else { t })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    pub tables: BTreeMap<String, Table>,
    /// Indexes, triggers and views by lowercased name (one namespace in SQLite).
    pub objects: BTreeMap<String, Object>,
    /// sqlite_sequence: table → counter.
    pub sequence: BTreeMap<String, i64>,
    /// Every `(type, name, tbl_name, sql)` row of sqlite_schema, in rowid order.
    pub rows: Vec<(String, String, String, String)>,
}

fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(&key(name))
    }

    pub fn object(&self, name: &str) -> Option<&Object> {
        self.objects.get(&key(name))
    }

    /// The same schema without `table` and what belongs to it (its indexes and triggers, its
    /// counter): a migration tool's tracking table, which the tool writes by design.
    pub fn leave_out(&mut self, table: &str) {
        self.tables.remove(&key(table));
        self.objects
            .retain(|_, o| !o.table.eq_ignore_ascii_case(table));
        self.sequence.remove(&key(table));
        self.rows.retain(|r| !r.2.eq_ignore_ascii_case(table));
    }

    /// Read the schema of a database.
    pub fn read(db: &dyn Db) -> Result<Schema, DbError> {
        Schema::read_with(&|sql, params| db.query(sql, params), true)
    }

    /// Read the schema of a connection (a replica), without counting rows.
    pub fn of_connection(conn: &Connection) -> Result<Schema, DbError> {
        Schema::read_with(&|sql, params| query(conn, sql, params), false)
    }

    fn read_with(db: &Query, count_rows: bool) -> Result<Schema, DbError> {
        let mut s = Schema::default();
        for r in db(
            "SELECT type, name, tbl_name, ifnull(sql, '') FROM sqlite_schema ORDER BY rowid",
            &[],
        )? {
            let text = |i: usize| as_text(&r[i]).unwrap_or_default();
            s.rows.push((text(0), text(1), text(2), text(3)));
        }
        for (kind, name, table, sql) in s.rows.clone() {
            match kind.as_str() {
                "table" if !name.starts_with("sqlite_") && !is_virtual(&sql) => {
                    let t = read_table(db, &name, &sql, count_rows)?;
                    s.tables.insert(key(&name), t);
                }
                "index" | "trigger" | "view" if !sql.is_empty() => {
                    let kind = match kind.as_str() {
                        "index" => "index",
                        "trigger" => "trigger",
                        _ => "view",
                    };
                    s.objects.insert(
                        key(&name),
                        Object {
                            kind,
                            name,
                            table,
                            sql,
                        },
                    );
                }
                _ => {}
            }
        }
        if s.rows.iter().any(|r| r.1 == "sqlite_sequence") {
            for r in db("SELECT name, seq FROM sqlite_sequence", &[])? {
                if let (Some(n), Some(v)) = (as_text(&r[0]), as_i64(&r[1])) {
                    s.sequence.insert(key(&n), v);
                }
            }
        }
        Ok(s)
    }

    /// An empty in-memory database with this schema: tables, indexes and views, and the
    /// triggers when asked. Objects SQLite refuses to create there (a virtual table's shadow
    /// tables) are left out.
    pub fn replica(&self, triggers: bool) -> Result<Connection, DbError> {
        let conn = Connection::open_in_memory().map_err(|e| DbError::Open {
            target: ":memory:".into(),
            message: e.to_string(),
        })?;
        // views and triggers may name objects created after them
        let _ = conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON;");
        let rank = |k: &str| match k {
            "table" => 0,
            "index" => 1,
            "view" => 2,
            _ => 3,
        };
        let mut rows: Vec<&(String, String, String, String)> = self
            .rows
            .iter()
            .filter(|r| !r.3.is_empty() && !r.1.starts_with("sqlite_"))
            .filter(|r| triggers || r.0 != "trigger")
            .collect();
        rows.sort_by_key(|r| rank(&r.0));
        for r in rows {
            let _ = conn.execute_batch(&r.3);
        }
        let _ = conn.execute_batch("PRAGMA legacy_alter_table = OFF;");
        Ok(conn)
    }
}

fn is_virtual(sql: &str) -> bool {
    sql.trim_start()
        .get(..20)
        .is_some_and(|s| s.eq_ignore_ascii_case("CREATE VIRTUAL TABLE"))
}

/// A query: its rows.
pub type Query<'a> = dyn Fn(&str, &[Value]) -> Result<Vec<Vec<Value>>, DbError> + 'a;

/// Rows of a query on a rusqlite connection.
pub fn query(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, DbError> {
    let fail = |e: rusqlite::Error| DbError::Open {
        target: ":memory:".into(),
        message: format!("{sql}: {e}"),
    };
    let mut st = conn.prepare(sql).map_err(fail)?;
    let n = st.column_count();
    let rows = st
        .query_map(rusqlite::params_from_iter(params.iter()), |r| {
            (0..n).map(|i| r.get::<_, Value>(i)).collect()
        })
        .map_err(fail)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(fail)
}

/// A table's foreign keys, each with its columns in key order.
pub fn foreign_keys(db: &Query, table: &str) -> Result<Vec<ForeignKey>, DbError> {
    let mut fks: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    for r in db(
        "SELECT id, seq, \"table\", \"from\", \"to\", on_update, on_delete \
           FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        &[Value::Text(table.into())],
    )? {
        let id = as_i64(&r[0]).unwrap_or(0);
        let fk = fks.entry(id).or_insert_with(|| ForeignKey {
            columns: Vec::new(),
            parent: as_text(&r[2]).unwrap_or_default(),
            parent_columns: Vec::new(),
            on_update: as_text(&r[5]).unwrap_or_default(),
            on_delete: as_text(&r[6]).unwrap_or_default(),
        });
        fk.columns.push(as_text(&r[3]).unwrap_or_default());
        fk.parent_columns.push(as_text(&r[4]));
    }
    Ok(fks.into_values().collect())
}

fn read_table(db: &Query, name: &str, sql: &str, count_rows: bool) -> Result<Table, DbError> {
    let t = [Value::Text(name.into())];
    let items: Vec<TableItem> = shape::table_items(sql);
    let item = |col: &str| {
        items.iter().find(|i| {
            i.column
                .as_deref()
                .is_some_and(|c| crate::hazards::same(c, col))
        })
    };
    let columns: Vec<Column> = db(
        "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_xinfo(?1) \
          WHERE hidden = 0 ORDER BY cid",
        &t,
    )?
    .into_iter()
    .map(|r| {
        let name = as_text(&r[0]).unwrap_or_default();
        Column {
            definition: item(&name)
                .map(|i| i.definition.clone())
                .unwrap_or_default(),
            written: item(&name).map(|i| i.written.clone()).unwrap_or_default(),
            name,
            decl_type: as_text(&r[1]).unwrap_or_default(),
            notnull: as_i64(&r[2]).unwrap_or(0) != 0,
            default: as_text(&r[3]),
            pk: as_i64(&r[4]).unwrap_or(0),
        }
    })
    .collect();
    let foreign_keys = foreign_keys(db, name)?;
    let mut unique: Vec<UniqueKey> = Vec::new();
    let mut pk: Vec<(i64, String)> = columns
        .iter()
        .filter(|c| c.pk > 0)
        .map(|c| (c.pk, c.name.clone()))
        .collect();
    pk.sort();
    if !pk.is_empty() {
        unique.push(UniqueKey {
            columns: pk.into_iter().map(|(_, n)| n).collect(),
            origin: "pk".into(),
            index: None,
        });
    }
    let mut by_index: BTreeMap<String, (String, Vec<Option<String>>)> = BTreeMap::new();
    for r in db(
        "SELECT il.name, il.origin, ii.name FROM pragma_index_list(?1) AS il \
           JOIN pragma_index_info(il.name) AS ii \
          WHERE il.\"unique\" AND NOT il.partial ORDER BY il.name, ii.seqno",
        &t,
    )? {
        let index = as_text(&r[0]).unwrap_or_default();
        let e = by_index
            .entry(index)
            .or_insert_with(|| (as_text(&r[1]).unwrap_or_default(), Vec::new()));
        e.1.push(as_text(&r[2]));
    }
    for (index, (origin, cols)) in by_index {
        let Some(cols) = cols.into_iter().collect::<Option<Vec<String>>>() else {
            continue;
        };
        if unique.iter().any(|k| k.columns == cols) {
            continue;
        }
        unique.push(UniqueKey {
            columns: cols,
            origin,
            index: Some(index),
        });
    }
    let rows = if count_rows {
        db(
            &format!("SELECT count(*) FROM {}", crate::sql::ident(name)),
            &[],
        )?
        .first()
        .and_then(|r| as_i64(&r[0]))
        .unwrap_or(0)
        .max(0) as u64
    } else {
        0
    };
    Ok(Table {
        name: name.to_string(),
        sql: sql.to_string(),
        columns,
        foreign_keys,
        unique,
        checks: items
            .iter()
            .flat_map(|i| i.checks.iter().map(|c| (i.column.clone(), c.clone())))
            .collect(),
        constraints: items
            .iter()
            .filter(|i| i.column.is_none())
            .map(|i| (i.definition.clone(), i.written.clone()))
            .collect(),
        without_rowid: crate::fingerprint::diff::normalize_sql(sql).contains(") without rowid"),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Access, Target, open};

    #[test]
    fn the_blog_schema_as_sqlite_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.db");
        rusqlite::Connection::open(&p)
            .unwrap()
            .execute_batch(include_str!("../../fixtures/sql/blog/blog.sql"))
            .unwrap();
        let db = open(&Target::Local(p), Access::ReadOnly).unwrap();
        let s = Schema::read(db.as_ref()).unwrap();
        let users = s.table("users").unwrap();
        assert_eq!(users.rows, 2);
        assert!(users.column("email").unwrap().notnull);
        assert!(users.unique_on(&["email".into()]));
        let posts = s.table("posts").unwrap();
        assert_eq!(posts.foreign_keys[0].parent, "users");
        assert_eq!(posts.foreign_keys[0].on_delete, "CASCADE");
        assert_eq!(posts.column("edits").unwrap().default.as_deref(), Some("0"));
        assert_eq!(posts.column("score").unwrap().affinity(), "REAL");
        assert_eq!(s.object("posts_user").unwrap().kind, "index");
        assert_eq!(s.object("posts_edited").unwrap().table, "posts");
        assert_eq!(s.object("post_summary").unwrap().kind, "view");
        assert_eq!(s.sequence.get("posts"), Some(&3));
        assert_eq!(s.table("tags").unwrap().unique, vec![]);
        let r = s.replica(true).unwrap();
        let n: i64 = r
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            n as usize,
            s.rows.len(),
            "every object, sqlite_sequence included"
        );
        for (decl, aff) in [
            ("INTEGER", "INTEGER"),
            ("varchar(20)", "TEXT"),
            ("", "BLOB"),
            ("DOUBLE PRECISION", "REAL"),
            ("DECIMAL(10,2)", "NUMERIC"),
            ("FLOATING POINT", "INTEGER"),
        ] {
            assert_eq!(affinity(decl), aff, "{decl}");
        }
    }
}
