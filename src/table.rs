//! Terminal tables: one look for every command, stable enough to diff; wrapped to a width only
//! when the caller gives one.

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

fn numeric(s: &str) -> bool {
    let t = s.trim().trim_end_matches('%');
    !t.is_empty() && t.replace([',', '_'], "").parse::<f64>().is_ok()
}

/// A table with a header row; columns whose every value is a number are right-aligned.
pub fn render<S: AsRef<str>>(headers: &[&str], rows: &[Vec<S>]) -> String {
    render_in(headers, rows, None)
}

/// The same, wrapped to fit `width` columns when given.
pub fn render_in<S: AsRef<str>>(headers: &[&str], rows: &[Vec<S>], width: Option<u16>) -> String {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    fit(&mut t, width);
    t.set_header(headers.iter().copied());
    for r in rows {
        t.add_row(r.iter().map(|c| c.as_ref()));
    }
    for i in 0..headers.len() {
        let all_numeric = !rows.is_empty()
            && rows.iter().all(|r| {
                r.get(i)
                    .is_none_or(|c| numeric(c.as_ref()) || c.as_ref().is_empty())
            });
        if all_numeric && let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t.to_string()
}

/// Two columns, no header: a label and its value.
pub fn pairs<S: AsRef<str>>(rows: &[(&str, S)]) -> String {
    pairs_in(rows, None)
}

/// The same, wrapped to fit `width` columns when given.
pub fn pairs_in<S: AsRef<str>>(rows: &[(&str, S)], width: Option<u16>) -> String {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED);
    fit(&mut t, width);
    for (k, v) in rows {
        t.add_row(vec![*k, v.as_ref()]);
    }
    t.to_string()
}

/// The width of the terminal standard output goes to; None when it is not a terminal (a pipe or
/// a file gets every line whole, stable to diff).
pub fn terminal_width() -> Option<u16> {
    Table::new().width()
}

/// No width: cells as wide as their content; a width: cells wrapped to fit it.
fn fit(t: &mut Table, width: Option<u16>) {
    match width {
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(w);
        }
    }
}

/// Cut `s` to at most `width` characters, marking the cut with an ellipsis.
pub fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Thousands separators for counts: 1234567 → 1,234,567.
pub fn count(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234), "1,234");
        assert_eq!(count(-1_234_567), "-1,234,567");
    }

    #[test]
    fn numeric_columns_align_right() {
        let out = render(&["table", "rows"], &[vec!["a", "1"], vec!["bbbb", "1,000"]]);
        assert!(out.contains("┆     1 │"), "{out}");
    }
}
