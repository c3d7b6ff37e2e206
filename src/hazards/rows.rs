//! Hazards of the rows: changes in tables no statement names (cascades, triggers), and changes
//! that reach key values (systems) other than those a statement's filters name.

use std::collections::{BTreeMap, HashMap};

use super::shape::Shape;
use super::touches::{Op, Own, StatementTouches, Touches, Via};
use super::{Evidence, Finding, plural, same};
use crate::migrate::script::{Kind, Script};

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
        let mut causes: Vec<String> = Vec::new();
        for (s, w) in e.touches.indirect_writes(&t.table) {
            if w.op == Op::Insert {
                continue;
            }
            let by = match (&w.via, &s.own) {
                (Via::Trigger(name), _) => format!("trigger {name}"),
                // with foreign keys on, SQLite empties a table before it drops it, and the
                // children's ON DELETE actions run: sqlite.org/foreignkeys.html, section 5
                // ("CREATE, ALTER and DROP TABLE commands")
                (_, Some(Own::DropTable(parent))) => format!(
                    "{} (foreign keys were on: DROP TABLE deletes every row of {parent} first)",
                    foreign_key(e, &t.table, s, w.op)
                ),
                _ => foreign_key(e, &t.table, s, w.op),
            };
            let own = s
                .own
                .as_ref()
                .map_or("the statement".into(), |o| o.describe());
            let c = format!(
                "line {} ({own}) {} {} through {by}",
                s.line,
                w.op.verb(),
                t.table
            );
            if !causes.contains(&c) {
                causes.push(c);
            }
        }
        if causes.is_empty() {
            causes.push(format!(
                "no statement of the script names {}; SQLite changed it on its own",
                t.table
            ));
        }
        let mut what = Vec::new();
        if t.deleted > 0 {
            what.push(format!("{} deleted", crate::table::count(t.deleted as i64)));
        }
        if t.updated > 0 {
            what.push(format!("{} updated", crate::table::count(t.updated as i64)));
        }
        let mut examples = causes.clone();
        examples.extend(
            t.examples
                .iter()
                .map(crate::report::render::phrase::row_example),
        );
        examples.truncate(5);
        out.push(Finding {
            object: t.table.clone(),
            scope: format!("table {}", t.table),
            actual: format!(
                "{}: {}{}; no statement names {}: {}",
                t.table,
                what.join(", "),
                t.spread_text(),
                t.table,
                causes.join("; ")
            ),
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
fn foreign_key(e: &Evidence, child: &str, s: &StatementTouches, op: Op) -> String {
    let Some(table) = e.before.table(child) else {
        return "a foreign key action".into();
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
                return format!(
                    "the foreign key {child}({}) → {} ON {event} {action}",
                    f.columns.join(", "),
                    f.parent
                );
            }
        }
    }
    "a foreign key action".into()
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
        let lines = writers
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let mut examples = vec![format!(
            "line {lines} filters {} on {} only",
            spread.column,
            named.join(", ")
        )];
        examples.extend(outside.iter().take(4).map(|g| {
            let mut what = Vec::new();
            for (n, w) in [(g.updated, "updated"), (g.deleted, "deleted")] {
                if n > 0 {
                    what.push(format!("{} {w}", crate::table::count(n as i64)));
                }
            }
            format!("{} {}: {}", spread.column, g.value, what.join(", "))
        }));
        out.push(Finding {
            object: t.table.clone(),
            scope: format!("table {}", t.table),
            actual: format!(
                "{} changed in {}; the statement{} at line {lines} name{} {} {} only",
                plural(t.rows(), "row"),
                spread.describe(8),
                if writers.len() == 1 { "" } else { "s" },
                if writers.len() == 1 { "s" } else { "" },
                spread.column,
                named.join(", ")
            ),
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
