//! The database boundary: a small trait that the engine and the checks speak, with a driver for
//! local files (rusqlite) and one for libSQL servers over HTTP. Statements are plain SQL with
//! positional parameters and run where the data lives.

pub mod local;
pub mod remote;
pub mod target;

pub use rusqlite::types::Value;
pub use target::Target;

pub type Row = Vec<Value>;

/// One statement with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Stmt {
    pub fn new(sql: impl Into<String>, params: Vec<Value>) -> Stmt {
        Stmt {
            sql: sql.into(),
            params,
        }
    }
}

/// What one statement of a batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StmtOut {
    /// Rows inserted, updated or deleted (0 for a query).
    pub changes: u64,
    /// Rows returned (empty for a plain write).
    pub rows: Vec<Row>,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{target}: {message}")]
    Open { target: String, message: String },
    #[error("{target}: {message} (in: {sql})")]
    Sql {
        target: String,
        message: String,
        sql: String,
        /// Byte offset of the offending token in the statement, when SQLite says.
        offset: Option<usize>,
    },
    /// Statement `index` of a batch failed; the whole batch was rolled back.
    #[error("{source}")]
    InBatch { index: usize, source: Box<DbError> },
    /// A signal asked to stop; the statement was interrupted and its transaction rolled back.
    #[error("interrupted")]
    Interrupted,
    #[error("{target}: no space left on the file system{}; the open transaction was rolled back and nothing of it was kept", free.map(|f| format!(" ({} free)", crate::fsutil::human(f))).unwrap_or_default())]
    Full { target: String, free: Option<u64> },
    /// A server that did not answer in time.
    #[error("{target}: {message}")]
    Timeout { target: String, message: String },
    #[error(
        "{target}: the database fails SQLite's {check}: {detail}; nothing was written (restore it from a backup, or repair it, first)"
    )]
    Corrupt {
        target: String,
        check: &'static str,
        detail: String,
    },
}

impl DbError {
    /// The statement shown in a message: its first line, shortened.
    pub fn sql_excerpt(sql: &str) -> String {
        let one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        if one.chars().count() > 120 {
            format!("{}…", one.chars().take(120).collect::<String>())
        } else {
            one
        }
    }

    /// Where in the statement SQLite found the error (a byte offset), when it says.
    pub fn offset(&self) -> Option<usize> {
        match self {
            DbError::Sql { offset, .. } => *offset,
            DbError::InBatch { source, .. } => source.offset(),
            _ => None,
        }
    }

    /// The database's own words, without the target and statement.
    pub fn message(&self) -> &str {
        match self {
            DbError::Open { message, .. }
            | DbError::Sql { message, .. }
            | DbError::Timeout { message, .. } => message,
            DbError::InBatch { source, .. } => source.message(),
            DbError::Interrupted => "interrupted",
            DbError::Full { .. } => "database or disk is full",
            DbError::Corrupt { detail, .. } => detail,
        }
    }
}

/// How a command may use the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read-only: the file (or server) cannot be written through this handle.
    ReadOnly,
    /// Read-only, and every read sees one snapshot (on a server: one read transaction held for
    /// the handle's life; a local file is read through the online backup API instead).
    Snapshot,
    /// Writes to a real database: durability as the database is configured.
    Write,
    /// Writes to a throw-away rehearsal copy: durability may be traded for speed.
    Rehearsal,
}

pub trait Db: Send {
    fn target(&self) -> &Target;
    /// All rows of a query. To read a whole table, use `fingerprint::scan` (it streams a local
    /// file and pages a server).
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    /// One statement outside any explicit transaction; rows changed.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Every statement in one write transaction (BEGIN IMMEDIATE … COMMIT), in order, in one
    /// round trip: all of them take effect or none does.
    fn write_batch(&self, stmts: &[Stmt]) -> Result<Vec<StmtOut>, DbError>;
    /// Visit every row of a query; a local file streams them without holding them all.
    fn for_each(
        &self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&[Value]) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        for row in self.query(sql, params)? {
            f(&row)?;
        }
        Ok(())
    }
    /// A second, independent handle on the same database with the same access (for work spread
    /// over threads).
    fn reopen(&self) -> Result<Box<dyn Db>, DbError>;
    /// The local driver, for work that reads SQLite's values in place.
    fn as_local(&self) -> Option<&local::LocalDb> {
        None
    }
    /// Whether this handle reads one state that a reopened handle would not see (a server's
    /// read transaction): work spread over threads then stays on this handle.
    fn pinned(&self) -> bool {
        false
    }
    /// For a pinned handle: more handles proved to read its very state, for work spread over
    /// threads (none: the work stays on this handle).
    fn twins(&self) -> Vec<&(dyn Db + Sync)> {
        Vec::new()
    }
    /// For a pinned handle: a read-only handle of its own on the same database, outside the
    /// pinned state (for work that needs no consistency with it, such as SQLite's integrity
    /// check). None: use this handle.
    fn unpinned(&self) -> Result<Option<Box<dyn Db>>, DbError> {
        Ok(None)
    }
    /// Rows per page for reads of whole tables (None: no need to page).
    fn page_rows(&self) -> Option<usize> {
        None
    }
}

/// Open a target with the given access.
pub fn open(target: &Target, access: Access) -> Result<Box<dyn Db>, DbError> {
    match target {
        Target::Local(path) => Ok(Box::new(local::LocalDb::open(path, access)?)),
        Target::Remote(r) => Ok(Box::new(remote::RemoteDb::open(
            target,
            r.token.0.clone(),
            access,
        )?)),
    }
}

/// Refuse a database that fails SQLite's own check (`quick` for `PRAGMA quick_check`, which
/// skips matching index entries to rows; otherwise `PRAGMA integrity_check`) before writing
/// to it: a write to a damaged file can only damage it further.
pub fn check_integrity(db: &dyn Db, quick: bool) -> Result<(), DbError> {
    let check = if quick {
        "quick_check"
    } else {
        "integrity_check"
    };
    let corrupt = |detail: String| DbError::Corrupt {
        target: db.target().shown(),
        check,
        detail,
    };
    match db.query(&format!("PRAGMA {check}(5)"), &[]) {
        Ok(rows) => {
            let lines: Vec<String> = rows.iter().filter_map(|r| as_text(&r[0])).collect();
            if lines.len() == 1 && lines[0] == "ok" {
                Ok(())
            } else {
                Err(corrupt(lines.join("; ")))
            }
        }
        Err(e)
            if e.message().contains("malformed")
                || e.message().contains("not a database")
                || e.message().contains("corrupt") =>
        {
            Err(corrupt(e.message().to_string()))
        }
        Err(e) => Err(e),
    }
}

/// Until `work` (on another thread) ends, read on `db` every 3 s: a pinned handle's stream stays
/// open on the server. The first failed read stops the reads and is returned.
pub fn keep_alive<T>(
    db: &dyn Db,
    work: &std::thread::ScopedJoinHandle<'_, T>,
) -> Result<(), DbError> {
    let mut last = std::time::Instant::now();
    while !work.is_finished() {
        std::thread::sleep(std::time::Duration::from_millis(50));
        if last.elapsed() >= std::time::Duration::from_secs(3) {
            db.query("SELECT 1", &[])?;
            last = std::time::Instant::now();
        }
    }
    Ok(())
}

/// Helpers over the trait: typed single values.
pub trait DbExt: Db {
    fn scalar_i64(&self, sql: &str, params: &[Value]) -> Result<Option<i64>, DbError> {
        Ok(self
            .query(sql, params)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .and_then(|v| as_i64(&v)))
    }

    fn table_exists(&self, table: &str) -> Result<bool, DbError> {
        Ok(!self
            .query(
                "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                &[Value::Text(table.into())],
            )?
            .is_empty())
    }

    /// Column names of a table, in order (empty when the table does not exist).
    fn columns(&self, table: &str) -> Result<Vec<String>, DbError> {
        let rows = self.query(
            "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
            &[Value::Text(table.into())],
        )?;
        Ok(rows.into_iter().filter_map(|r| as_text(&r[0])).collect())
    }
}

impl<T: Db + ?Sized> DbExt for T {}

pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        Value::Real(f) if f.fract() == 0.0 => Some(*f as i64),
        _ => None,
    }
}

pub fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Real(f) => Some(*f),
        _ => None,
    }
}

pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::Text(t) => Some(t.clone()),
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(f) => Some(f.to_string()),
        _ => None,
    }
}

/// A value as a report shows it: NULL, integers plainly, reals with full precision.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Text(t) => format!("{t:?}"),
        Value::Blob(b) => format!("<{} bytes>", b.len()),
    }
}
