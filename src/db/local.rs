//! Local SQLite files through rusqlite.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{Access, Db, DbError, Row, Stmt, StmtOut, Target, Value};

pub struct LocalDb {
    conn: Connection,
    target: Target,
    path: PathBuf,
    access: Access,
}

impl LocalDb {
    /// Open an existing database file; a missing file is an error (never created).
    pub fn open(path: &Path, access: Access) -> Result<LocalDb, DbError> {
        let target = Target::Local(path.to_path_buf());
        let fail = |message: String| DbError::Open {
            target: path.display().to_string(),
            message,
        };
        if !path.is_file() {
            return Err(fail("no such file".into()));
        }
        let flags = match access {
            Access::ReadOnly | Access::Snapshot => OpenFlags::SQLITE_OPEN_READ_ONLY,
            _ => OpenFlags::SQLITE_OPEN_READ_WRITE,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| fail(e.to_string()))?;
        let mut setup = String::from("PRAGMA temp_store = MEMORY;");
        match access {
            // reads go through a memory map of the file; a small page cache of its own suffices
            Access::ReadOnly | Access::Snapshot => setup.push_str(
                "PRAGMA query_only = 1; PRAGMA mmap_size = 4294967296; PRAGMA cache_size = -32768;",
            ),
            // a throw-away copy: no fsync (a crash of the machine may lose it; a killed process does not)
            Access::Rehearsal => {
                setup.push_str("PRAGMA synchronous = OFF; PRAGMA cache_size = -131072;")
            }
            Access::Write => setup.push_str("PRAGMA cache_size = -131072;"),
        }
        conn.execute_batch(&setup)
            .map_err(|e| fail(e.to_string()))?;
        conn.busy_timeout(Duration::from_secs(30))
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
        })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn sql_error(&self, sql: &str, e: rusqlite::Error) -> DbError {
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
                .query_map(params, |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
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
                buf.push(r.get::<_, Value>(i).map_err(|e| self.sql_error(sql, e))?);
            }
            f(&buf)?;
        }
        Ok(())
    }

    fn reopen(&self) -> Result<Box<dyn Db>, DbError> {
        Ok(Box::new(LocalDb::open(&self.path, self.access)?))
    }

    fn as_local(&self) -> Option<&LocalDb> {
        Some(self)
    }
}
