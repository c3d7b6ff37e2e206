//! dbmate 2.36 (`dbmate up`) on SQLite.
//!
//! - Files: names matching `^(\d+).*\.sql$` in the directory, sorted by name; the version is the
//!   leading digits (pkg/dbmate/db.go `migrationFileRegexp`, `FindMigrations`). A file needs a
//!   `-- migrate:up` and a `-- migrate:down` block, in that order, with nothing but comments
//!   before the first; `-- migrate:up transaction:false` runs the block outside a transaction
//!   (pkg/dbmate/migration.go `parseMigrationContents`, `parseMigrationOptions`). A block is
//!   sent to the driver whole, which runs every statement in it.
//! - Table `schema_migrations(version varchar(128) primary key)`: the version, nothing else
//!   (pkg/driver/sqlite/sqlite.go `CreateMigrationsTable`, `InsertMigration`).
//! - Pending rule: every version the table lacks, older ones too (`--strict` refuses those); no
//!   checksum (db.go `Migrate`). `dbmate status` exits 0 with pending migrations unless
//!   `--exit-code`.
//! - One transaction per file, its row inside it; a failing file is rolled back and stops the
//!   run, earlier files stay. Foreign keys are off on its connection (observed with dbmate
//!   2.36.0: a migration inserting an orphan row succeeds), so a `transaction:false` block's
//!   own `pragma foreign_keys` takes effect.
//! - Observed with dbmate 2.36.0: a missing `-- migrate:down` stops the run ("dbmate requires
//!   each migration to define a down block"); a second up/down pair in one file runs its own
//!   transaction and records the version again, which fails on the primary key.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

use super::status::{Entry, Older, by_key};
use super::{
    Applied, Clock, Down, Execution, Format, Grouping, Key, Migration, MigrationsError, Statement,
    Tool, Tracking, TrackingWrite, files, read, sql,
};
use super::{ForeignKeys, OnError, Transactions};
use crate::db::{Db, DbError, Stmt, Value};

pub struct Dbmate;

fn up_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?m)^--\s*migrate:up(\s*$|\s+\S+)").expect("valid"))
}

fn down_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?m)^--\s*migrate:down(\s*$|\s+\S+)$").expect("valid"))
}

/// `transaction:false` on a block's directive line (the last value of a key wins).
fn in_transaction(block: &str) -> bool {
    let first = block.lines().next().unwrap_or_default();
    let mut tx = true;
    for pair in first.split_whitespace() {
        let kv: Vec<&str> = pair.split(':').collect();
        if kv.len() == 2 && kv[0] == "transaction" {
            tx = kv[1] != "false";
        }
    }
    tx
}

fn line_of(text: &str, at: usize) -> usize {
    1 + text[..at].matches('\n').count()
}

impl Format for Dbmate {
    fn tool(&self) -> Tool {
        Tool::Dbmate
    }

    fn table(&self) -> &'static str {
        "schema_migrations"
    }

    fn columns(&self) -> &'static [&'static str] {
        &["version"]
    }

    fn load(&self, dir: &Path) -> Result<Vec<Migration>, MigrationsError> {
        static FILE: OnceLock<Regex> = OnceLock::new();
        let file_re = FILE.get_or_init(|| Regex::new(r"^(\d+).*\.sql$").expect("valid"));
        let mut out = Vec::new();
        for (name, path) in files(dir)? {
            let Some(caps) = file_re.captures(&name) else {
                continue;
            };
            let version = caps[1].to_string();
            let text = read(&path)?;
            let ups: Vec<usize> = up_re().find_iter(&text).map(|m| m.start()).collect();
            let downs: Vec<usize> = down_re().find_iter(&text).map(|m| m.start()).collect();
            let mut refused = None;
            let mut up: Vec<Statement> = Vec::new();
            let mut down = None;
            let mut tx = true;
            match (ups.first(), downs.first()) {
                (None, _) => {
                    refused = Some(format!(
                        "{}: no `-- migrate:up` block (dbmate stops here)",
                        path.display()
                    ))
                }
                (Some(_), None) => {
                    refused = Some(format!(
                        "{}: no `-- migrate:down` block (dbmate 2.36 stops here)",
                        path.display()
                    ))
                }
                (Some(&u), Some(&d)) if u > d => {
                    refused = Some(format!(
                        "{}:{}: `-- migrate:down` comes before `-- migrate:up` (dbmate stops here)",
                        path.display(),
                        line_of(&text, d)
                    ))
                }
                (Some(&u), Some(&d)) => {
                    if !sql::blank(&text[..u]) {
                        refused = Some(format!(
                            "{}:1: statements before `-- migrate:up` (dbmate stops here)",
                            path.display()
                        ));
                    } else if ups.len() > 1 {
                        refused = Some(format!(
                            "{}:{}: a second `-- migrate:up` block; dbmate runs it in a transaction of its own and records the version again, which fails",
                            path.display(),
                            line_of(&text, ups[1])
                        ));
                    }
                    let up_block = &text[u..d];
                    tx = in_transaction(up_block);
                    up = sql::split(&path, up_block, line_of(&text, u));
                    let down_end = ups.iter().copied().find(|&x| x > d).unwrap_or(text.len());
                    let down_block = &text[d..down_end];
                    down = Some(Down {
                        path: path.clone(),
                        statements: sql::split(&path, down_block, line_of(&text, d)),
                        transactions: if in_transaction(down_block) {
                            Transactions::Script
                        } else {
                            Transactions::AsWritten
                        },
                    });
                }
            }
            out.push(Migration {
                key: Key::Text(version),
                name: name
                    .trim_end_matches(".sql")
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .trim_start_matches('_')
                    .to_string(),
                path,
                up,
                unexecuted: Vec::new(),
                refused,
                down,
                checksum: None,
                execution: Execution {
                    foreign_keys: ForeignKeys::Off,
                    transactions: if tx {
                        Transactions::Script
                    } else {
                        Transactions::AsWritten
                    },
                    on_error: OnError::Stop,
                    grouping: Grouping::PerMigration,
                    tracking: TrackingWrite::WithMigration,
                },
            });
        }
        Ok(out)
    }

    fn create_table(&self, table: &str) -> String {
        format!(
            "create table if not exists {} (version varchar(128) primary key)",
            crate::sql::ident(table)
        )
    }

    fn tracking(&self, m: &Migration, table: &str, _clock: &Clock) -> Tracking {
        Tracking {
            with_migration: vec![Stmt::new(
                format!(
                    "insert into {} (version) values (?)",
                    crate::sql::ident(table)
                ),
                vec![Value::Text(m.key.to_string())],
            )],
            ..Tracking::default()
        }
    }

    fn untracking(&self, m: &Migration, _previous: Option<&Migration>, table: &str) -> Tracking {
        // pkg/dbmate/db.go `Rollback` with pkg/driver/sqlite/sqlite.go `DeleteMigration`, in the
        // down block's transaction (none with `transaction:false`)
        Tracking {
            with_migration: vec![Stmt::new(
                format!("delete from {} where version = ?", crate::sql::ident(table)),
                vec![Value::Text(m.key.to_string())],
            )],
            ..Tracking::default()
        }
    }

    fn applied(&self, db: &dyn Db, table: &str) -> Result<Vec<Applied>, DbError> {
        Ok(db
            .query(
                &format!(
                    "SELECT version FROM {} ORDER BY version",
                    crate::sql::ident(table)
                ),
                &[],
            )?
            .iter()
            .filter_map(|r| {
                Some(Applied {
                    key: Key::Text(super::text(&r[0])?),
                    name: None,
                    checksum: None,
                    failed: false,
                    applied_at: None,
                })
            })
            .collect())
    }

    fn status(&self, migrations: &[Migration], applied: &[Applied]) -> Vec<Entry> {
        by_key(migrations, applied, None, Older::Applies)
    }
}
