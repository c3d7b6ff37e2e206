//! `status`: a directory against a database's tracking table, by the tool's own rules. A
//! migration the directory has and the database lacks, an edited file and a failed migration
//! fail the status (exit 1); an applied migration whose file is gone is shown, not failed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Applied, Key, Migration, MigrationsError, Tool, detect};
use crate::db::{Db, DbExt};

/// Where one migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Recorded as applied, and the file is unchanged (as far as the tool can tell).
    Applied,
    /// Not applied; the tool runs it next time.
    Pending,
    /// Not applied, and the tool will not run it (dated or numbered before what it last
    /// applied), or refuses to run anything until it is dealt with.
    Blocked,
    /// Applied, but the file differs from what the tool recorded.
    Changed,
    /// Started and not finished (sqlx `success = false`, golang-migrate `dirty`, prisma without
    /// `finished_at`).
    Failed,
    /// Recorded as applied, but no file in the directory.
    Missing,
    /// The file does not record itself, so the database cannot say whether it ran.
    Untracked,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Blocked => "blocked",
            State::Changed => "changed",
            State::Failed => "failed",
            State::Missing => "missing",
            State::Untracked => "untracked",
        }
    }

    /// The database lacks a migration the directory has, or holds one that differs or failed.
    pub fn fails(self) -> bool {
        matches!(
            self,
            State::Pending | State::Blocked | State::Changed | State::Failed
        )
    }
}

/// One line of the status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// How the tracking table names it.
    pub key: Key,
    pub name: String,
    /// The migration's file, when the directory has it.
    pub file: Option<String>,
    pub state: State,
    /// Why, in words: when it was applied, both checksums, what the tool does with it.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub tool: Tool,
    /// Why this tool: named by --tool, or what detection saw.
    pub detected: String,
    pub directory: String,
    pub database: String,
    /// The tracking table read (None when the database has none).
    pub table: Option<String>,
    pub entries: Vec<Entry>,
    pub counts: BTreeMap<State, usize>,
    /// Warnings about the directory or the table.
    pub notes: Vec<String>,
}

impl Status {
    pub fn passed(&self) -> bool {
        !self.entries.iter().any(|e| e.state.fails())
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// The status of `dir` against `db`: the tool from `tool` or detected, its table from `table`
/// or found by its columns.
pub fn status(
    db: &dyn Db,
    dir: &Path,
    tool: Option<Tool>,
    table: Option<&str>,
) -> Result<Status, MigrationsError> {
    let found = detect(dir, db, tool, table)?;
    let format = found.tool.format();
    let migrations = format.load(dir)?;
    let mut notes = Vec::new();
    let applied = match &found.table {
        Some(t) => format.applied(db, t)?,
        None => {
            notes.push(format!(
                "no tracking table of {} in {} ({}): nothing is recorded as applied",
                found.tool,
                db.target().shown(),
                format.table()
            ));
            Vec::new()
        }
    };
    for m in &migrations {
        for s in &m.unexecuted {
            notes.push(format!(
                "{}:{}: {} never runs this statement: {}",
                shown(&s.file),
                s.line,
                found.tool,
                crate::db::DbError::sql_excerpt(&s.sql)
            ));
        }
    }
    for m in &migrations {
        if let Some(why) = &m.refused {
            notes.push(format!("{} fails on {}: {why}", found.tool, m.name));
        }
    }
    if let Some(t) = &found.table
        && !db.table_exists(t)?
    {
        notes.push(format!("table {t} does not exist"));
    }
    let entries = format.status(&migrations, &applied);
    let mut counts = BTreeMap::new();
    for e in &entries {
        *counts.entry(e.state).or_insert(0) += 1;
    }
    Ok(Status {
        tool: found.tool,
        detected: found.why,
        directory: shown(dir),
        database: db.target().shown(),
        table: found.table,
        entries,
        counts,
        notes,
    })
}

/// What a tool does with a migration numbered before the newest applied one that it has not
/// applied.
#[derive(Debug, Clone, Copy)]
pub enum Older {
    /// It applies it like any other (sqlx, dbmate without --strict, prisma).
    Applies,
    /// It will not run it, or stops; the words say what it does.
    Blocked(&'static str),
}

/// How a tool compares a file with what it stored.
pub type SameChecksum = fn(&Migration, &Applied) -> bool;

/// The common rule: a migration is applied when the table has its key.
pub fn by_key(
    migrations: &[Migration],
    applied: &[Applied],
    same: Option<SameChecksum>,
    older: Older,
) -> Vec<Entry> {
    let newest = applied.iter().filter(|a| !a.failed).map(|a| &a.key).max();
    let mut out = Vec::new();
    for m in migrations {
        let file = Some(shown(&m.path));
        let entry = |state: State, detail: String| Entry {
            key: m.key.clone(),
            name: m.name.clone(),
            file: file.clone(),
            state,
            detail,
        };
        match applied.iter().find(|a| a.key == m.key) {
            Some(a) if a.failed => out.push(entry(
                State::Failed,
                format!(
                    "recorded as started and not finished{}",
                    when(a).map(|w| format!(" ({w})")).unwrap_or_default()
                ),
            )),
            Some(a) if same.is_some_and(|same| !same(m, a)) => {
                out.push(entry(State::Changed, changed_detail(m, a)))
            }
            Some(a) => out.push(entry(
                State::Applied,
                when(a).map(|w| format!("applied {w}")).unwrap_or_default(),
            )),
            None => match (older, newest) {
                (Older::Blocked(what), Some(n)) if m.key < *n => out.push(entry(
                    State::Blocked,
                    format!("numbered before {n}, the newest applied: {what}"),
                )),
                _ => out.push(entry(State::Pending, String::new())),
            },
        }
    }
    out.extend(missing(migrations, applied));
    out
}

/// Rows of the table whose migration the directory lacks.
pub fn missing(migrations: &[Migration], applied: &[Applied]) -> Vec<Entry> {
    let mut out: Vec<Entry> = applied
        .iter()
        .filter(|a| !migrations.iter().any(|m| m.key == a.key))
        .map(|a| Entry {
            key: a.key.clone(),
            name: a.name.clone().unwrap_or_default(),
            file: None,
            state: if a.failed {
                State::Failed
            } else {
                State::Missing
            },
            detail: format!(
                "recorded{}, no file in the directory",
                when(a).map(|w| format!(" {w}")).unwrap_or_default()
            ),
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

fn when(a: &Applied) -> Option<String> {
    a.applied_at.clone().filter(|w| !w.is_empty())
}

fn short(sum: &str) -> String {
    sum.chars().take(16).collect()
}

pub fn changed_detail(m: &Migration, a: &Applied) -> String {
    let mut parts = Vec::new();
    if let (Some(stored), Some(file)) = (&a.name, Some(&m.name))
        && stored != file
    {
        parts.push(format!("recorded name {stored:?}, file name {file:?}"));
    }
    match (&a.checksum, &m.checksum) {
        (Some(stored), Some(file)) if stored != file => parts.push(format!(
            "recorded checksum {}…, file checksum {}…",
            short(stored),
            short(file)
        )),
        _ => {}
    }
    if parts.is_empty() {
        "the file differs from what was recorded".into()
    } else {
        format!("edited after it was applied: {}", parts.join("; "))
    }
}

/// The status as a table for people, with a closing line that says what the exit status means.
pub fn render_table(s: &Status) -> String {
    let rows: Vec<Vec<String>> = s
        .entries
        .iter()
        .map(|e| {
            vec![
                e.key.to_string(),
                e.name.clone(),
                e.state.as_str().to_string(),
                e.detail.clone(),
            ]
        })
        .collect();
    let mut out = format!(
        "{} migrations in {} against {} (table {}; {})\n",
        s.tool,
        s.directory,
        s.database,
        s.table.as_deref().unwrap_or("none"),
        s.detected
    );
    out.push_str(&crate::table::render(
        &["migration", "name", "state", "detail"],
        &rows,
    ));
    out.push('\n');
    for n in &s.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    let counts: Vec<String> = s
        .counts
        .iter()
        .map(|(state, n)| format!("{n} {}", state.as_str()))
        .collect();
    out.push_str(&format!(
        "{}: {}\n",
        if s.passed() {
            "up to date"
        } else {
            "NOT up to date"
        },
        if counts.is_empty() {
            "no migrations".to_string()
        } else {
            counts.join(", ")
        }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrations::{Execution, Grouping, TrackingWrite};
    use crate::migrations::{ForeignKeys, OnError, Transactions};
    use std::path::PathBuf;

    fn m(key: i64) -> Migration {
        Migration {
            key: Key::Int(key),
            name: format!("m{key}"),
            path: PathBuf::from(format!("{key}_m.sql")),
            up: vec![],
            unexecuted: vec![],
            refused: None,
            down: None,
            checksum: Some(format!("sum{key}")),
            execution: Execution {
                foreign_keys: ForeignKeys::On,
                transactions: Transactions::Script,
                on_error: OnError::Stop,
                grouping: Grouping::PerMigration,
                tracking: TrackingWrite::WithMigration,
            },
        }
    }

    fn a(key: i64, sum: &str, failed: bool) -> Applied {
        Applied {
            key: Key::Int(key),
            name: None,
            checksum: Some(sum.into()),
            failed,
            applied_at: None,
        }
    }

    fn states(e: &[Entry]) -> Vec<(String, State)> {
        e.iter().map(|e| (e.key.to_string(), e.state)).collect()
    }

    #[test]
    fn by_key_sorts_every_case() {
        let same: SameChecksum = |m, a| m.checksum == a.checksum;
        let ms = [m(1), m(2), m(3), m(4), m(5)];
        let ap = [
            a(1, "sum1", false),
            a(3, "edited", false),
            a(4, "sum4", true),
            a(9, "sum9", false),
        ];
        let applies = by_key(&ms, &ap, Some(same), Older::Applies);
        assert_eq!(
            states(&applies),
            vec![
                ("1".into(), State::Applied),
                ("2".into(), State::Pending),
                ("3".into(), State::Changed),
                ("4".into(), State::Failed),
                ("5".into(), State::Pending),
                ("9".into(), State::Missing),
            ]
        );
        let blocked = by_key(&ms, &ap, Some(same), Older::Blocked("skipped"));
        assert_eq!(blocked[1].state, State::Blocked);
        assert_eq!(
            blocked[4].state,
            State::Blocked,
            "5 < 9, the newest applied"
        );
        assert!(State::Pending.fails() && !State::Missing.fails() && !State::Applied.fails());
    }
}
