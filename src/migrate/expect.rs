//! EXPECT.toml: what a SQL-script migration must leave behind. Queries with their expected rows
//! (written as the sqlite3 shell prints them: `select.live|1586|600`), and the declared scope:
//! which tables may change, and by at most how many rows inserted, updated, deleted. Any table
//! not declared must not change at all.
//!
//! ```toml
//! [[query]]
//! sql = "SELECT vendor_type, vendor_site_id, timezone_offset_min FROM systems"
//! rows = ["select.live|1586|600"]
//!
//! [scope.systems]
//! updated = 1
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
    /// Its schema may change (columns, indexes).
    #[serde(default)]
    pub schema: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default, rename = "query")]
    pub queries: Vec<Query>,
    #[serde(default)]
    pub scope: BTreeMap<String, TableScope>,
}

impl Expect {
    pub fn load(path: &Path) -> Result<(Expect, String), ExpectError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpectError::Read {
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

/// A value as the sqlite3 shell prints it in list mode.
pub fn shell_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// A row as the sqlite3 shell prints it in list mode: `a|b|c`.
pub fn shell_row(r: &[Value]) -> String {
    r.iter().map(shell_value).collect::<Vec<_>>().join("|")
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
    fn unknown_keys_are_refused() {
        let r: Result<Expect, _> = toml::from_str("[scope.systems]\nupdate = 1\n");
        assert!(r.is_err());
    }
}
