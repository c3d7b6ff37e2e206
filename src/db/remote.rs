//! libSQL servers (Turso, sqld) over HTTP, through the `libsql` crate's remote client. The async
//! client is kept inside this driver: every call blocks on a small runtime of its own.
//!
//! Read-only handles refuse writes outright, and run every query inside a transaction that is
//! rolled back, never committed (the server enforces neither read-only transactions nor
//! `PRAGMA query_only`): each query in a short one of its own, or, for a snapshot handle, all of
//! them in one held for the handle's life. Write batches run as one interactive transaction, so
//! a failing statement is known by its position.

use std::time::Duration;

use libsql::TransactionBehavior;

use super::target::RemoteUrl;
use super::{Access, Db, DbError, Row, Stmt, StmtOut, Target, Value};

/// Rows per page when reading a whole table: servers refuse large single responses.
pub const PAGE_ROWS: usize = 2_000;

pub struct RemoteDb {
    rt: tokio::runtime::Runtime,
    conn: libsql::Connection,
    /// For a snapshot handle: the transaction every query runs in (rolled back on drop).
    read: Option<libsql::Transaction>,
    target: Target,
    url: RemoteUrl,
    token: String,
    access: Access,
}

/// The server's own words from a client error, without the transport's wrapping, and never
/// the token.
fn clean(e: &libsql::Error, token: &str) -> String {
    let raw = e.to_string();
    let msg = if let Some(i) = raw.find("message: \"") {
        let rest = &raw[i + 10..];
        rest.split("\", code")
            .next()
            .unwrap_or(rest)
            .replace("\\\"", "\"")
    } else if raw.contains("Connection refused") {
        "cannot reach the server: connection refused".to_string()
    } else if raw.contains("401") || raw.to_ascii_lowercase().contains("unauthorized") {
        "the server refused the auth token (401 Unauthorized); check the token variable (--auth-token-env)".to_string()
    } else if raw.contains("error trying to connect") || raw.contains("dns error") {
        format!(
            "cannot reach the server: {}",
            raw.trim_start_matches("Hrana: ")
        )
    } else {
        raw.trim_start_matches("Hrana: ").to_string()
    };
    let msg = msg.trim_start_matches("SQLite error: ").to_string();
    if token.len() >= 4 {
        msg.replace(token, "***")
    } else {
        msg
    }
}

fn to_libsql(v: &Value) -> libsql::Value {
    match v {
        Value::Null => libsql::Value::Null,
        Value::Integer(i) => libsql::Value::Integer(*i),
        Value::Real(f) => libsql::Value::Real(*f),
        Value::Text(t) => libsql::Value::Text(t.clone()),
        Value::Blob(b) => libsql::Value::Blob(b.clone()),
    }
}

fn from_libsql(v: libsql::Value) -> Value {
    match v {
        libsql::Value::Null => Value::Null,
        libsql::Value::Integer(i) => Value::Integer(i),
        libsql::Value::Real(f) => Value::Real(f),
        libsql::Value::Text(t) => Value::Text(t),
        libsql::Value::Blob(b) => Value::Blob(b),
    }
}

/// Whether a statement can change rows (the server reports a stale count for others).
fn changes_rows(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "WITH"
    )
}

impl RemoteDb {
    pub fn open(target: &Target, token: String, access: Access) -> Result<RemoteDb, DbError> {
        let Target::Remote(url) = target else {
            unreachable!("a remote target")
        };
        let fail = |message: String| DbError::Open {
            target: target.shown(),
            message,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let (conn, read) = rt
            .block_on(async {
                let db = libsql::Builder::new_remote(url.url.clone(), token.clone())
                    .build()
                    .await
                    .map_err(|e| clean(&e, &token))?;
                let conn = db.connect().map_err(|e| clean(&e, &token))?;
                // one round trip now: an unreachable server or a refused token fails here, clearly
                let mut rows = conn
                    .query("SELECT count(*) FROM sqlite_schema", ())
                    .await
                    .map_err(|e| clean(&e, &token))?;
                rows.next().await.map_err(|e| clean(&e, &token))?;
                let read = if access == Access::Snapshot {
                    Some(
                        conn.transaction_with_behavior(TransactionBehavior::Deferred)
                            .await
                            .map_err(|e| clean(&e, &token))?,
                    )
                } else {
                    None
                };
                Ok::<_, String>((conn, read))
            })
            .map_err(fail)?;
        Ok(RemoteDb {
            rt,
            conn,
            read,
            target: target.clone(),
            url: url.clone(),
            token,
            access,
        })
    }

    fn err(&self, sql: &str, e: &libsql::Error) -> DbError {
        let mut message = clean(e, &self.token);
        if message == "interrupted" && self.read.is_some() {
            message = "the server ended the read transaction of this snapshot (interrupted); try again when the database is quieter".into();
        }
        DbError::Sql {
            target: self.target.shown(),
            message,
            sql: DbError::sql_excerpt(sql),
            offset: None,
        }
    }

    fn refuse(&self, sql: &str) -> DbError {
        DbError::Sql {
            target: self.target.shown(),
            message: "this handle is read-only".into(),
            sql: DbError::sql_excerpt(sql),
            offset: None,
        }
    }

    fn read_only(&self) -> bool {
        matches!(self.access, Access::ReadOnly | Access::Snapshot)
    }

    async fn run_on(conn: &libsql::Connection, st: &Stmt) -> Result<StmtOut, libsql::Error> {
        let params: Vec<libsql::Value> = st.params.iter().map(to_libsql).collect();
        let mut rows = conn.query(&st.sql, params).await?;
        let n = rows.column_count();
        let mut out = Vec::new();
        while let Some(r) = rows.next().await? {
            let mut row = Vec::with_capacity(n as usize);
            for i in 0..n {
                row.push(from_libsql(r.get_value(i)?));
            }
            out.push(row);
        }
        let changes = if n == 0 && changes_rows(&st.sql) {
            conn.changes()
        } else {
            0
        };
        Ok(StmtOut { changes, rows: out })
    }
}

impl Db for RemoteDb {
    fn target(&self) -> &Target {
        &self.target
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let st = Stmt::new(sql, params.to_vec());
        let run = async {
            match (&self.read, self.access) {
                (Some(tx), _) => Self::run_on(tx, &st).await,
                // a short transaction of its own, always rolled back
                (None, Access::ReadOnly) => {
                    let tx = self
                        .conn
                        .transaction_with_behavior(TransactionBehavior::Deferred)
                        .await?;
                    let out = Self::run_on(&tx, &st).await;
                    let _ = tx.rollback().await;
                    out
                }
                (None, _) => Self::run_on(&self.conn, &st).await,
            }
        };
        self.rt
            .block_on(run)
            .map(|o| o.rows)
            .map_err(|e| self.err(sql, &e))
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        if self.read_only() {
            return Err(self.refuse(sql));
        }
        let st = Stmt::new(sql, params.to_vec());
        self.rt
            .block_on(Self::run_on(&self.conn, &st))
            .map(|o| o.changes)
            .map_err(|e| self.err(sql, &e))
    }

    fn write_batch(&self, stmts: &[Stmt]) -> Result<Vec<StmtOut>, DbError> {
        if self.read_only() {
            return Err(self.refuse(stmts.first().map_or("", |s| s.sql.as_str())));
        }
        self.rt.block_on(async {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .await
                .map_err(|e| self.err("BEGIN IMMEDIATE", &e))?;
            let mut out = Vec::with_capacity(stmts.len());
            for (index, st) in stmts.iter().enumerate() {
                match Self::run_on(&tx, st).await {
                    Ok(o) => out.push(o),
                    Err(e) => {
                        let err = self.err(&st.sql, &e);
                        let _ = tx.rollback().await;
                        return Err(DbError::InBatch {
                            index,
                            source: Box::new(err),
                        });
                    }
                }
            }
            tx.commit().await.map_err(|e| self.err("COMMIT", &e))?;
            Ok(out)
        })
    }

    fn reopen(&self) -> Result<Box<dyn Db>, DbError> {
        Ok(Box::new(RemoteDb::open(
            &Target::Remote(self.url.clone()),
            self.token.clone(),
            self.access,
        )?))
    }

    fn page_rows(&self) -> Option<usize> {
        Some(PAGE_ROWS)
    }
}

impl Drop for RemoteDb {
    fn drop(&mut self) {
        if let Some(tx) = self.read.take() {
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), tx.rollback()).await
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_data_changes_count_rows() {
        assert!(changes_rows("  INSERT INTO t VALUES (1)"));
        assert!(changes_rows("with x AS (SELECT 1) DELETE FROM t"));
        assert!(!changes_rows("CREATE INDEX i ON t (a)"));
        assert!(!changes_rows("DROP INDEX IF EXISTS i"));
    }
}
