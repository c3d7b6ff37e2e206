//! drizzle-kit's migrations folder, as drizzle-orm 0.45's migrator runs it.
//!
//! - Files: `meta/_journal.json` lists the migrations (`idx, version, when, tag, breakpoints`);
//!   each is `<tag>.sql`; a file not in the journal is never read. The text is split **only** on
//!   `--> statement-breakpoint` and its sha256 is the hex of the file as read (drizzle-orm
//!   `src/migrator.ts`, `readMigrationFiles`; 0.45.4 hashes the raw text, without line-ending
//!   normalisation).
//! - Each chunk goes to the driver as one statement (`session.run(sql.raw(stmt))`): through
//!   @libsql/client only the chunk's first statement runs and the rest is silently dropped, and a
//!   chunk with no statement at all (blank, or comments only) fails the whole run (observed with
//!   drizzle-kit 0.31.11, drizzle-orm 0.45.4, @libsql/client 0.18.0).
//! - Table `__drizzle_migrations(id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`:
//!   `SERIAL` is no rowid alias in SQLite, so `id` stays NULL; each row is
//!   `INSERT … ("hash", "created_at") VALUES(<sha256>, <journal when>)`.
//! - Pending rule: only the row with the largest `created_at` is read; every journal entry whose
//!   `when` is later runs, in journal order; hashes are never compared
//!   (`src/sqlite-core/dialect.ts` `migrate`, `src/libsql/migrator.ts`).
//! - Transactions: every pending migration and its row in **one** transaction. The libSQL
//!   client's `migrate()` runs `PRAGMA foreign_keys=off` before its BEGIN (and on after), so
//!   keys are off; with better-sqlite3 (compiled with foreign keys on) they stay on, and a
//!   generated rebuild's own `PRAGMA foreign_keys=OFF`, inside the transaction, does nothing.

use std::path::Path;

use serde::Deserialize;

use super::status::{Entry, State, changed_detail, missing};
use super::{
    Applied, Clock, Execution, Format, Grouping, Key, Migration, MigrationsError, Statement, Tool,
    Tracking, TrackingWrite, read, sql,
};
use super::{ForeignKeys, OnError, Transactions};
use crate::db::{Db, DbError, Stmt, Value, as_i64};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// @libsql/client (drizzle-kit's `turso` dialect, and what Turso apps use).
    Libsql,
    /// better-sqlite3.
    BetterSqlite3,
}

pub struct Drizzle {
    pub driver: Driver,
}

pub const BREAKPOINT: &str = "--> statement-breakpoint";

#[derive(Deserialize)]
struct Journal {
    entries: Vec<JournalEntry>,
}

#[derive(Deserialize)]
struct JournalEntry {
    when: i64,
    tag: String,
}

impl Drizzle {
    fn execution(&self) -> Execution {
        Execution {
            foreign_keys: match self.driver {
                Driver::Libsql => ForeignKeys::Off,
                Driver::BetterSqlite3 => ForeignKeys::On,
            },
            transactions: Transactions::Script,
            on_error: OnError::Stop,
            grouping: Grouping::AllPending,
            tracking: TrackingWrite::WithMigration,
        }
    }
}

impl Format for Drizzle {
    fn tool(&self) -> Tool {
        match self.driver {
            Driver::Libsql => Tool::Drizzle,
            Driver::BetterSqlite3 => Tool::DrizzleBetterSqlite3,
        }
    }

    fn table(&self) -> &'static str {
        "__drizzle_migrations"
    }

    fn columns(&self) -> &'static [&'static str] {
        &["id", "hash", "created_at"]
    }

    fn load(&self, dir: &Path) -> Result<Vec<Migration>, MigrationsError> {
        let journal_path = dir.join("meta/_journal.json");
        let journal: Journal = serde_json::from_str(&read(&journal_path)?).map_err(|e| {
            MigrationsError::invalid(&journal_path, format!("not a drizzle journal: {e}"))
        })?;
        let mut out = Vec::new();
        for entry in journal.entries {
            let path = dir.join(format!("{}.sql", entry.tag));
            let text = read(&path).map_err(|_| {
                MigrationsError::invalid(
                    &journal_path,
                    format!(
                        "the journal lists {}, which is not in {} (drizzle stops: \"No file … found\")",
                        entry.tag,
                        dir.display()
                    ),
                )
            })?;
            let mut up = Vec::new();
            let mut unexecuted = Vec::new();
            let mut refused = None;
            let mut offset = 0;
            for chunk in text.split(BREAKPOINT) {
                let line = 1 + text[..offset].matches('\n').count();
                offset += chunk.len() + BREAKPOINT.len();
                let stmts = sql::split(&path, chunk, line);
                let mut stmts = stmts.into_iter();
                match (stmts.next(), self.driver) {
                    (None, _) => {
                        refused.get_or_insert_with(|| {
                            format!(
                                "{}:{line}: a chunk between breakpoints holds no statement, and the driver rejects it (the whole run fails)",
                                path.display()
                            )
                        });
                    }
                    (Some(first), Driver::Libsql) => {
                        up.push(first);
                        unexecuted.extend(stmts);
                    }
                    (Some(first), Driver::BetterSqlite3) => {
                        let rest: Vec<Statement> = stmts.collect();
                        if let Some(second) = rest.first() {
                            refused.get_or_insert_with(|| {
                                format!(
                                    "{}:{}: a second statement without `{BREAKPOINT}` before it; better-sqlite3 refuses a chunk of more than one statement",
                                    path.display(),
                                    second.line
                                )
                            });
                        }
                        up.push(first);
                        up.extend(rest);
                    }
                }
            }
            out.push(Migration {
                key: Key::Int(entry.when),
                name: entry.tag,
                path,
                up,
                unexecuted,
                refused,
                down: None,
                checksum: Some(sql::sha256_hex(text.as_bytes())),
                execution: self.execution(),
            });
        }
        Ok(out)
    }

    fn create_table(&self, table: &str) -> String {
        // drizzle-orm src/sqlite-core/dialect.ts, the text as the migrator sends it
        format!(
            "\n\t\tCREATE TABLE IF NOT EXISTS {} (\n\t\t\tid SERIAL PRIMARY KEY,\n\t\t\thash text NOT NULL,\n\t\t\tcreated_at numeric\n\t\t)\n\t",
            crate::sql::ident(table)
        )
    }

    fn tracking(&self, m: &Migration, table: &str, _clock: &Clock) -> Tracking {
        let Key::Int(when) = m.key else {
            unreachable!("drizzle migrations are keyed by their journal time")
        };
        Tracking {
            with_migration: vec![Stmt::new(
                format!(
                    "INSERT INTO {} (\"hash\", \"created_at\") VALUES(?, ?)",
                    crate::sql::ident(table)
                ),
                vec![
                    Value::Text(m.checksum.clone().unwrap_or_default()),
                    Value::Integer(when),
                ],
            )],
            ..Tracking::default()
        }
    }

    fn applied(&self, db: &dyn Db, table: &str) -> Result<Vec<Applied>, DbError> {
        Ok(db
            .query(
                &format!(
                    "SELECT hash, created_at FROM {} ORDER BY created_at",
                    crate::sql::ident(table)
                ),
                &[],
            )?
            .iter()
            .filter_map(|r| {
                let when = as_i64(&r[1]).or_else(|| super::text(&r[1])?.parse().ok())?;
                Some(Applied {
                    key: Key::Int(when),
                    name: None,
                    checksum: super::text(&r[0]),
                    failed: false,
                    applied_at: None,
                })
            })
            .collect())
    }

    fn status(&self, migrations: &[Migration], applied: &[Applied]) -> Vec<Entry> {
        let newest = applied.iter().map(|a| &a.key).max();
        let mut out = Vec::new();
        for m in migrations {
            let (state, detail) = match applied.iter().find(|a| a.key == m.key) {
                Some(a) if a.checksum != m.checksum => (
                    State::Changed,
                    format!(
                        "{} (drizzle never compares hashes: it will not notice)",
                        changed_detail(m, a)
                    ),
                ),
                Some(_) => (State::Applied, String::new()),
                None => match newest {
                    Some(n) if m.key <= *n => (
                        State::Blocked,
                        format!(
                            "journal when {} is not after {n}, the newest created_at: drizzle never runs it",
                            m.key
                        ),
                    ),
                    _ => (State::Pending, String::new()),
                },
            };
            out.push(Entry {
                key: m.key.clone(),
                name: m.name.clone(),
                file: Some(m.path.display().to_string()),
                state,
                detail,
            });
        }
        out.extend(missing(migrations, applied));
        out
    }
}
