//! How the rehearsal's stages judge what a run did: its failures, warnings and orphans as
//! checks, its changes table by table, comparisons with a kept state (leaving a runner's own
//! bookkeeping out), rows a `DROP TABLE` took from other tables, and the instant the clock is
//! frozen at.

use std::path::Path;

use crate::checks::result;
use crate::db::{self, Db, DbExt};
use crate::error::Error;
use crate::fingerprint::{self, Fingerprint, diff};
use crate::migrate::expect::{Expect, TableScope, When, row_matches, shell_row};
use crate::migrate::runner::{Conn, LocalSession, Run};
use crate::migrate::script::{Kind, Script, ScriptError, tokens, unquote, without_comments};
use crate::report::{Report, ScriptOutput, Status};
use crate::table::count;

/// Rows of one table that a `DROP TABLE` of its parent took with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    /// The `DROP TABLE`'s line.
    pub line: usize,
    pub parent: String,
    pub table: String,
    pub deleted: u64,
    pub updated: u64,
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut what = Vec::new();
        if self.deleted > 0 {
            what.push(format!(
                "deleted {} of {}",
                plural(self.deleted, "row"),
                self.table
            ));
        }
        if self.updated > 0 {
            what.push(format!(
                "set the key of {} of {} to NULL or its default",
                plural(self.updated, "row"),
                self.table
            ));
        }
        write!(
            f,
            "DROP TABLE {} {} (its ON DELETE action ran: foreign keys were on)",
            self.parent,
            what.join(" and ")
        )
    }
}

/// Rows a `DROP TABLE` took from other tables. With foreign keys on, SQLite empties a table
/// before dropping it, and its children's `ON DELETE` actions run (CASCADE deletes, SET NULL and
/// SET DEFAULT update): sqlite.org/foreignkeys.html, section 5, "CREATE, ALTER and DROP TABLE
/// commands". A table rebuild that drops a parent with keys on empties its children; no tool
/// says so. A child whose rows were deleted (or updated) while a parent it has such an action on
/// was dropped, with keys on at that statement, lost them to it. A child the script deletes
/// from or updates itself is left out (the rows cannot be told apart), and so is one that is gone
/// afterwards (dropped with its parent on purpose).
pub fn dropped_with(
    reference: &dyn Db,
    work: &dyn Db,
    script: &Script,
    run: &Run,
    d: &diff::DbDiff,
) -> Result<Vec<Loss>, Error> {
    let truthy = |v: &str| matches!(v, "1" | "on" | "true" | "yes");
    let mut keys = run.runner.foreign_keys == crate::migrate::runner::ForeignKeys::On;
    // (line, dropped table, keys on)
    let mut drops = Vec::new();
    let mut written = std::collections::BTreeSet::new();
    for (st, ran) in script.statements.iter().zip(&run.statements) {
        let ran_ok = matches!(ran.outcome, crate::migrate::runner::Outcome::Ran { .. });
        if let Kind::Pragma {
            name,
            value: Some(v),
        } = &st.kind
            && name == "foreign_keys"
            && ran_ok
            && !run.notes.iter().any(|n| n.warn && n.line == st.line)
        {
            keys = truthy(v);
        }
        let code = without_comments(&st.sql);
        let toks = tokens(&code);
        let up: Vec<String> = toks.iter().map(|t| t.to_ascii_uppercase()).collect();
        let word = |i: usize| up.get(i).map(String::as_str).unwrap_or("");
        let name_at = |mut i: usize| {
            if toks.get(i + 1) == Some(&".") {
                i += 2;
            }
            toks.get(i).map(|t| unquote(t).to_ascii_lowercase())
        };
        match (word(0), word(1)) {
            ("DROP", "TABLE") if ran_ok => {
                let at = if word(2) == "IF" && word(3) == "EXISTS" {
                    4
                } else {
                    2
                };
                if let Some(t) = name_at(at) {
                    drops.push((st.line, t, keys));
                }
            }
            ("DELETE", "FROM") => written.extend(name_at(2)),
            ("UPDATE", _) => {
                let at = if word(1) == "OR" { 3 } else { 1 };
                written.extend(name_at(at));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for t in &d.tables {
        if t.deleted + t.updated == 0
            || written.contains(&t.table.to_ascii_lowercase())
            || !reference.table_exists(&t.table)?
            || !work.table_exists(&t.table)?
        {
            continue;
        }
        let actions = reference.query(
            "SELECT DISTINCT \"table\", upper(on_delete) FROM pragma_foreign_key_list(?1)",
            &[db::Value::Text(t.table.clone())],
        )?;
        for a in actions {
            let parent = crate::db::as_text(&a[0]).unwrap_or_default();
            let action = crate::db::as_text(&a[1]).unwrap_or_default();
            let (deleted, updated) = match action.as_str() {
                "CASCADE" => (t.deleted, 0),
                "SET NULL" | "SET DEFAULT" => (0, t.updated),
                _ => continue,
            };
            if deleted + updated == 0 || parent.eq_ignore_ascii_case(&t.table) {
                continue;
            }
            if let Some((line, _, _)) = drops
                .iter()
                .find(|(_, name, on)| *on && name.eq_ignore_ascii_case(&parent))
            {
                out.push(Loss {
                    line: *line,
                    parent: parent.clone(),
                    table: t.table.clone(),
                    deleted,
                    updated,
                });
            }
        }
    }
    Ok(out)
}

/// What a comparison of the work copy with a reference state proves, for the report.
pub struct Claim<'a> {
    pub check: &'a str,
    pub scope: String,
    pub expected: &'a str,
    /// The actual value when nothing differs.
    pub same: &'a str,
    /// What one difference is called ("change", "difference"), and what follows the count.
    pub noun: &'a str,
    pub tail: &'a str,
}

/// Differences between a reference state and the work copy (a count and examples), leaving out
/// `bookkeeping`'s rows: the table itself and its line in `sqlite_sequence`.
pub fn compare_dbs(
    reference: &dyn Db,
    fp: &Fingerprint,
    work: &dyn Db,
    bookkeeping: Option<&str>,
) -> Result<(u64, Vec<String>), Error> {
    let now = fingerprint::fingerprint(work)?;
    let mut d = diff::diff_databases(reference, work, fp, &now, 5)?;
    if let Some(t) = bookkeeping {
        d.tables.retain(|x| x.table != t);
        if d.tables.iter().any(|x| x.table == "sqlite_sequence") {
            let q = "SELECT name, seq FROM sqlite_sequence WHERE name <> ?1 ORDER BY name";
            let p = [db::Value::Text(t.to_string())];
            let same = !reference.table_exists("sqlite_sequence")?
                || !work.table_exists("sqlite_sequence")?
                || reference.query(q, &p)? == work.query(q, &p)?;
            if same {
                d.tables.retain(|x| x.table != "sqlite_sequence");
            }
        }
    }
    Ok(d.summary(5))
}

/// Record a comparison's claim as a check.
pub fn push_claim(report: &mut Report, claim: Claim, (n, ex): (u64, Vec<String>)) -> u64 {
    report.checks.push(
        result(claim.check, claim.scope)
            .judged(
                n,
                claim.expected,
                if n == 0 {
                    claim.same.to_string()
                } else {
                    format!("{}{}", plural(n, claim.noun), claim.tail)
                },
            )
            .with_examples(ex),
    );
    n
}

/// Does a table's change stay within its declared scope? (violations, what was allowed)
pub fn judge_scope(
    d: &diff::TableDiff,
    scope: Option<&TableScope>,
    schema_changed: bool,
) -> (u64, String) {
    let allowed = scope.copied().unwrap_or_default();
    let mut over = 0;
    over += d.inserted.saturating_sub(allowed.inserted);
    over += d.updated.saturating_sub(allowed.updated);
    over += d.deleted.saturating_sub(allowed.deleted);
    if schema_changed && !allowed.schema {
        over += 1;
    }
    let text = match scope {
        None => "no change (not in the declared scope)".to_string(),
        Some(s) => format!(
            "at most {} inserted, {} updated, {} deleted{}",
            s.inserted,
            s.updated,
            s.deleted,
            if s.schema { ", schema may change" } else { "" }
        ),
    };
    (over, text)
}

/// Run one query on a session (the clock frozen as for the scripts): its rows, or SQLite's
/// words.
fn query(session: &mut LocalSession, sql: &str) -> Result<Vec<Vec<crate::db::Value>>, String> {
    session
        .run(0, sql, false, usize::MAX)
        .map(|r| r.output.map(|o| o.rows).unwrap_or_default())
        .map_err(|e| e.message)
}

pub fn check_queries(session: &mut LocalSession, expect: &Expect, when: When, report: &mut Report) {
    for q in expect.queries.iter().filter(|q| q.after == when) {
        let name = q
            .name
            .clone()
            .unwrap_or_else(|| crate::db::DbError::sql_excerpt(&q.sql));
        let scope = format!(
            "after {}: {name}",
            if when == When::Forward {
                "forward"
            } else {
                "rollback"
            }
        );
        let r = result("expect.query", scope);
        report.checks.push(match query(session, &q.sql) {
            Err(e) => r.judged(1, q.rows.join("; "), format!("the query fails: {e}")),
            Ok(rows) => {
                let same = rows.len() == q.rows.len()
                    && rows
                        .iter()
                        .zip(&q.rows)
                        .all(|(got, want)| row_matches(want, got));
                let got: Vec<String> = rows.iter().map(|r| shell_row(r)).collect();
                let mut ex = Vec::new();
                if !same {
                    ex.push(format!("expected: {}", q.rows.join("; ")));
                    ex.push(format!("got:      {}", got.join("; ")));
                }
                r.judged(u64::from(!same), q.rows.join("; "), got.join("; "))
                    .with_examples(ex)
            }
        });
    }
}

/// The first failure of a run, in words: "failed at f.sql:9: near …; nothing of the script was
/// kept".
pub fn failure_text(run: &Run) -> String {
    match run.failures.first() {
        Some(f) => format!(
            "failed at {}:{}: {}{}; {}",
            run.path,
            f.line,
            f.message,
            match run.failures.len() {
                1 => String::new(),
                n => format!(" ({} more errors after it)", n - 1),
            },
            run.kept()
        ),
        None if run.fk_violation_count > 0 => format!(
            "{} left pointing to a missing parent; {}",
            plural(run.fk_violation_count, "row"),
            run.kept()
        ),
        None => "ran".into(),
    }
}

/// Record what a run says beyond its rows: failures as a failed `check`, warnings of the runner,
/// foreign keys left pointing nowhere, and the rows its own queries returned.
pub fn record_run(report: &mut Report, run: &Run, check: &str, outputs: bool) {
    for f in &run.failures {
        report.checks.push(
            result(check, format!("{}:{}", run.path, f.line))
                .judged(1, "every statement runs", f.message.clone())
                .with_examples(vec![
                    format!("{}:{}: {}", run.path, f.line, f.message),
                    format!("statement: {}", f.statement),
                    run.kept(),
                ]),
        );
    }
    for n in run.notes.iter().filter(|n| n.warn) {
        report.checks.push(
            result("sql.runner", format!("{}:{}", run.path, n.line))
                .judged(0, "the statement does what it reads", n.text.clone())
                .with_status(Status::Warn)
                .with_examples(vec![n.text.clone()]),
        );
    }
    if run.fk_violation_count > 0 {
        report.checks.push(
            result("sql.foreign_keys", run.path.clone())
                .judged(
                    run.fk_violation_count,
                    "every foreign key finds its parent (PRAGMA foreign_key_check)",
                    format!(
                        "{} pointing to a missing parent",
                        plural(run.fk_violation_count, "row")
                    ),
                )
                .with_examples(
                    run.fk_violations
                        .iter()
                        .take(5)
                        .map(|v| {
                            format!(
                                "{} rowid {} → no row in {}",
                                v.table,
                                v.rowid.map_or("?".into(), |r| r.to_string()),
                                v.parent
                            )
                        })
                        .collect(),
                ),
        );
    }
    if outputs {
        for (st, out) in run.outputs() {
            report.outputs.push(ScriptOutput {
                at: format!("{}:{}", run.path, st.line),
                statement: st.statement.clone(),
                rows: out.rows.iter().map(|r| shell_row(r)).collect(),
                total: out.total,
            });
        }
    }
}

/// A script the runner refuses, as a failed check naming file and line; the stage's text.
pub fn refused(report: &mut Report, check: &str, e: &ScriptError) -> Result<String, Error> {
    let ScriptError::Refused {
        path,
        line,
        statement,
        why,
    } = e
    else {
        return Err(Error::Script(ScriptError::Db(crate::db::DbError::Open {
            target: String::new(),
            message: e.to_string(),
        })));
    };
    let at = format!("{}:{line}", path.display());
    report.checks.push(
        result(check, at.clone())
            .judged(
                1,
                "the runner runs every statement",
                format!("refused: {why}"),
            )
            .with_examples(vec![
                format!("{at}: refused: {why}"),
                format!("statement: {statement}"),
            ]),
    );
    Ok(format!("refused at {at}: {why}; nothing was run"))
}

/// Rows changed, table by table, from a diff: "comments 3 deleted, posts 1 updated".
pub fn table_changes(d: &diff::DbDiff) -> (u64, String) {
    let mut rows = 0;
    let mut parts = Vec::new();
    for t in &d.tables {
        rows += t.rows();
        let mut what = Vec::new();
        for (n, w) in [
            (t.inserted, "inserted"),
            (t.updated, "updated"),
            (t.deleted, "deleted"),
        ] {
            if n > 0 {
                what.push(format!("{} {w}", count(n as i64)));
            }
        }
        if !t.columns_added.is_empty() || !t.columns_removed.is_empty() {
            what.push("columns changed".into());
        }
        parts.push(format!("{} {}", t.table, what.join(", ")));
    }
    let mut text = parts.join("; ");
    if !d.schema.is_empty() {
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&format!(
            "schema: {} changed",
            plural(d.schema.len() as u64, "object")
        ));
    }
    (rows, text)
}

/// The instant the clock is frozen at, and where it comes from: `now`, else the backup's time.
pub fn frozen_now(
    now: Option<i64>,
    manifest: Option<&Path>,
    backup: &Path,
    bundled: bool,
) -> (i64, String) {
    if let Some(n) = now {
        return (n, "--now".into());
    }
    let from_manifest = manifest
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<crate::backup::manifest::Manifest>(&t).ok())
        .and_then(|m| {
            time::OffsetDateTime::parse(
                &m.created_utc,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
        });
    if let Some(t) = from_manifest {
        return (
            (t.unix_timestamp_nanos() / 1_000_000) as i64,
            "the backup's manifest".into(),
        );
    }
    // the gzip header's MTIME: when the compressed file was made (0: not recorded)
    let mut head = [0u8; 8];
    let gz_time = std::fs::File::open(backup)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .ok()
        .filter(|_| head[..2] == [0x1f, 0x8b])
        .map(|_| u32::from_le_bytes([head[4], head[5], head[6], head[7]]))
        .filter(|&t| t > 0);
    if let Some(t) = gz_time {
        return (
            i64::from(t) * 1000,
            "the time in the backup's gzip header".into(),
        );
    }
    if bundled {
        return (
            crate::fixture::BACKUP_TIME * 1000,
            "the bundled fixture's backup time".into(),
        );
    }
    let mtime = std::fs::metadata(backup)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64);
    (
        mtime,
        "the backup file's modification time; give --now to choose".into(),
    )
}

/// "1 row", "2 rows", "1 query", "3 queries".
pub fn plural(n: u64, word: &str) -> String {
    let many = if let Some(stem) = word.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{word}s")
    };
    format!(
        "{} {}",
        count(n as i64),
        if n == 1 { word.to_string() } else { many }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Access, Target, open};
    use crate::migrate::runner::{ForeignKeys, LocalSession, Runner};
    use crate::migrate::script::parse;

    const BLOG: &str = "
        CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);
        CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER REFERENCES posts(id) ON DELETE CASCADE, body TEXT);
        CREATE TABLE likes (id INTEGER PRIMARY KEY, post_id INTEGER REFERENCES posts(id) ON DELETE SET NULL);
        INSERT INTO posts VALUES (1, 'a'), (2, 'b');
        INSERT INTO comments VALUES (1, 1, 'x'), (2, 2, 'y');
        INSERT INTO likes VALUES (1, 1), (2, 2), (3, 2);";

    /// What `script` loses, run with foreign keys `keys` at start on a fresh blog.
    fn losses(keys: ForeignKeys, script: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let before = dir.path().join("before.db");
        rusqlite::Connection::open(&before)
            .unwrap()
            .execute_batch(BLOG)
            .unwrap();
        let after = dir.path().join("after.db");
        std::fs::copy(&before, &after).unwrap();
        let script = parse(std::path::Path::new("m.sql"), script).unwrap();
        let runner = Runner::atomic().with(Some(keys), None, None);
        let mut session = LocalSession::open(&after, None, true).unwrap();
        let run = runner.execute(&script, &mut session).unwrap();
        drop(session);
        let (a, b) = (
            open(&Target::Local(before), Access::ReadOnly).unwrap(),
            open(&Target::Local(after), Access::ReadOnly).unwrap(),
        );
        let d = diff::diff(a.as_ref(), b.as_ref(), 5).unwrap();
        dropped_with(a.as_ref(), b.as_ref(), &script, &run, &d)
            .unwrap()
            .iter()
            .map(|l| format!("{}: {l}", l.line))
            .collect()
    }

    const REBUILD: &str = "CREATE TABLE posts_new (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
INSERT INTO posts_new SELECT * FROM posts;
DROP TABLE posts;
ALTER TABLE posts_new RENAME TO posts;
";

    #[test]
    fn a_parent_dropped_with_keys_on_is_named_with_what_its_children_lost() {
        assert_eq!(
            losses(ForeignKeys::On, REBUILD),
            vec![
                "3: DROP TABLE posts deleted 2 rows of comments (its ON DELETE action ran: foreign keys were on)",
                "3: DROP TABLE posts set the key of 3 rows of likes to NULL or its default (its ON DELETE action ran: foreign keys were on)",
            ]
        );
        // keys off before the script: nothing lost, nothing said
        assert!(losses(ForeignKeys::Off, REBUILD).is_empty());
        // a leading pragma that takes effect counts as off
        assert!(
            losses(
                ForeignKeys::On,
                &format!("PRAGMA foreign_keys=OFF;\n{REBUILD}")
            )
            .is_empty()
        );
    }

    #[test]
    fn children_dropped_or_emptied_on_purpose_are_no_loss() {
        // the whole feature goes: children first or after, they are gone on purpose
        assert!(
            losses(
                ForeignKeys::On,
                "DROP TABLE posts;\nDROP TABLE comments;\nDROP TABLE likes;\n"
            )
            .is_empty()
        );
        // the script empties the child itself: its rows cannot be told apart
        assert_eq!(
            losses(
                ForeignKeys::On,
                &format!(
                    "DELETE FROM comments WHERE id = 1;\nUPDATE likes SET post_id = NULL;\n{REBUILD}"
                )
            ),
            Vec::<String>::new()
        );
        // deleting parents is what ON DELETE CASCADE is for: not a DROP TABLE, not a loss
        assert!(losses(ForeignKeys::On, "DELETE FROM posts WHERE id = 1;\n").is_empty());
    }
}
