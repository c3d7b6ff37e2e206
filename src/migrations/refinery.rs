//! refinery_cli 0.10 (`refinery migrate`) on SQLite (refinery-core 0.10, rusqlite bundled).
//!
//! - Files: any file under the directory, subdirectories included, named
//!   `^[U|V](\d+(?:\.\d+)?)__(\w+)\.sql$`; the version must fit an i32 (refinery_cli is built
//!   without `int8-versions`); `U` migrations are unversioned (refinery-core
//!   `src/util.rs` `find_migration_files`, `parse_migration_name`).
//! - Checksum: SipHash-1-3 with zero keys over `name`, `version` (i32) and the SQL, fed through
//!   Rust's `Hash` (refinery-core `src/runner.rs` `Migration::unapplied`), stored as a decimal u64.
//! - Table `refinery_schema_history(version int4 PRIMARY KEY, name VARCHAR(255), applied_on
//!   VARCHAR(255), checksum VARCHAR(255))`; the row is an INSERT with the values written into
//!   the SQL, `applied_on` the UTC time in RFC 3339 (refinery-core `src/traits/mod.rs`
//!   `insert_migration_query`), run in a transaction of its own after the migration's
//!   (`src/traits/sync.rs` `migrate`; `-g` groups everything in one).
//! - Pending rule: a versioned migration runs only when its version is above the highest
//!   applied; a lower unapplied one is only logged (refinery_cli stops on it with `-m`); an
//!   applied one whose name or checksum differs is logged too (stops with `-d`)
//!   (`src/traits/mod.rs` `verify_migrations`; refinery_cli `src/cli.rs`).
//! - Foreign keys are on: libsqlite3-sys's bundled SQLite is compiled with
//!   `SQLITE_DEFAULT_FOREIGN_KEYS=1`, and each migration runs in a rusqlite transaction
//!   (`src/drivers/rusqlite.rs`), so a script cannot turn them off.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

use super::status::{Entry, Older, State, by_key};
use super::{
    Applied, Clock, Execution, Format, Grouping, Key, Migration, MigrationsError, Tool, Tracking,
    TrackingWrite, read, sql,
};
use super::{ForeignKeys, OnError, Transactions};
use crate::db::{Db, DbError, Stmt, as_i64};

pub struct Refinery;

fn file_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^([U|V])(\d+(?:\.\d+)?)__(\w+)\.sql$").expect("valid"))
}

/// refinery's checksum of a migration.
pub fn checksum(name: &str, version: i32, sql_text: &str) -> u64 {
    let mut h = siphasher::sip::SipHasher13::new();
    name.hash(&mut h);
    version.hash(&mut h);
    sql_text.hash(&mut h);
    h.finish()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), MigrationsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| MigrationsError::Read {
        path: dir.to_path_buf(),
        message: format!("{e} (--migrations names the directory of migration files)"),
    })?;
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

impl Format for Refinery {
    fn tool(&self) -> Tool {
        Tool::Refinery
    }

    fn table(&self) -> &'static str {
        "refinery_schema_history"
    }

    fn columns(&self) -> &'static [&'static str] {
        &["version", "name", "applied_on", "checksum"]
    }

    fn load(&self, dir: &Path) -> Result<Vec<Migration>, MigrationsError> {
        let mut paths = Vec::new();
        walk(dir, &mut paths)?;
        let mut out = Vec::new();
        for path in paths {
            let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(caps) = file_re().captures(file) else {
                continue;
            };
            let version: i32 = caps[2].parse().map_err(|_| {
                MigrationsError::invalid(
                    &path,
                    format!(
                        "refinery expects a version that fits a 32-bit integer, not {}",
                        &caps[2]
                    ),
                )
            })?;
            let name = caps[3].to_string();
            let text = read(&path)?;
            out.push(Migration {
                key: Key::Int(i64::from(version)),
                checksum: Some(checksum(&name, version, &text).to_string()),
                name,
                up: sql::split(&path, &text, 1),
                path,
                unexecuted: Vec::new(),
                refused: None,
                down: None,
                execution: Execution {
                    foreign_keys: ForeignKeys::On,
                    transactions: Transactions::Script,
                    on_error: OnError::Stop,
                    grouping: Grouping::PerMigration,
                    tracking: TrackingWrite::After,
                },
            });
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn create_table(&self, table: &str) -> String {
        // refinery-core src/traits/mod.rs ASSERT_MIGRATIONS_TABLE_QUERY, int4 versions
        format!(
            "CREATE TABLE IF NOT EXISTS {table}(\n             version int4 PRIMARY KEY,\n             name VARCHAR(255),\n             applied_on VARCHAR(255),\n             checksum VARCHAR(255));"
        )
    }

    fn tracking(&self, m: &Migration, table: &str, clock: &Clock) -> Tracking {
        let applied_on = clock
            .now
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Tracking {
            after: vec![Stmt::new(
                format!(
                    "INSERT INTO {table} (version, name, applied_on, checksum) VALUES ({}, '{}', '{applied_on}', '{}')",
                    m.key,
                    m.name,
                    m.checksum.as_deref().unwrap_or_default()
                ),
                vec![],
            )],
            ..Tracking::default()
        }
    }

    fn applied(&self, db: &dyn Db, table: &str) -> Result<Vec<Applied>, DbError> {
        Ok(db
            .query(
                &format!(
                    "SELECT version, name, applied_on, checksum FROM {} ORDER BY version ASC",
                    crate::sql::ident(table)
                ),
                &[],
            )?
            .iter()
            .filter_map(|r| {
                Some(Applied {
                    key: Key::Int(as_i64(&r[0])?),
                    name: super::text(&r[1]),
                    checksum: super::text(&r[3]),
                    failed: false,
                    applied_at: super::text(&r[2]),
                })
            })
            .collect())
    }

    fn status(&self, migrations: &[Migration], applied: &[Applied]) -> Vec<Entry> {
        let mut entries = by_key(
            migrations,
            applied,
            Some(|m, a| a.name.as_deref() == Some(m.name.as_str()) && a.checksum == m.checksum),
            Older::Blocked(
                "refinery_cli skips it with an error in its log and exits 0 (it stops with -m)",
            ),
        );
        // unversioned (U) migrations run whenever they are not applied
        for (e, m) in entries.iter_mut().zip(migrations) {
            let unversioned = m
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('U'));
            if e.state == State::Blocked && unversioned {
                e.state = State::Pending;
                e.detail.clear();
            }
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_hashes_name_version_and_sql_in_that_order() {
        let a = checksum("init", 1, "CREATE TABLE t(x);");
        assert_ne!(a, checksum("init", 2, "CREATE TABLE t(x);"));
        assert_ne!(a, checksum("initx", 1, "CREATE TABLE t(x);"));
        // str's Hash writes a 0xff terminator, so moving a byte between fields changes the sum
        assert_ne!(checksum("ab", 1, "c"), checksum("a", 1, "bc"));
    }
}
