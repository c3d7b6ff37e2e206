//! What each statement of a script touches, as SQLite itself reports it: the authorizer callback
//! (`sqlite3_set_authorizer`) is asked about every table and column a statement reads and writes
//! while the statement is prepared, including what its triggers and foreign key actions will do.
//! No SQL is parsed here.
//!
//! A statement's own action is the first one SQLite asks about (its writes to `sqlite_schema`
//! aside): `DELETE FROM posts` asks about DELETE on posts first, then about the rows its foreign
//! key actions delete in comments (no trigger named: SQLite codes an action as a trigger without
//! a name), then about what triggers do (the trigger named). `DROP TABLE posts` asks about DROP
//! TABLE first, then about the triggers it drops with the table. Observed with SQLite 3.40 and
//! 3.54 (the tests below pin it).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use crate::migrate::runner::Watch;

/// What a statement does itself, as its first authorizer action says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Own {
    Insert(String),
    Update(String),
    Delete(String),
    CreateTable(String),
    DropTable(String),
    /// `ALTER TABLE t …` (rename, add, drop or rename a column): the table's name before.
    AlterTable(String),
    CreateIndex {
        name: String,
        table: String,
    },
    DropIndex {
        name: String,
        table: String,
    },
    CreateTrigger {
        name: String,
        table: String,
    },
    DropTrigger {
        name: String,
        table: String,
    },
    CreateView(String),
    DropView(String),
    Select,
    Pragma(String),
    /// Anything else (a transaction statement, ANALYZE, …).
    Other,
}

impl Own {
    /// The table whose rows or definition the statement itself names as its target.
    pub fn table(&self) -> Option<&str> {
        match self {
            Own::Insert(t)
            | Own::Update(t)
            | Own::Delete(t)
            | Own::CreateTable(t)
            | Own::DropTable(t)
            | Own::AlterTable(t) => Some(t),
            _ => None,
        }
    }

    /// The table whose rows it writes (INSERT, UPDATE, DELETE).
    pub fn writes(&self) -> Option<&str> {
        match self {
            Own::Insert(t) | Own::Update(t) | Own::Delete(t) => Some(t),
            _ => None,
        }
    }

    /// The schema object it drops: (kind, name).
    pub fn drops(&self) -> Option<(&'static str, &str)> {
        match self {
            Own::DropIndex { name, .. } => Some(("index", name)),
            Own::DropTrigger { name, .. } => Some(("trigger", name)),
            Own::DropView(name) => Some(("view", name)),
            Own::DropTable(name) => Some(("table", name)),
            _ => None,
        }
    }

    /// In words, for examples: "DELETE FROM posts", "DROP TABLE posts".
    pub fn describe(&self) -> String {
        match self {
            Own::Insert(t) => format!("INSERT INTO {t}"),
            Own::Update(t) => format!("UPDATE {t}"),
            Own::Delete(t) => format!("DELETE FROM {t}"),
            Own::CreateTable(t) => format!("CREATE TABLE {t}"),
            Own::DropTable(t) => format!("DROP TABLE {t}"),
            Own::AlterTable(t) => format!("ALTER TABLE {t}"),
            Own::CreateIndex { name, .. } => format!("CREATE INDEX {name}"),
            Own::DropIndex { name, .. } => format!("DROP INDEX {name}"),
            Own::CreateTrigger { name, .. } => format!("CREATE TRIGGER {name}"),
            Own::DropTrigger { name, .. } => format!("DROP TRIGGER {name}"),
            Own::CreateView(v) => format!("CREATE VIEW {v}"),
            Own::DropView(v) => format!("DROP VIEW {v}"),
            Own::Select => "SELECT".into(),
            Own::Pragma(p) => format!("PRAGMA {p}"),
            Own::Other => "statement".into(),
        }
    }
}

/// How a write reaches a table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    /// The statement's own target.
    Statement,
    /// A foreign key action (`ON DELETE CASCADE`, `SET NULL`, …) of the statement's target.
    ForeignKey,
    /// A trigger, by name.
    Trigger(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    pub fn verb(self) -> &'static str {
        match self {
            Op::Insert => "inserts into",
            Op::Update => "updates",
            Op::Delete => "deletes from",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Write {
    pub table: String,
    /// The column an UPDATE sets.
    pub column: Option<String>,
    pub op: Op,
    pub via: Via,
}

/// Everything SQLite asked about while preparing one statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatementTouches {
    pub line: usize,
    pub own: Option<Own>,
    /// (table, column, the view or trigger that reads it, if any).
    pub reads: BTreeSet<(String, String, Option<String>)>,
    pub writes: BTreeSet<Write>,
}

impl StatementTouches {
    /// Columns of `table` the statement reads itself (not through a view or trigger).
    pub fn reads_of<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.reads
            .iter()
            .filter(move |(t, _, via)| via.is_none() && t.eq_ignore_ascii_case(table))
            .map(|(_, c, _)| c.as_str())
    }

    /// Columns of `table` the statement sets.
    pub fn sets<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.writes
            .iter()
            .filter(move |w| w.via == Via::Statement && w.table.eq_ignore_ascii_case(table))
            .filter_map(|w| w.column.as_deref())
    }
}

/// What every statement of one run touched, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Touches {
    pub statements: Vec<StatementTouches>,
}

fn is_schema_table(t: &str) -> bool {
    let t = t.to_ascii_lowercase();
    t.starts_with("sqlite_")
}

impl Touches {
    /// Tables a statement names as its own target (rows written, created, dropped, altered).
    pub fn named(&self, table: &str) -> bool {
        self.statements.iter().any(|s| {
            s.own
                .as_ref()
                .and_then(Own::table)
                .is_some_and(|t| t.eq_ignore_ascii_case(table))
        })
    }

    /// The statements whose own action writes rows of `table`.
    pub fn writers<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a StatementTouches> {
        self.statements.iter().filter(move |s| {
            s.own
                .as_ref()
                .and_then(Own::writes)
                .is_some_and(|t| t.eq_ignore_ascii_case(table))
        })
    }

    /// The line of a statement that drops `kind` `name` itself.
    pub fn dropped(&self, kind: &str, name: &str) -> Option<usize> {
        self.statements
            .iter()
            .find(|s| {
                s.own
                    .as_ref()
                    .and_then(Own::drops)
                    .is_some_and(|(k, n)| k == kind && n.eq_ignore_ascii_case(name))
            })
            .map(|s| s.line)
    }

    /// The lines of statements that write `table` without naming it (foreign key actions,
    /// triggers), with how.
    pub fn indirect_writes<'a>(
        &'a self,
        table: &'a str,
    ) -> impl Iterator<Item = (&'a StatementTouches, &'a Write)> + 'a {
        self.statements.iter().flat_map(move |s| {
            s.writes
                .iter()
                .filter(move |w| w.via != Via::Statement && w.table.eq_ignore_ascii_case(table))
                .map(move |w| (s, w))
        })
    }

    /// The line of the statement that altered (renamed) `table`.
    pub fn altered(&self, table: &str) -> Option<usize> {
        self.statements
            .iter()
            .find(|s| matches!(&s.own, Some(Own::AlterTable(t)) if t.eq_ignore_ascii_case(table)))
            .map(|s| s.line)
    }

    fn record(&mut self, line: usize, ctx: &AuthContext<'_>) {
        let Some(st) = self.statements.last_mut() else {
            return;
        };
        let accessor = ctx.accessor.map(str::to_string);
        let write = |table: &str, column: Option<&str>, op: Op, st: &mut StatementTouches| {
            if is_schema_table(table) {
                return;
            }
            let via = match &accessor {
                Some(t) => Via::Trigger(t.clone()),
                None if st
                    .own
                    .as_ref()
                    .and_then(Own::writes)
                    .is_some_and(|o| o == table) =>
                {
                    Via::Statement
                }
                None => Via::ForeignKey,
            };
            st.writes.insert(Write {
                table: table.to_string(),
                column: column.map(str::to_string),
                op,
                via,
            });
        };
        debug_assert_eq!(st.line, line);
        // the statement's own action: the first one asked about at its top level
        if st.own.is_none() && accessor.is_none() {
            let own = match &ctx.action {
                AuthAction::Insert { table_name } if !is_schema_table(table_name) => {
                    Some(Own::Insert(table_name.to_string()))
                }
                AuthAction::Update { table_name, .. } if !is_schema_table(table_name) => {
                    Some(Own::Update(table_name.to_string()))
                }
                AuthAction::Delete { table_name } if !is_schema_table(table_name) => {
                    Some(Own::Delete(table_name.to_string()))
                }
                AuthAction::CreateTable { table_name }
                | AuthAction::CreateTempTable { table_name } => {
                    Some(Own::CreateTable(table_name.to_string()))
                }
                AuthAction::DropTable { table_name } | AuthAction::DropTempTable { table_name } => {
                    Some(Own::DropTable(table_name.to_string()))
                }
                AuthAction::AlterTable { table_name, .. } => {
                    Some(Own::AlterTable(table_name.to_string()))
                }
                AuthAction::CreateIndex {
                    index_name,
                    table_name,
                }
                | AuthAction::CreateTempIndex {
                    index_name,
                    table_name,
                } => Some(Own::CreateIndex {
                    name: index_name.to_string(),
                    table: table_name.to_string(),
                }),
                AuthAction::DropIndex {
                    index_name,
                    table_name,
                }
                | AuthAction::DropTempIndex {
                    index_name,
                    table_name,
                } => Some(Own::DropIndex {
                    name: index_name.to_string(),
                    table: table_name.to_string(),
                }),
                AuthAction::CreateTrigger {
                    trigger_name,
                    table_name,
                }
                | AuthAction::CreateTempTrigger {
                    trigger_name,
                    table_name,
                } => Some(Own::CreateTrigger {
                    name: trigger_name.to_string(),
                    table: table_name.to_string(),
                }),
                AuthAction::DropTrigger {
                    trigger_name,
                    table_name,
                }
                | AuthAction::DropTempTrigger {
                    trigger_name,
                    table_name,
                } => Some(Own::DropTrigger {
                    name: trigger_name.to_string(),
                    table: table_name.to_string(),
                }),
                AuthAction::CreateView { view_name } | AuthAction::CreateTempView { view_name } => {
                    Some(Own::CreateView(view_name.to_string()))
                }
                AuthAction::DropView { view_name } | AuthAction::DropTempView { view_name } => {
                    Some(Own::DropView(view_name.to_string()))
                }
                AuthAction::Select => Some(Own::Select),
                AuthAction::Pragma { pragma_name, .. } => {
                    Some(Own::Pragma(pragma_name.to_ascii_lowercase()))
                }
                AuthAction::Transaction { .. }
                | AuthAction::Savepoint { .. }
                | AuthAction::Analyze { .. }
                | AuthAction::Reindex { .. }
                | AuthAction::Attach { .. }
                | AuthAction::Detach { .. }
                | AuthAction::CreateVtable { .. }
                | AuthAction::DropVtable { .. } => Some(Own::Other),
                _ => None,
            };
            if own.is_some() {
                st.own = own;
            }
        }
        match &ctx.action {
            AuthAction::Read {
                table_name,
                column_name,
            } if !is_schema_table(table_name) => {
                st.reads.insert((
                    table_name.to_string(),
                    column_name.to_string(),
                    accessor.clone(),
                ));
            }
            AuthAction::Insert { table_name } => write(table_name, None, Op::Insert, st),
            AuthAction::Update {
                table_name,
                column_name,
            } => write(table_name, Some(column_name), Op::Update, st),
            AuthAction::Delete { table_name } => write(table_name, None, Op::Delete, st),
            _ => {}
        }
    }
}

/// A [`Watch`] that records what every statement touches; `touches()` reads it back.
#[derive(Clone, Default)]
pub struct Recorder {
    touches: Arc<Mutex<Touches>>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// What was recorded so far (the runner's own statements left out).
    pub fn touches(&self) -> Touches {
        let t = self.touches.lock().unwrap_or_else(|e| e.into_inner());
        Touches {
            statements: t
                .statements
                .iter()
                .filter(|s| s.line > 0)
                .cloned()
                .collect(),
        }
    }
}

impl Watch for Recorder {
    fn statement(&mut self, line: usize) {
        self.touches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .statements
            .push(StatementTouches {
                line,
                ..Default::default()
            });
    }

    fn authorize(&mut self, line: usize, action: &AuthContext<'_>) -> Authorization {
        self.touches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record(line, action);
        Authorization::Allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::runner::{LocalSession, Runner};
    use crate::migrate::script::parse;

    const BLOG: &str = include_str!("../../fixtures/sql/blog/blog.sql");

    fn touches(setup: &str, script: &str) -> Touches {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.db");
        rusqlite::Connection::open(&p)
            .unwrap()
            .execute_batch(setup)
            .unwrap();
        let s = parse(std::path::Path::new("t.sql"), script).unwrap();
        let mut session = LocalSession::open(&p, None, true).unwrap();
        let rec = Recorder::new();
        session.watch(Box::new(rec.clone()));
        Runner::atomic().execute(&s, &mut session).unwrap();
        rec.touches()
    }

    fn at(t: &Touches, line: usize) -> &StatementTouches {
        t.statements.iter().find(|s| s.line == line).unwrap()
    }

    #[test]
    fn a_cascade_and_a_trigger_are_writes_the_statement_does_not_name() {
        let t = touches(
            &format!(
                "{BLOG} CREATE TABLE audit (post_id); CREATE TRIGGER gone AFTER DELETE ON comments BEGIN INSERT INTO audit VALUES (old.post_id); END;"
            ),
            "DELETE FROM posts WHERE id = 1;\nUPDATE posts SET title = 'x' WHERE id = 2;\nSELECT count(*) FROM post_summary;",
        );
        let del = at(&t, 1);
        assert_eq!(del.own, Some(Own::Delete("posts".into())));
        let how = |table: &str| -> Vec<Via> {
            del.writes
                .iter()
                .filter(|w| w.table == table)
                .map(|w| w.via.clone())
                .collect()
        };
        assert_eq!(how("posts"), vec![Via::Statement]);
        assert_eq!(how("comments"), vec![Via::ForeignKey]);
        assert_eq!(how("tags"), vec![Via::ForeignKey]);
        assert_eq!(how("audit"), vec![Via::Trigger("gone".into())]);
        assert!(t.named("posts") && !t.named("comments") && !t.named("audit"));
        assert_eq!(
            t.indirect_writes("comments")
                .map(|(s, w)| (s.line, w.op))
                .collect::<Vec<_>>(),
            vec![(1, Op::Delete)]
        );
        let upd = at(&t, 2);
        assert_eq!(upd.own, Some(Own::Update("posts".into())));
        // the trigger's write of edits is the trigger's, not the statement's
        assert_eq!(upd.sets("posts").collect::<Vec<_>>(), vec!["title"]);
        assert!(
            upd.writes
                .iter()
                .any(|w| w.column.as_deref() == Some("edits")
                    && w.via == Via::Trigger("posts_edited".into()))
        );
        assert_eq!(upd.reads_of("posts").collect::<Vec<_>>(), vec!["id"]);
        // a view's reads carry its name
        let sel = at(&t, 3);
        assert_eq!(sel.own, Some(Own::Select));
        assert!(
            sel.reads
                .contains(&("users".into(), "name".into(), Some("post_summary".into())))
        );
    }

    #[test]
    fn a_drop_names_only_what_it_drops_itself() {
        let t = touches(
            BLOG,
            "PRAGMA foreign_keys=OFF;\nDROP INDEX posts_user;\nDROP TABLE posts;\nDROP VIEW post_summary;\nALTER TABLE users RENAME TO people;\nCREATE INDEX by_name ON people (name);",
        );
        assert_eq!(t.dropped("index", "posts_user"), Some(2));
        assert_eq!(t.dropped("table", "posts"), Some(3));
        assert_eq!(t.dropped("view", "post_summary"), Some(4));
        // DROP TABLE drops the trigger on posts along with it: not a statement of its own
        assert_eq!(t.dropped("trigger", "posts_edited"), None);
        assert_eq!(at(&t, 5).own, Some(Own::AlterTable("users".into())));
        assert_eq!(t.altered("users"), Some(5));
        assert_eq!(
            at(&t, 6).own,
            Some(Own::CreateIndex {
                name: "by_name".into(),
                table: "people".into()
            })
        );
        // with foreign keys off, dropping posts deletes nothing elsewhere
        assert_eq!(t.indirect_writes("comments").count(), 0);
    }

    #[test]
    fn two_statements_on_one_line_are_two_statements() {
        let t = touches(BLOG, "DROP INDEX posts_user; DROP VIEW post_summary;");
        assert_eq!(t.statements.len(), 2);
        assert_eq!(t.dropped("index", "posts_user"), Some(1));
        assert_eq!(t.dropped("view", "post_summary"), Some(1));
    }
}
