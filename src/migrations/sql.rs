//! Pieces every format needs: SQL text split into complete statements with the line each starts
//! on (by the one splitter, `migrate::script::pieces`), and the digests the tools store.

use std::path::Path;

use sha2::Digest;

use super::Statement;
pub use crate::backup::hex;
pub use crate::migrate::script::blank;

/// Split `text` (which starts on line `first_line` of `path`) into complete statements, each
/// with the line its first word is on. Comments before a statement stay out of it; a statement
/// left without its semicolon at the end is kept as written (SQLite runs it all the same).
pub fn split(path: &Path, text: &str, first_line: usize) -> Vec<Statement> {
    crate::migrate::script::pieces(text, first_line, false)
        .into_iter()
        .map(|p| Statement {
            file: path.to_path_buf(),
            line: p.line,
            sql: p.sql.trim_end().to_string(),
        })
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

pub fn sha384(bytes: &[u8]) -> Vec<u8> {
    sha2::Sha384::digest(bytes).to_vec()
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
