//! What the spec says a target field holds, derived here on its own from the spec's meaning (not
//! through the engine's statement builder), so that a mistake in one is not repeated in the other.

use crate::spec::validate::{MigrationPlan, ResolvedPoint};
use crate::spec::{Scalar, Transform};
use crate::sql::{ident as q, literal};

fn lit(s: &Scalar) -> String {
    literal(&s.to_value())
}

/// The expected value of one field, as SQL over the source row `src`.
pub fn expected(mp: &MigrationPlan, t: &Transform, src: &str) -> String {
    // a column the source lacks holds nothing
    let mut v = if mp.has_column(&t.source) {
        format!("{src}.{}", q(&t.source))
    } else {
        "NULL".into()
    };
    if let Some(x) = &t.null_if {
        v = format!("(CASE WHEN {v} = {} THEN NULL ELSE {v} END)", lit(x));
    }
    if let Some(x) = &t.null_as {
        v = format!("(CASE WHEN {v} IS NULL THEN {} ELSE {v} END)", lit(x));
    }
    if let Some(f) = t.multiply {
        let factor = if f.fract() == 0.0 {
            format!("{}", f as i64)
        } else {
            literal(&rusqlite::types::Value::Real(f))
        };
        v = format!("({v} * {factor})");
    }
    if let Some(d) = t.round {
        v = format!("round({v}, {d})");
    }
    if t.as_text {
        v = format!("CAST({v} AS TEXT)");
    }
    v
}

/// Expected value of `field` for point `p` (NULL when the point does not map it).
pub fn field(mp: &MigrationPlan, p: &ResolvedPoint, field: &str, src: &str) -> String {
    p.fields
        .get(field)
        .map_or_else(|| "NULL".to_string(), |t| expected(mp, t, src))
}

/// Whether the spec makes a target row of point `p` from the source row `src`.
pub fn makes_row(mp: &MigrationPlan, p: &ResolvedPoint, src: &str) -> String {
    if mp.migration.write_nulls {
        return "1".into();
    }
    let any: Vec<String> = p
        .fields
        .values()
        .map(|t| format!("{} IS NOT NULL", expected(mp, t, src)))
        .collect();
    format!("({})", any.join(" OR "))
}

/// SQL: `a` (a stored target value) equals `b` (an expected value): both NULL, integers and text
/// exactly, reals to a relative 1e-9. The exact comparison comes first; it settles nearly every row.
pub fn same_value(a: &str, b: &str) -> String {
    format!(
        "({a} IS {b} OR (typeof({b}) = 'real' AND typeof({a}) IN ('integer', 'real') AND abs({a} - {b}) <= 1e-9 * max(abs({a}), abs({b}))))"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn eval(sql: &str) -> i64 {
        Connection::open_in_memory()
            .unwrap()
            .query_row(&format!("SELECT {sql}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn comparison_is_exact_for_integers_and_relative_for_reals() {
        assert_eq!(eval(&same_value("4312.0", "4312")), 1);
        assert_eq!(eval(&same_value("4313.0", "4312")), 0);
        assert_eq!(
            eval(&same_value("32768026.0", "32768025.999999996")),
            1,
            "relative 1e-9"
        );
        assert_eq!(eval(&same_value("32768.026", "32768026.0")), 0);
        assert_eq!(eval(&same_value("NULL", "NULL")), 1);
        assert_eq!(eval(&same_value("0.0", "NULL")), 0);
        assert_eq!(eval(&same_value("'E021'", "'E021'")), 1);
    }
}
