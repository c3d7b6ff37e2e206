//! Hazards of the rows: changes in tables no statement names (cascades, triggers), and changes
//! that reach key values (systems) other than those a statement's filters name.

use std::collections::{BTreeMap, HashMap};

use super::shape::Shape;
use super::touches::{Op, Own, StatementTouches, Touches, Via};
use super::{Evidence, Finding, same};
use crate::migrate::script::{Kind, Script};
use crate::report::{CollateralCause, Example, Fact, RowOp, Scope, Through};

/// Rows deleted or updated in a table that no statement of the script names as its target:
/// SQLite changed them through a foreign key action or a trigger. The statements that can do it
/// are those whose authorizer actions write the table without naming it.
pub fn collateral(e: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in &e.diff.tables {
        if t.deleted + t.updated == 0
            || t.table.to_ascii_lowercase().starts_with("sqlite_")
            || e.touches.named(&t.table)
        {
            continue;
        }
        let mut causes: Vec<CollateralCause> = Vec::new();
        for (s, w) in e.touches.indirect_writes(&t.table) {
            let op = match w.op {
                Op::Insert => continue,
                Op::Update => RowOp::Update,
                Op::Delete => RowOp::Delete,
            };
            let (through, drop_table) = match (&w.via, &s.own) {
                (Via::Trigger(name), _) => (Through::Trigger { name: name.clone() }, None),
                // with foreign keys on, SQLite empties a table before it drops it, and the
                // children's ON DELETE actions run: sqlite.org/foreignkeys.html, section 5
                // ("CREATE, ALTER and DROP TABLE commands")
                (_, Some(Own::DropTable(parent))) => {
                    (foreign_key(e, &t.table, s, w.op), Some(parent.clone()))
                }
                _ => (foreign_key(e, &t.table, s, w.op), None),
            };
            let c = CollateralCause {
                table: t.table.clone(),
                line: s.line as u64,
                statement: s.own.as_ref().map(|o| o.describe()),
                op,
                through,
                drop_table,
            };
            if !causes.contains(&c) {
                causes.push(c);
            }
        }
        let mut examples: Vec<Example> = if causes.is_empty() {
            vec![Example::OnItsOwn {
                table: t.table.clone(),
            }]
        } else {
            causes
                .iter()
                .map(|c| Example::Collateral { cause: c.clone() })
                .collect()
        };
        examples.extend(t.examples.iter().map(|row| Example::Row {
            table: None,
            row: row.clone(),
        }));
        examples.truncate(5);
        out.push(Finding {
            object: t.table.clone(),
            scope: Scope::table(&t.table),
            actual: Fact::Collateral {
                table: t.table.clone(),
                deleted: t.deleted,
                updated: t.updated,
                spread: t
                    .spread
                    .as_ref()
                    .filter(|s| !s.groups.is_empty())
                    .map(|s| s.shown(8)),
                causes,
            },
            violations: t.deleted + t.updated,
            examples,
        });
    }
    out
}

/// "the foreign key comments(post_id) → posts ON DELETE CASCADE": the key of `child` whose
/// action wrote it (`op`) when statement `s` ran. Its parent is the table the statement writes
/// itself (a DELETE or DROP TABLE: ON DELETE; an UPDATE: ON UPDATE), or one whose rows its
/// actions deleted or updated in turn (a cascade through posts to comments); the action must be
/// one that makes `op` (a delete: CASCADE; an update: SET NULL or SET DEFAULT on delete, any
/// action on update).
fn foreign_key(e: &Evidence, child: &str, s: &StatementTouches, op: Op) -> Through {
    let Some(table) = e.before.table(child) else {
        return Through::ForeignKeyAction;
    };
    // the tables this statement deleted from or updated, its own target first
    let mut parents: Vec<(&str, Op)> = Vec::new();
    match &s.own {
        Some(Own::Delete(t)) | Some(Own::DropTable(t)) => parents.push((t, Op::Delete)),
        Some(Own::Update(t)) => parents.push((t, Op::Update)),
        _ => {}
    }
    for w in &s.writes {
        if w.via != Via::Statement && w.op != Op::Insert && !same(&w.table, child) {
            parents.push((&w.table, w.op));
        }
    }
    for (parent, by) in parents {
        for f in table
            .foreign_keys
            .iter()
            .filter(|f| same(&f.parent, parent))
        {
            let (event, action) = match by {
                Op::Update => ("UPDATE", f.on_update.as_str()),
                _ => ("DELETE", f.on_delete.as_str()),
            };
            let sets = matches!(action, "SET NULL" | "SET DEFAULT");
            let fits = match op {
                Op::Delete => event == "DELETE" && action == "CASCADE",
                Op::Update => sets || (event == "UPDATE" && action == "CASCADE"),
                Op::Insert => false,
            };
            if fits {
                return Through::ForeignKey {
                    child: child.to_string(),
                    columns: f.columns.clone(),
                    parent: f.parent.clone(),
                    event: event.to_string(),
                    action: action.to_string(),
                };
            }
        }
    }
    Through::ForeignKeyAction
}

/// The statements of a script that write rows, by line (the first, when a line holds several).
fn writing_statements(script: &Script) -> HashMap<usize, &str> {
    let mut out = HashMap::new();
    for st in script.statements.iter().filter(|s| s.kind == Kind::Sql) {
        if out.contains_key(&st.line) {
            continue;
        }
        if matches!(
            Shape::of(&st.sql).kind,
            super::shape::Kind::Update | super::shape::Kind::Delete | super::shape::Kind::Insert
        ) {
            out.insert(st.line, st.sql.as_str());
        }
    }
    out
}

/// A table with a composite key whose changed rows are counted by the key's leading column
/// (`system_id`): when every statement that updates or deletes its rows filters that column on
/// literal values (`system_id = 1`, anywhere in its WHERE and the subqueries there), rows
/// updated or deleted under other values are a statement reaching further than it says (the
/// composite-key mistake, seen in the data). Inserted rows are left out: an INSERT's filters
/// pick what it reads, not the key values it writes (a copy from one system to another).
pub fn key_spread(e: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    let statements = writing_statements(e.script);
    for t in &e.diff.tables {
        let Some(spread) = &t.spread else { continue };
        // the statements that update or delete its rows: their WHERE picks the rows changed
        // (an INSERT's filters pick the rows it reads, not the key values it writes)
        let writers: Vec<usize> = e
            .touches
            .writers(&t.table)
            .filter(|s| matches!(s.own, Some(Own::Update(_)) | Some(Own::Delete(_))))
            .map(|s| s.line)
            .collect();
        if writers.is_empty() {
            continue;
        }
        let mut named: Vec<String> = Vec::new();
        let mut all = true;
        for &line in &writers {
            match statements
                .get(&line)
                .and_then(|sql| Shape::of(sql).literal_filters(&spread.column))
            {
                Some(v) => named.extend(v),
                None => all = false,
            }
        }
        if !all {
            continue;
        }
        named.sort();
        named.dedup();
        let outside: Vec<&crate::fingerprint::diff::SpreadGroup> = spread
            .groups
            .iter()
            .filter(|g| g.updated + g.deleted > 0 && !named.iter().any(|n| n == &g.value))
            .collect();
        if outside.is_empty() && spread.more == 0 {
            continue;
        }
        let rows: u64 = outside.iter().map(|g| g.updated + g.deleted).sum();
        let lines: Vec<u64> = writers.iter().map(|&l| l as u64).collect();
        let mut examples = vec![Example::Filters {
            lines: lines.clone(),
            column: spread.column.clone(),
            named: named.clone(),
        }];
        examples.extend(outside.iter().take(4).map(|g| Example::KeyValue {
            column: spread.column.clone(),
            value: g.value.clone(),
            updated: g.updated,
            deleted: g.deleted,
        }));
        out.push(Finding {
            object: t.table.clone(),
            scope: Scope::table(&t.table),
            actual: Fact::KeySpread {
                rows: t.rows(),
                spread: spread.shown(8),
                lines,
                column: spread.column.clone(),
                named,
            },
            violations: rows.max(1),
            examples,
        });
    }
    out
}

/// Per table, the columns the statements that update or delete its rows filter on: what SQLite
/// says they read of it, named in their WHERE clauses (or the subqueries there), minus what they
/// set. Examples show them beside each changed row's key.
pub fn context_columns(touches: &Touches, script: &Script) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let statements = writing_statements(script);
    for s in &touches.statements {
        let t = match &s.own {
            Some(Own::Update(t)) | Some(Own::Delete(t)) => t,
            _ => continue,
        };
        let Some(sql) = statements.get(&s.line) else {
            continue;
        };
        let filtered = Shape::of(sql).filter_columns();
        let set: Vec<&str> = s.sets(t).collect();
        let cols = out.entry(t.to_string()).or_default();
        for c in s.reads_of(t) {
            if filtered.iter().any(|f| same(f, c))
                && !set.iter().any(|x| same(x, c))
                && !cols.iter().any(|x| same(x, c))
            {
                cols.push(c.to_string());
            }
        }
    }
    out
}
