//! Pieces every format needs: SQL text split into complete statements with the line each starts
//! on, and the digests the tools store.

use std::ffi::CString;
use std::path::Path;

use sha2::Digest;

use super::Statement;

/// Is `sql` one or more complete statements, by SQLite's own tokenizer (`sqlite3_complete`, the
/// test the sqlite3 shell uses)? Triggers (`BEGIN … END;`) and semicolons in strings count right.
pub fn complete(sql: &str) -> bool {
    let Ok(c) = CString::new(sql) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated string; sqlite3_complete only reads it.
    unsafe { rusqlite::ffi::sqlite3_complete(c.as_ptr()) != 0 }
}

/// True when `text` holds nothing but whitespace and comments.
pub fn blank(text: &str) -> bool {
    let mut rest = text.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if let Some(r) = rest.strip_prefix("--") {
            rest = r
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r
                .split_once("*/")
                .map_or("", |(_, after)| after)
                .trim_start();
        } else {
            return false;
        }
    }
}

/// Split `text` (which starts on line `first_line` of `path`) into complete statements, each
/// with the line its first word is on. Comments before a statement stay out of it; a statement
/// left without its semicolon at the end is kept as written (SQLite runs it all the same).
pub fn split(path: &Path, text: &str, first_line: usize) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut start = 0;
    let push = |chunk_start: usize, chunk: &str, out: &mut Vec<Statement>| {
        if blank(chunk) {
            return;
        }
        let lead = leading_comments(chunk);
        let body = &chunk[lead..];
        if body.trim() == ";" {
            return;
        }
        out.push(Statement {
            file: path.to_path_buf(),
            line: first_line + text[..chunk_start + lead].matches('\n').count(),
            sql: body.trim_end().to_string(),
        });
    };
    for (i, c) in text.char_indices() {
        if c == ';' && complete(&text[start..=i]) {
            push(start, &text[start..=i], &mut out);
            start = i + 1;
        }
    }
    if start < text.len() {
        push(start, &text[start..], &mut out);
    }
    out
}

/// Bytes of whitespace and comments before the first word of `chunk`.
fn leading_comments(chunk: &str) -> usize {
    let mut i = 0;
    loop {
        let rest = &chunk[i..];
        let trimmed = rest.trim_start();
        i += rest.len() - trimmed.len();
        if trimmed.starts_with("--") {
            i += trimmed.find('\n').map_or(trimmed.len(), |k| k + 1);
        } else if trimmed.starts_with("/*") {
            i += trimmed.find("*/").map_or(trimmed.len(), |k| k + 2);
        } else {
            return i;
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

pub fn sha384(bytes: &[u8]) -> Vec<u8> {
    sha2::Sha384::digest(bytes).to_vec()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(usize, String)> {
        split(Path::new("x.sql"), text, 1)
            .into_iter()
            .map(|s| (s.line, s.sql))
            .collect()
    }

    #[test]
    fn statements_keep_their_lines_and_triggers_stay_whole() {
        let text = "-- a comment\nCREATE TABLE a(x);\n\n/* block */ INSERT INTO a VALUES (';');\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  DELETE FROM a;\nEND;\nSELECT 1";
        assert_eq!(
            lines(text),
            vec![
                (2, "CREATE TABLE a(x);".to_string()),
                (4, "INSERT INTO a VALUES (';');".to_string()),
                (
                    5,
                    "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  DELETE FROM a;\nEND;".to_string()
                ),
                (8, "SELECT 1".to_string()),
            ]
        );
    }

    #[test]
    fn comments_alone_are_no_statement() {
        assert!(lines("-- nothing\n/* at all */\n;\n").is_empty());
        assert!(blank("  -- x\n /* y */ "));
        assert!(!blank("-- x\nSELECT 1"));
    }

    #[test]
    fn digests_match_known_values() {
        // sha256("hello") as prisma's own test states it (prisma-engines,
        // schema-engine/connectors/schema-connector/src/checksum.rs)
        assert_eq!(
            sha256_hex(b"hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(sha384(b"").len(), 48);
    }
}
