//! sqlx-cli 0.9 (`sqlx migrate run`) on SQLite.
//!
//! - Files: `<VERSION>_<DESCRIPTION>.sql`, or `.up.sql`/`.down.sql` for a reversible migration:
//!   the name is split at its first `_`, the version must parse as an i64 (or sqlx stops), the
//!   description is the rest without the suffix with `_` → space; the checksum is the SHA-384
//!   of the file's text; a file whose text starts with `-- no-transaction` runs outside a
//!   transaction (sqlx-core 0.9 `src/migrate/source.rs` `resolve_blocking_with_config`,
//!   `src/migrate/migration.rs`, `src/migrate/migration_type.rs`).
//! - Table `_sqlx_migrations(version BIGINT PRIMARY KEY, description, installed_on TIMESTAMP
//!   DEFAULT CURRENT_TIMESTAMP, success BOOLEAN, checksum BLOB, execution_time BIGINT)`; a run
//!   inserts `(version, description, TRUE, checksum, -1)` with the migration, then updates
//!   `execution_time` to the nanoseconds it took (sqlx-sqlite 0.9 `src/migrate.rs` `apply`).
//! - Pending rule: every up migration whose version the table lacks, an older one too; `run`
//!   stops before applying anything when a row has `success = false`, when an applied version
//!   has no file (unless `--ignore-missing`) or when a checksum differs; `info` compares the
//!   same but exits 0 (sqlx-cli 0.9 `src/migrate.rs` `run`, `info`).
//! - Foreign keys are on: sqlx's SQLite connection options turn them on by default (sqlx-sqlite
//!   0.9 `src/options/mod.rs`).

use std::path::Path;

use super::status::{Entry, Older, State, by_key};
use super::{
    Applied, Clock, Down, Execution, Format, Grouping, Key, Migration, MigrationsError, Tool,
    Tracking, TrackingWrite, files, read, sql,
};
use super::{ForeignKeys, OnError, Transactions};
use crate::db::{Db, DbError, Stmt, Value, as_i64};

pub struct Sqlx;

impl Format for Sqlx {
    fn tool(&self) -> Tool {
        Tool::Sqlx
    }

    fn table(&self) -> &'static str {
        "_sqlx_migrations"
    }

    fn columns(&self) -> &'static [&'static str] {
        &[
            "version",
            "description",
            "installed_on",
            "success",
            "checksum",
            "execution_time",
        ]
    }

    fn load(&self, dir: &Path) -> Result<Vec<Migration>, MigrationsError> {
        let mut ups: Vec<Migration> = Vec::new();
        let mut downs = Vec::new();
        for (name, path) in files(dir)? {
            let Some((version, rest)) = name.split_once('_') else {
                continue;
            };
            if !rest.ends_with(".sql") {
                continue;
            }
            let version: i64 = version.parse().map_err(|_| {
                MigrationsError::invalid(
                    &path,
                    "sqlx expects an integer version before the first `_` (e.g. `01_foo.sql`) and stops at this file",
                )
            })?;
            let (suffix, is_down) = if rest.ends_with(".up.sql") {
                (".up.sql", false)
            } else if rest.ends_with(".down.sql") {
                (".down.sql", true)
            } else {
                (".sql", false)
            };
            let description = rest.trim_end_matches(suffix).replace('_', " ");
            let text = read(&path)?;
            let statements = sql::split(&path, &text, 1);
            let no_tx = text.starts_with("-- no-transaction");
            if is_down {
                downs.push((
                    version,
                    Down {
                        path,
                        statements,
                        transactions: if no_tx {
                            Transactions::AsWritten
                        } else {
                            Transactions::Script
                        },
                    },
                ));
                continue;
            }
            ups.push(Migration {
                key: Key::Int(version),
                name: description,
                path,
                up: statements,
                unexecuted: Vec::new(),
                refused: None,
                down: None,
                checksum: Some(sql::hex(&sql::sha384(text.as_bytes()))),
                execution: Execution {
                    foreign_keys: ForeignKeys::On,
                    transactions: if no_tx {
                        Transactions::AsWritten
                    } else {
                        Transactions::Script
                    },
                    on_error: OnError::Stop,
                    grouping: Grouping::PerMigration,
                    tracking: TrackingWrite::WithMigration,
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
        // sqlx-sqlite 0.9 src/migrate.rs ensure_migrations_table (the name goes in unquoted)
        format!(
            "\nCREATE TABLE IF NOT EXISTS {table} (\n    version BIGINT PRIMARY KEY,\n    description TEXT NOT NULL,\n    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n    success BOOLEAN NOT NULL,\n    checksum BLOB NOT NULL,\n    execution_time BIGINT NOT NULL\n);\n                "
        )
    }

    fn tracking(&self, m: &Migration, table: &str, clock: &Clock) -> Tracking {
        let Key::Int(version) = m.key else {
            unreachable!("sqlx versions are integers")
        };
        let checksum = m.checksum.as_deref().map(unhex).unwrap_or_default();
        Tracking {
            with_migration: vec![Stmt::new(
                format!(
                    "\n    INSERT INTO {table} ( version, description, success, checksum, execution_time )\n    VALUES ( ?1, ?2, TRUE, ?3, -1 )\n        "
                ),
                vec![
                    Value::Integer(version),
                    Value::Text(m.name.clone()),
                    Value::Blob(checksum),
                ],
            )],
            after: vec![Stmt::new(
                format!(
                    "\n    UPDATE {table}\n    SET execution_time = ?1\n    WHERE version = ?2\n                "
                ),
                vec![
                    Value::Integer(i64::try_from(clock.elapsed.as_nanos()).unwrap_or(i64::MAX)),
                    Value::Integer(version),
                ],
            )],
            ..Tracking::default()
        }
    }

    fn untracking(&self, m: &Migration, _previous: Option<&Migration>, table: &str) -> Tracking {
        // sqlx-sqlite src/migrate.rs `revert`: the down file and this row's removal in one
        // transaction (sqlx issue 1966)
        let Key::Int(version) = m.key else {
            unreachable!("sqlx versions are integers")
        };
        Tracking {
            with_migration: vec![Stmt::new(
                format!("DELETE FROM {table} WHERE version = ?1"),
                vec![Value::Integer(version)],
            )],
            ..Tracking::default()
        }
    }

    fn applied(&self, db: &dyn Db, table: &str) -> Result<Vec<Applied>, DbError> {
        Ok(db
            .query(
                &format!(
                    "SELECT version, description, checksum, success, installed_on FROM {} ORDER BY version",
                    crate::sql::ident(table)
                ),
                &[],
            )?
            .iter()
            .filter_map(|r| {
                Some(Applied {
                    key: Key::Int(as_i64(&r[0])?),
                    name: super::text(&r[1]),
                    checksum: super::text(&r[2]),
                    failed: as_i64(&r[3]) == Some(0),
                    applied_at: super::text(&r[4]),
                })
            })
            .collect())
    }

    fn status(&self, migrations: &[Migration], applied: &[Applied]) -> Vec<Entry> {
        let mut entries = by_key(
            migrations,
            applied,
            Some(|m, a| m.checksum == a.checksum),
            Older::Applies,
        );
        let stops = entries.iter().find_map(|e| match e.state {
            State::Failed => Some(format!("version {} is recorded as failed", e.key)),
            State::Changed => Some(format!("version {} was edited", e.key)),
            State::Missing => Some(format!(
                "version {} has no file (unless --ignore-missing)",
                e.key
            )),
            _ => None,
        });
        if let Some(why) = stops {
            for e in entries.iter_mut().filter(|e| e.state == State::Pending) {
                e.detail = format!("`sqlx migrate run` stops before it: {why}");
            }
        }
        entries
    }
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok())
        .collect()
}
