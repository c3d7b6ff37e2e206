//! SQL-script migrations (a forward and a rollback file): split into statements the way the
//! sqlite3 shell does (SQLite's own `sqlite3_complete`), each with its line, and run in one
//! transaction: all of it takes effect, or none of it.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use crate::db::{Db, DbError, Stmt, StmtOut};

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: holds no SQL statement", .0.display())]
    Empty(PathBuf),
    #[error("{}:{line}: the statement does not end (a missing ';' or an open quote or comment?): {statement}", path.display())]
    Unfinished {
        path: PathBuf,
        line: usize,
        statement: String,
    },
    #[error("{}:{line}: {message}; nothing of the script was kept (statement: {statement})", path.display())]
    Failed {
        path: PathBuf,
        line: usize,
        statement: String,
        message: String,
    },
    #[error(transparent)]
    Db(DbError),
}

/// One statement of a script.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptStmt {
    /// 1-based line where the statement starts.
    pub line: usize,
    pub sql: String,
}

#[derive(Debug, Clone)]
pub struct Script {
    pub path: PathBuf,
    /// The script as written.
    pub text: String,
    pub statements: Vec<ScriptStmt>,
    /// Lines of the script's own BEGIN / COMMIT, set aside: preflight runs the whole script in
    /// one transaction of its own.
    pub transaction_lines: Vec<usize>,
}

/// Is `sql` one or more complete statements, by SQLite's tokenizer?
fn complete(sql: &str) -> bool {
    let Ok(c) = CString::new(sql) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated string; sqlite3_complete only reads it.
    unsafe { rusqlite::ffi::sqlite3_complete(c.as_ptr()) != 0 }
}

/// The text with comments blanked out (same length, so offsets and lines hold).
fn without_comments(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        match quote {
            Some(q) => {
                if b[i] == q {
                    quote = None;
                }
                i += 1;
            }
            None if b[i] == b'\'' || b[i] == b'"' || b[i] == b'`' => {
                quote = Some(b[i]);
                i += 1;
            }
            None if b[i] == b'[' => {
                quote = Some(b']');
                i += 1;
            }
            None if b[i..].starts_with(b"--") => {
                while i < b.len() && b[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
            }
            None if b[i..].starts_with(b"/*") => {
                let end = sql[i + 2..].find("*/").map_or(b.len(), |k| i + 2 + k + 2);
                for c in &mut out[i..end] {
                    if *c != b'\n' {
                        *c = b' ';
                    }
                }
                i = end;
            }
            None => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| sql.to_string())
}

fn is_transaction_control(code: &str) -> bool {
    let words: Vec<String> = code
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    match words.first().map(String::as_str) {
        Some("BEGIN") => {
            words.len() <= 3
                && words[1..].iter().all(|w| {
                    ["DEFERRED", "IMMEDIATE", "EXCLUSIVE", "TRANSACTION"].contains(&w.as_str())
                })
        }
        Some("COMMIT") | Some("END") => {
            words.len() <= 2 && words[1..].iter().all(|w| w == "TRANSACTION")
        }
        _ => false,
    }
}

/// Split a script into statements with their lines.
pub fn parse(path: &Path, text: &str) -> Result<Script, ScriptError> {
    let code = without_comments(text);
    let mut statements = Vec::new();
    let mut transaction_lines = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c != ';' || !complete(&text[start..=i]) {
            continue;
        }
        let chunk_code = &code[start..=i];
        let lead = chunk_code.len() - chunk_code.trim_start().len();
        let body = chunk_code.trim();
        if body != ";" && !body.is_empty() {
            let line = 1 + text[..start + lead].matches('\n').count();
            if is_transaction_control(body) {
                transaction_lines.push(line);
            } else {
                statements.push(ScriptStmt {
                    line,
                    sql: text[start + lead..=i].to_string(),
                });
            }
        }
        start = i + 1;
    }
    let rest = code[start..].trim();
    if !rest.is_empty() {
        let lead = code[start..].len() - code[start..].trim_start().len();
        return Err(ScriptError::Unfinished {
            path: path.to_path_buf(),
            line: 1 + text[..start + lead].matches('\n').count(),
            statement: DbError::sql_excerpt(&text[start + lead..]),
        });
    }
    if statements.is_empty() {
        return Err(ScriptError::Empty(path.to_path_buf()));
    }
    Ok(Script {
        path: path.to_path_buf(),
        text: text.to_string(),
        statements,
        transaction_lines,
    })
}

pub fn load(path: &Path) -> Result<Script, ScriptError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

impl Script {
    /// Run every statement in one transaction; rows changed per statement.
    pub fn run(&self, db: &dyn Db) -> Result<Vec<StmtOut>, ScriptError> {
        let stmts: Vec<Stmt> = self
            .statements
            .iter()
            .map(|s| Stmt::new(s.sql.clone(), vec![]))
            .collect();
        db.write_batch(&stmts).map_err(|e| match e {
            DbError::InBatch { index, source } => {
                let st = &self.statements[index];
                // the line of the offending token when SQLite points at it, else the statement's
                let within = source
                    .offset()
                    .and_then(|o| st.sql.get(..o))
                    .map_or(0, |before| before.matches('\n').count());
                ScriptError::Failed {
                    path: self.path.clone(),
                    line: st.line + within,
                    statement: DbError::sql_excerpt(&st.sql),
                    message: source.message().to_string(),
                }
            }
            other => ScriptError::Db(other),
        })
    }

    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_the_shell_with_lines() {
        let text = "-- header; with a semicolon\nBEGIN;\nUPDATE t SET a = 'x;y' WHERE b = 1;\n\n/* block; */ INSERT INTO t VALUES (1);\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET a = 1;\nEND;\nCOMMIT;\n-- trailing comment\n";
        let s = parse(Path::new("f.sql"), text).unwrap();
        let lines: Vec<usize> = s.statements.iter().map(|x| x.line).collect();
        assert_eq!(lines, vec![3, 5, 6]);
        assert!(s.statements[0].sql.starts_with("UPDATE t SET a = 'x;y'"));
        assert!(s.statements[2].sql.ends_with("END;"));
        assert_eq!(s.transaction_lines, vec![2, 9]);
    }

    #[test]
    fn unfinished_and_empty_scripts_are_named() {
        let e = parse(
            Path::new("f.sql"),
            "UPDATE t SET a = 1;\nDELETE FROM t WHERE a = 'open",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("f.sql:2: the statement does not end"),
            "{e}"
        );
        let e = parse(Path::new("g.sql"), "-- nothing\n").unwrap_err();
        assert_eq!(e.to_string(), "g.sql: holds no SQL statement");
    }
}
