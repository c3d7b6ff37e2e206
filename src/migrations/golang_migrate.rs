//! golang-migrate v4 (`migrate up`) with its sqlite3 driver.
//!
//! - Files: `^([0-9]+)_(.*)\.(down|up)\.(.*)$` in the directory; the version is an unsigned
//!   integer (source/parse.go `Regex`, `Parse`).
//! - Table `schema_migrations(version uint64, dirty bool)` with a unique index: **one row**, the
//!   current version. Before each migration the driver replaces it with `(version, true)`, runs
//!   the file, then replaces it with `(version, false)`; each replacement is a DELETE and an
//!   INSERT in a transaction of its own (database/sqlite3/sqlite3.go `ensureVersionTable`,
//!   `SetVersion`; migrate.go `runMigrations`). A failure leaves the row dirty, and a dirty row
//!   blocks every later run until `migrate force`.
//! - Pending rule: the versions above the stored one; nothing below it is ever looked at, so
//!   every file numbered below the current version counts as applied (the table cannot say
//!   otherwise); a stored version with no file stops `migrate up`.
//! - Each file is one `Exec` in a transaction of its own, or outside any with `x-no-tx-wrap=true`
//!   in the URL (sqlite3.go `Run`, `executeQuery`). The driver is mattn/go-sqlite3, which leaves
//!   foreign keys off (the same driver as dbmate, where an orphan row is accepted).

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

use super::status::{Entry, State};
use super::{
    Applied, Clock, Down, Execution, Format, Grouping, Key, Migration, MigrationsError, Tool,
    Tracking, TrackingWrite, files, read, sql,
};
use super::{ForeignKeys, OnError, Transactions};
use crate::db::{Db, DbError, Stmt, Value, as_i64};

pub struct GolangMigrate;

fn file_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^([0-9]+)_(.*)\.(down|up)\.(.*)$").expect("valid"))
}

fn set_version(table: &str, version: i64, dirty: bool) -> Vec<Stmt> {
    let t = crate::sql::ident(table);
    vec![
        Stmt::new(format!("DELETE FROM {t}"), vec![]),
        Stmt::new(
            format!("INSERT INTO {t} (version, dirty) VALUES (?, ?)"),
            vec![Value::Integer(version), Value::Integer(i64::from(dirty))],
        ),
    ]
}

impl Format for GolangMigrate {
    fn tool(&self) -> Tool {
        Tool::GolangMigrate
    }

    fn table(&self) -> &'static str {
        "schema_migrations"
    }

    fn columns(&self) -> &'static [&'static str] {
        &["version", "dirty"]
    }

    fn load(&self, dir: &Path) -> Result<Vec<Migration>, MigrationsError> {
        let mut ups: Vec<Migration> = Vec::new();
        let mut downs = Vec::new();
        for (name, path) in files(dir)? {
            let Some(caps) = file_re().captures(&name) else {
                continue;
            };
            let version: i64 = caps[1].parse().map_err(|_| {
                MigrationsError::invalid(
                    &path,
                    "golang-migrate expects a version that fits 64 bits",
                )
            })?;
            let text = read(&path)?;
            let statements = sql::split(&path, &text, 1);
            if &caps[3] == "down" {
                downs.push((
                    version,
                    Down {
                        path,
                        statements,
                        transactions: Transactions::Script,
                    },
                ));
                continue;
            }
            if ups.iter().any(|m| m.key == Key::Int(version)) {
                return Err(MigrationsError::invalid(
                    &path,
                    format!(
                        "a second up migration for version {version} (golang-migrate refuses the directory)"
                    ),
                ));
            }
            ups.push(Migration {
                key: Key::Int(version),
                name: caps[2].to_string(),
                path,
                up: statements,
                unexecuted: Vec::new(),
                refused: None,
                down: None,
                checksum: None,
                execution: Execution {
                    foreign_keys: ForeignKeys::Off,
                    transactions: Transactions::Script,
                    on_error: OnError::Stop,
                    grouping: Grouping::PerMigration,
                    tracking: TrackingWrite::BeforeAndAfter,
                },
            });
        }
        for (version, down) in downs {
            if let Some(m) = ups.iter_mut().find(|m| m.key == Key::Int(version)) {
                m.down = Some(down);
            }
        }
        ups.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(ups)
    }

    fn create_table(&self, table: &str) -> String {
        // database/sqlite3/sqlite3.go ensureVersionTable: two statements in one Exec
        format!(
            "\n\tCREATE TABLE IF NOT EXISTS {table} (version uint64,dirty bool);\n  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON {table} (version);\n  "
        )
    }

    fn tracking(&self, m: &Migration, table: &str, _clock: &Clock) -> Tracking {
        let Key::Int(version) = m.key else {
            unreachable!("golang-migrate versions are integers")
        };
        Tracking {
            before: set_version(table, version, true),
            with_migration: Vec::new(),
            after: set_version(table, version, false),
        }
    }

    fn untracking(&self, _m: &Migration, previous: Option<&Migration>, table: &str) -> Tracking {
        // migrate.go `runMigrations`: the down migration's target is the version before it
        // (-1, NilVersion, below the first), set dirty before its file runs and clean after;
        // sqlite3.go `SetVersion` writes no row for a clean NilVersion
        let target = match previous.map(|p| &p.key) {
            Some(Key::Int(v)) => *v,
            _ => -1,
        };
        Tracking {
            before: set_version(table, target, true),
            with_migration: Vec::new(),
            after: if target >= 0 {
                set_version(table, target, false)
            } else {
                set_version(table, target, false)[..1].to_vec()
            },
        }
    }

    fn applied(&self, db: &dyn Db, table: &str) -> Result<Vec<Applied>, DbError> {
        // the driver reads one row: `SELECT version, dirty FROM t LIMIT 1`
        Ok(db
            .query(
                &format!(
                    "SELECT version, dirty FROM {} LIMIT 1",
                    crate::sql::ident(table)
                ),
                &[],
            )?
            .iter()
            .filter_map(|r| {
                Some(Applied {
                    key: Key::Int(as_i64(&r[0])?),
                    name: None,
                    checksum: None,
                    failed: as_i64(&r[1]).is_some_and(|d| d != 0)
                        || super::text(&r[1]).is_some_and(|d| d == "true"),
                    applied_at: None,
                })
            })
            .collect())
    }

    fn status(&self, migrations: &[Migration], applied: &[Applied]) -> Vec<Entry> {
        let current = applied.first();
        let file_for_current = current.is_some_and(|c| migrations.iter().any(|m| m.key == c.key));
        let mut out: Vec<Entry> = migrations
            .iter()
            .map(|m| {
                let (state, detail) = match current {
                    None => (State::Pending, String::new()),
                    Some(c) if m.key < c.key => (
                        State::Applied,
                        format!("below the current version {} (golang-migrate keeps only that one)", c.key),
                    ),
                    Some(c) if m.key == c.key && c.failed => (
                        State::Failed,
                        "the current version is dirty: it failed or was interrupted, and blocks every run until `migrate force`".into(),
                    ),
                    Some(c) if m.key == c.key => (State::Applied, "the current version".into()),
                    Some(c) if c.failed => (
                        State::Pending,
                        format!("`migrate up` refuses to run: version {} is dirty", c.key),
                    ),
                    Some(c) if !file_for_current => (
                        State::Pending,
                        format!("`migrate up` stops: no file for the current version {}", c.key),
                    ),
                    Some(_) => (State::Pending, String::new()),
                };
                Entry {
                    key: m.key.clone(),
                    name: m.name.clone(),
                    file: Some(m.path.display().to_string()),
                    state,
                    detail,
                }
            })
            .collect();
        if let Some(c) = current
            && !file_for_current
        {
            out.push(Entry {
                key: c.key.clone(),
                name: String::new(),
                file: None,
                state: if c.failed {
                    State::Failed
                } else {
                    State::Missing
                },
                detail: "the current version in the table, with no file in the directory".into(),
            });
        }
        out
    }
}
