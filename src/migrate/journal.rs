//! What the engine records so that a run can resume and be undone exactly.
//!
//! SQLite has one writer at a time, so the rows one batch transaction inserts into a target all
//! have rowids above the target's largest rowid before the batch and at most its largest after:
//! each batch journals that range (with its system and time window) in the same transaction as the
//! inserts. `rollback` deletes exactly those rows, batch by batch, checking each count against the
//! journal, then restores the progress rows and the AUTOINCREMENT counter as they were.
//!
//! The journal is proved before anything is deleted, and before a migration adds to it: the
//! entries of a migration are numbered 1, 2, … n with no gap and no repeat; each carries a
//! checksum over its fields and the previous entry's checksum (a chain), and the newest's
//! number and checksum are kept in the state table, so an edited, removed or duplicated entry,
//! or a dropped journal, is found; rowid ranges do not overlap; every entry's rows are present
//! in the number it records; the database passes SQLite's integrity check. The checksum is
//! plain SQL integer arithmetic (two polynomial hashes modulo 2^31 − 1), computed by the same
//! transaction that writes the entry on a local file and on a libSQL server alike; it detects
//! any edit that does not recompute it, and is not a signature.
//!
//! Each undone entry moves the progress back to where that entry's window began (and the
//! AUTOINCREMENT counter back to where it was), in the same transaction as its delete: a
//! rollback stopped half-way leaves a database that `rollback` finishes and `migrate` resumes.

use sha2::{Digest, Sha256};

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
    #[error("{target}: {table} exists but has no column {column}; preflight records progress in the seed's shape ({})", PROGRESS_COLUMNS.join(", "))]
    ProgressShape {
        target: String,
        table: String,
        column: String,
    },
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
    /// The journal does not prove itself; nothing was deleted or written.
    #[error(
        "{target}: the journal of {migration} is damaged: {problem}; nothing was deleted or written (restore the database from the backup taken before the migration)"
    )]
    Damaged {
        target: String,
        migration: String,
        problem: String,
    },
    #[error(
        "{target}: the journal of {migration} was written by an older preflight (no checksum); finish or undo that migration with the version that wrote it"
    )]
    OldJournal { target: String, migration: String },
}

/// The modulus and bases of the journal's checksum (two hashes of 31 bits each).
const P: i64 = 2_147_483_647;
const BASES: [i64; 2] = [1_000_003, 69_069];

/// The checksum's part for an entry's text fields (its migration and target table).
fn text_key(migration: &str, table: &str) -> (i64, i64) {
    let h = Sha256::digest(format!("{migration}\0{table}").as_bytes());
    let word = |i: usize| {
        i64::from(u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]) & 0x7fff_ffff)
    };
    (word(0), word(4))
}

/// The two hashes of a sequence of integers, as one integer below 2^62.
fn fold(inputs: &[i64]) -> i64 {
    let lane = |b: i64| {
        inputs
            .iter()
            .fold(0i64, |h, x| (h * b + x.rem_euclid(P)) % P)
    };
    lane(BASES[0]) * (1 << 31) + lane(BASES[1])
}

/// What the checksum of an entry covers, in order.
fn checksum_inputs(
    e: &Entry,
    migration: &str,
    sequence_before: Option<i64>,
    prev: i64,
) -> Vec<i64> {
    let (ka, kb) = text_key(migration, &e.target_table);
    vec![
        ka,
        kb,
        prev >> 31,
        prev & P,
        e.seq,
        e.system_id,
        e.time_lo,
        e.time_hi,
        e.rowid_lo,
        e.rowid_hi,
        e.inserted,
        sequence_before.unwrap_or(-1),
    ]
}

/// The same checksum in SQL, over the columns of the journal row being updated; parameters
/// ?1 and ?2 are `text_key` of its migration and target.
fn checksum_sql() -> String {
    let prev = format!(
        "ifnull((SELECT j.checksum FROM {JOURNAL} j WHERE j.migration_name = {JOURNAL}.migration_name AND j.seq = {JOURNAL}.seq - 1), 0)"
    );
    let inputs = [
        "?1".to_string(),
        "?2".to_string(),
        format!("({prev}) >> 31"),
        format!("({prev}) & {P}"),
        "seq".into(),
        "system_id".into(),
        "time_lo".into(),
        "time_hi".into(),
        "rowid_lo".into(),
        "rowid_hi".into(),
        "inserted".into(),
        "ifnull(sequence_before, -1)".into(),
    ];
    let lane = |b: i64| {
        inputs.iter().fold("0".to_string(), |h, x| {
            format!("((({h}) * {b} + ((({x}) % {P}) + {P}) % {P}) % {P})")
        })
    };
    format!("({}) * 2147483648 + ({})", lane(BASES[0]), lane(BASES[1]))
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
  at INTEGER NOT NULL,
  seq INTEGER,
  checksum INTEGER
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
                    table: mp.progress_table.clone(),
                    column: c.into(),
                });
            }
        }
    }
    let has_sequence = is_autoincrement(db, &m.target)?;
    let journal_columns = db.columns(JOURNAL)?;
    if !journal_columns.is_empty() && !journal_columns.iter().any(|c| c == "checksum") {
        return Err(JournalError::OldJournal {
            target: db.target().shown(),
            migration: m.name.clone(),
        });
    }
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
        ("source", text(&m.source)),
        ("source_system_column", text(&m.system)),
        ("source_time_column", text(&m.time.source)),
        ("journal_seq", Value::Integer(0)),
        ("journal_head", Value::Integer(0)),
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
                "INSERT INTO {JOURNAL} (migration_name, system_id, target_table, time_lo, time_hi, rowid_lo, sequence_before, at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, (SELECT ifnull(max(rowid), 0) FROM {}), {sequence}, ?6,
                         (SELECT ifnull(max(seq), 0) + 1 FROM {JOURNAL} WHERE migration_name = ?1))",
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
    let (ka, kb) = text_key(&m.name, &m.target);
    stmts.extend([
        Stmt::new(
            format!("DELETE FROM {JOURNAL} WHERE id = (SELECT max(id) FROM {JOURNAL}) AND inserted = 0"),
            vec![],
        ),
        // seal the entry (when one was kept) and move the head of the chain to it
        Stmt::new(
            format!(
                "UPDATE {JOURNAL} SET checksum = {} WHERE id = (SELECT max(id) FROM {JOURNAL}) AND checksum IS NULL AND migration_name = ?3",
                checksum_sql()
            ),
            vec![Value::Integer(ka), Value::Integer(kb), text(&m.name)],
        ),
        Stmt::new(
            format!(
                "INSERT INTO {STATE} (migration_name, key, value)
                 SELECT ?1, k, v FROM (SELECT 'journal_seq' AS k, seq AS v, seq FROM {JOURNAL} WHERE migration_name = ?1
                                       UNION ALL SELECT 'journal_head', checksum, seq FROM {JOURNAL} WHERE migration_name = ?1)
                 WHERE seq = (SELECT max(seq) FROM {JOURNAL} WHERE migration_name = ?1)
                 ON CONFLICT (migration_name, key) DO UPDATE SET value = excluded.value
                 WHERE value IS NOT excluded.value"
            ),
            vec![text(&m.name)],
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
    /// Its number among the entries of its migration: 1, 2, … with no gap.
    pub seq: i64,
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
            "SELECT id, system_id, target_table, time_lo, time_hi, rowid_lo, rowid_hi, inserted, {seq} FROM {JOURNAL}
             WHERE (?1 IS NULL OR migration_name = ?1) AND inserted IS NOT NULL ORDER BY id",
            seq = if db.columns(JOURNAL)?.iter().any(|c| c == "seq") {
                "seq"
            } else {
                "0"
            }
        ),
        &[migration.map_or(Value::Null, text)],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| Entry {
            id: as_i64(&r[0]).unwrap_or_default(),
            seq: as_i64(&r[8]).unwrap_or_default(),
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

/// Prove the journal of `migration` by itself (no look at the rows it covers): numbered
/// 1 … n with no gap or repeat, no field missing, every checksum and the chain's head as
/// written. Returns its entries, oldest first, with their `sequence_before`.
pub fn check_chain(
    db: &dyn Db,
    migration: &str,
) -> Result<Vec<(Entry, Option<i64>)>, JournalError> {
    let shown = db.target().shown();
    let damaged = |problem: String| JournalError::Damaged {
        target: shown.clone(),
        migration: migration.into(),
        problem,
    };
    let st = state(db, migration)?;
    if st.is_empty() {
        return Ok(Vec::new());
    }
    let get = |k: &str| st.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let (Some(n), Some(head)) = (
        get("journal_seq").and_then(|v| as_i64(&v)),
        get("journal_head").and_then(|v| as_i64(&v)),
    ) else {
        return Err(if get("target").is_some() && get("journal_seq").is_none() {
            JournalError::OldJournal {
                target: shown.clone(),
                migration: migration.into(),
            }
        } else {
            damaged(format!(
                "its head (journal_seq and journal_head in {STATE}) is missing or not a number"
            ))
        });
    };
    let columns = db.columns(JOURNAL)?;
    if columns.is_empty() {
        if n == 0 {
            return Ok(Vec::new());
        }
        return Err(damaged(format!(
            "the table {JOURNAL} is missing, and {STATE} records {n} entries"
        )));
    }
    if !columns.iter().any(|c| c == "checksum") {
        return Err(JournalError::OldJournal {
            target: shown.clone(),
            migration: migration.into(),
        });
    }
    let rows = db.query(
        &format!(
            "SELECT id, seq, system_id, target_table, time_lo, time_hi, rowid_lo, rowid_hi, inserted, sequence_before, checksum
             FROM {JOURNAL} WHERE migration_name = ?1 ORDER BY seq, id"
        ),
        &[text(migration)],
    )?;
    const NAMES: [&str; 11] = [
        "id",
        "seq",
        "system_id",
        "target_table",
        "time_lo",
        "time_hi",
        "rowid_lo",
        "rowid_hi",
        "inserted",
        "sequence_before",
        "checksum",
    ];
    let mut out = Vec::with_capacity(rows.len());
    let mut prev = 0i64;
    for (k, r) in rows.iter().enumerate() {
        let id = as_i64(&r[0]).map_or("?".to_string(), |i| i.to_string());
        let int = |i: usize| -> Result<i64, JournalError> {
            match &r[i] {
                Value::Integer(v) => Ok(*v),
                Value::Null => Err(damaged(format!("entry {id} has no {}", NAMES[i]))),
                other => Err(damaged(format!(
                    "entry {id} has {} = {}, not an integer",
                    NAMES[i],
                    crate::db::show(other)
                ))),
            }
        };
        let e = Entry {
            id: int(0)?,
            seq: int(1)?,
            system_id: int(2)?,
            target_table: as_text(&r[3])
                .ok_or_else(|| damaged(format!("entry {id} has no target_table")))?,
            time_lo: int(4)?,
            time_hi: int(5)?,
            rowid_lo: int(6)?,
            rowid_hi: int(7)?,
            inserted: int(8)?,
        };
        let sequence_before = match &r[9] {
            Value::Null => None,
            _ => Some(int(9)?),
        };
        let checksum = int(10)?;
        let expected_seq = k as i64 + 1;
        if e.seq != expected_seq {
            return Err(damaged(if e.seq < expected_seq {
                format!(
                    "entry {} repeats number {} (an entry was duplicated)",
                    e.id, e.seq
                )
            } else {
                format!(
                    "entry number {expected_seq} is missing (the next is entry {} with number {}): an entry was removed",
                    e.id, e.seq
                )
            }));
        }
        if fold(&checksum_inputs(&e, migration, sequence_before, prev)) != checksum {
            return Err(damaged(format!(
                "entry {} does not match its checksum (it was edited since preflight wrote it)",
                e.id
            )));
        }
        prev = checksum;
        out.push((e, sequence_before));
    }
    let last = out.last().map_or(0, |(e, _)| e.seq);
    if last != n || prev != head {
        return Err(damaged(if last < n {
            format!(
                "{STATE} records {n} entries and the journal holds {last}: the newest were removed"
            )
        } else {
            format!(
                "{STATE} records {n} entries and the journal holds {last}, or their head does not match"
            )
        }));
    }
    Ok(out)
}

/// The migrations the journal can undo, the most recently started first; then any migration
/// that has journal entries but no state (a damaged journal, which `rollback` then names).
pub fn migrations(db: &dyn Db) -> Result<Vec<String>, DbError> {
    let mut names: Vec<String> = Vec::new();
    if db.table_exists(STATE)? {
        names.extend(
            db.query(
                &format!(
                    "SELECT DISTINCT migration_name FROM {STATE} WHERE migration_name != '*' ORDER BY rowid DESC"
                ),
                &[],
            )?
            .iter()
            .filter_map(|r| as_text(&r[0])),
        );
    }
    if db.table_exists(JOURNAL)? {
        for name in db
            .query(
                &format!("SELECT DISTINCT migration_name FROM {JOURNAL} ORDER BY id DESC"),
                &[],
            )?
            .iter()
            .filter_map(|r| as_text(&r[0]))
        {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names)
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
        // entries without the state that says what they belong to: a damaged journal, not none
        let held = if db.table_exists(JOURNAL)? {
            db.scalar_i64(
                &format!("SELECT count(*) FROM {JOURNAL} WHERE migration_name = ?1"),
                &[text(migration)],
            )?
            .unwrap_or(0)
        } else {
            0
        };
        if held > 0 {
            return Err(JournalError::Damaged {
                target: shown,
                migration: migration.into(),
                problem: format!(
                    "{JOURNAL} holds {held} entries but {STATE} has no complete record of the migration (target table, system and time columns)"
                ),
            });
        }
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
    let damaged = |problem: String| JournalError::Damaged {
        target: shown.clone(),
        migration: migration.into(),
        problem,
    };
    // the journal proved before anything is deleted: the chain, each entry's fields, rowid
    // ranges that no two entries share (of any migration into the same table), and the rows
    let chain = check_chain(db, migration)?;
    for (e, _) in &chain {
        if e.target_table != target {
            return Err(damaged(format!(
                "entry {} names the table {}, and the migration's target is {target}",
                e.id, e.target_table
            )));
        }
        if e.inserted < 1 || e.rowid_hi - e.rowid_lo < e.inserted || e.time_lo >= e.time_hi {
            return Err(damaged(format!(
                "entry {} records {} rows in rowids ({}, {}] and times ({}, {}], which cannot be",
                e.id, e.inserted, e.rowid_lo, e.rowid_hi, e.time_lo, e.time_hi
            )));
        }
    }
    let mut ranges: Vec<(i64, i64, i64)> = entries(db, None)?
        .into_iter()
        .filter(|e| e.target_table == target)
        .map(|e| (e.rowid_lo, e.rowid_hi, e.id))
        .collect();
    ranges.sort();
    for w in ranges.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(damaged(format!(
                "entries {} and {} claim the same rows of {target} (rowids ({}, {}] and ({}, {}])",
                w[0].2, w[1].2, w[0].0, w[0].1, w[1].0, w[1].1
            )));
        }
    }
    let entries: Vec<(Entry, Option<i64>)> = chain;
    for (e, _) in &entries {
        crate::interrupt::check().map_err(|_| DbError::Interrupted)?;
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
    let progress_table = get("progress_table")
        .and_then(|v| as_text(&v))
        .unwrap_or_else(|| PROGRESS.into());
    let progress = q(&progress_table);
    let progress_cols = db.columns(&progress_table)?;
    let has_progress = PROGRESS_COLUMNS
        .iter()
        .all(|c| progress_cols.iter().any(|x| x == c));
    let source = (
        get("source").and_then(|v| as_text(&v)),
        get("source_system_column").and_then(|v| as_text(&v)),
        get("source_time_column").and_then(|v| as_text(&v)),
    );
    let autoincrement = is_autoincrement(db, &target)?;
    // created inside each batch, so that a refused batch leaves nothing behind; a row that
    // fails its CHECK (someone changed the rows since the check) aborts the batch
    let assert_table =
        format!("CREATE TABLE IF NOT EXISTS {ASSERT} (entry INTEGER, ok INTEGER CHECK (ok))");
    for (e, sequence_before) in entries.iter().rev() {
        crate::interrupt::check().map_err(|_| DbError::Interrupted)?;
        let mut stmts = vec![
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
            // gone again in the same transaction: a rollback stopped later leaves no trace of it
            Stmt::new(format!("DROP TABLE {ASSERT}"), vec![]),
            // the chain's head moves back to the previous entry
            Stmt::new(
                format!(
                    "INSERT INTO {STATE} (migration_name, key, value) VALUES
                       (?1, 'journal_seq', ?2),
                       (?1, 'journal_head', ifnull((SELECT checksum FROM {JOURNAL} WHERE migration_name = ?1 AND seq = ?2), 0))
                     ON CONFLICT (migration_name, key) DO UPDATE SET value = excluded.value"
                ),
                vec![text(migration), Value::Integer(e.seq - 1)],
            ),
        ];
        // progress back to where this entry's window began, so that a migrate after a
        // rollback stopped half-way covers these rows again
        if has_progress {
            let rows_migrated = match &source {
                (Some(src), Some(sys), Some(t)) => format!(
                    "(SELECT count(*) FROM {} WHERE {} = ?2 AND {} <= ?3)",
                    q(src),
                    q(sys),
                    q(t)
                ),
                _ => "rows_migrated".to_string(),
            };
            stmts.push(Stmt::new(
                format!(
                    "UPDATE {progress} SET last_migrated_timestamp = ?3, rows_migrated = {rows_migrated}
                     WHERE migration_name = ?1 AND system_id = ?2 AND last_migrated_timestamp > ?3"
                ),
                vec![
                    text(migration),
                    Value::Integer(e.system_id),
                    Value::Integer(e.time_lo),
                ],
            ));
        }
        // and the AUTOINCREMENT counter back to where it was before this entry's batch
        if autoincrement {
            stmts.push(Stmt::new(
                format!(
                    "UPDATE sqlite_sequence SET seq = max(ifnull(?2, 0), (SELECT ifnull(max(rowid), 0) FROM {})) WHERE name = ?1",
                    q(&target)
                ),
                vec![
                    text(&target),
                    sequence_before.map_or(Value::Null, Value::Integer),
                ],
            ));
        }
        let result = db.write_batch(&stmts);
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
