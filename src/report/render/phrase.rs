//! The words of a check's typed findings: the one place that turns a [`Scope`], a [`Fact`] and an
//! [`Example`] into the text the table, Markdown, JUnit and HTML renderers print.

use crate::checks::show_time;
use crate::report::{CheckResult, CheckText, Count, Example, Fact, Noun, Scope, Time, Value};
use crate::table::count as thousands;

/// A check's findings in words.
pub fn check(c: &CheckResult) -> CheckText {
    CheckText {
        scope: scope(&c.scope),
        expected: fact(&c.expected),
        found: fact(&c.found),
        examples: c.examples.iter().map(example).collect(),
    }
}

/// `readings_to_points · system 1 · fault_ts (16)`
pub fn scope(s: &Scope) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(n) = &s.name {
        parts.push(n.clone());
    }
    match (&s.tool, &s.migration) {
        (Some(t), Some(m)) => parts.push(format!("{t} migration {m}")),
        (Some(t), None) => parts.push(format!("{t} directory")),
        (None, Some(m)) => parts.push(m.clone()),
        (None, None) => {}
    }
    match (s.system, &s.vendor) {
        (Some(id), Some(v)) if s.point.is_none() => parts.push(format!("system {id} ({v})")),
        (Some(id), _) => parts.push(format!("system {id}")),
        (None, Some(v)) => parts.push(format!("vendor {v}")),
        (None, None) => {}
    }
    if let Some(p) = &s.point {
        parts.push(format!("{} ({})", p.name, p.id));
    }
    if let Some(t) = &s.table {
        parts.push(format!("table {t}"));
    }
    if let Some(f) = &s.file {
        parts.push(match s.line {
            Some(l) => format!("{f}:{l}"),
            None => f.clone(),
        });
    }
    if let Some((rows, seed)) = s.sample {
        parts.push(format!("{rows} rows, seed {seed}"));
    }
    let all = parts.join(" · ");
    match &s.label {
        Some(l) => format!("{l}: {all}"),
        None => all,
    }
}

pub fn time(t: &Time) -> String {
    show_time(t.t, t.per_second)
}

/// A value as a report shows it: NULL, integers plainly, reals with full precision, text quoted.
pub fn value(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Text(t) => format!("{t:?}"),
        Value::Blob { blob_bytes } => format!("<{blob_bytes} bytes>"),
    }
}

fn noun(n: Noun) -> &'static str {
    match n {
        Noun::Rows => "rows",
        Noun::Violations => "violations",
        Noun::Problems => "problems",
        Noun::Differ => "differ",
        Noun::Match => "match",
        Noun::Decreases => "decreases",
        Noun::Moved => "moved",
        Noun::LeftBehind => "left behind",
        Noun::Resolved => "resolved",
        Noun::Missing => "missing",
        Noun::DistinctTimes => "distinct times",
        Noun::Off => "off",
        Noun::WithoutTheirPoint => "without their point",
        Noun::MigratedRowsAsTheSpecSays => "migrated rows as the spec says",
        Noun::MigratedRowsMatch => "migrated rows match",
        Noun::MigratedRowsWithValues => "migrated rows with values",
        Noun::MappedFieldsReadExistingColumns => "mapped fields read existing columns",
        Noun::RowsAsBefore => "rows, as before",
        Noun::RowsUnchanged => "rows, unchanged",
    }
}

fn counted(c: &Count) -> String {
    format!("{} {}", thousands(c.n as i64), noun(c.of))
}

pub fn fact(f: &Fact) -> String {
    match f {
        Fact::Nothing => String::new(),
        Fact::Counts { counts } => counts.iter().map(counted).collect::<Vec<_>>().join(", "),
        Fact::BeforeMigrations { now, before } => {
            format!("{} ({before} before the migrations)", fact(now))
        }
        Fact::Note { text } => text.clone(),
    }
}

pub fn example(e: &Example) -> String {
    match e {
        Example::Note { text } => text.clone(),
    }
}

impl CheckResult {
    /// The scope in words.
    pub fn scope_text(&self) -> String {
        scope(&self.scope)
    }

    /// What was expected, in words.
    pub fn expected_text(&self) -> String {
        fact(&self.expected)
    }

    /// What was found, in words.
    pub fn found_text(&self) -> String {
        fact(&self.found)
    }

    /// The examples in words.
    pub fn example_texts(&self) -> Vec<String> {
        self.examples.iter().map(example).collect()
    }
}
