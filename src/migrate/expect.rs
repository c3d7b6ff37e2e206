//! EXPECT.toml: what a SQL-script migration must leave behind. Queries with their expected rows
//! (written as the sqlite3 shell prints them: `select.live|1586|600`), and the declared scope:
//! which tables may change, and by at most how many rows inserted, updated, deleted; which
//! indexes, triggers, views, tables and columns may be added, dropped or changed, by name. Any
//! table not declared must not change at all. `[allow]` names the hazards the script means
//! (`hazards`): none is allowed unless named there.
//!
//! ```toml
//! [[query]]
//! sql = "SELECT vendor_type, vendor_site_id, timezone_offset_min FROM systems"
//! rows = ["select.live|1586|600"]
//!
//! [scope.systems]
//! updated = 1
//!
//! [schema]
//! indexes = { added = ["vendor_site_unique"], dropped = ["user_system_idx"] }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::db::Value;

#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a valid expectations file: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// After the forward script (the default).
    #[default]
    Forward,
    /// After the rollback script.
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// A name for the report (the SQL itself when absent).
    #[serde(default)]
    pub name: Option<String>,
    pub sql: String,
    /// Expected rows, columns joined by `|`, NULL as nothing: as the sqlite3 shell prints them.
    pub rows: Vec<String>,
    #[serde(default)]
    pub after: When,
}

/// How much one table may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableScope {
    #[serde(default)]
    pub inserted: u64,
    #[serde(default)]
    pub updated: u64,
    #[serde(default)]
    pub deleted: u64,
    /// Any schema object of this table may change: its definition and columns, its indexes
    /// and triggers (the broad form of `[schema]`; never allows a hazard).
    #[serde(default)]
    pub schema: bool,
}

/// Schema objects of one kind that may be added, dropped or changed, by name.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub dropped: Vec<String>,
    #[serde(default)]
    pub changed: Vec<String>,
}

impl Changes {
    /// Does it name `name` for this change ("added", "dropped", "changed")?
    pub fn allows(&self, change: &str, name: &str) -> bool {
        let list = match change {
            "added" => &self.added,
            "dropped" => &self.dropped,
            _ => &self.changed,
        };
        list.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// `[schema]`: the schema objects the forward script may add, drop or change. Columns are
/// named `table.column`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaScope {
    #[serde(default)]
    pub tables: Changes,
    #[serde(default)]
    pub columns: Changes,
    #[serde(default)]
    pub indexes: Changes,
    #[serde(default)]
    pub triggers: Changes,
    #[serde(default)]
    pub views: Changes,
}

impl SchemaScope {
    /// The changes of one kind of object ("table", "column", "index", "trigger", "view").
    pub fn of(&self, kind: &str) -> &Changes {
        match kind {
            "table" => &self.tables,
            "column" => &self.columns,
            "index" => &self.indexes,
            "trigger" => &self.triggers,
            _ => &self.views,
        }
    }
}

/// `[allow]`: hazards the script means, each by the objects it may affect. A hazard not named
/// here fails the rehearsal, with or without the rest of EXPECT.toml.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    /// Tables whose rows a cascade or a trigger may delete or update (`sql.collateral`).
    #[serde(default)]
    pub collateral: Vec<String>,
    /// Views and triggers that may stop compiling (`sql.broken`).
    #[serde(default)]
    pub broken: Vec<String>,
    /// Tables whose foreign keys may point to a missing or renamed table (`sql.references`).
    #[serde(default)]
    pub references: Vec<String>,
    /// Tables whose AUTOINCREMENT counter may go down or vanish (`sql.sequence`).
    #[serde(default)]
    pub sequence: Vec<String>,
    /// Tables, or `table.column`s, that may lose a constraint or a default (`sql.constraints`).
    #[serde(default)]
    pub constraints: Vec<String>,
    /// Tables that may be rebuilt with another column order or affinity (`sql.layout`).
    #[serde(default)]
    pub layout: Vec<String>,
    /// Tables whose composite key a statement may match on one column (`sql.composite_key`).
    #[serde(default)]
    pub composite_keys: Vec<String>,
    /// Tables a statement may change beyond the key values it names (`sql.key_spread`).
    #[serde(default)]
    pub spread: Vec<String>,
}

impl Allow {
    /// The list for a hazard's check id.
    pub fn list(&self, check: &str) -> &[String] {
        match check {
            "sql.collateral" => &self.collateral,
            "sql.broken" => &self.broken,
            "sql.references" => &self.references,
            "sql.sequence" => &self.sequence,
            "sql.constraints" => &self.constraints,
            "sql.layout" => &self.layout,
            "sql.composite_key" => &self.composite_keys,
            "sql.key_spread" => &self.spread,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default, rename = "query")]
    pub queries: Vec<Query>,
    #[serde(default)]
    pub scope: BTreeMap<String, TableScope>,
    #[serde(default)]
    pub schema: SchemaScope,
    #[serde(default)]
    pub allow: Allow,
}

impl Expect {
    pub fn load(path: &Path) -> Result<(Expect, String), ExpectError> {
        let text = crate::fsutil::read_to_string(path).map_err(|source| ExpectError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let e = toml::from_str(&text).map_err(|e| ExpectError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().replace('\n', " ").trim().to_string(),
        })?;
        Ok((e, text))
    }
}

/// Significant digits of a REAL as the sqlite3 shell prints it: SQLite renders a REAL as text
/// with `"%!.*g"` and `db->nFpDigit` digits (`vdbeMemRenderNum` in sqlite3.c); nFpDigit is 15 in
/// every release before 3.52.0 and 17 from 3.52.0 on (sqlite3.h, SQLITE_DBCONFIG_FP_DIGITS). The
/// shells people run (Debian's 3.40/3.46, the libSQL server's 3.45) print 15.
pub const SHELL_DIGITS: i32 = 15;
/// The digits of SQLite 3.52 and later.
pub const NEW_SHELL_DIGITS: i32 = 17;

/// A REAL as SQLite's printf renders it with `"%!.<digits>g"` (the `!` flag keeps a decimal
/// point and one digit after it: `1.0`, `1.0e+20`): SQLite's own formatter, not an imitation.
pub fn shell_real(f: f64, digits: i32) -> String {
    // SAFETY: a NUL-terminated format with one int and one double argument, as it says; the
    // result is copied and then freed with sqlite3_free.
    unsafe {
        let p = rusqlite::ffi::sqlite3_mprintf(
            c"%!.*g".as_ptr(),
            digits as std::ffi::c_int,
            f as std::ffi::c_double,
        );
        if p.is_null() {
            return format!("{f:?}");
        }
        let s = std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned();
        rusqlite::ffi::sqlite3_free(p.cast());
        s
    }
}

/// A value as the sqlite3 shell prints it in list mode, REALs with `digits` significant digits.
pub fn shell_value_with(v: &Value, digits: i32) -> String {
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => shell_real(*f, digits),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// A value as the sqlite3 shell prints it in list mode.
pub fn shell_value(v: &Value) -> String {
    shell_value_with(v, SHELL_DIGITS)
}

/// A row as the sqlite3 shell prints it in list mode: `a|b|c`.
pub fn shell_row(r: &[Value]) -> String {
    r.iter().map(shell_value).collect::<Vec<_>>().join("|")
}

/// Does a row read as `expected`, as either generation of the shell prints it (15 or 17
/// digits for a REAL)? Both are the same value as a user saw it in the shell they ran.
pub fn row_matches(expected: &str, r: &[Value]) -> bool {
    [SHELL_DIGITS, NEW_SHELL_DIGITS].iter().any(|&d| {
        r.iter()
            .map(|v| shell_value_with(v, d))
            .collect::<Vec<_>>()
            .join("|")
            == expected
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_print_as_the_shell_prints_them() {
        let row = [
            Value::Text("select.live".into()),
            Value::Text("1586".into()),
            Value::Integer(600),
            Value::Null,
            Value::Real(99.5),
        ];
        assert_eq!(shell_row(&row), "select.live|1586|600||99.5");
    }

    #[test]
    fn reals_print_with_the_shells_fifteen_digits() {
        // the 15-digit column as Debian's sqlite3 3.40 prints these values
        let cases = [
            (0.1 + 0.2, "0.3"),
            (89.93964401294498, "89.939644012945"),
            (1.0, "1.0"),
            (1e20, "1.0e+20"),
            (1e-5, "1.0e-05"),
            (123456789012345678.0, "1.23456789012346e+17"),
            (100000000000000.0, "100000000000000.0"),
            (-2.5, "-2.5"),
        ];
        // SQLite 3.52 and later render with 17 digits: the bundled SQLite's own text of a REAL
        let bundled = rusqlite::Connection::open_in_memory().unwrap();
        for (f, fifteen) in cases {
            assert_eq!(shell_real(f, SHELL_DIGITS), fifteen, "{f:?}");
            let seventeen: String = bundled
                .query_row("SELECT CAST(?1 AS TEXT)", [f], |r| r.get(0))
                .unwrap();
            assert_eq!(shell_real(f, NEW_SHELL_DIGITS), seventeen, "{f:?}");
            assert!(row_matches(fifteen, &[Value::Real(f)]));
            assert!(row_matches(&seventeen, &[Value::Real(f)]));
        }
        assert_eq!(
            shell_real(0.1 + 0.2, NEW_SHELL_DIGITS),
            "0.30000000000000004"
        );
        assert!(!row_matches("0.3", &[Value::Real(0.31)]));
        assert!(
            !row_matches("1", &[Value::Real(1.0)]),
            "the shell prints 1.0"
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<Expect, _> = toml::from_str("[scope.systems]\nupdate = 1\n");
        assert!(r.is_err());
        let r: Result<Expect, _> = toml::from_str("[schema]\nindex = { added = [\"x\"] }\n");
        assert!(r.is_err(), "the kinds are plural: indexes");
        let r: Result<Expect, _> = toml::from_str("[allow]\ncascade = [\"comments\"]\n");
        assert!(r.is_err());
    }

    #[test]
    fn schema_objects_and_hazards_by_name() {
        let e: Expect = toml::from_str(
            "[schema]\nindexes = { added = [\"Vendor_Site_Unique\"], dropped = [\"user_system_idx\"] }\n\
             columns.changed = [\"posts.title\"]\n[allow]\ncollateral = [\"comments\"]\n",
        )
        .unwrap();
        assert!(e.schema.of("index").allows("added", "vendor_site_unique"));
        assert!(!e.schema.of("index").allows("dropped", "vendor_site_unique"));
        assert!(e.schema.of("column").allows("changed", "posts.title"));
        assert_eq!(e.allow.list("sql.collateral"), ["comments"]);
        assert!(e.allow.list("sql.broken").is_empty());
    }
}
