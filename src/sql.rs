//! Quoting for identifiers and literals that end up in SQL text.

use rusqlite::types::Value;

/// A double-quoted SQL identifier: `a"b` → `"a""b"`.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL literal for a value.
pub fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => {
            let s = format!("{f:?}");
            if s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("NaN") {
                s
            } else {
                format!("{s}.0")
            }
        }
        Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
        Value::Blob(b) => format!("X'{}'", crate::backup::hex(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers_and_literals() {
        assert_eq!(ident("solar_w"), "\"solar_w\"");
        assert_eq!(ident("x\" OR 1=1 --"), "\"x\"\" OR 1=1 --\"");
        assert_eq!(literal(&Value::Text("it's".into())), "'it''s'");
        assert_eq!(literal(&Value::Real(1000.0)), "1000.0");
        assert_eq!(literal(&Value::Integer(-3)), "-3");
    }
}
