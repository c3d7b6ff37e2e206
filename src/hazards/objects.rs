//! Hazards of the schema: objects gone without a statement that drops them, views and triggers
//! that no longer compile, foreign keys re-pointed or dangling, AUTOINCREMENT counters lowered,
//! constraints lost in a rebuild, rows copied into another column layout.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::schema::{Object, Schema, Table};
use super::shape::{Node, Tok, lex, tree};
use super::{Evidence, Finding, same};
use crate::db::DbError;
use crate::report::{
    AffinityChange, ColumnOrder, Constraint, Copied, Example, Fact, Scope, Vanish,
};
use crate::sql::ident as q;

/// An index, trigger or view of the schema before that is not there after, and that no statement
/// of the script dropped itself (`DROP TABLE` takes a table's indexes and triggers along: a
/// rebuild that forgets to create them again loses them). An object with the same definition
/// under another name replaces it; the objects of a table the script dropped for good go with it.
pub fn vanished(e: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    for (key, o) in &e.before.objects {
        if e.touches.dropped(o.kind, &o.name).is_some() {
            continue;
        }
        // still there, on its table; or taken along by a rename of its table (ALTER TABLE t
        // RENAME TO t_backup moves t's indexes and triggers) while a new t has none
        let moved = match e.after.objects.get(key) {
            None => None,
            Some(a) if o.kind == "view" || same(&a.table, &o.table) => continue,
            Some(a) => Some(a.table.clone()),
        };
        if o.kind != "view" && e.after.table(&o.table).is_none() {
            continue;
        }
        let shape = o.shape();
        if e.after
            .objects
            .values()
            .any(|a| a.kind == o.kind && same(&a.table, &o.table) && a.shape() == shape)
        {
            continue;
        }
        let how = match (
            &moved,
            e.touches.statements.iter().find(
                |s| matches!(&s.own, Some(super::touches::Own::DropTable(t)) if same(t, &o.table)),
            ),
        ) {
            (Some(to), _) => Vanish::Moved {
                to: to.clone(),
                line: e.touches.altered(&o.table).map(|l| l as u64),
            },
            (None, Some(s)) => Vanish::DroppedWithTable {
                line: s.line as u64,
            },
            (None, None) => Vanish::NotDropped,
        };
        out.push(Finding {
            object: format!("{} {}", o.kind, o.name),
            scope: Scope::object(o.kind, &o.name),
            actual: Fact::Vanished {
                what: o.kind.to_string(),
                name: o.name.clone(),
                table: o.table.clone(),
                how,
            },
            violations: 1,
            examples: vec![
                Example::Before {
                    sql: one_line(&o.sql),
                },
                Example::DeclareDropped {
                    what: o.kind.to_string(),
                },
            ],
        });
    }
    out
}

/// A statement on one line, shortened.
fn one_line(sql: &str) -> String {
    crate::db::DbError::sql_excerpt(sql)
}

/// What SQLite says when it compiles each view and trigger of a schema: the error, or None.
pub fn compile_errors(s: &Schema) -> Result<BTreeMap<String, Option<String>>, DbError> {
    let conn = s.replica(false)?;
    let mut out = BTreeMap::new();
    for (key, o) in &s.objects {
        let err = match o.kind {
            "view" => prepare(&conn, &format!("SELECT * FROM {} LIMIT 0", q(&o.name))),
            "trigger" => trigger_error(&conn, o, s),
            _ => continue,
        };
        out.insert(key.clone(), err);
    }
    Ok(out)
}

fn prepare(conn: &Connection, sql: &str) -> Option<String> {
    conn.prepare(sql).err().map(|e| match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m,
        rusqlite::Error::SqlInputError { msg, .. } => msg,
        other => other.to_string(),
    })
}

/// Create the trigger alone on the replica and prepare (never run) a statement that fires it:
/// SQLite compiles a trigger's body into every statement it fires on.
fn trigger_error(conn: &Connection, o: &Object, s: &Schema) -> Option<String> {
    if let Err(e) = conn.execute_batch(&o.sql) {
        return Some(e.to_string());
    }
    let nodes = tree(lex(&o.sql));
    // the event: the first DELETE, INSERT or UPDATE after the trigger's name
    let event = nodes
        .iter()
        .skip(3)
        .find_map(|n: &Node| ["DELETE", "INSERT", "UPDATE"].into_iter().find(|w| n.is(w)))
        .unwrap_or("DELETE");
    let t = q(&o.table);
    let columns: Vec<String> = match s.table(&o.table) {
        Some(tab) => tab.columns.iter().map(|c| q(&c.name)).collect(),
        None => super::schema::query(
            conn,
            "SELECT name FROM pragma_table_info(?1)",
            &[crate::db::Value::Text(o.table.clone())],
        )
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| crate::db::as_text(&r[0]).map(|n| q(&n)))
        .collect(),
    };
    let fire = match event {
        "INSERT" => format!("INSERT INTO {t} DEFAULT VALUES"),
        "UPDATE" => format!(
            "UPDATE {t} SET {}",
            columns
                .iter()
                .map(|c| format!("{c} = {c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!("DELETE FROM {t}"),
    };
    let err = prepare(conn, &fire);
    let _ = conn.execute_batch(&format!("DROP TRIGGER {}", q(&o.name)));
    err
}

/// A view or trigger that compiled before the script (or is new) and does not compile after.
pub fn broken(e: &Evidence) -> Result<Vec<Finding>, DbError> {
    let (before, after) = (compile_errors(e.before)?, compile_errors(e.after)?);
    let mut out = Vec::new();
    for (key, err) in &after {
        let Some(err) = err else { continue };
        if before.get(key).is_some_and(Option::is_some) {
            continue;
        }
        let o = &e.after.objects[key];
        out.push(Finding {
            object: o.name.clone(),
            scope: Scope::object(o.kind, &o.name),
            actual: Fact::NoLongerCompiles {
                what: o.kind.to_string(),
                name: o.name.clone(),
                message: err.clone(),
            },
            violations: 1,
            examples: vec![Example::Definition {
                what: o.kind.to_string(),
                sql: one_line(&o.sql),
            }],
        });
    }
    Ok(out)
}

/// A foreign key that points to a table that does not exist after the script (and did before),
/// or that SQLite re-pointed: it pointed to P before, the script renamed P, and a table named P
/// exists again. Views and triggers that SQLite rewrote the same way are counted too. ALTER TABLE P RENAME TO P_backup rewrites the REFERENCES of every other table
/// unless legacy_alter_table is on and foreign_keys off (SQLite's test/altertab2.test: "table
/// names that appear in REFERENCES clauses are updated when a table is renamed unless
/// legacy_alter_table is true and foreign_keys is false"; lang_altertable.html).
pub fn references(e: &Evidence) -> Vec<Finding> {
    let mut out = repointed_objects(e);
    for t in e.after.tables.values() {
        for fk in &t.foreign_keys {
            let old = e.before.table(&t.name).and_then(|b| {
                b.foreign_keys
                    .iter()
                    .find(|f| f.columns == fk.columns)
                    .map(|f| f.parent.clone())
            });
            if e.after.table(&fk.parent).is_none() {
                // it dangled already
                if old.as_deref().is_some_and(|p| same(p, &fk.parent))
                    && e.before.table(&fk.parent).is_none()
                {
                    continue;
                }
                let mut examples = vec![Example::NoTableAfter {
                    table: t.name.clone(),
                    columns: fk.columns.clone(),
                    parent: fk.parent.clone(),
                }];
                if let Some(p) = old.as_deref().filter(|p| !same(p, &fk.parent)) {
                    examples.push(renamed_by(e, p, &fk.parent));
                }
                if let Some(l) = e.touches.dropped("table", &fk.parent) {
                    examples.push(Example::Drops {
                        line: l as u64,
                        table: fk.parent.clone(),
                    });
                }
                out.push(Finding {
                    object: t.name.clone(),
                    scope: Scope::table(&t.name),
                    actual: Fact::DanglingReference {
                        table: t.name.clone(),
                        columns: fk.columns.clone(),
                        parent: fk.parent.clone(),
                    },
                    violations: 1,
                    examples,
                });
                continue;
            }
            let Some(p) = old.filter(|p| !same(p, &fk.parent)) else {
                continue;
            };
            if e.touches.altered(&p).is_none() || e.after.table(&p).is_none() {
                continue;
            }
            out.push(Finding {
                object: t.name.clone(),
                scope: Scope::table(&t.name),
                actual: Fact::Repointed {
                    table: t.name.clone(),
                    columns: fk.columns.clone(),
                    parent: fk.parent.clone(),
                    was: p.clone(),
                },
                violations: 1,
                examples: vec![renamed_by(e, &p, &fk.parent), Example::LegacyAlterTable],
            });
        }
    }
    out
}

/// A view or trigger that read a table the script renamed, and reads the renamed table now
/// while a table of the old name exists again: SQLite rewrote it along with the rename.
fn repointed_objects(e: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    let renamed: Vec<&str> = e
        .touches
        .statements
        .iter()
        .filter_map(|s| match &s.own {
            Some(super::touches::Own::AlterTable(t)) => Some(t.as_str()),
            _ => None,
        })
        .filter(|t| e.after.table(t).is_some() && e.before.table(t).is_some())
        .collect();
    for (key, b) in &e.before.objects {
        let Some(a) = e.after.objects.get(key) else {
            continue;
        };
        if b.kind == "index" || a.sql == b.sql {
            continue;
        }
        let (tb, ta) = (words(&b.sql), words(&a.sql));
        for p in &renamed {
            let p = p.to_ascii_lowercase();
            if !tb.contains(&p) || ta.contains(&p) {
                continue;
            }
            let now: Vec<&String> = ta.iter().filter(|w| !tb.contains(*w)).collect();
            out.push(Finding {
                object: a.name.clone(),
                scope: Scope::object(a.kind, &a.name),
                actual: Fact::Rewritten {
                    what: a.kind.to_string(),
                    name: a.name.clone(),
                    was: p.clone(),
                    now: now.iter().map(|w| w.to_string()).collect(),
                },
                violations: 1,
                examples: now
                    .iter()
                    .filter_map(|w| around(&a.sql, w))
                    .take(3)
                    .map(|sql| Example::Excerpt { sql })
                    .collect(),
            });
        }
    }
    out
}

/// The words of a definition around the first place it names `word`: "… JOIN users_backup u ON …".
fn around(sql: &str, word: &str) -> Option<String> {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = flat.to_ascii_lowercase().find(word)?;
    let start = flat[..at]
        .char_indices()
        .rev()
        .filter(|(_, c)| *c == ' ')
        .nth(3)
        .map_or(0, |(i, _)| i + 1);
    let end = flat[at..]
        .char_indices()
        .filter(|(_, c)| *c == ' ')
        .nth(3)
        .map_or(flat.len(), |(i, _)| at + i);
    Some(format!(
        "{}{}{}",
        if start > 0 { "… " } else { "" },
        &flat[start..end],
        if end < flat.len() { " …" } else { "" }
    ))
}

/// The lowercased names and words of a definition.
fn words(sql: &str) -> std::collections::BTreeSet<String> {
    lex(sql)
        .into_iter()
        .filter_map(|t| t.tok.word().map(str::to_ascii_lowercase))
        .collect()
}

fn renamed_by(e: &Evidence, from: &str, to: &str) -> Example {
    Example::Renamed {
        from: from.to_string(),
        to: to.to_string(),
        line: e.touches.altered(from).map(|l| l as u64),
    }
}

/// An AUTOINCREMENT counter (sqlite_sequence) lower after the script than before, or gone while
/// its table is still there: new rows can take ids that were used.
pub fn sequence(e: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, &seq) in &e.before.sequence {
        let Some(t) = e.after.table(name) else {
            continue;
        };
        let to = match e.after.sequence.get(name) {
            Some(&now) if now >= seq => continue,
            now => now.copied(),
        };
        out.push(Finding {
            object: t.name.clone(),
            scope: Scope::table(&t.name),
            actual: Fact::CounterDown {
                table: t.name.clone(),
                from: seq,
                to,
            },
            violations: 1,
            examples: vec![Example::Sequence {
                table: t.name.clone(),
                from: seq,
                to,
            }],
        });
    }
    out
}

/// What a column or table had before and lacks after: NOT NULL, a default, a CHECK, a UNIQUE or
/// PRIMARY KEY, a foreign key. Columns dropped altogether are not counted here.
pub fn constraints(e: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    for b in e.before.tables.values() {
        let Some(a) = e.after.table(&b.name) else {
            continue;
        };
        if b.sql == a.sql {
            continue;
        }
        let mut lost: Vec<(String, Constraint)> = Vec::new();
        for c in &b.columns {
            let Some(ac) = a.column(&c.name) else {
                continue;
            };
            let obj = format!("{}.{}", b.name, c.name);
            // a foreign key that now sets the column to NULL needs it nullable: that loss is
            // what the new definition says, not an oversight
            let set_null = a.foreign_keys.iter().any(|f| {
                f.columns.iter().any(|x| same(x, &c.name))
                    && (f.on_delete == "SET NULL" || f.on_update == "SET NULL")
            });
            if c.notnull && !ac.notnull && !set_null && !a.never_null(&ac.name) {
                lost.push((obj.clone(), Constraint::NotNull));
            }
            if let (Some(d), None) = (&c.default, &ac.default) {
                lost.push((obj.clone(), Constraint::Default { value: d.clone() }));
            }
        }
        let kept: Vec<&String> = a.checks.iter().map(|(_, x)| x).collect();
        for (col, check) in &b.checks {
            if col.as_ref().is_some_and(|c| a.column(c).is_none()) || kept.contains(&check) {
                continue;
            }
            let obj = col
                .as_ref()
                .map_or(b.name.clone(), |c| format!("{}.{c}", b.name));
            lost.push((
                obj,
                Constraint::Check {
                    expr: check.clone(),
                },
            ));
        }
        for k in &b.unique {
            if k.columns.iter().any(|c| a.column(c).is_none()) || a.unique_on(&k.columns) {
                continue;
            }
            // an explicit unique index that vanished is sql.vanished's
            if k.origin == "c" {
                continue;
            }
            let obj = match k.columns.as_slice() {
                [c] => format!("{}.{c}", b.name),
                _ => b.name.clone(),
            };
            let columns = k.columns.clone();
            lost.push((
                obj,
                if k.origin == "pk" {
                    Constraint::PrimaryKey { columns }
                } else {
                    Constraint::Unique { columns }
                },
            ));
        }
        for fk in &b.foreign_keys {
            if fk.columns.iter().any(|c| a.column(c).is_none())
                || a.foreign_keys.iter().any(|f| f.columns == fk.columns)
            {
                continue;
            }
            let obj = match fk.columns.as_slice() {
                [c] => format!("{}.{c}", b.name),
                _ => b.name.clone(),
            };
            lost.push((
                obj,
                Constraint::ForeignKey {
                    columns: fk.columns.clone(),
                    parent: fk.parent.clone(),
                },
            ));
        }
        if lost.is_empty() {
            continue;
        }
        // one finding per column (or per table for table constraints)
        let mut by: BTreeMap<String, Vec<Constraint>> = BTreeMap::new();
        for (obj, what) in lost {
            by.entry(obj).or_default().push(what);
        }
        for (obj, whats) in by {
            out.push(Finding {
                scope: if obj.contains('.') {
                    Scope::object("column", &obj)
                } else {
                    Scope::table(&obj)
                },
                violations: whats.len() as u64,
                actual: Fact::ConstraintsLost {
                    object: obj.clone(),
                    table: b.name.clone(),
                    lost: whats,
                },
                examples: vec![
                    Example::Before {
                        sql: one_line(&b.sql),
                    },
                    Example::After {
                        sql: one_line(&a.sql),
                    },
                ],
                object: obj,
            });
        }
    }
    out
}

/// A table whose rows were copied into a new definition (it has rows before and after, and its
/// SQL changed) whose common columns come in another order, or have another type affinity.
///
/// Another order matters where something copies by position: a statement of the script that
/// inserts without a column list or takes `*` (its line is named), or values the row diff shows
/// in another column than before. Rows copied by name with every value in its column are no
/// hazard: a warning says the order changed (a later `INSERT … SELECT *` would see it).
pub fn layout(e: &Evidence) -> Vec<Finding> {
    let positional = positional_copies(e.script);
    let mut out = Vec::new();
    for b in e.before.tables.values() {
        let Some(a) = e.after.table(&b.name) else {
            continue;
        };
        if b.sql == a.sql || b.rows == 0 || a.rows == 0 {
            continue;
        }
        let common = |t: &Table, other: &Table| -> Vec<String> {
            t.columns
                .iter()
                .filter(|c| other.has(&c.name))
                .map(|c| c.name.to_ascii_lowercase())
                .collect()
        };
        let mut order = None;
        let mut affinities = Vec::new();
        let mut examples = Vec::new();
        let (ob, oa) = (common(b, a), common(a, b));
        if ob != oa {
            // the row diff compares by column name: a value that moved column shows as updated
            let moved = e
                .diff
                .tables
                .iter()
                .find(|t| t.table.eq_ignore_ascii_case(&b.name))
                .filter(|t| t.updated > 0 || t.inserted > 0 || t.deleted > 0);
            let by_position = positional
                .iter()
                .take(2)
                .map(|(line, sql)| Example::ByPosition {
                    file: e.script.name().to_string(),
                    line: *line as u64,
                    sql: sql.clone(),
                });
            let copied = if let Some(t) = moved {
                examples.extend(by_position);
                examples.extend(t.examples.iter().take(2).map(|row| Example::Row {
                    table: None,
                    row: row.clone(),
                }));
                Copied::ValuesMoved { rows: t.rows() }
            } else if !positional.is_empty() {
                examples.extend(by_position);
                Copied::ByPosition
            } else {
                Copied::ByName
            };
            order = Some(ColumnOrder {
                before: ob,
                after: oa,
                copied,
            });
        }
        for c in &b.columns {
            if let Some(ac) = a.column(&c.name)
                && c.affinity() != ac.affinity()
            {
                affinities.push(AffinityChange {
                    column: c.name.clone(),
                    from: c.affinity().to_string(),
                    from_type: c.decl_type.clone(),
                    to: ac.affinity().to_string(),
                    to_type: ac.decl_type.clone(),
                });
            }
        }
        if order.is_none() && affinities.is_empty() {
            continue;
        }
        // a note alone (the order changed, rows copied by name) is a warning
        let violations = affinities.len() as u64
            + order.as_ref().is_some_and(|o| o.copied != Copied::ByName) as u64;
        examples.push(Example::Before {
            sql: one_line(&b.sql),
        });
        examples.push(Example::After {
            sql: one_line(&a.sql),
        });
        out.push(Finding {
            object: b.name.clone(),
            scope: Scope::table(&b.name),
            actual: Fact::Layout {
                table: b.name.clone(),
                rows: a.rows,
                order,
                affinities,
            },
            violations,
            examples,
        });
    }
    out
}

/// Statements that copy rows by position, with their lines: an INSERT without a column list
/// (`INSERT INTO t SELECT …`, `INSERT INTO t VALUES …`), or one whose query takes `*` or `t.*`.
fn positional_copies(script: &crate::migrate::script::Script) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for st in &script.statements {
        let nodes = tree(lex(&st.sql));
        let Some(at) = nodes.iter().position(|n| n.is("INSERT") || n.is("REPLACE")) else {
            continue;
        };
        let Some(into) = nodes[at..].iter().position(|n| n.is("INTO")) else {
            continue;
        };
        // the table's name, perhaps `schema.name`, perhaps `AS alias`
        let mut j = at + into + 2;
        if nodes.get(j).and_then(Node::tok) == Some(&Tok::Dot) {
            j += 2;
        }
        if nodes.get(j).is_some_and(|n| n.is("AS")) {
            j += 2;
        }
        let listed = nodes
            .get(j)
            .is_some_and(|n| n.group().is_some() && n.query().is_none());
        let default = nodes.get(j).is_some_and(|n| n.is("DEFAULT"));
        if (!listed && !default) || takes_star(&nodes[j.min(nodes.len())..]) {
            out.push((st.line, crate::db::DbError::sql_excerpt(&st.sql)));
        }
    }
    out
}

/// A `*` or `t.*` among the result columns of a query in `nodes` (a `count(*)` is no copy).
fn takes_star(nodes: &[Node]) -> bool {
    let mut prev: Option<&Node> = None;
    for n in nodes {
        if n.tok() == Some(&Tok::Op("*".into()))
            && prev.is_some_and(|p| {
                p.is("SELECT")
                    || p.is("DISTINCT")
                    || p.is("ALL")
                    || matches!(p.tok(), Some(Tok::Comma | Tok::Dot))
            })
        {
            return true;
        }
        if let Some(q) = n.query()
            && takes_star(q)
        {
            return true;
        }
        prev = Some(n);
    }
    false
}
