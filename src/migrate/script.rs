//! SQL-script migrations (a forward and a rollback file): split into statements the way the
//! sqlite3 shell does (SQLite's own `sqlite3_complete`, and a line starting with `.` between
//! statements is a dot-command), each with its line and what kind of statement it is. How the
//! statements run (transactions, foreign keys, errors) is the runner's business
//! (`migrate::runner`).
//!
//! Before anything runs, `syntax_error` prepares every statement against an empty in-memory
//! database: SQLite itself is the parser. A syntax error is reported with its file and line; a
//! missing table or column is not (an earlier statement of the script may create it).

use std::ffi::CString;
use std::path::{Path, PathBuf};

use crate::db::DbError;

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
    #[error("{}:{line}: the script does not parse: {message}; nothing was run (statement: {statement})", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        statement: String,
        message: String,
    },
    #[error("{}:{line}: refused: {why}; nothing was run (statement: {statement})", path.display())]
    Refused {
        path: PathBuf,
        line: usize,
        statement: String,
        why: String,
    },
    /// A statement failed while the script ran: SQLite's words, then what of the script
    /// stayed ("…; nothing of the script was kept").
    #[error("{}:{line}: {message} (statement: {statement})", path.display())]
    Failed {
        path: PathBuf,
        line: usize,
        statement: String,
        message: String,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a statement is, as far as running it is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Anything else: DDL, DML, queries.
    Sql,
    /// `BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION]`
    Begin,
    /// `COMMIT` or `END`
    Commit,
    /// `ROLLBACK [TRANSACTION]` (the whole transaction)
    Rollback,
    /// `SAVEPOINT name`
    Savepoint,
    /// `RELEASE [SAVEPOINT] name`
    Release,
    /// `ROLLBACK [TRANSACTION] TO [SAVEPOINT] name`
    RollbackTo,
    /// `PRAGMA [schema.]name [= value | (value)]`: name lowercased, value unquoted and lowercased.
    Pragma { name: String, value: Option<String> },
    /// `ATTACH [DATABASE] expr AS name`: the file when it is a plain string.
    Attach { file: Option<String> },
    /// `VACUUM [schema] [INTO expr]`
    Vacuum { into: bool },
    /// A sqlite3 shell dot-command (`.bail on`): the command and its arguments.
    Dot { command: String, args: Vec<String> },
}

/// One statement of a script.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptStmt {
    /// 1-based line where the statement starts.
    pub line: usize,
    /// The statement as written (comments inside it included), or the dot-command's line.
    pub sql: String,
    pub kind: Kind,
    /// It calls `load_extension(…)` somewhere.
    pub loads_extension: bool,
}

impl ScriptStmt {
    /// Does it begin, end or nest a transaction?
    pub fn is_transaction_control(&self) -> bool {
        matches!(
            self.kind,
            Kind::Begin
                | Kind::Commit
                | Kind::Rollback
                | Kind::Savepoint
                | Kind::Release
                | Kind::RollbackTo
        )
    }

    /// The statement on one line, shortened, for messages.
    pub fn excerpt(&self) -> String {
        DbError::sql_excerpt(&self.sql)
    }
}

#[derive(Debug, Clone)]
pub struct Script {
    pub path: PathBuf,
    /// The script as written.
    pub text: String,
    pub statements: Vec<ScriptStmt>,
}

/// Is `sql` one or more complete statements, by SQLite's own tokenizer (`sqlite3_complete`, the
/// test the sqlite3 shell uses)? Triggers (`BEGIN … END;`) and semicolons in strings count right.
pub fn complete(sql: &str) -> bool {
    let Ok(c) = CString::new(sql) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated string; sqlite3_complete only reads it.
    unsafe { rusqlite::ffi::sqlite3_complete(c.as_ptr()) != 0 }
}

/// The text with comments blanked out (same length, so offsets and lines hold).
pub fn without_comments(sql: &str) -> String {
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

/// True when `text` holds nothing but whitespace and comments.
pub fn blank(text: &str) -> bool {
    skip_blank(text, 0) >= text.len()
}

/// Where the next statement starts: past whitespace and comments.
fn skip_blank(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i = text[i + 2..].find("*/").map_or(b.len(), |k| i + 2 + k + 2);
        } else {
            break;
        }
    }
    i
}

/// The tokens of a statement (comments already blanked): words, quoted strings and
/// identifiers (with their quotes), and single punctuation characters. Enough to tell what kind
/// of statement it is; SQLite itself parses it.
pub fn tokens(code: &str) -> Vec<&str> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'\'' || c == b'"' || c == b'`' || c == b'[' {
            let close = if c == b'[' { b']' } else { c };
            let mut j = i + 1;
            loop {
                match b.get(j) {
                    None => break,
                    Some(&x) if x == close => {
                        // a doubled quote is an escaped one
                        if close != b']' && b.get(j + 1) == Some(&close) {
                            j += 2;
                            continue;
                        }
                        j += 1;
                        break;
                    }
                    Some(_) => j += 1,
                }
            }
            out.push(&code[i..j.min(b.len())]);
            i = j;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 {
            let mut j = i;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$' || b[j] >= 0x80)
            {
                j += 1;
            }
            out.push(&code[i..j]);
            i = j;
        } else {
            let w = code[i..].chars().next().map_or(1, char::len_utf8);
            out.push(&code[i..i + w]);
            i += w;
        }
    }
    out
}

/// A token without its quotes (`"a""b"` → `a"b`, `[x]` → `x`).
pub fn unquote(t: &str) -> String {
    let b = t.as_bytes();
    match b.first() {
        Some(b'[') => t[1..].trim_end_matches(']').to_string(),
        Some(&q @ (b'\'' | b'"' | b'`')) if t.len() >= 2 && b[b.len() - 1] == q => {
            let q = q as char;
            t[1..t.len() - 1].replace(&format!("{q}{q}"), &q.to_string())
        }
        _ => t.to_string(),
    }
}

fn classify(code: &str) -> (Kind, bool) {
    let toks = tokens(code);
    let up: Vec<String> = toks.iter().map(|t| t.to_ascii_uppercase()).collect();
    let word = |i: usize| up.get(i).map(String::as_str).unwrap_or("");
    let loads_extension = toks.iter().enumerate().any(|(i, t)| {
        unquote(t).eq_ignore_ascii_case("load_extension") && toks.get(i + 1) == Some(&"(")
    });
    let kind = match word(0) {
        "BEGIN" => Kind::Begin,
        "COMMIT" | "END" => Kind::Commit,
        "ROLLBACK" => {
            if up.iter().any(|w| w == "TO") {
                Kind::RollbackTo
            } else {
                Kind::Rollback
            }
        }
        "SAVEPOINT" => Kind::Savepoint,
        "RELEASE" => Kind::Release,
        "PRAGMA" => {
            // PRAGMA [schema .] name [= value | ( value )]
            let mut i = 1;
            if toks.get(i + 1) == Some(&".") {
                i += 2;
            }
            let name = toks
                .get(i)
                .map(|t| unquote(t).to_ascii_lowercase())
                .unwrap_or_default();
            let value = match toks.get(i + 1) {
                Some(&"=") | Some(&"(") => {
                    let v: Vec<String> = toks[i + 2..]
                        .iter()
                        .filter(|t| **t != ")" && **t != ";")
                        .map(|t| unquote(t))
                        .collect();
                    Some(v.join("").to_ascii_lowercase())
                }
                _ => None,
            };
            Kind::Pragma { name, value }
        }
        "ATTACH" => {
            let at = if word(1) == "DATABASE" { 2 } else { 1 };
            let file = toks
                .get(at)
                .filter(|t| t.starts_with('\'') && word(at + 1) == "AS")
                .map(|t| unquote(t));
            Kind::Attach { file }
        }
        "VACUUM" => Kind::Vacuum {
            into: up.iter().any(|w| w == "INTO"),
        },
        _ => Kind::Sql,
    };
    (kind, loads_extension)
}

/// One statement of SQL text, as SQLite's tokenizer ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece<'a> {
    /// 1-based line of its first word.
    pub line: usize,
    /// From its first word (comments before it left out) to its semicolon; for the last piece
    /// of a text that ends without one, to the end of the text.
    pub sql: &'a str,
    /// It ends with its semicolon (false: the text ended first).
    pub ended: bool,
    /// A line of the sqlite3 shell that starts with `.` between statements (only when asked
    /// for): a dot-command.
    pub dot: bool,
}

/// Split `text`, whose first line is line `first_line`, into statements the way the sqlite3 shell
/// does: a statement ends at the first `;` where SQLite's tokenizer says it is complete (a
/// trigger's inner semicolons, one in a string or a comment do not end it); comments between
/// statements and lone semicolons are no statement. With `dot_commands`, a line that starts with
/// `.` between statements is the shell's. The one splitter of SQL text: scripts and every
/// migration format's files go through it.
pub fn pieces(text: &str, first_line: usize, dot_commands: bool) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    // lines counted incrementally: (offset, line) of the last position counted
    let mut counted = (0usize, first_line);
    let mut line_at = |pos: usize| {
        counted.1 += text[counted.0..pos].matches('\n').count();
        counted.0 = pos;
        counted.1
    };
    loop {
        let p = skip_blank(text, start);
        if p >= text.len() {
            break;
        }
        let line = line_at(p);
        // the shell runs a line that starts with '.' between statements as a dot-command
        if dot_commands && text.as_bytes()[p] == b'.' && (p == 0 || text.as_bytes()[p - 1] == b'\n')
        {
            let end = text[p..].find('\n').map_or(text.len(), |k| p + k);
            out.push(Piece {
                line,
                sql: text[p..end].trim_end(),
                ended: true,
                dot: true,
            });
            start = end;
            continue;
        }
        let end = text[p..]
            .match_indices(';')
            .map(|(k, _)| p + k)
            .find(|&i| complete(&text[p..=i]));
        let Some(end) = end else {
            out.push(Piece {
                line,
                sql: &text[p..],
                ended: false,
                dot: false,
            });
            break;
        };
        let sql = &text[p..=end];
        if without_comments(sql).trim() != ";" {
            out.push(Piece {
                line,
                sql,
                ended: true,
                dot: false,
            });
        }
        start = end + 1;
    }
    out
}

/// One statement, classified.
pub fn statement(line: usize, sql: &str) -> ScriptStmt {
    let (kind, loads_extension) = classify(&without_comments(sql));
    ScriptStmt {
        line,
        sql: sql.to_string(),
        kind,
        loads_extension,
    }
}

/// Split a script into statements with their lines.
pub fn parse(path: &Path, text: &str) -> Result<Script, ScriptError> {
    // a UTF-8 byte order mark is not SQL
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut statements = Vec::new();
    for piece in pieces(body, 1, true) {
        if !piece.ended {
            return Err(ScriptError::Unfinished {
                path: path.to_path_buf(),
                line: piece.line,
                statement: DbError::sql_excerpt(piece.sql),
            });
        }
        if piece.dot {
            let mut words = piece.sql.split_whitespace().map(str::to_string);
            let command = words.next().unwrap_or_default();
            statements.push(ScriptStmt {
                line: piece.line,
                kind: Kind::Dot {
                    command,
                    args: words.collect(),
                },
                sql: piece.sql.to_string(),
                loads_extension: false,
            });
        } else {
            statements.push(statement(piece.line, piece.sql));
        }
    }
    if statements
        .iter()
        .all(|s| matches!(s.kind, Kind::Dot { .. }))
    {
        return Err(ScriptError::Empty(path.to_path_buf()));
    }
    Ok(Script {
        path: path.to_path_buf(),
        text: text.to_string(),
        statements,
    })
}

pub fn load(path: &Path) -> Result<Script, ScriptError> {
    let text = crate::fsutil::read_to_string(path).map_err(|source| ScriptError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Is this one of SQLite's messages for a statement that does not parse (rather than one that
/// names something missing)? From SQLite's tokenizer and grammar (`tokenize.c`, `parse.y`).
fn is_syntax_message(m: &str) -> bool {
    m.contains("syntax error") || m.starts_with("unrecognized token") || m == "incomplete input"
}

/// The line of the offending token: the statement's line plus the newlines before `offset`.
pub fn line_within(stmt: &ScriptStmt, offset: Option<usize>) -> usize {
    stmt.line
        + offset
            .and_then(|o| stmt.sql.get(..o))
            .map_or(0, |before| before.matches('\n').count())
}

impl Script {
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }

    /// The first statement that does not parse, with its file and line: every statement is
    /// prepared (never run) on an empty in-memory database, so a syntax error is found before
    /// anything runs or any confirmation is asked; a table the script creates itself is no
    /// error.
    pub fn syntax_error(&self) -> Option<ScriptError> {
        let conn = rusqlite::Connection::open_in_memory().ok()?;
        for st in &self.statements {
            if matches!(st.kind, Kind::Dot { .. }) {
                continue;
            }
            let (message, offset) = match conn.prepare(&st.sql) {
                Ok(_) => continue,
                Err(rusqlite::Error::SqlInputError { msg, offset, .. }) => {
                    (msg, usize::try_from(offset).ok())
                }
                Err(rusqlite::Error::SqliteFailure(_, Some(m))) => (m, None),
                Err(_) => continue,
            };
            if is_syntax_message(&message) {
                return Some(ScriptError::Syntax {
                    path: self.path.clone(),
                    line: line_within(st, offset),
                    statement: st.excerpt(),
                    message,
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_and_kinds(s: &Script) -> Vec<(usize, Kind)> {
        s.statements
            .iter()
            .map(|x| (x.line, x.kind.clone()))
            .collect()
    }

    #[test]
    fn splits_like_the_shell_with_lines_and_kinds() {
        let text = "-- header; with a semicolon\nBEGIN;\nUPDATE t SET a = 'x;y' WHERE b = 1;\n\n/* block; */ INSERT INTO t VALUES (1);\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET a = 1;\nEND;\nCOMMIT;\n-- trailing comment\n";
        let s = parse(Path::new("f.sql"), text).unwrap();
        assert_eq!(
            lines_and_kinds(&s),
            vec![
                (2, Kind::Begin),
                (3, Kind::Sql),
                (5, Kind::Sql),
                (6, Kind::Sql),
                (9, Kind::Commit)
            ]
        );
        assert!(s.statements[1].sql.starts_with("UPDATE t SET a = 'x;y'"));
        assert!(
            s.statements[2].sql.starts_with("INSERT"),
            "comments before a statement are not part of it"
        );
        assert!(s.statements[3].sql.ends_with("END;"));
    }

    #[test]
    fn transaction_statements_pragmas_and_escapes_are_recognised() {
        let text = "PRAGMA foreign_keys=OFF;\npragma main.legacy_alter_table = 'on';\nPRAGMA foreign_keys(1);\nPRAGMA foreign_key_check;\nSAVEPOINT a;\nROLLBACK TO a;\nRELEASE SAVEPOINT a;\nend transaction;\nROLLBACK;\nATTACH DATABASE '/tmp/x.db' AS x;\nattach ':memory:' as m;\nVACUUM INTO '/tmp/copy.db';\nVACUUM;\nSELECT load_extension('x');\nSELECT \"load_extension\" FROM t;\n";
        let s = parse(Path::new("f.sql"), text).unwrap();
        let kinds: Vec<Kind> = s.statements.iter().map(|x| x.kind.clone()).collect();
        let pragma = |n: &str, v: Option<&str>| Kind::Pragma {
            name: n.into(),
            value: v.map(Into::into),
        };
        assert_eq!(
            kinds,
            vec![
                pragma("foreign_keys", Some("off")),
                pragma("legacy_alter_table", Some("on")),
                pragma("foreign_keys", Some("1")),
                pragma("foreign_key_check", None),
                Kind::Savepoint,
                Kind::RollbackTo,
                Kind::Release,
                Kind::Commit,
                Kind::Rollback,
                Kind::Attach {
                    file: Some("/tmp/x.db".into())
                },
                Kind::Attach {
                    file: Some(":memory:".into())
                },
                Kind::Vacuum { into: true },
                Kind::Vacuum { into: false },
                Kind::Sql,
                Kind::Sql,
            ]
        );
        let ext: Vec<bool> = s.statements.iter().map(|x| x.loads_extension).collect();
        assert_eq!(ext.iter().filter(|x| **x).count(), 1);
        assert!(ext[13]);
    }

    #[test]
    fn dot_commands_between_statements_are_the_shells() {
        let text = ".bail on\nCREATE TABLE t (a);\n  .not a command at column 0;\nINSERT INTO t VALUES (1);\n.headers on\nSELECT 1,\n.5;\n";
        let s = parse(Path::new("f.sql"), text).unwrap();
        assert_eq!(
            lines_and_kinds(&s),
            vec![
                (
                    1,
                    Kind::Dot {
                        command: ".bail".into(),
                        args: vec!["on".into()]
                    }
                ),
                (2, Kind::Sql),
                (3, Kind::Sql),
                (4, Kind::Sql),
                (
                    5,
                    Kind::Dot {
                        command: ".headers".into(),
                        args: vec!["on".into()]
                    }
                ),
                (6, Kind::Sql),
            ]
        );
        assert_eq!(
            s.statements[5].sql, "SELECT 1,\n.5;",
            "a '.' inside a statement is SQL"
        );
    }

    #[test]
    fn a_byte_order_mark_and_crlf_lines_are_not_sql() {
        let s = parse(
            Path::new("w.sql"),
            "\u{feff}.bail on\r\nUPDATE t SET a = 1;\r\n\r\nDELETE FROM t;\r\n",
        )
        .unwrap();
        assert_eq!(
            lines_and_kinds(&s),
            vec![
                (
                    1,
                    Kind::Dot {
                        command: ".bail".into(),
                        args: vec!["on".into()]
                    }
                ),
                (2, Kind::Sql),
                (4, Kind::Sql)
            ]
        );
        assert!(s.syntax_error().is_none());
    }

    #[test]
    fn drizzle_breakpoints_are_comments() {
        let text = "PRAGMA foreign_keys=OFF;--> statement-breakpoint\nCREATE TABLE `__new_t` (`a` integer);--> statement-breakpoint\nDROP TABLE `t`;";
        let s = parse(Path::new("0001.sql"), text).unwrap();
        assert_eq!(s.statements.len(), 3);
        assert_eq!(s.statements[2].line, 3);
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

    #[test]
    fn a_syntax_error_is_found_before_anything_runs_and_a_missing_table_is_not_one() {
        let ok = parse(
            Path::new("ok.sql"),
            "CREATE TABLE t (a);\nINSERT INTO t SELECT a FROM nowhere;\nUPDATE t SET a = 1;\n",
        )
        .unwrap();
        assert!(ok.syntax_error().is_none());
        let bad = parse(
            Path::new("bad.sql"),
            "UPDATE t SET a = 1;\n\nUPDATE t\n   SET a = 2 WHER a IS NULL;\n",
        )
        .unwrap();
        let e = bad.syntax_error().unwrap().to_string();
        assert!(
            e.starts_with(
                "bad.sql:4: the script does not parse: near \"WHER\": syntax error; nothing was run"
            ),
            "{e}"
        );
        let token = parse(Path::new("t.sql"), "SELECT 1;\nSELECT #;\n").unwrap();
        assert!(
            token
                .syntax_error()
                .unwrap()
                .to_string()
                .starts_with("t.sql:2:")
        );
    }
}
