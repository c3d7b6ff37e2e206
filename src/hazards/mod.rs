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
use crate::report::{CheckResult, Example, Fact, Fixed, Scope, Status};

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
    pub scope: Scope,
    pub actual: Fact,
    /// 0: a note (a warning), not a hazard.
    pub violations: u64,
    pub examples: Vec<Example>,
}

/// Every hazard: its check id, what must hold, and how EXPECT.toml allows it.
pub const HAZARDS: &[(&str, Fixed, &str)] = &[
    (
        "sql.collateral",
        Fixed::RowsChangeOnlyInNamedTables,
        "[allow] collateral",
    ),
    (
        "sql.vanished",
        Fixed::EveryObjectStaysUnlessDropped,
        "[schema] <kind>.dropped",
    ),
    (
        "sql.broken",
        Fixed::EveryViewAndTriggerCompiles,
        "[allow] broken",
    ),
    (
        "sql.references",
        Fixed::EveryForeignKeyPointsAsBefore,
        "[allow] references",
    ),
    ("sql.sequence", Fixed::NoCounterGoesDown, "[allow] sequence"),
    (
        "sql.constraints",
        Fixed::EveryConstraintSurvives,
        "[allow] constraints",
    ),
    (
        "sql.layout",
        Fixed::CopiedTableKeepsLayout,
        "[allow] layout",
    ),
    (
        "sql.composite_key",
        Fixed::WholeCompositeKeyMatched,
        "[allow] composite_keys",
    ),
    (
        "sql.key_spread",
        Fixed::NamedKeyValuesOnly,
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

/// Is a finding allowed by EXPECT.toml? (the key that allows it, and the name it gives)
fn allowed(check: &str, f: &Finding, expect: &Expect) -> Option<(String, String)> {
    if check == "sql.vanished" {
        let (kind, name) = f.object.split_once(' ')?;
        return expect.schema.of(kind).allows("dropped", name).then(|| {
            (
                format!("[schema] {}.dropped", kinds(kind)),
                name.to_string(),
            )
        });
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
            (key.to_string(), f.object.clone())
        })
}

/// Every hazard judged on the evidence: one result per finding (failed unless EXPECT.toml
/// allows it), one passing result for a hazard with no finding.
pub fn assess(e: &Evidence, expect: &Expect) -> Result<Vec<CheckResult>, DbError> {
    let mut out = Vec::new();
    for (check, expected, _) in HAZARDS {
        let found = find(check, e)?;
        if found.is_empty() {
            out.push(result(check, e.script.name()).judged(0, *expected, Fixed::None));
        }
        for f in found {
            let r = result(check, f.scope.clone()).with_examples(f.examples.clone());
            out.push(match allowed(check, &f, expect) {
                Some((key, names)) => r
                    .judged(
                        0,
                        *expected,
                        Fact::Allowed {
                            found: Box::new(f.actual),
                            key,
                            names,
                        },
                    )
                    .with_status(Status::Pass),
                // a finding with no violation is a note: a warning, never a pass
                None if f.violations == 0 => {
                    r.judged(0, *expected, f.actual).with_status(Status::Warn)
                }
                None => r.judged(f.violations, *expected, f.actual),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Access, Target, open};
    use crate::fingerprint::diff;
    use crate::migrate::runner::{LocalSession, Runner};
    use crate::migrate::script::parse;

    /// Run `script` on a database made by `setup` (atomic runner), and judge every hazard with
    /// nothing allowed: the (check, scope) of each failure, and every result.
    fn judge(setup: &str, script: &str) -> (Vec<(String, String)>, Vec<CheckResult>) {
        judge_with(setup, script, &Runner::atomic())
    }

    fn judge_with(
        setup: &str,
        script: &str,
        runner: &Runner,
    ) -> (Vec<(String, String)>, Vec<CheckResult>) {
        let dir = tempfile::tempdir().unwrap();
        let (b, a) = (dir.path().join("before.db"), dir.path().join("after.db"));
        rusqlite::Connection::open(&b)
            .unwrap()
            .execute_batch(setup)
            .unwrap();
        std::fs::copy(&b, &a).unwrap();
        let s = parse(std::path::Path::new("t.sql"), script).unwrap();
        let mut session = LocalSession::open(&a, None, true).unwrap();
        let rec = Recorder::new();
        session.watch(Box::new(rec.clone()));
        let run = runner.execute(&s, &mut session).unwrap();
        assert!(run.ok(), "{run:?}");
        drop(session);
        let before = open(&Target::Local(b), Access::ReadOnly).unwrap();
        let after = open(&Target::Local(a), Access::ReadOnly).unwrap();
        let d = diff::diff(before.as_ref(), after.as_ref(), 5).unwrap();
        let (sb, sa) = (
            Schema::read(before.as_ref()).unwrap(),
            Schema::read(after.as_ref()).unwrap(),
        );
        let touches = rec.touches();
        let results = assess(
            &Evidence {
                script: &s,
                before: &sb,
                after: &sa,
                diff: &d,
                touches: &touches,
            },
            &Expect::default(),
        )
        .unwrap();
        let failed = results
            .iter()
            .filter(|r| r.status == Status::Fail)
            .map(|r| (r.check.clone(), r.scope_text()))
            .collect();
        (failed, results)
    }

    const APP: &str = "
        CREATE TABLE users (id integer PRIMARY KEY NOT NULL, email text UNIQUE NOT NULL,
                            name text NOT NULL DEFAULT 'x', created_at integer DEFAULT (unixepoch()),
                            CHECK (length(email) > 3));
        CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
                            title TEXT, score REAL, updated_at INTEGER);
        CREATE INDEX posts_user ON posts (user_id);
        CREATE TRIGGER posts_touched AFTER UPDATE OF title ON posts
        BEGIN UPDATE posts SET updated_at = 1 WHERE id = NEW.id; END;
        INSERT INTO users (id, email, name) VALUES (1, 'a@x.org', 'a'), (2, 'b@x.org', 'b');
        INSERT INTO posts (user_id, title, score) VALUES (1, 'p', 1.5), (2, 'q', 2.5);";

    /// Rebuilds and changes that keep everything: a rebuild written the way drizzle writes it
    /// (types lowercased, NOT NULL on the rowid alias gone, the UNIQUE constraint become an
    /// index, the foreign key a table constraint, an index under a new name), ALTER TABLE's
    /// own changes, a rename whose references follow, a trigger on the table it writes.
    #[test]
    fn what_keeps_the_data_safe_raises_nothing() {
        for script in [
            "PRAGMA foreign_keys=OFF;
             CREATE TABLE `__new_users` (`id` INTEGER PRIMARY KEY, `email` text NOT NULL, `name` text DEFAULT 'x' NOT NULL,
                                         `created_at` integer DEFAULT (unixepoch()), `bio` text, CONSTRAINT c CHECK(length(\"__new_users\".\"email\") > 3));
             INSERT INTO `__new_users`(id, email, name, created_at) SELECT id, email, name, created_at FROM users;
             DROP TABLE users;
             ALTER TABLE `__new_users` RENAME TO `users`;
             CREATE UNIQUE INDEX users_email_unique ON users (email);
             CREATE TABLE `__new_posts` (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, `user_id` integer, `title` text,
                                         `score` real, `updated_at` integer,
                                         FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade);
             INSERT INTO `__new_posts` SELECT * FROM posts;
             DROP TABLE posts;
             ALTER TABLE `__new_posts` RENAME TO `posts`;
             CREATE INDEX posts_user_id_idx ON posts (user_id);
             CREATE TRIGGER posts_touched AFTER UPDATE OF title ON posts
             BEGIN UPDATE posts SET updated_at = 1 WHERE id = NEW.id; END;",
            "ALTER TABLE posts ADD COLUMN body TEXT NOT NULL DEFAULT '';
             ALTER TABLE posts RENAME COLUMN score TO rating;
             ALTER TABLE users DROP COLUMN created_at;
             UPDATE posts SET title = title || '!' WHERE user_id = 1;
             INSERT INTO posts (user_id, title) VALUES (2, 'r');",
            "ALTER TABLE users RENAME TO accounts;",
        ] {
            let (failed, results) = judge(APP, script);
            assert_eq!(failed, vec![], "{script}\n{results:#?}");
            assert_eq!(results.len(), HAZARDS.len(), "one pass per hazard");
        }
    }

    #[test]
    fn what_is_lost_is_named() {
        let (failed, results) = judge(
            APP,
            "PRAGMA foreign_keys=OFF;
             CREATE TABLE new_users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER DEFAULT (unixepoch()));
             INSERT INTO new_users SELECT id, email, name, created_at FROM users;
             DROP TABLE users;
             ALTER TABLE new_users RENAME TO users;
             CREATE TABLE new_posts (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER, title TEXT, score TEXT, updated_at INTEGER);
             INSERT INTO new_posts SELECT * FROM posts;
             DROP TABLE posts;
             ALTER TABLE new_posts RENAME TO posts;
             CREATE INDEX posts_user ON posts (user_id);",
        );
        assert_eq!(
            failed,
            vec![
                ("sql.vanished".into(), "trigger posts_touched".into()),
                ("sql.constraints".into(), "column posts.user_id".into()),
                ("sql.constraints".into(), "table users".into()),
                ("sql.constraints".into(), "column users.email".into()),
                ("sql.constraints".into(), "column users.name".into()),
                ("sql.layout".into(), "table posts".into()),
            ]
        );
        let actual = |scope: &str| {
            results
                .iter()
                .find(|r| r.scope_text() == scope && r.status == Status::Fail)
                .unwrap()
                .found_text()
        };
        assert_eq!(
            actual("column users.email"),
            "users.email lost UNIQUE (email) in the rebuild of users"
        );
        assert_eq!(
            actual("column users.name"),
            "users.name lost DEFAULT 'x' in the rebuild of users"
        );
        assert_eq!(
            actual("table users"),
            "users lost CHECK (length(email) > 3) in the rebuild of users"
        );
        assert_eq!(
            actual("column posts.user_id"),
            "posts.user_id lost FOREIGN KEY (user_id) REFERENCES users in the rebuild of posts"
        );
        assert_eq!(
            actual("table posts"),
            "posts rebuilt with its 2 rows copied: score: REAL affinity (REAL) → TEXT (TEXT)"
        );
    }

    /// Points of a template system copied to another: the INSERT's filter names the rows it
    /// reads, not the system it writes.
    #[test]
    fn a_copy_from_one_system_to_another_is_not_a_spread() {
        let setup = "CREATE TABLE systems (id INTEGER PRIMARY KEY);
            CREATE TABLE point_info (system_id INTEGER NOT NULL REFERENCES systems(id), id INTEGER NOT NULL,
                                     name TEXT, PRIMARY KEY (system_id, id));
            INSERT INTO systems VALUES (1), (2);
            INSERT INTO point_info VALUES (1, 1, 'solar'), (1, 2, 'load');";
        let (failed, _) = judge(
            setup,
            "INSERT INTO point_info (system_id, id, name) SELECT 2, id, name FROM point_info WHERE system_id = 1;\n\
             UPDATE point_info SET name = upper(name) WHERE system_id = 2;",
        );
        assert_eq!(failed, vec![]);
        // with system 2's points there before, the same mistake reaches them
        let (failed, results) = judge(
            &format!("{setup} INSERT INTO point_info VALUES (2, 1, 'grid');"),
            "INSERT INTO point_info (system_id, id, name) SELECT 2, id + 10, name FROM point_info WHERE system_id = 1;\n\
             UPDATE point_info SET name = 'x' WHERE id IN (SELECT id FROM point_info WHERE system_id = 1 AND name = 'solar');",
        );
        assert_eq!(
            failed,
            vec![
                ("sql.composite_key".into(), "t.sql:2".into()),
                ("sql.key_spread".into(), "table point_info".into()),
            ],
            "{results:#?}"
        );
    }

    #[test]
    fn a_trigger_that_writes_elsewhere_a_dangling_key_a_broken_trigger_a_lowered_counter() {
        let setup = format!(
            "{APP}
             CREATE TABLE audit (post_id INTEGER, what TEXT);
             CREATE TRIGGER posts_audit AFTER DELETE ON posts BEGIN INSERT INTO audit VALUES (OLD.id, 'gone'); END;
             CREATE TABLE counts (user_id INTEGER PRIMARY KEY, n INTEGER);
             INSERT INTO counts VALUES (1, 1), (2, 1);
             CREATE TRIGGER posts_count AFTER DELETE ON posts BEGIN UPDATE counts SET n = n - 1 WHERE user_id = OLD.user_id; END;"
        );
        let (failed, results) = judge(&setup, "DELETE FROM posts WHERE id = 1;");
        assert_eq!(
            failed,
            vec![("sql.collateral".into(), "table counts".into())],
            "{results:#?}"
        );
        assert!(
            results[0]
                .found_text()
                .contains("line 1 (DELETE FROM posts) updates counts through trigger posts_count"),
            "{}",
            results[0].found_text()
        );
        // a parent deleted, its children kept with a NULL key: an update nobody wrote
        let (failed, results) = judge(
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id) ON DELETE SET NULL);
             INSERT INTO p VALUES (1), (2); INSERT INTO c VALUES (1, 1), (2, 2);",
            "DELETE FROM p WHERE id = 1;",
        );
        assert_eq!(failed, vec![("sql.collateral".into(), "table c".into())]);
        assert_eq!(
            results[0].found_text(),
            "c: 1 updated; no statement names c: line 1 (DELETE FROM p) updates c through the foreign key c(p_id) → p ON DELETE SET NULL"
        );
        let (failed, _) = judge(
            &setup,
            "PRAGMA foreign_keys=OFF;\nDROP TABLE audit;\nUPDATE posts SET user_id = NULL;\nDROP TABLE users;\nUPDATE sqlite_sequence SET seq = 1 WHERE name = 'posts';",
        );
        assert_eq!(
            failed,
            vec![
                ("sql.broken".into(), "trigger posts_audit".into()),
                ("sql.references".into(), "table posts".into()),
                ("sql.sequence".into(), "table posts".into()),
            ]
        );
    }

    const BLOG: &str = "
        CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT);
        CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER REFERENCES posts(id) ON DELETE CASCADE, body TEXT);
        CREATE TABLE likes (id INTEGER PRIMARY KEY, post_id INTEGER REFERENCES posts(id) ON DELETE SET NULL);
        INSERT INTO posts VALUES (1, 'a'), (2, 'b');
        INSERT INTO comments VALUES (1, 1, 'x'), (2, 2, 'y');
        INSERT INTO likes VALUES (1, 1), (2, 2), (3, 2);";

    const REBUILD: &str = "CREATE TABLE posts_new (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
INSERT INTO posts_new SELECT * FROM posts;
DROP TABLE posts;
ALTER TABLE posts_new RENAME TO posts;
";

    /// The collateral findings of `script` on a fresh blog, run with foreign keys `keys` at
    /// start: each finding's text.
    fn collateral_of(keys: crate::migrate::runner::ForeignKeys, script: &str) -> Vec<String> {
        let (_, results) = judge_with(BLOG, script, &Runner::atomic().with(Some(keys), None, None));
        results
            .iter()
            .filter(|r| r.check == "sql.collateral" && r.status == Status::Fail)
            .map(|r| r.found_text())
            .collect()
    }

    /// A rebuild that drops a parent while foreign keys are on empties its children through
    /// their ON DELETE actions (sqlite.org/foreignkeys.html, section 5): the line of the DROP
    /// TABLE, the key, and why.
    #[test]
    fn a_parent_dropped_with_keys_on_is_named_with_what_its_children_lost() {
        use crate::migrate::runner::ForeignKeys;
        assert_eq!(
            collateral_of(ForeignKeys::On, REBUILD),
            vec![
                "comments: 2 deleted; no statement names comments: line 3 (DROP TABLE posts) deletes from comments through the foreign key comments(post_id) → posts ON DELETE CASCADE (foreign keys were on: DROP TABLE deletes every row of posts first)",
                "likes: 3 updated; no statement names likes: line 3 (DROP TABLE posts) updates likes through the foreign key likes(post_id) → posts ON DELETE SET NULL (foreign keys were on: DROP TABLE deletes every row of posts first)",
            ]
        );
        // keys off before the script: nothing lost, nothing said
        assert!(collateral_of(ForeignKeys::Off, REBUILD).is_empty());
        // a leading pragma that takes effect counts as off
        assert!(
            collateral_of(
                ForeignKeys::On,
                &format!("PRAGMA foreign_keys=OFF;\n{REBUILD}")
            )
            .is_empty()
        );
    }

    #[test]
    fn children_dropped_or_emptied_on_purpose_are_no_collateral() {
        use crate::migrate::runner::ForeignKeys;
        // the whole feature goes: children first or after, they are gone on purpose
        for script in [
            "DROP TABLE posts;\nDROP TABLE comments;\nDROP TABLE likes;\n",
            "DROP TABLE comments;\nDROP TABLE likes;\nDROP TABLE posts;\n",
        ] {
            assert!(
                collateral_of(ForeignKeys::On, script).is_empty(),
                "{script}"
            );
        }
        // the script writes the child itself: its rows are the script's to count (the scope)
        assert!(
            collateral_of(
                ForeignKeys::On,
                &format!(
                    "DELETE FROM comments WHERE id = 1;\nUPDATE likes SET post_id = NULL;\n{REBUILD}"
                )
            )
            .is_empty()
        );
        // deleting a parent whose children cascade changes a table no statement names: a
        // hazard unless EXPECT.toml allows it by name ([allow] collateral)
        assert_eq!(
            collateral_of(ForeignKeys::On, "DELETE FROM posts WHERE id = 1;\n"),
            vec![
                "comments: 1 deleted; no statement names comments: line 1 (DELETE FROM posts) deletes from comments through the foreign key comments(post_id) → posts ON DELETE CASCADE",
                "likes: 1 updated; no statement names likes: line 1 (DELETE FROM posts) updates likes through the foreign key likes(post_id) → posts ON DELETE SET NULL",
            ]
        );
    }

    /// A cascade reaches a grandchild through the child it deleted: the cause names the key
    /// that did it, not another key of the grandchild to the statement's own table.
    #[test]
    fn a_cascade_through_a_child_names_the_key_that_took_the_rows() {
        let setup = "CREATE TABLE users (id INTEGER PRIMARY KEY);
            CREATE TABLE posts (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES users(id) ON DELETE CASCADE);
            CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER REFERENCES posts(id) ON DELETE CASCADE,
                                   author_id INTEGER REFERENCES users(id) ON DELETE SET NULL);
            INSERT INTO users VALUES (1), (2);
            INSERT INTO posts VALUES (1, 1), (2, 2);
            INSERT INTO comments VALUES (1, 1, 2), (2, 2, 1);";
        let (failed, results) = judge(setup, "DELETE FROM users WHERE id = 2;");
        assert_eq!(
            failed,
            vec![
                ("sql.collateral".into(), "table comments".into()),
                ("sql.collateral".into(), "table posts".into()),
            ]
        );
        assert_eq!(
            results[0].found_text(),
            "comments: 1 deleted, 1 updated; no statement names comments: \
             line 1 (DELETE FROM users) deletes from comments through the foreign key comments(post_id) → posts ON DELETE CASCADE; \
             line 1 (DELETE FROM users) updates comments through the foreign key comments(author_id) → users ON DELETE SET NULL"
        );
        assert_eq!(
            results[1].found_text(),
            "posts: 1 deleted; no statement names posts: line 1 (DELETE FROM users) deletes from posts through the foreign key posts(author_id) → users ON DELETE CASCADE"
        );
    }
}
