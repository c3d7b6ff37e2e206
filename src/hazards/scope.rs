//! The declared scope of a forward script (EXPECT.toml): per table, how many rows may be
//! inserted, updated and deleted; per schema object, by kind and name, whether it may be added,
//! dropped or changed (`[schema]`), or for a whole table at once (`[scope.T] schema = true`).
//! Without EXPECT.toml nothing is declared: changes are shown, not judged, and the stage says so.

use std::collections::BTreeSet;

use super::same;
use super::schema::Schema;
use crate::checks::result;
use crate::fingerprint::diff::{DbDiff, TableDiff, definition_diff};
use crate::migrate::expect::{Expect, TableScope};
use crate::report::{
    CheckResult, Example, Fact, Fixed, ObjectChangeKind, SchemaAllowed, Scope, ScopeHint, Status,
};

/// A schema object added, dropped or changed.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectChange {
    /// `table`, `column`, `index`, `trigger`, `view`
    pub kind: &'static str,
    /// Its name; `table.column` for a column.
    pub name: String,
    /// The table it belongs to (a view: itself).
    pub table: String,
    /// `added`, `dropped`, `changed`
    pub change: &'static str,
    /// For a changed object: the lines of its definition that differ, `- before` and `+ after`.
    pub diff: Vec<String>,
}

impl ObjectChange {
    /// The change as an example.
    pub fn example(&self) -> Example {
        Example::ObjectChange {
            what: self.kind.to_string(),
            name: self.name.clone(),
            table: self.table.clone(),
            change: match self.change {
                "added" => ObjectChangeKind::Added,
                "dropped" => ObjectChangeKind::Dropped,
                _ => ObjectChangeKind::Changed,
            },
            diff: self.diff.clone(),
        }
    }
}

/// Every schema object that differs, tables column by column.
pub fn changes(before: &Schema, after: &Schema) -> Vec<ObjectChange> {
    let mut out = Vec::new();
    for (key, b) in &before.tables {
        let Some(a) = after.tables.get(key) else {
            out.push(ObjectChange {
                kind: "table",
                name: b.name.clone(),
                table: b.name.clone(),
                change: "dropped",
                diff: Vec::new(),
            });
            continue;
        };
        if crate::fingerprint::diff::normalize_sql(&b.sql)
            == crate::fingerprint::diff::normalize_sql(&a.sql)
        {
            continue;
        }
        let n0 = out.len();
        for c in &b.columns {
            let name = format!("{}.{}", b.name, c.name);
            match a.column(&c.name) {
                None => out.push(ObjectChange {
                    kind: "column",
                    table: b.name.clone(),
                    change: "dropped",
                    diff: Vec::new(),
                    name,
                }),
                Some(ac)
                    if ac.definition != c.definition
                        || ac.decl_type != c.decl_type
                        || ac.notnull != c.notnull
                        || ac.default != c.default
                        || ac.pk != c.pk =>
                {
                    out.push(ObjectChange {
                        kind: "column",
                        table: b.name.clone(),
                        change: "changed",
                        diff: vec![format!("- {}", c.written), format!("+ {}", ac.written)],
                        name,
                    })
                }
                Some(_) => {}
            }
        }
        for c in &a.columns {
            if b.column(&c.name).is_none() {
                let name = format!("{}.{}", b.name, c.name);
                out.push(ObjectChange {
                    kind: "column",
                    table: b.name.clone(),
                    change: "added",
                    diff: Vec::new(),
                    name,
                });
            }
        }
        let (cb, ca): (BTreeSet<&String>, BTreeSet<&String>) = (
            b.constraints.iter().map(|c| &c.0).collect(),
            a.constraints.iter().map(|c| &c.0).collect(),
        );
        if cb != ca || out.len() == n0 {
            // the table's own constraints that differ (columns are told above), else the whole
            // definition's differing lines
            let mut diff: Vec<String> = b
                .constraints
                .iter()
                .filter(|c| !ca.contains(&c.0))
                .map(|c| format!("- {}", c.1))
                .chain(
                    a.constraints
                        .iter()
                        .filter(|c| !cb.contains(&c.0))
                        .map(|c| format!("+ {}", c.1)),
                )
                .collect();
            if diff.is_empty() {
                diff = definition_diff(&b.sql, &a.sql);
            }
            out.push(ObjectChange {
                kind: "table",
                name: b.name.clone(),
                table: b.name.clone(),
                change: "changed",
                diff,
            });
        }
    }
    for (key, a) in &after.tables {
        if !before.tables.contains_key(key) {
            out.push(ObjectChange {
                kind: "table",
                name: a.name.clone(),
                table: a.name.clone(),
                change: "added",
                diff: Vec::new(),
            });
        }
    }
    for (key, b) in &before.objects {
        match after.objects.get(key) {
            None => out.push(ObjectChange {
                kind: b.kind,
                name: b.name.clone(),
                table: b.table.clone(),
                change: "dropped",
                diff: Vec::new(),
            }),
            Some(a)
                if crate::fingerprint::diff::normalize_sql(&a.sql)
                    != crate::fingerprint::diff::normalize_sql(&b.sql) =>
            {
                let diff = definition_diff(&b.sql, &a.sql);
                out.push(ObjectChange {
                    kind: b.kind,
                    name: b.name.clone(),
                    table: a.table.clone(),
                    change: "changed",
                    diff,
                })
            }
            Some(_) => {}
        }
    }
    for (key, a) in &after.objects {
        if !before.objects.contains_key(key) {
            out.push(ObjectChange {
                kind: a.kind,
                name: a.name.clone(),
                table: a.table.clone(),
                change: "added",
                diff: Vec::new(),
            });
        }
    }
    out
}

/// Does EXPECT.toml declare this schema change?
fn declared(c: &ObjectChange, expect: &Expect) -> bool {
    expect
        .scope
        .iter()
        .any(|(t, s)| s.schema && same(t, &c.table))
        || expect.schema.of(c.kind).allows(c.change, &c.name)
}

/// The judgement of the scope: one result per table that changed or is declared, and the
/// stage's words.
pub struct Judged {
    pub results: Vec<CheckResult>,
    /// Tables changed.
    pub changed: u64,
    /// Changes outside the declared scope (0 when nothing is declared).
    pub outside: u64,
    pub declared: bool,
    /// What to give for a scope ("give --expect").
    pub hint: ScopeHint,
}

fn what_changed(td: &TableDiff, schema: bool, judged: bool) -> Fact {
    Fact::TableChanged {
        inserted: td.inserted,
        updated: td.updated,
        deleted: td.deleted,
        schema,
        spread: td
            .spread
            .as_ref()
            .filter(|s| !s.groups.is_empty())
            .map(|s| s.shown(8)),
        judged,
    }
}

/// Judge every change of a forward run against the declared scope (None: nothing declared;
/// `hint`: what to give for one, "give --expect").
pub fn judge(
    diff: &DbDiff,
    objects: &[ObjectChange],
    expect: Option<&Expect>,
    hint: &ScopeHint,
) -> Judged {
    let mut names: Vec<String> = diff.tables.iter().map(|t| t.table.clone()).collect();
    names.extend(objects.iter().map(|c| c.table.clone()));
    if let Some(e) = expect {
        names.extend(e.scope.keys().cloned());
    }
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names.dedup_by(|a, b| same(a, b));
    let mut j = Judged {
        results: Vec::new(),
        changed: 0,
        outside: 0,
        declared: expect.is_some(),
        hint: hint.clone(),
    };
    for name in &names {
        let td = diff
            .tables
            .iter()
            .find(|t| same(&t.table, name))
            .cloned()
            .unwrap_or_else(|| TableDiff {
                table: name.clone(),
                ..Default::default()
            });
        let own: Vec<&ObjectChange> = objects.iter().filter(|c| same(&c.table, name)).collect();
        let schema_changed = !own.is_empty();
        if td.changed() || schema_changed {
            j.changed += 1;
        }
        let scope: Option<&TableScope> =
            expect.and_then(|e| e.scope.iter().find(|(t, _)| same(t, name)).map(|(_, s)| s));
        let allowed = scope.copied().unwrap_or_default();
        let undeclared: Vec<&&ObjectChange> = own
            .iter()
            .filter(|c| expect.is_none_or(|e| !declared(c, e)))
            .collect();
        let over = td.inserted.saturating_sub(allowed.inserted)
            + td.updated.saturating_sub(allowed.updated)
            + td.deleted.saturating_sub(allowed.deleted)
            + undeclared.len() as u64;
        let mut ex: Vec<Example> = undeclared.iter().map(|c| c.example()).collect();
        ex.extend(
            own.iter()
                .filter(|c| !undeclared.contains(c))
                .map(|c| c.example()),
        );
        ex.extend(td.examples.iter().map(|row| Example::Row {
            table: None,
            row: row.clone(),
        }));
        ex.truncate(5);
        let r = result("sql.scope", Scope::table(name));
        let r = match expect {
            None => {
                let mut r = r.with_examples(ex);
                r.expected = Fact::NoScopeDeclared { hint: hint.clone() };
                r.found = what_changed(&td, schema_changed, false);
                // not judged: a warning, as the scope stage says, never a pass nor a skip
                r.status = Status::Warn;
                r
            }
            Some(_) => {
                let declared_objects = own.len() - undeclared.len();
                let expected = match scope {
                    None if declared_objects == 0 => Fact::from(Fixed::NoChangeOutsideScope),
                    _ => Fact::AtMost {
                        inserted: allowed.inserted,
                        updated: allowed.updated,
                        deleted: allowed.deleted,
                        schema: if allowed.schema {
                            SchemaAllowed::Any
                        } else if declared_objects > 0 {
                            SchemaAllowed::Named
                        } else {
                            SchemaAllowed::No
                        },
                    },
                };
                j.outside += over;
                r.judged(over, expected, what_changed(&td, schema_changed, true))
                    .with_examples(ex)
            }
        };
        j.results.push(r);
    }
    j
}

impl Judged {
    /// The stage's status and words; `hazards`: the ids of hazards that failed.
    pub fn stage(&self, hazards: &[String]) -> (Status, String) {
        let tables = super::plural(self.changed, "table");
        let mut text = if self.declared {
            format!(
                "{tables} changed, {} outside the declared scope",
                super::plural(self.outside, "change")
            )
        } else {
            format!(
                "no scope declared ({}): {tables} changed, not judged",
                crate::report::render::phrase::scope_hint(&self.hint)
            )
        };
        if hazards.is_empty() {
            text.push_str("; no hazard");
        } else {
            text.push_str(&format!(
                "; {}: {}",
                super::plural(hazards.len() as u64, "hazard"),
                hazards.join(", ")
            ));
        }
        let status = if !hazards.is_empty() || self.outside > 0 {
            Status::Fail
        } else if !self.declared {
            Status::Warn
        } else {
            Status::Pass
        };
        (status, text)
    }
}
