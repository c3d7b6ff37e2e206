//! LiveOne's own migrations: `migrations/NNNN_name.sql`, piped by hand into
//! `turso db shell DB < file`; most end by recording themselves in
//! `migrations(id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL DEFAULT (unixepoch() * 1000))`
//! (shared/liveone/schema.sql). The file is the whole runner's input: its own
//! `PRAGMA foreign_keys`, `BEGIN`/`COMMIT` and its tracking row are all in it
//! (shared/LIVEONE.md, "How LiveOne runs its SQL migrations").

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

use super::status::{Entry, Older, State, by_key};
use super::{
    Applied, Clock, Execution, Format, Grouping, Key, Migration, MigrationsError, Tool, Tracking,
    TrackingWrite, files, read, sql,
};
use super::{ForeignKeys, OnError, Transactions};
use crate::db::{Db, DbError, as_i64};

pub struct LiveOne;

fn numbered() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^([0-9]+)_(.+)\.sql$").expect("valid"))
}

/// `INSERT [OR …] INTO migrations (cols) VALUES ('…', …)`: the id the file records itself with.
pub fn recorded_id(sql_text: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"(?is)^\s*insert\s+(?:or\s+\w+\s+)?into\s+["`\[]?migrations["`\]]?\s*\(([^)]*)\)\s*values\s*\((.*)\)\s*;?\s*$"#,
        )
        .expect("valid")
    });
    let caps = re.captures(sql_text)?;
    let cols: Vec<String> = caps[1]
        .split(',')
        .map(|c| {
            c.trim()
                .trim_matches(|ch| matches!(ch, '"' | '`' | '[' | ']'))
                .to_ascii_lowercase()
        })
        .collect();
    let at = cols.iter().position(|c| c == "id")?;
    // the values: single-quoted literals ('' inside one is a quote) or bare words
    let mut values = Vec::new();
    let mut chars = caps[2].chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut v = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            while let Some(c) = chars.next() {
                if c == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                        v.push('\'');
                    } else {
                        break;
                    }
                } else {
                    v.push(c);
                }
            }
            values.push(Some(v));
        } else {
            let mut depth = 0;
            while let Some(&c) = chars.peek() {
                if c == ',' && depth == 0 {
                    break;
                }
                depth += i32::from(c == '(') - i32::from(c == ')');
                v.push(c);
                chars.next();
            }
            values.push(None);
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            Some(',') => continue,
            _ => break,
        }
    }
    values.get(at).cloned().flatten()
}

impl Format for LiveOne {
    fn tool(&self) -> Tool {
        Tool::Liveone
    }

    fn table(&self) -> &'static str {
        "migrations"
    }

    fn columns(&self) -> &'static [&'static str] {
        &["id", "applied_at"]
    }

    fn load(&self, dir: &Path) -> Result<Vec<Migration>, MigrationsError> {
        let mut out = Vec::new();
        for (name, path) in files(dir)? {
            let Some(caps) = numbered().captures(&name) else {
                continue;
            };
            let text = read(&path)?;
            let up = sql::split(&path, &text, 1);
            let stem = name.trim_end_matches(".sql").to_string();
            let id = up.iter().rev().find_map(|s| recorded_id(&s.sql));
            out.push(Migration {
                key: Key::Text(id.unwrap_or_else(|| stem.clone())),
                name: caps[2].to_string(),
                path,
                up,
                unexecuted: Vec::new(),
                refused: None,
                down: None,
                checksum: None,
                execution: Execution {
                    // the libSQL server enforces foreign keys unless the script turns them off
                    foreign_keys: ForeignKeys::On,
                    transactions: Transactions::AsWritten,
                    on_error: OnError::Stop,
                    grouping: Grouping::PerMigration,
                    tracking: TrackingWrite::ByTheScript,
                },
            });
        }
        Ok(out)
    }

    fn create_table(&self, table: &str) -> String {
        // shared/liveone/schema.sql
        format!(
            "CREATE TABLE IF NOT EXISTS {} (\n  id TEXT PRIMARY KEY,\n  applied_at INTEGER NOT NULL DEFAULT (unixepoch() * 1000)\n)",
            crate::sql::ident(table)
        )
    }

    fn tracking(&self, _m: &Migration, _table: &str, _clock: &Clock) -> Tracking {
        // the file's own INSERT is the tracking row
        Tracking::default()
    }

    fn applied(&self, db: &dyn Db, table: &str) -> Result<Vec<Applied>, DbError> {
        Ok(db
            .query(
                &format!(
                    "SELECT id, applied_at FROM {} ORDER BY id",
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
                    applied_at: as_i64(&r[1]).map(millis),
                })
            })
            .collect())
    }

    fn status(&self, migrations: &[Migration], applied: &[Applied]) -> Vec<Entry> {
        let mut entries = by_key(migrations, applied, None, Older::Applies);
        for (e, m) in entries.iter_mut().zip(migrations) {
            let records_itself = m.up.iter().any(|s| recorded_id(&s.sql).is_some());
            if e.state == State::Pending && !records_itself {
                e.state = State::Untracked;
                e.detail =
                    "the file does not insert itself into migrations: the database cannot say whether it ran"
                        .into();
            }
        }
        entries
    }
}

/// Milliseconds since 1970 as UTC.
fn millis(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_a_file_records_itself_with() {
        assert_eq!(
            recorded_id("INSERT INTO migrations (id) VALUES ('0001_init');"),
            Some("0001_init".into())
        );
        assert_eq!(
            recorded_id(
                "insert or ignore into \"migrations\" (applied_at, id)\nvalues (unixepoch() * 1000, 'it''s');"
            ),
            Some("it's".into())
        );
        assert_eq!(
            recorded_id("INSERT INTO migration_progress (id) VALUES ('x');"),
            None
        );
        assert_eq!(
            recorded_id("INSERT INTO migrations (id) VALUES (42);"),
            None
        );
    }
}
