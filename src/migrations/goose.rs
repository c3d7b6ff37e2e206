//! goose v3 (`goose up`) on SQLite.
//!
//! - Files: `*.sql` in the directory; the version is the number before the first `_` (at least
//!   1). A file starts with `-- +goose Up`, may have `-- +goose Down`; statements end at a line
//!   whose last word before any `--` comment ends in `;`, except between
//!   `-- +goose StatementBegin` and `-- +goose StatementEnd`; `-- +goose NO TRANSACTION`
//!   anywhere runs the file outside a transaction (internal/sqlparser/parser.go
//!   `ParseSQLMigration`, `endsWithSemicolon`, `cleanupStatement`).
//! - Table `goose_db_version(id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL,
//!   is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))`, created with a
//!   version 0 row; applying a migration inserts `(version_id, is_applied) = (v, true)` in its
//!   transaction, a down deletes the version's rows (internal/dialect/dialectquery/sqlite3.go).
//! - Pending rule: versions without an applied row; one numbered below the newest applied stops
//!   `goose up` ("missing migrations") unless `-allow-missing`.
//! - Each statement is executed on its own, in the file's transaction. goose's SQLite driver
//!   (modernc.org/sqlite) leaves foreign keys off.

use std::path::Path;

use super::status::{Entry, Older, by_key};
use super::{
    Applied, Clock, Down, Execution, Format, Grouping, Key, Migration, MigrationsError, Statement,
    Tool, Tracking, TrackingWrite, files, read,
};
use super::{ForeignKeys, OnError, Transactions};
use crate::db::{Db, DbError, Stmt, Value, as_i64};

pub struct Goose;

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Start,
    Up,
    BeginUp,
    EndUp,
    Down,
    BeginDown,
    EndDown,
}

/// The last word before any `--` ends in `;`.
fn ends_with_semicolon(line: &str) -> bool {
    let mut prev = "";
    for word in line.split_whitespace() {
        if word.starts_with("--") {
            break;
        }
        prev = word;
    }
    prev.ends_with(';')
}

/// Trim what follows the last semicolon (trailing comments, blank lines).
fn cleanup(s: &str) -> String {
    match s.rfind(';') {
        Some(n) if n > 0 => s[..=n].to_string(),
        _ => s.to_string(),
    }
}

/// goose's parser: the statements of one direction and whether the file runs in a transaction.
fn parse(path: &Path, text: &str, up: bool) -> Result<(Vec<Statement>, bool), String> {
    let mut state = St::Start;
    let mut use_tx = true;
    let mut buf = String::new();
    let mut buf_line = 0;
    let mut stmts = Vec::new();
    let push = |buf: &mut String, line: usize, stmts: &mut Vec<Statement>| {
        stmts.push(Statement {
            file: path.to_path_buf(),
            line,
            sql: cleanup(buf),
        });
        buf.clear();
    };
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if state == St::Start && line.trim().is_empty() {
            continue;
        }
        if let Some(cmd) = line.strip_prefix("--").map(str::trim) {
            match cmd {
                "+goose Up" => {
                    if state != St::Start {
                        return Err(format!("line {n}: a second `-- +goose Up`"));
                    }
                    state = St::Up;
                    continue;
                }
                "+goose Down" => {
                    if !matches!(state, St::Up | St::EndUp) {
                        return Err(format!("line {n}: `-- +goose Down` before `-- +goose Up`"));
                    }
                    state = St::Down;
                    continue;
                }
                "+goose StatementBegin" => {
                    state = match state {
                        St::Up | St::EndUp => St::BeginUp,
                        St::Down | St::EndDown => St::BeginDown,
                        _ => {
                            return Err(format!(
                                "line {n}: `-- +goose StatementBegin` outside an Up or Down section"
                            ));
                        }
                    };
                    continue;
                }
                "+goose StatementEnd" => {
                    state = match state {
                        St::BeginUp => St::EndUp,
                        St::BeginDown => St::EndDown,
                        _ => {
                            return Err(format!(
                                "line {n}: `-- +goose StatementEnd` without `-- +goose StatementBegin`"
                            ));
                        }
                    };
                }
                "+goose NO TRANSACTION" => {
                    use_tx = false;
                    continue;
                }
                _ => {}
            }
        }
        if buf.is_empty() && (line.trim_start().starts_with("--") || line.is_empty()) {
            continue;
        }
        if !matches!(state, St::EndUp | St::EndDown) {
            if buf.is_empty() {
                buf_line = n;
            }
            buf.push_str(line);
            buf.push('\n');
        }
        let wanted = match state {
            St::Up | St::BeginUp | St::EndUp => up,
            St::Down | St::BeginDown | St::EndDown => !up,
            St::Start => {
                return Err(format!(
                    "line {n}: SQL before `-- +goose Up` (goose cannot parse the file)"
                ));
            }
        };
        if !wanted {
            buf.clear();
            continue;
        }
        match state {
            St::Up | St::Down if ends_with_semicolon(line) => push(&mut buf, buf_line, &mut stmts),
            St::EndUp => {
                push(&mut buf, buf_line, &mut stmts);
                state = St::Up;
            }
            St::EndDown => {
                push(&mut buf, buf_line, &mut stmts);
                state = St::Down;
            }
            _ => {}
        }
    }
    match state {
        St::Start => return Err("no `-- +goose Up` annotation".into()),
        St::BeginUp | St::BeginDown => {
            return Err("`-- +goose StatementBegin` without `-- +goose StatementEnd`".into());
        }
        _ => {}
    }
    if !buf.trim().is_empty() {
        return Err(format!(
            "line {buf_line}: a statement without its final semicolon (goose stops: \"missing semicolon?\")"
        ));
    }
    Ok((stmts, use_tx))
}

impl Format for Goose {
    fn tool(&self) -> Tool {
        Tool::Goose
    }

    fn table(&self) -> &'static str {
        "goose_db_version"
    }

    fn columns(&self) -> &'static [&'static str] {
        &["id", "version_id", "is_applied", "tstamp"]
    }

    fn load(&self, dir: &Path) -> Result<Vec<Migration>, MigrationsError> {
        let mut out: Vec<Migration> = Vec::new();
        for (name, path) in files(dir)? {
            if !name.ends_with(".sql") {
                continue;
            }
            let version = name
                .split_once('_')
                .and_then(|(v, _)| v.parse::<i64>().ok())
                .filter(|v| *v >= 1)
                .ok_or_else(|| {
                    MigrationsError::invalid(
                        &path,
                        "goose expects a version of at least 1 before the first `_` and stops at this file",
                    )
                })?;
            let text = read(&path)?;
            let (up, down, use_tx, refused) =
                match (parse(&path, &text, true), parse(&path, &text, false)) {
                    (Ok((up, tx)), Ok((down, _))) => (
                        up,
                        Some(Down {
                            path: path.clone(),
                            statements: down,
                            transactions: if tx {
                                Transactions::Script
                            } else {
                                Transactions::AsWritten
                            },
                        }),
                        tx,
                        None,
                    ),
                    (Err(e), _) | (_, Err(e)) => (
                        Vec::new(),
                        None,
                        true,
                        Some(format!("{}: {e}", path.display())),
                    ),
                };
            out.push(Migration {
                key: Key::Int(version),
                name: name
                    .trim_end_matches(".sql")
                    .split_once('_')
                    .map(|(_, n)| n.to_string())
                    .unwrap_or_default(),
                path,
                up,
                unexecuted: Vec::new(),
                refused,
                down,
                checksum: None,
                execution: Execution {
                    foreign_keys: ForeignKeys::Off,
                    transactions: if use_tx {
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
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn create_table(&self, table: &str) -> String {
        // internal/dialect/dialectquery/sqlite3.go CreateTable, then the version 0 row goose
        // records right after creating it
        format!(
            "CREATE TABLE {table} (\n\t\tid INTEGER PRIMARY KEY AUTOINCREMENT,\n\t\tversion_id INTEGER NOT NULL,\n\t\tis_applied INTEGER NOT NULL,\n\t\ttstamp TIMESTAMP DEFAULT (datetime('now'))\n\t);\nINSERT INTO {table} (version_id, is_applied) VALUES (0, 1);"
        )
    }

    fn tracking(&self, m: &Migration, table: &str, _clock: &Clock) -> Tracking {
        let Key::Int(version) = m.key else {
            unreachable!("goose versions are integers")
        };
        Tracking {
            with_migration: vec![Stmt::new(
                format!("INSERT INTO {table} (version_id, is_applied) VALUES (?, ?)"),
                vec![Value::Integer(version), Value::Integer(1)],
            )],
            ..Tracking::default()
        }
    }

    fn untracking(&self, m: &Migration, _previous: Option<&Migration>, table: &str) -> Tracking {
        // internal/dialect/dialectquery/sqlite3.go `DeleteVersion`, in the down migration's
        // transaction
        let Key::Int(version) = m.key else {
            unreachable!("goose versions are integers")
        };
        Tracking {
            with_migration: vec![Stmt::new(
                format!("DELETE FROM {table} WHERE version_id=?"),
                vec![Value::Integer(version)],
            )],
            ..Tracking::default()
        }
    }

    fn applied(&self, db: &dyn Db, table: &str) -> Result<Vec<Applied>, DbError> {
        // the newest row of each version decides (ListMigrations: ORDER BY id DESC)
        let rows = db.query(
            &format!(
                "SELECT version_id, is_applied, tstamp FROM {} ORDER BY id DESC",
                crate::sql::ident(table)
            ),
            &[],
        )?;
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for r in rows {
            let Some(v) = as_i64(&r[0]) else { continue };
            if v == 0 || !seen.insert(v) {
                continue;
            }
            if as_i64(&r[1]).unwrap_or(0) != 0 {
                out.push(Applied {
                    key: Key::Int(v),
                    name: None,
                    checksum: None,
                    failed: false,
                    applied_at: super::text(&r[2]),
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn status(&self, migrations: &[Migration], applied: &[Applied]) -> Vec<Entry> {
        by_key(
            migrations,
            applied,
            None,
            Older::Blocked("`goose up` stops on missing migrations unless -allow-missing"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goose_parser_splits_like_goose() {
        let text = "-- +goose Up\n-- a comment\nCREATE TABLE t (x); -- trailing\n\n-- +goose StatementBegin\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  SELECT 1;\nEND;\n-- +goose StatementEnd\n-- +goose Down\nDROP TABLE t;\n";
        let (up, tx) = parse(Path::new("1_t.sql"), text, true).unwrap();
        assert!(tx);
        assert_eq!(
            up.iter()
                .map(|s| (s.line, s.sql.as_str()))
                .collect::<Vec<_>>(),
            vec![
                (3, "CREATE TABLE t (x);"),
                (
                    6,
                    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  SELECT 1;\nEND;"
                ),
            ]
        );
        let (down, _) = parse(Path::new("1_t.sql"), text, false).unwrap();
        assert_eq!(down.len(), 1);
        assert_eq!(down[0].line, 11);
        let (_, tx) = parse(
            Path::new("x"),
            "-- +goose NO TRANSACTION\n-- +goose Up\nSELECT 1;\n",
            true,
        )
        .unwrap();
        assert!(!tx);
        assert!(parse(Path::new("x"), "-- +goose Up\nSELECT 1\n", true).is_err());
        assert!(parse(Path::new("x"), "SELECT 1;\n", true).is_err());
    }
}
