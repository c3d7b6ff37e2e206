//! User invariants: a checks file (TOML) of named queries that must hold on any database. A query
//! must return no rows (the default), exactly the rows given, or one number within bounds.
//!
//! ```toml
//! [[check]]
//! name = "every comment belongs to a post"
//! sql = "SELECT c.id FROM comments c LEFT JOIN posts p ON p.id = c.post_id WHERE p.id IS NULL"
//!
//! [[check]]
//! name = "the admin account"
//! sql = "SELECT email, role FROM users WHERE id = 1"
//! rows = ["admin@example.com|admin"]      # as the sqlite3 shell prints them, in order
//!
//! [[check]]
//! name = "published posts"
//! sql = "SELECT count(*) FROM posts WHERE published_at IS NOT NULL"
//! count = { min = 1, max = 100000 }      # the query's one value
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::db::{Db, as_f64};
use crate::migrate::expect::shell_row;
use crate::report::{CheckResult, Example, Fact, Fixed, Noun, Scope, Status};

#[derive(Debug, thiserror::Error)]
pub enum ChecksError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a valid checks file: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invariant {
    pub name: String,
    pub sql: String,
    /// The exact rows, in order, columns joined by `|`, NULL as nothing.
    #[serde(default)]
    pub rows: Option<Vec<String>>,
    /// Bounds on the one value the query returns.
    #[serde(default)]
    pub count: Option<Bounds>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksFile {
    #[serde(default, rename = "check")]
    pub checks: Vec<Invariant>,
}

impl ChecksFile {
    /// The file and its text (for the report's sha256).
    pub fn load(path: &Path) -> Result<(ChecksFile, String), ChecksError> {
        let text = std::fs::read_to_string(path).map_err(|source| ChecksError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let parse = |message: String| ChecksError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let f: ChecksFile = toml::from_str(&text)
            .map_err(|e| parse(e.to_string().replace('\n', " ").trim().to_string()))?;
        if f.checks.is_empty() {
            return Err(parse("no [[check]] in it".into()));
        }
        for (i, c) in f.checks.iter().enumerate() {
            if c.name.trim().is_empty() {
                return Err(parse(format!("check {} has no name", i + 1)));
            }
            if f.checks[..i].iter().any(|o| o.name == c.name) {
                return Err(parse(format!("two checks are named {:?}", c.name)));
            }
            if c.rows.is_some() && c.count.is_some() {
                return Err(parse(format!(
                    "check {:?} gives both rows and count; give one",
                    c.name
                )));
            }
            if c.count.is_some_and(|b| b.min.is_none() && b.max.is_none()) {
                return Err(parse(format!(
                    "check {:?}: count needs min, max or both",
                    c.name
                )));
            }
        }
        Ok((f, text))
    }
}

const CHECK: &str = "invariant";

fn result(c: &Invariant) -> CheckResult {
    super::result(CHECK, Scope::named(&c.name))
}

/// Run one invariant on `db`. A query SQLite refuses fails the check, naming the error.
pub fn run(db: &dyn Db, c: &Invariant) -> CheckResult {
    let rows = match db.query(&c.sql, &[]) {
        Ok(rows) => rows,
        Err(e) => {
            return result(c).judged(
                1,
                expected(c),
                Fact::QueryFailed {
                    message: e.message().to_string(),
                },
            );
        }
    };
    if let Some(want) = &c.rows {
        let got: Vec<String> = rows.iter().map(|r| shell_row(r)).collect();
        let wrong =
            got.len().abs_diff(want.len()) + got.iter().zip(want).filter(|(g, w)| g != w).count();
        let examples = got
            .iter()
            .zip(want.iter().map(Some).chain(std::iter::repeat(None)))
            .filter(|(g, w)| Some(*g) != *w)
            .map(|(g, w)| Example::RowDiff {
                got: Some(g.clone()),
                expected: w.cloned(),
            })
            .chain(want.iter().skip(got.len()).map(|w| Example::RowDiff {
                got: None,
                expected: Some(w.clone()),
            }))
            .take(5)
            .collect();
        return result(c)
            .judged(
                wrong as u64,
                expected(c),
                Fact::count(got.len() as u64, Noun::Rows),
            )
            .with_examples(examples);
    }
    if let Some(b) = c.count {
        let value = match rows.as_slice() {
            [row] if row.len() == 1 => as_f64(&row[0]),
            _ => None,
        };
        let Some(v) = value else {
            let value = match rows.as_slice() {
                [row] if row.len() == 1 => Some((&row[0]).into()),
                _ => None,
            };
            return result(c).judged(
                1,
                expected(c),
                Fact::NotOneNumber {
                    value,
                    rows: rows.len() as u64,
                },
            );
        };
        let inside = b.min.is_none_or(|m| v >= m) && b.max.is_none_or(|m| v <= m);
        return result(c).judged(u64::from(!inside), expected(c), Fact::Number { value: v });
    }
    let examples = rows
        .iter()
        .take(5)
        .map(|r| Example::ShellRow { row: shell_row(r) })
        .collect();
    result(c)
        .judged(
            rows.len() as u64,
            expected(c),
            Fact::count(rows.len() as u64, Noun::Rows),
        )
        .with_examples(examples)
}

fn expected(c: &Invariant) -> Fact {
    if let Some(rows) = &c.rows {
        return Fact::ExactRows { rows: rows.clone() };
    }
    if let Some(b) = c.count {
        return Fact::Between {
            min: b.min,
            max: b.max,
        };
    }
    Fixed::NoRows.into()
}

/// Every invariant of a file, in order.
pub fn run_all(db: &dyn Db, file: &ChecksFile) -> Vec<CheckResult> {
    file.checks.iter().map(|c| run(db, c)).collect()
}

/// True when the file's checks all passed (for tests and summaries).
pub fn all_passed(results: &[CheckResult]) -> bool {
    results.iter().all(|r| r.status != Status::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Access, Target};

    fn db() -> (tempfile::TempDir, Box<dyn Db>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, role TEXT);
             INSERT INTO users VALUES (1, 'admin@example.com', 'admin'), (2, 'b@example.com', NULL);",
        )
        .unwrap();
        drop(conn);
        let db = crate::db::open(&Target::Local(path), Access::ReadOnly).unwrap();
        (dir, db)
    }

    fn check(toml_text: &str) -> Invariant {
        let f: ChecksFile = toml::from_str(toml_text).unwrap();
        f.checks.into_iter().next().unwrap()
    }

    #[test]
    fn each_kind_passes_and_fails() {
        let (_d, db) = db();
        let none = check("[[check]]\nname='n'\nsql=\"SELECT id FROM users WHERE email IS NULL\"");
        assert_eq!(run(db.as_ref(), &none).status, Status::Pass);
        let some =
            check("[[check]]\nname='n'\nsql=\"SELECT id, role FROM users WHERE role IS NULL\"");
        let r = run(db.as_ref(), &some);
        assert_eq!((r.status, r.violations), (Status::Fail, 1));
        assert_eq!(r.example_texts(), vec!["2|"]);
        let rows = check(
            "[[check]]\nname='n'\nsql=\"SELECT email, role FROM users ORDER BY id\"\nrows=['admin@example.com|admin', 'b@example.com|']",
        );
        assert_eq!(run(db.as_ref(), &rows).status, Status::Pass);
        let wrong = check(
            "[[check]]\nname='n'\nsql=\"SELECT email FROM users ORDER BY id\"\nrows=['admin@example.com']",
        );
        let r = run(db.as_ref(), &wrong);
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.example_texts(),
            vec!["got \"b@example.com\", not expected"]
        );
        let count =
            check("[[check]]\nname='n'\nsql=\"SELECT count(*) FROM users\"\ncount={min=1, max=2}");
        assert_eq!(run(db.as_ref(), &count).status, Status::Pass);
        let over = check("[[check]]\nname='n'\nsql=\"SELECT count(*) FROM users\"\ncount={max=1}");
        assert_eq!(run(db.as_ref(), &over).status, Status::Fail);
        let not_one = check("[[check]]\nname='n'\nsql=\"SELECT id FROM users\"\ncount={min=0}");
        let r = run(db.as_ref(), &not_one);
        assert_eq!(r.status, Status::Fail, "two rows are no count");
        let broken = check("[[check]]\nname='n'\nsql=\"SELECT * FROM no_such_table\"");
        let r = run(db.as_ref(), &broken);
        assert_eq!(r.status, Status::Fail);
        assert!(
            r.found_text().contains("no such table"),
            "{}",
            r.found_text()
        );
    }

    #[test]
    fn a_file_must_say_what_it_means() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checks.toml");
        for (text, why) in [
            ("", "no [[check]]"),
            (
                "[[check]]\nname='a'\nsql='SELECT 1'\nrows=[]\ncount={min=1}",
                "both rows and count",
            ),
            (
                "[[check]]\nname='a'\nsql='SELECT 1'\n[[check]]\nname='a'\nsql='SELECT 2'",
                "two checks are named",
            ),
            (
                "[[check]]\nname='a'\nsql='SELECT 1'\ncount={}",
                "needs min, max",
            ),
            ("[[check]]\nname='a'\nquery='SELECT 1'", "unknown field"),
        ] {
            std::fs::write(&p, text).unwrap();
            let e = ChecksFile::load(&p).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("checks.toml"), "{e}");
        }
    }
}
