//! What the engine records so that a run can resume and be undone exactly.
//!
//! SQLite has one writer at a time, so the rows one batch transaction inserts into a target all
//! have rowids above the target's largest rowid before the batch and at most its largest after:
//! each batch journals that range (with its system and time window) in the same transaction as the
//! inserts. `rollback` deletes exactly those rows, batch by batch, checking each count against the
//! journal, then restores the progress rows and the AUTOINCREMENT counter as they were.

use crate::db::{Db, DbError, DbExt, Stmt, Value, as_i64, as_text};
use crate::spec::validate::MigrationPlan;
use crate::sql::ident as q;

pub const JOURNAL: &str = "preflight_journal";
pub const STATE: &str = "preflight_state";
pub const SAVED: &str = "preflight_saved_progress";
pub const PROGRESS: &str = "migration_progress";
/// Holds, for the length of one rollback transaction, the check that it deleted exactly the rows
/// the journal counts (an ordinary table: libSQL servers refuse TEMP tables).
pub const ASSERT: &str = "preflight_assert";
/// Tables preflight itself creates (the progress table only when it did not exist).
pub const OWN_TABLES: [&str; 4] = [JOURNAL, STATE, SAVED, ASSERT];

const PROGRESS_COLUMNS: [&str; 5] = [
    "migration_name",
    "system_id",
    "last_migrated_timestamp",
    "rows_migrated",
    "updated_at",
];

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{target}: {PROGRESS} exists but has no column {column}; preflight records progress in the seed's shape ({})", PROGRESS_COLUMNS.join(", "))]
    ProgressShape { target: String, column: String },
    #[error("{target}: nothing to roll back: no preflight journal for migration {migration}")]
    NothingToUndo { target: String, migration: String },
    #[error(
        "{target}: journal entry {entry} of {migration} expected {expected} rows of {table} to delete, and the database holds {found}: {} (rows were changed or removed since; inspect before retrying)",
        deleted_note(*deleted_before)
    )]
    CountMismatch {
        target: String,
        migration: String,
        entry: i64,
        table: String,
        expected: i64,
        found: String,
        /// Rows already deleted for newer entries when the mismatch showed.
        deleted_before: u64,
    },
    #[error("{target}: the journal of {migration} names {what} {name}, which is not in the schema")]
    BadJournal {
        target: String,
        migration: String,
        what: &'static str,
        name: String,
    },
}

fn deleted_note(deleted_before: u64) -> String {
    if deleted_before == 0 {
        "nothing was deleted".into()
    } else {
        format!(
            "{deleted_before} rows of newer entries were deleted before it, this entry's were not"
        )
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

pub fn create_journal_sql() -> [String; 2] {
    [
        format!(
            "CREATE TABLE IF NOT EXISTS {JOURNAL} (
  id INTEGER PRIMARY KEY,
  migration_name TEXT NOT NULL,
  system_id INTEGER NOT NULL,
  target_table TEXT NOT NULL,
  time_lo INTEGER NOT NULL,
  time_hi INTEGER NOT NULL,
  rowid_lo INTEGER NOT NULL,
  rowid_hi INTEGER,
  inserted INTEGER,
  sequence_before INTEGER,
  at INTEGER NOT NULL
)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {STATE} (
  migration_name TEXT NOT NULL,
  key TEXT NOT NULL,
  value,
  PRIMARY KEY (migration_name, key)
)"
        ),
    ]
}

/// Create the journal and progress tables if needed and remember, once per migration, what the
/// undo must restore: the progress rows and the target's AUTOINCREMENT counter as they were.
pub fn setup(db: &dyn Db, mp: &MigrationPlan) -> Result<(), JournalError> {
    let m = &mp.migration;
    let name = text(&m.name);
    let progress = q(&mp.progress_table);
    let progress_columns = db.columns(&mp.progress_table)?;
    if !progress_columns.is_empty() {
        for c in PROGRESS_COLUMNS {
            if !progress_columns.iter().any(|x| x == c) {
                return Err(JournalError::ProgressShape {
                    target: db.target().shown(),
                    column: c.into(),
                });
            }
        }
    }
    let has_sequence = is_autoincrement(db, &m.target)?;
    let mut stmts: Vec<Stmt> = create_journal_sql()
        .into_iter()
        .map(|s| Stmt::new(s, vec![]))
        .collect();
    if progress_columns.is_empty() {
        stmts.push(Stmt::new(
            format!("INSERT OR IGNORE INTO {STATE} VALUES ('*', 'progress_table_created', ?1)"),
            vec![text(&mp.progress_table)],
        ));
    }
    stmts.push(Stmt::new(
        format!(
            "CREATE TABLE IF NOT EXISTS {progress} (
  migration_name TEXT NOT NULL,
  system_id INTEGER NOT NULL,
  last_migrated_timestamp INTEGER NOT NULL,
  rows_migrated INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL,
  UNIQUE (migration_name, system_id)
)"
        ),
        vec![],
    ));
    stmts.push(Stmt::new(
        format!("CREATE TABLE IF NOT EXISTS {SAVED} AS SELECT rowid AS saved_rowid, * FROM {progress} WHERE 0"),
        vec![],
    ));
    stmts.push(Stmt::new(
        format!(
            "INSERT INTO {SAVED} SELECT rowid, * FROM {progress} WHERE migration_name = ?1
             AND NOT EXISTS (SELECT 1 FROM {STATE} WHERE migration_name = ?1 AND key = 'progress_saved')"
        ),
        vec![name.clone()],
    ));
    let mut state = vec![
        ("progress_saved", Value::Integer(1)),
        ("target", text(&m.target)),
        ("system_column", text(&m.system)),
        ("time_column", text(&m.time.target)),
        ("time_multiply", Value::Integer(m.time.multiply)),
        ("progress_table", text(&mp.progress_table)),
    ];
    if has_sequence {
        let seq = db
            .query(
                "SELECT seq FROM sqlite_sequence WHERE name = ?1",
                &[text(&m.target)],
            )?
            .into_iter()
            .next()
            .map_or(Value::Null, |r| r[0].clone());
        state.push(("sequence_before", seq));
    }
    for (k, v) in state {
        stmts.push(Stmt::new(
            format!("INSERT OR IGNORE INTO {STATE} VALUES (?1, ?2, ?3)"),
            vec![name.clone(), text(k), v],
        ));
    }
    db.write_batch(&stmts)?;
    Ok(())
}

/// Whether a table is declared AUTOINCREMENT (its counter lives in sqlite_sequence).
pub fn is_autoincrement(db: &dyn Db, table: &str) -> Result<bool, DbError> {
    Ok(!db
        .query(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1 AND sql LIKE '%AUTOINCREMENT%'",
            &[text(table)],
        )?
        .is_empty())
}

/// The statements of one batch, in one transaction: open a journal entry, count what the spec
/// makes, insert it, close the entry (or drop it when nothing was inserted), record progress.
/// Parameters: system, window (lo, hi] in source time, and the current time.
///
/// An AUTOINCREMENT counter also counts the rows `ON CONFLICT DO NOTHING` skipped; the batch
/// sets it back to the highest rowid really used (never below where it was), so a run that finds
/// every key present leaves no trace.
#[allow(clippy::too_many_arguments)]
pub fn batch_statements(
    mp: &MigrationPlan,
    autoincrement: bool,
    carried_count: &str,
    insert: &str,
    system_id: i64,
    lo: i64,
    hi: i64,
    now: i64,
) -> Vec<Stmt> {
    let m = &mp.migration;
    let window = vec![
        Value::Integer(system_id),
        Value::Integer(lo),
        Value::Integer(hi),
    ];
    let sequence = if autoincrement {
        "(SELECT seq FROM sqlite_sequence WHERE name = ?3)"
    } else {
        "NULL"
    };
    let mut stmts = vec![
        Stmt::new(
            format!(
                "INSERT INTO {JOURNAL} (migration_name, system_id, target_table, time_lo, time_hi, rowid_lo, sequence_before, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, (SELECT ifnull(max(rowid), 0) FROM {}), {sequence}, ?6)",
                q(&m.target)
            ),
            vec![
                text(&m.name),
                Value::Integer(system_id),
                text(&m.target),
                Value::Integer(lo),
                Value::Integer(hi),
                Value::Integer(now),
            ],
        ),
        Stmt::new(carried_count.to_string(), window.clone()),
        Stmt::new(insert.to_string(), window),
        Stmt::new(
            format!(
                "UPDATE {JOURNAL} SET inserted = changes(), rowid_hi = (SELECT ifnull(max(rowid), 0) FROM {})
                 WHERE id = (SELECT max(id) FROM {JOURNAL})",
                q(&m.target)
            ),
            vec![],
        ),
    ];
    if autoincrement {
        stmts.push(Stmt::new(
            format!(
                "UPDATE sqlite_sequence SET seq = max(
                   ifnull((SELECT sequence_before FROM {JOURNAL} WHERE id = (SELECT max(id) FROM {JOURNAL})), 0),
                   (SELECT ifnull(max(rowid), 0) FROM {}))
                 WHERE name = ?1",
                q(&m.target)
            ),
            vec![text(&m.target)],
        ));
    }
    stmts.extend([
        Stmt::new(
            format!("DELETE FROM {JOURNAL} WHERE id = (SELECT max(id) FROM {JOURNAL}) AND inserted = 0"),
            vec![],
        ),
        Stmt::new(
            format!(
                "INSERT INTO {progress} (migration_name, system_id, last_migrated_timestamp, rows_migrated, updated_at)
                 VALUES (?1, ?2, ?3, (SELECT count(*) FROM {src} WHERE {sys} = ?2 AND {t} <= ?3), ?4)
                 ON CONFLICT (migration_name, system_id) DO UPDATE SET
                   last_migrated_timestamp = excluded.last_migrated_timestamp,
                   rows_migrated = excluded.rows_migrated,
                   updated_at = excluded.updated_at
                 WHERE excluded.last_migrated_timestamp > {progress}.last_migrated_timestamp",
                progress = q(&mp.progress_table),
                src = q(&m.source),
                sys = q(&m.system),
                t = q(&m.time.source),
            ),
            vec![
                text(&m.name),
                Value::Integer(system_id),
                Value::Integer(hi),
                Value::Integer(now),
            ],
        ),
    ]);
    stmts
}

/// Where a migration's progress stands for a system: last source time migrated.
pub fn progress_of(
    db: &dyn Db,
    table: &str,
    migration: &str,
    system_id: i64,
) -> Result<Option<i64>, DbError> {
    if !db.table_exists(table)? {
        return Ok(None);
    }
    db.scalar_i64(
        &format!(
            "SELECT last_migrated_timestamp FROM {} WHERE migration_name = ?1 AND system_id = ?2",
            q(table)
        ),
        &[text(migration), Value::Integer(system_id)],
    )
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: i64,
    pub system_id: i64,
    pub target_table: String,
    pub time_lo: i64,
    pub time_hi: i64,
    pub rowid_lo: i64,
    pub rowid_hi: i64,
    pub inserted: i64,
}

/// Every closed journal entry of a migration (all migrations when None), oldest first.
pub fn entries(db: &dyn Db, migration: Option<&str>) -> Result<Vec<Entry>, DbError> {
    if !db.table_exists(JOURNAL)? {
        return Ok(Vec::new());
    }
    let rows = db.query(
        &format!(
            "SELECT id, system_id, target_table, time_lo, time_hi, rowid_lo, rowid_hi, inserted FROM {JOURNAL}
             WHERE (?1 IS NULL OR migration_name = ?1) AND inserted IS NOT NULL ORDER BY id"
        ),
        &[migration.map_or(Value::Null, text)],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| Entry {
            id: as_i64(&r[0]).unwrap_or_default(),
            system_id: as_i64(&r[1]).unwrap_or_default(),
            target_table: as_text(&r[2]).unwrap_or_default(),
            time_lo: as_i64(&r[3]).unwrap_or_default(),
            time_hi: as_i64(&r[4]).unwrap_or_default(),
            rowid_lo: as_i64(&r[5]).unwrap_or_default(),
            rowid_hi: as_i64(&r[6]).unwrap_or_default(),
            inserted: as_i64(&r[7]).unwrap_or_default(),
        })
        .collect())
}

/// The migrations the journal can undo, the most recently started first.
pub fn migrations(db: &dyn Db) -> Result<Vec<String>, DbError> {
    if !db.table_exists(STATE)? {
        return Ok(Vec::new());
    }
    Ok(db
        .query(
            &format!(
                "SELECT DISTINCT migration_name FROM {STATE} WHERE migration_name != '*' ORDER BY rowid DESC"
            ),
            &[],
        )?
        .iter()
        .filter_map(|r| as_text(&r[0]))
        .collect())
}

fn state(db: &dyn Db, migration: &str) -> Result<Vec<(String, Value)>, DbError> {
    if !db.table_exists(STATE)? {
        return Ok(Vec::new());
    }
    Ok(db
        .query(
            &format!("SELECT key, value FROM {STATE} WHERE migration_name = ?1"),
            &[text(migration)],
        )?
        .into_iter()
        .map(|r| (as_text(&r[0]).unwrap_or_default(), r[1].clone()))
        .collect())
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollbackSummary {
    pub entries: u64,
    pub deleted: u64,
}

/// Undo everything preflight inserted for `migration`, newest batch first, and put the progress
/// rows and the AUTOINCREMENT counter back as they were. Rows anyone else wrote are not touched.
pub fn rollback(
    db: &dyn Db,
    migration: &str,
    on_entry: &mut dyn FnMut(&Entry),
) -> Result<RollbackSummary, JournalError> {
    undo(db, migration, false, on_entry)
}

/// Whether `rollback` of `migration` would find exactly the rows its journal records (and so
/// delete them), without deleting anything.
pub fn check_rollback(db: &dyn Db, migration: &str) -> Result<(), JournalError> {
    undo(db, migration, true, &mut |_| {}).map(|_| ())
}

fn undo(
    db: &dyn Db,
    migration: &str,
    only_check: bool,
    on_entry: &mut dyn FnMut(&Entry),
) -> Result<RollbackSummary, JournalError> {
    let shown = db.target().shown();
    let st = state(db, migration)?;
    let get = |k: &str| st.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let (Some(target), Some(system_col), Some(time_col), Some(mult)) = (
        get("target").and_then(|v| as_text(&v)),
        get("system_column").and_then(|v| as_text(&v)),
        get("time_column").and_then(|v| as_text(&v)),
        get("time_multiply").and_then(|v| as_i64(&v)),
    ) else {
        return Err(JournalError::NothingToUndo {
            target: shown,
            migration: migration.into(),
        });
    };
    let columns = db.columns(&target)?;
    for (what, name) in [
        ("table", &target),
        ("column", &system_col),
        ("column", &time_col),
    ] {
        let known = if what == "table" {
            !columns.is_empty()
        } else {
            columns.contains(name)
        };
        if !known {
            return Err(JournalError::BadJournal {
                target: shown,
                migration: migration.into(),
                what,
                name: name.clone(),
            });
        }
    }
    let mut summary = RollbackSummary::default();
    // the rows of an entry: its rowid range, system and time window
    let rows_of = format!(
        "FROM {t} WHERE rowid > ?1 AND rowid <= ?2 AND {s} = ?3 AND {tc} > ?4 AND {tc} <= ?5",
        t = q(&target),
        s = q(&system_col),
        tc = q(&time_col)
    );
    let params = |e: &Entry| {
        vec![
            Value::Integer(e.rowid_lo),
            Value::Integer(e.rowid_hi),
            Value::Integer(e.system_id),
            Value::Integer(e.time_lo.saturating_mul(mult)),
            Value::Integer(e.time_hi.saturating_mul(mult)),
        ]
    };
    let mismatch = |e: &Entry, found: String, deleted_before: u64| JournalError::CountMismatch {
        target: shown.clone(),
        migration: migration.into(),
        entry: e.id,
        table: target.clone(),
        expected: e.inserted,
        found,
        deleted_before,
    };
    // every entry checked before anything is deleted
    let entries = entries(db, Some(migration))?;
    for e in &entries {
        let found = db
            .scalar_i64(&format!("SELECT count(*) {rows_of}"), &params(e))?
            .unwrap_or(0);
        if found != e.inserted {
            return Err(mismatch(e, found.to_string(), 0));
        }
    }
    if only_check {
        return Ok(summary);
    }
    // created inside each batch, so that a refused batch leaves nothing behind; a row that
    // fails its CHECK (someone changed the rows since the check) aborts the batch
    let assert_table =
        format!("CREATE TABLE IF NOT EXISTS {ASSERT} (entry INTEGER, ok INTEGER CHECK (ok))");
    for e in entries.iter().rev() {
        let result = db.write_batch(&[
            Stmt::new(assert_table.clone(), vec![]),
            Stmt::new(format!("DELETE {rows_of}"), params(e)),
            Stmt::new(
                format!("INSERT INTO {ASSERT} VALUES (?1, changes() = ?2)"),
                vec![Value::Integer(e.id), Value::Integer(e.inserted)],
            ),
            Stmt::new(
                format!("DELETE FROM {JOURNAL} WHERE id = ?1"),
                vec![Value::Integer(e.id)],
            ),
            Stmt::new(format!("DELETE FROM {ASSERT}"), vec![]),
        ]);
        match result {
            Ok(out) => {
                summary.entries += 1;
                summary.deleted += out[1].changes;
                on_entry(e);
            }
            Err(err) if err.message().contains("CHECK constraint failed") => {
                return Err(mismatch(e, "another number".into(), summary.deleted));
            }
            Err(err) => return Err(err.into()),
        }
    }

    // progress rows and the AUTOINCREMENT counter, as they were
    let progress_table = get("progress_table")
        .and_then(|v| as_text(&v))
        .unwrap_or_else(|| PROGRESS.into());
    let progress = q(&progress_table);
    let progress_cols = db.columns(&progress_table)?;
    let mut stmts = Vec::new();
    if !progress_cols.is_empty() {
        let cols: Vec<String> = progress_cols.iter().map(|c| q(c)).collect();
        stmts.push(Stmt::new(
            format!("DELETE FROM {progress} WHERE migration_name = ?1"),
            vec![text(migration)],
        ));
        if db.table_exists(SAVED)? {
            stmts.push(Stmt::new(
                format!(
                    "INSERT INTO {progress} (rowid, {c}) SELECT saved_rowid, {c} FROM {SAVED} WHERE migration_name = ?1",
                    c = cols.join(", ")
                ),
                vec![text(migration)],
            ));
            stmts.push(Stmt::new(
                format!("DELETE FROM {SAVED} WHERE migration_name = ?1"),
                vec![text(migration)],
            ));
        }
    }
    if let Some(before) = get("sequence_before") {
        match before {
            Value::Null => {
                stmts.push(Stmt::new(
                    format!("DELETE FROM sqlite_sequence WHERE name = ?1 AND NOT EXISTS (SELECT 1 FROM {})", q(&target)),
                    vec![text(&target)],
                ));
                stmts.push(Stmt::new(
                    format!("UPDATE sqlite_sequence SET seq = (SELECT max(rowid) FROM {}) WHERE name = ?1", q(&target)),
                    vec![text(&target)],
                ));
            }
            v => stmts.push(Stmt::new(
                format!("UPDATE sqlite_sequence SET seq = max(?2, (SELECT ifnull(max(rowid), 0) FROM {})) WHERE name = ?1", q(&target)),
                vec![text(&target), v],
            )),
        }
    }
    stmts.push(Stmt::new(
        format!("DELETE FROM {STATE} WHERE migration_name = ?1"),
        vec![text(migration)],
    ));
    db.write_batch(&stmts)?;
    drop_empty_tables(db)?;
    Ok(summary)
}

/// Drop what preflight created once nothing is left in it.
fn drop_empty_tables(db: &dyn Db) -> Result<(), DbError> {
    let empty = |t: &str| -> Result<bool, DbError> {
        Ok(db.table_exists(t)?
            && db
                .query(&format!("SELECT 1 FROM {} LIMIT 1", q(t)), &[])?
                .is_empty())
    };
    let mut stmts = Vec::new();
    // the progress table preflight created (journals of older versions stored 1 for its name)
    let created_progress = if db.table_exists(STATE)? {
        db.query(
            &format!("SELECT value FROM {STATE} WHERE migration_name = '*' AND key = 'progress_table_created'"),
            &[],
        )?
        .first()
        .map(|r| as_text(&r[0]).unwrap_or_else(|| PROGRESS.into()))
    } else {
        None
    };
    if let Some(table) = created_progress
        && empty(&table)?
    {
        stmts.push(Stmt::new(format!("DROP TABLE {}", q(&table)), vec![]));
        stmts.push(Stmt::new(
            format!(
                "DELETE FROM {STATE} WHERE migration_name = '*' AND key = 'progress_table_created'"
            ),
            vec![],
        ));
    }
    for t in [JOURNAL, SAVED, ASSERT] {
        if empty(t)? {
            stmts.push(Stmt::new(format!("DROP TABLE {t}"), vec![]));
        }
    }
    if !stmts.is_empty() {
        db.write_batch(&stmts)?;
    }
    if empty(STATE)? {
        db.write_batch(&[Stmt::new(format!("DROP TABLE {STATE}"), vec![])])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_mismatch_says_what_was_deleted_before_it() {
        let e = |deleted_before| JournalError::CountMismatch {
            target: "x.db".into(),
            migration: "m".into(),
            entry: 3,
            table: "t".into(),
            expected: 10,
            found: "9".into(),
            deleted_before,
        };
        assert!(e(0).to_string().contains("holds 9: nothing was deleted"));
        assert!(
            e(42)
                .to_string()
                .contains("42 rows of newer entries were deleted before it")
        );
    }
}
