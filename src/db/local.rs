//! Local SQLite files through rusqlite.
//!
//! Before a file is read, what an interrupted writer left is settled as SQLite settles it on any
//! read-write open: a hot rollback journal is rolled back, a write-ahead log recovered (a
//! read-only connection cannot, and fails with "attempt to write a readonly database"). The
//! `-wal` and `-shm` files a read-only connection makes beside a WAL database are removed again
//! when preflight is the last to close it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Access, Db, DbError, Row, Stmt, StmtOut, Target, Value};

pub struct LocalDb {
    conn: Connection,
    target: Target,
    path: PathBuf,
    access: Access,
    /// For read-only handles: SQLite's side files as they were before this handle opened.
    sides: Option<SideFiles>,
}

/// How long a statement waits for a lock another process holds.
const BUSY: Duration = Duration::from_secs(30);

/// Whether SQLite's side files of a database existed, to remove those a read-only connection
/// made (a read-only connection cannot checkpoint and delete them on close).
#[derive(Debug, Clone)]
pub struct SideFiles {
    path: PathBuf,
    wal: bool,
    shm: bool,
}

impl SideFiles {
    pub fn before(path: &Path) -> SideFiles {
        let [_, wal, shm] = crate::interrupt::side_files(path);
        SideFiles {
            path: path.to_path_buf(),
            wal: wal.exists(),
            shm: shm.exists(),
        }
    }

    /// Once the read-only connections are closed: if they made `-wal` or `-shm`, open and close
    /// the file read-write, which makes SQLite remove both when no one else has it open (and
    /// leave them, correctly, when someone does).
    pub fn tidy(&self) {
        let [_, wal, shm] = crate::interrupt::side_files(&self.path);
        if (self.wal || !wal.exists()) && (self.shm || !shm.exists()) {
            return;
        }
        if let Ok(c) = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ) {
            let _ = c.busy_timeout(Duration::from_secs(2));
            let _ = c.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()));
            let _ = c.close();
        }
    }
}

/// Settle what an interrupted writer left beside `path` before it is read: a hot rollback
/// journal is rolled back, a write-ahead log recovered, by a short read-write open (SQLite does
/// nothing when another process is still writing: its journal is not hot). When the file cannot
/// be opened for writing, say exactly what to run.
pub fn settle(path: &Path) -> Result<(), DbError> {
    let [journal, wal, _] = crate::interrupt::side_files(path);
    let hot = std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0);
    let logged = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    if !hot && !logged {
        return Ok(());
    }
    let side = if hot { &journal } else { &wal };
    let refuse = |why: String| DbError::Open {
        target: path.display().to_string(),
        message: format!(
            "{} left by an interrupted write must be rolled back before the database can be read, and preflight cannot ({why}); as a user who may write the file and its directory, run: sqlite3 {} \"PRAGMA quick_check\"",
            side.display(),
            path.display()
        ),
    };
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| refuse(e.to_string()))?;
    crate::interrupt::watch(&mut conn, BUSY).map_err(|e| refuse(e.to_string()))?;
    if conn.is_readonly("main").unwrap_or(true) {
        return Err(refuse("the file is read-only".into()));
    }
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ReadOnly
                    || f.code == rusqlite::ErrorCode::CannotOpen =>
            {
                refuse(e.to_string())
            }
            other => DbError::Open {
                target: path.display().to_string(),
                message: other.to_string(),
            },
        })?;
    conn.close().map_err(|(_, e)| refuse(e.to_string()))?;
    Ok(())
}

/// Refuse, before anything is written, a database file that cannot be written: the file or
/// its directory (where SQLite keeps the journal) not writable, or on a read-only file system.
pub fn check_writable(path: &Path) -> Result<(), DbError> {
    writable(path).map_err(|message| DbError::Open {
        target: Target::Local(path.to_path_buf()).shown(),
        message,
    })
}

/// Whether a write to the file at `path` can succeed: the file and its directory (for the
/// journal) writable, the file system not read-only.
fn writable(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let check = |p: &Path, what: &str| -> Result<(), String> {
            let c = std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
            // SAFETY: access() only reads the NUL-terminated path
            if unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            Err(if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem {
                format!("{what} is on a read-only file system; nothing was written")
            } else {
                format!("{what} is not writable ({e}); nothing was written")
            })
        };
        check(path, "the file")?;
        check(
            &crate::fsutil::parent_dir(path),
            "its directory (where SQLite keeps the journal)",
        )?;
    }
    Ok(())
}

impl LocalDb {
    /// Open an existing database file; a missing file is an error (never created).
    pub fn open(path: &Path, access: Access) -> Result<LocalDb, DbError> {
        Self::open_as(path, Target::Local(path.to_path_buf()), access)
    }

    /// Open the file at `path` and name it `target` in every message (a snapshot copy is named
    /// after the database it was copied from).
    pub fn open_as(path: &Path, target: Target, access: Access) -> Result<LocalDb, DbError> {
        Self::open_with(path, target, access, None)
    }

    fn open_with(
        path: &Path,
        target: Target,
        access: Access,
        sides: Option<SideFiles>,
    ) -> Result<LocalDb, DbError> {
        let shown = target.shown();
        let fail = |message: String| DbError::Open {
            target: shown.clone(),
            message,
        };
        if path.is_dir() {
            return Err(fail(
                "is a directory; give the path of a database file".into(),
            ));
        }
        if !path.is_file() {
            return Err(fail("no such file".into()));
        }
        let read_only = matches!(access, Access::ReadOnly | Access::Snapshot);
        if read_only {
            settle(path)?;
        } else {
            writable(path).map_err(fail)?;
        }
        let sides = read_only.then(|| sides.unwrap_or_else(|| SideFiles::before(path)));
        let flags = if read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| fail(e.to_string()))?;
        let mut setup = String::from("PRAGMA temp_store = MEMORY;");
        match access {
            // Reads come from the kernel's page cache: a small page cache of its own suffices, and
            // no memory map (its pages count in the process's resident memory, once per
            // connection, and it measured no faster on the checks' scans).
            Access::ReadOnly | Access::Snapshot => {
                setup.push_str("PRAGMA query_only = 1; PRAGMA cache_size = -16384;")
            }
            // a throw-away copy: no fsync (a crash of the machine may lose it; a killed process
            // does not); a page cache as small as measured no slower, as a rehearsal holds
            // several such connections at once
            Access::Rehearsal => {
                setup.push_str("PRAGMA synchronous = OFF; PRAGMA cache_size = -32768;")
            }
            Access::Write => setup.push_str("PRAGMA cache_size = -131072;"),
        }
        crate::interrupt::watch(&mut conn, BUSY).map_err(|e| fail(e.to_string()))?;
        conn.execute_batch(&setup)
            .map_err(|e| fail(e.to_string()))?;
        conn.set_prepared_statement_cache_capacity(64);
        // a file that is not a database fails on first read, not on open
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
            .map_err(|e| fail(e.to_string()))?;
        Ok(LocalDb {
            conn,
            target,
            path: path.to_path_buf(),
            access,
            sides,
        })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn sql_error(&self, sql: &str, e: rusqlite::Error) -> DbError {
        if crate::interrupt::requested()
            && matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::OperationInterrupted)
        {
            return DbError::Interrupted;
        }
        if matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull)
        {
            return DbError::Full {
                target: self.target.shown(),
                free: crate::fsutil::free_space(&crate::fsutil::parent_dir(&self.path)),
            };
        }
        let (message, offset) = match &e {
            rusqlite::Error::SqliteFailure(_, Some(m)) => (m.clone(), None),
            rusqlite::Error::SqlInputError { msg, offset, .. } => {
                (msg.clone(), usize::try_from(*offset).ok())
            }
            other => (other.to_string(), None),
        };
        DbError::Sql {
            target: self.target.shown(),
            message,
            sql: DbError::sql_excerpt(sql),
            offset,
        }
    }

    fn run(&self, st: &Stmt) -> Result<StmtOut, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(&st.sql)
            .map_err(|e| self.sql_error(&st.sql, e))?;
        let params = rusqlite::params_from_iter(st.params.iter());
        if stmt.column_count() > 0 {
            let n = stmt.column_count();
            let rows = stmt
                .query_map(params, |r| (0..n).map(|i| value(r, i)).collect())
                .and_then(|it| it.collect::<rusqlite::Result<Vec<Row>>>())
                .map_err(|e| self.sql_error(&st.sql, e))?;
            Ok(StmtOut { changes: 0, rows })
        } else {
            let total = self.conn.total_changes();
            let changes = stmt
                .execute(params)
                .map_err(|e| self.sql_error(&st.sql, e))?;
            // SQLite keeps the last INSERT/UPDATE/DELETE count across other statements (DDL):
            // a statement that changed no row at all reports 0
            let changes = if self.conn.total_changes() == total {
                0
            } else {
                changes as u64
            };
            Ok(StmtOut {
                changes,
                rows: Vec::new(),
            })
        }
    }
}

impl Db for LocalDb {
    fn target(&self) -> &Target {
        &self.target
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        Ok(self.run(&Stmt::new(sql, params.to_vec()))?.rows)
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        Ok(self.run(&Stmt::new(sql, params.to_vec()))?.changes)
    }

    fn write_batch(&self, stmts: &[Stmt]) -> Result<Vec<StmtOut>, DbError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.sql_error("BEGIN IMMEDIATE", e))?;
        let mut out = Vec::with_capacity(stmts.len());
        for (index, st) in stmts.iter().enumerate() {
            match self.run(st) {
                Ok(o) => out.push(o),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(DbError::InBatch {
                        index,
                        source: Box::new(e),
                    });
                }
            }
        }
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(self.sql_error("COMMIT", e));
        }
        Ok(out)
    }

    fn for_each(
        &self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&[Value]) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.sql_error(sql, e))?;
        let n = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(|e| self.sql_error(sql, e))?;
        let mut buf: Vec<Value> = Vec::with_capacity(n);
        while let Some(r) = rows.next().map_err(|e| self.sql_error(sql, e))? {
            buf.clear();
            for i in 0..n {
                buf.push(value(r, i).map_err(|e| self.sql_error(sql, e))?);
            }
            f(&buf)?;
        }
        Ok(())
    }

    fn reopen(&self) -> Result<Box<dyn Db>, DbError> {
        // the side files as they were before the first handle: the last handle closed tidies
        Ok(Box::new(LocalDb::open_with(
            &self.path,
            self.target.clone(),
            self.access,
            self.sides.clone(),
        )?))
    }

    fn as_local(&self) -> Option<&LocalDb> {
        Some(self)
    }
}

/// A column's value; TEXT that is not valid UTF-8 (SQLite stores what it is given) comes back
/// as its bytes, so that it can be compared and shown rather than stop the command.
fn value(r: &rusqlite::Row, i: usize) -> rusqlite::Result<Value> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Value::Text(s.to_string()),
            Err(_) => Value::Blob(t.to_vec()),
        },
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

impl Drop for LocalDb {
    fn drop(&mut self) {
        if let Some(sides) = self.sides.take() {
            // close this connection first: the side files go only when no one has the file open
            let conn = std::mem::replace(
                &mut self.conn,
                Connection::open_in_memory().expect("an in-memory database"),
            );
            drop(conn);
            sides.tidy();
        }
    }
}
