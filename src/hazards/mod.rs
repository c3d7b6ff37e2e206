//! SQLite hazards of a SQL-script migration: changes a script makes without saying so, found
//! from what SQLite itself reports. Each hazard is a function from the evidence of one forward
//! run (the schema and rows before, the schema and rows after, and what each statement touched
//! as SQLite's authorizer reported it) to findings, and each fails a rehearsal unless
//! EXPECT.toml names it under `[allow]` (or, for a vanished object, under `[schema]` as
//! dropped): a hand-written scope is never needed to catch one, and never allows one by default.
//!
//! - `sql.collateral`: rows deleted or updated in a table no statement names (cascades, triggers);
//! - `sql.vanished`: an index, trigger or view gone without a statement that drops it;
//! - `sql.broken`: a view or trigger that no longer compiles;
//! - `sql.references`: a foreign key that points to a missing table, or to the backup name a
//!   rename gave the table it pointed to while that table exists again;
//! - `sql.sequence`: an AUTOINCREMENT counter lowered or removed (ids can be reused);
//! - `sql.constraints`: a NOT NULL, UNIQUE, CHECK, foreign key or default lost in a rebuild;
//! - `sql.layout`: a table whose rows were copied into another column order or affinity;
//! - `sql.composite_key`: a statement that matches one column of a composite key without the
//!   columns before it (`keys`);
//! - `sql.key_spread`: a statement whose literal filters name some key values (one system)
//!   while its changes reach others.
//!
//! `scope` judges the declared scope (rows and schema objects by name) the same way.

pub mod keys;
pub mod objects;
pub mod rows;
pub mod schema;
pub mod scope;
pub mod shape;
pub mod touches;

use crate::checks::result;
use crate::db::DbError;
use crate::fingerprint::diff::DbDiff;
use crate::migrate::expect::Expect;
use crate::migrate::script::Script;
use crate::report::{CheckResult, Status};

pub use schema::Schema;
pub use touches::{Recorder, Touches};

/// The key of `[schema]` for a kind of object: `indexes` for `index`.
pub fn kinds(kind: &str) -> String {
    match kind {
        "index" => "indexes".into(),
        k => format!("{k}s"),
    }
}

/// SQLite's names compare without ASCII case.
pub fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// What one forward run of a script left as evidence.
pub struct Evidence<'a> {
    pub script: &'a Script,
    pub before: &'a Schema,
    pub after: &'a Schema,
    /// Rows and schema objects, before → after.
    pub diff: &'a DbDiff,
    pub touches: &'a Touches,
}

/// One hazard found.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The name EXPECT.toml uses to allow it: a table, `table.column`, an object's name.
    pub object: String,
    /// Where: `table comments`, `index posts_user`, `forward.sql:4`.
    pub scope: String,
    pub actual: String,
    pub violations: u64,
    pub examples: Vec<String>,
}

/// Every hazard: its check id, what must hold, and how EXPECT.toml allows it.
pub const HAZARDS: &[(&str, &str, &str)] = &[
    (
        "sql.collateral",
        "rows change only in tables a statement names",
        "[allow] collateral",
    ),
    (
        "sql.vanished",
        "every index, trigger and view is still there, unless a statement drops it",
        "[schema] <kind>.dropped",
    ),
    (
        "sql.broken",
        "every view and trigger still compiles",
        "[allow] broken",
    ),
    (
        "sql.references",
        "every foreign key points to the table it pointed to, and that table exists",
        "[allow] references",
    ),
    (
        "sql.sequence",
        "no AUTOINCREMENT counter goes down or vanishes",
        "[allow] sequence",
    ),
    (
        "sql.constraints",
        "every NOT NULL, UNIQUE, CHECK, foreign key and default survives",
        "[allow] constraints",
    ),
    (
        "sql.layout",
        "a table whose rows were copied keeps its column order and affinities",
        "[allow] layout",
    ),
    (
        "sql.composite_key",
        "a match on one column of a composite key also matches the columns before it",
        "[allow] composite_keys",
    ),
    (
        "sql.key_spread",
        "a statement that names key values changes rows of those values only",
        "[allow] spread",
    ),
];

/// The findings of one hazard.
pub fn find(check: &str, e: &Evidence) -> Result<Vec<Finding>, DbError> {
    Ok(match check {
        "sql.collateral" => rows::collateral(e),
        "sql.vanished" => objects::vanished(e),
        "sql.broken" => objects::broken(e)?,
        "sql.references" => objects::references(e),
        "sql.sequence" => objects::sequence(e),
        "sql.constraints" => objects::constraints(e),
        "sql.layout" => objects::layout(e),
        "sql.composite_key" => keys::composite_key(e)?,
        "sql.key_spread" => rows::key_spread(e),
        _ => Vec::new(),
    })
}

/// Is a finding allowed by EXPECT.toml? (the entry that allows it)
fn allowed(check: &str, f: &Finding, expect: &Expect) -> Option<String> {
    if check == "sql.vanished" {
        let (kind, name) = f.object.split_once(' ')?;
        return expect
            .schema
            .of(kind)
            .allows("dropped", name)
            .then(|| format!("[schema] {}.dropped names {name}", kinds(kind)));
    }
    let (table, _) = f.object.split_once('.').unwrap_or((&f.object, ""));
    let list = expect.allow.list(check);
    list.iter()
        .any(|a| same(a, &f.object) || same(a, table))
        .then(|| {
            let key = HAZARDS
                .iter()
                .find(|h| h.0 == check)
                .map_or("[allow]", |h| h.2);
            format!("{key} names {}", f.object)
        })
}

/// Every hazard judged on the evidence: one result per finding (failed unless EXPECT.toml
/// allows it), one passing result for a hazard with no finding.
pub fn assess(e: &Evidence, expect: &Expect) -> Result<Vec<CheckResult>, DbError> {
    let mut out = Vec::new();
    for (check, expected, _) in HAZARDS {
        let found = find(check, e)?;
        if found.is_empty() {
            out.push(result(check, e.script.name()).judged(0, *expected, "none"));
        }
        for f in found {
            let r = result(check, f.scope.clone()).with_examples(f.examples.clone());
            out.push(match allowed(check, &f, expect) {
                Some(by) => r
                    .judged(0, *expected, format!("{} (allowed: {by})", f.actual))
                    .with_status(Status::Pass),
                None => r.judged(f.violations.max(1), *expected, f.actual),
            });
        }
    }
    Ok(out)
}

/// "1 row", "2 rows".
pub(crate) fn plural(n: u64, word: &str) -> String {
    format!(
        "{} {word}{}",
        crate::table::count(n as i64),
        if n == 1 { "" } else { "s" }
    )
}
