//! prisma (`prisma migrate deploy`) on SQLite. prisma's engine is not installable here (it
//! downloads binaries from outside the package registries), so this follows its sources and
//! the rows of databases it migrated.
//!
//! - Files: `migrations/<timestamp>_<name>/migration.sql`, one directory per migration, applied
//!   in name order; `migration_lock.toml` names the provider; there is no down migration.
//! - Checksum: sha256 hex of `migration.sql`; a stored checksum matches when it equals the hash
//!   of the script as is, with CRLF turned to LF, or with LF turned to CRLF, and an old
//!   unpadded hex form is accepted (prisma-engines
//!   `schema-engine/connectors/schema-connector/src/checksum.rs`).
//! - Table `_prisma_migrations(id, checksum, finished_at, migration_name, logs, rolled_back_at,
//!   started_at, applied_steps_count)` (the SQLite connector's `create_migrations_table`): a row
//!   is written when a migration starts (`finished_at` NULL) and finished when it succeeds; a
//!   row without `finished_at` and without `rolled_back_at` is a failed migration, which stops
//!   `migrate deploy` (P3009) until `migrate resolve`; a rolled-back row counts as not applied.
//!   In the SQLite rows prisma writes, `started_at` and `finished_at` are Unix milliseconds and
//!   `id` a UUID v4.
//! - The script runs as one batch with no transaction of its own (sql-schema-connector
//!   `flavour/sqlite.rs` `apply_migration_script` → `raw_cmd`), so its own
//!   `PRAGMA foreign_keys=OFF` (prisma's generated `-- RedefineTables` blocks start with one)
//!   takes effect; foreign keys are on in prisma's SQLite connection, which is why those
//!   blocks turn them off. On Turso, prisma migrations are applied by hand and the table may
//!   not exist at all.

use std::path::Path;

use super::status::{Entry, Older, by_key};
use super::{
    Applied, Clock, Execution, Format, Grouping, Key, Migration, MigrationsError, Tool, Tracking,
    TrackingWrite, read, sql,
};
use super::{ForeignKeys, OnError, Transactions};
use crate::db::{Db, DbError, Stmt, Value, as_i64};

pub struct Prisma;

/// prisma's comparison of a script with a stored checksum.
pub fn matches(script: &str, stored: &str) -> bool {
    let variants = [
        script.to_string(),
        script.replace("\r\n", "\n"),
        script.replace('\n', "\r\n"),
    ];
    variants.iter().any(|v| {
        let digest = sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha256 as sha2::Digest>::new(),
            v.as_bytes(),
        ));
        let full = sql::hex(&digest);
        if !stored.is_empty() && stored.len() != 64 {
            digest.iter().map(|b| format!("{b:x}")).collect::<String>() == stored
        } else {
            full == stored
        }
    })
}

impl Format for Prisma {
    fn tool(&self) -> Tool {
        Tool::Prisma
    }

    fn table(&self) -> &'static str {
        "_prisma_migrations"
    }

    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "checksum",
            "finished_at",
            "migration_name",
            "logs",
            "rolled_back_at",
            "started_at",
            "applied_steps_count",
        ]
    }

    fn load(&self, dir: &Path) -> Result<Vec<Migration>, MigrationsError> {
        let entries = std::fs::read_dir(dir).map_err(|e| MigrationsError::Read {
            path: dir.to_path_buf(),
            message: format!("{e} (--migrations names the directory of migration files)"),
        })?;
        let mut dirs: Vec<(String, std::path::PathBuf)> = entries
            .flatten()
            .filter(|e| e.path().join("migration.sql").is_file())
            .filter_map(|e| Some((e.file_name().to_str()?.to_string(), e.path())))
            .collect();
        dirs.sort();
        let mut out = Vec::new();
        for (name, d) in dirs {
            let path = d.join("migration.sql");
            let text = read(&path)?;
            out.push(Migration {
                key: Key::Text(name.clone()),
                name,
                up: sql::split(&path, &text, 1),
                path,
                unexecuted: Vec::new(),
                refused: None,
                down: None,
                checksum: Some(sql::sha256_hex(text.as_bytes())),
                execution: Execution {
                    foreign_keys: ForeignKeys::On,
                    transactions: Transactions::AsWritten,
                    on_error: OnError::Stop,
                    grouping: Grouping::PerMigration,
                    tracking: TrackingWrite::BeforeAndAfter,
                },
            });
        }
        Ok(out)
    }

    fn create_table(&self, table: &str) -> String {
        format!(
            "CREATE TABLE {} (\n    \"id\"                    TEXT PRIMARY KEY NOT NULL,\n    \"checksum\"              TEXT NOT NULL,\n    \"finished_at\"           DATETIME,\n    \"migration_name\"        TEXT NOT NULL,\n    \"logs\"                  TEXT,\n    \"rolled_back_at\"        DATETIME,\n    \"started_at\"            DATETIME NOT NULL DEFAULT current_timestamp,\n    \"applied_steps_count\"   INTEGER UNSIGNED NOT NULL DEFAULT 0\n);\n",
            crate::sql::ident(table)
        )
    }

    fn tracking(&self, m: &Migration, table: &str, clock: &Clock) -> Tracking {
        let t = crate::sql::ident(table);
        let started = i64::try_from(clock.now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let finished = started + i64::try_from(clock.elapsed.as_millis()).unwrap_or(0);
        Tracking {
            before: vec![Stmt::new(
                format!(
                    "INSERT INTO {t} (\"id\", \"checksum\", \"started_at\", \"finished_at\", \"migration_name\", \"logs\", \"rolled_back_at\", \"applied_steps_count\") VALUES (?, ?, ?, NULL, ?, NULL, NULL, 0)"
                ),
                vec![
                    Value::Text(clock.row_id.clone()),
                    Value::Text(m.checksum.clone().unwrap_or_default()),
                    Value::Integer(started),
                    Value::Text(m.name.clone()),
                ],
            )],
            with_migration: Vec::new(),
            after: vec![Stmt::new(
                format!(
                    "UPDATE {t} SET \"finished_at\" = ?, \"applied_steps_count\" = \"applied_steps_count\" + 1 WHERE \"id\" = ?"
                ),
                vec![Value::Integer(finished), Value::Text(clock.row_id.clone())],
            )],
        }
    }

    fn applied(&self, db: &dyn Db, table: &str) -> Result<Vec<Applied>, DbError> {
        let rows = db.query(
            &format!(
                "SELECT migration_name, checksum, finished_at, rolled_back_at, started_at FROM {} ORDER BY started_at",
                crate::sql::ident(table)
            ),
            &[],
        )?;
        // per name: a finished, not rolled-back row wins; else an unfinished one is a failure;
        // rolled-back rows alone leave the migration unapplied
        let mut out: Vec<Applied> = Vec::new();
        for r in rows {
            let Some(name) = super::text(&r[0]) else {
                continue;
            };
            let finished = !matches!(r[2], crate::db::Value::Null);
            let rolled_back = !matches!(r[3], crate::db::Value::Null);
            if rolled_back {
                continue;
            }
            let row = Applied {
                key: Key::Text(name.clone()),
                name: Some(name.clone()),
                checksum: super::text(&r[1]),
                failed: !finished,
                applied_at: as_i64(&r[2])
                    .map(|ms| {
                        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                            .ok()
                            .and_then(|t| {
                                t.format(&time::format_description::well_known::Rfc3339)
                                    .ok()
                            })
                            .unwrap_or_else(|| ms.to_string())
                    })
                    .or_else(|| super::text(&r[2])),
            };
            match out.iter_mut().find(|a| a.key == row.key) {
                Some(existing) if existing.failed && !row.failed => *existing = row,
                Some(_) => {}
                None => out.push(row),
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn status(&self, migrations: &[Migration], applied: &[Applied]) -> Vec<Entry> {
        by_key(
            migrations,
            applied,
            Some(|m, a| match (&a.checksum, read(&m.path)) {
                (Some(stored), Ok(script)) => matches(&script, stored),
                _ => false,
            }),
            Older::Applies,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_across_line_endings_and_the_old_unpadded_form() {
        let unix = "CREATE TABLE a (x);\nCREATE TABLE b (y);\n";
        let windows = unix.replace('\n', "\r\n");
        let stored = sql::sha256_hex(unix.as_bytes());
        assert!(matches(unix, &stored));
        assert!(matches(&windows, &stored));
        assert!(matches(unix, &sql::sha256_hex(windows.as_bytes())));
        assert!(!matches("CREATE TABLE a (z);\n", &stored));
        // prisma's own examples: "hello" and the unpadded form of a hash with a 0x0? byte
        assert!(matches(
            "hello",
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        ));
        let script = (0..)
            .map(|i| format!("SELECT {i};"))
            .find(|s| {
                <sha2::Sha256 as sha2::Digest>::digest(s.as_bytes())
                    .iter()
                    .any(|b| *b < 0x10)
            })
            .unwrap();
        let digest = <sha2::Sha256 as sha2::Digest>::digest(script.as_bytes());
        let unpadded: String = digest.iter().map(|b| format!("{b:x}")).collect();
        assert!(unpadded.len() < 64);
        assert!(matches(&script, &unpadded));
        assert!(!matches("SELECT -1;", &unpadded));
    }
}
