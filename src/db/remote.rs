//! libSQL servers (Turso, sqld) over HTTP, through the `libsql` crate's remote client. The async
//! client is kept inside this driver: every call blocks on a small runtime of its own.
//!
//! Read-only handles refuse writes outright, and run every query inside a transaction that is
//! rolled back, never committed (the server enforces neither read-only transactions nor
//! `PRAGMA query_only`): each query in a short one of its own, or, for a snapshot handle, all of
//! them in one held for the handle's life. Write batches run as one interactive transaction, so
//! a failing statement is known by its position.
//!
//! Every call has a deadline (`--connect-timeout` to reach the server, `--timeout` for each
//! answer after that) and gives up when a signal asks preflight to stop: a server that accepts
//! and never answers, or one frozen mid-migration, ends the command with an error, never a hang.

use std::future::Future;
use std::time::Duration;

use libsql::TransactionBehavior;

use super::target::{RemoteUrl, Timeouts};
use super::{Access, Db, DbError, DbExt, Row, Stmt, StmtOut, Target, Value};

/// Rows per page when reading a whole table: servers refuse large single responses.
pub const PAGE_ROWS: usize = 2_000;

/// More read transactions a snapshot handle holds on the server, for work spread over threads:
/// one, so that a check runs beside another (and beside SQLite's integrity check) without
/// taking more of a production server than that.
const TWINS: usize = 1;

/// What a twin reads to prove its state (see `RemoteDb::open_with`): as a query, which a
/// read-only token may run (a PRAGMA statement it may not).
const DATA_VERSION: &str = "SELECT data_version FROM pragma_data_version()";
const WITNESS: &str = "SELECT (SELECT schema_version FROM pragma_schema_version()), (SELECT page_count FROM pragma_page_count()), (SELECT freelist_count FROM pragma_freelist_count())";

pub struct RemoteDb {
    /// Taken on drop, to shut down without waiting for a resolver thread that may hang.
    rt: Option<tokio::runtime::Runtime>,
    conn: libsql::Connection,
    /// For a snapshot handle: the transaction every query runs in (rolled back on drop).
    read: Option<libsql::Transaction>,
    /// A twin of a snapshot handle: its read transaction is a BEGIN on the connection's own
    /// stream (rolled back on drop).
    held: bool,
    /// For a snapshot handle: handles proved to read its very state (see `open_with`).
    twins: Vec<RemoteDb>,
    /// When this handle last had an answer, and whether it is known to be gone (a twin left
    /// idle past the server's stream expiry).
    used: std::sync::Mutex<std::time::Instant>,
    gone: std::sync::atomic::AtomicBool,
    target: Target,
    url: RemoteUrl,
    token: String,
    access: Access,
}

/// Why a call ended without an answer.
enum Stop<E> {
    Failed(E),
    TimedOut,
    Interrupted,
}

/// Run `fut` with a deadline, giving up when a signal asks preflight to stop.
async fn bounded<T, E>(
    fut: impl Future<Output = Result<T, E>>,
    limit: Duration,
) -> Result<T, Stop<E>> {
    let stop = async {
        while !crate::interrupt::requested() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        r = tokio::time::timeout(limit, fut) => match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Stop::Failed(e)),
            Err(_) => Err(Stop::TimedOut),
        },
        _ = stop => Err(Stop::Interrupted),
    }
}

/// The `<title>` of an HTML page, if it has one.
fn html_title(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let t: String = text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!t.is_empty()).then_some(t)
}

/// The server's own words from a client error, without the transport's wrapping, on one line,
/// and never the token.
fn clean(e: &libsql::Error, token: &str) -> String {
    let raw = e.to_string();
    let lower = raw.to_ascii_lowercase();
    let msg = if lower.contains("<html") || lower.contains("<!doctype") {
        let status = raw
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 3 && (w.starts_with('4') || w.starts_with('5')));
        format!(
            "the server answered with a web page{}{} instead of speaking libSQL; check that the URL is the database's",
            status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
            html_title(&raw)
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        )
    } else if let Some(i) = raw.find("message: \"") {
        let rest = &raw[i + 10..];
        rest.split("\", code")
            .next()
            .unwrap_or(rest)
            .replace("\\\"", "\"")
    } else if raw.contains("Connection refused") {
        "cannot reach the server: connection refused".to_string()
    } else if raw.contains("401") || lower.contains("unauthorized") {
        "the server refused the auth token (401 Unauthorized); check the token variable (--auth-token-env)".to_string()
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        "cannot reach the server: its host name does not resolve (check the URL)".to_string()
    } else if raw.contains("error trying to connect") {
        let why = raw
            .rsplit(": ")
            .next()
            .unwrap_or("")
            .trim_matches(|c: char| c == '`' || c == '\'' || c.is_whitespace());
        format!("cannot reach the server: {why}")
    } else if lower.contains("unexpected eof")
        || lower.contains("connection closed before message completed")
    {
        "the server closed the connection without an answer (unexpected EOF); a libSQL server does this when the auth token is read-only and the statement is a write or a PRAGMA: use a token with write access".to_string()
    } else {
        raw.trim_start_matches("Hrana: ").to_string()
    };
    let msg = msg.trim_start_matches("SQLite error: ").replace('`', "");
    let msg = msg.split_whitespace().collect::<Vec<_>>().join(" ");
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

/// A statement's first keyword, in capitals.
fn first_keyword(sql: &str) -> String {
    sql.trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// Whether a statement certainly returns no rows: a write or a schema change without RETURNING.
fn returns_no_rows(sql: &str) -> bool {
    matches!(
        first_keyword(sql).as_str(),
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "CREATE" | "DROP" | "ALTER"
    ) && !sql.to_ascii_uppercase().contains("RETURNING")
}

/// Whether a statement can change rows (the server reports a stale count for others).
fn changes_rows(sql: &str) -> bool {
    matches!(
        first_keyword(sql).as_str(),
        "INSERT" | "UPDATE" | "DELETE" | "REPLACE" | "WITH"
    )
}

/// How often a statement the server cancelled is run again. libSQL's server interrupts the
/// statement running on a connection when it believes the request behind it was cancelled
/// (`CoreConnection::run_async` in tursodatabase/libsql, libsql-server/src/connection/
/// connection_core.rs: a dropped request sets a flag its progress handler reads every 100 VM
/// steps); a long statement can see that flag left by an earlier request and fail with
/// "interrupted" although nothing was cancelled. A read is safe to repeat, and so is a write
/// batch whose failing statement came before its COMMIT: the transaction was rolled back.
const SERVER_CANCEL_RETRIES: u32 = 3;

/// Wait before running a statement the server cancelled again, longer each time; false once the
/// retries are spent.
fn back_off(attempt: &mut u32) -> bool {
    if *attempt >= SERVER_CANCEL_RETRIES {
        return false;
    }
    *attempt += 1;
    std::thread::sleep(std::time::Duration::from_millis(100 * u64::from(*attempt)));
    true
}

/// Whether the server answered "interrupted" (and not preflight's own Ctrl-C), as a plain
/// request's error or as a streamed cursor's ("cursor error: error at step 0: (error code:
/// SQLITE_INTERRUPT) SQLite error: interrupted").
fn cancelled_by_server(e: &DbError) -> bool {
    matches!(e, DbError::Sql { message, .. }
        if message == "interrupted" || message.contains("(error code: SQLITE_INTERRUPT)"))
}

/// `PRAGMA integrity_check` or `quick_check`, with or without a table.
fn is_check_pragma(sql: &str) -> bool {
    let s = sql.trim_start();
    first_keyword(s) == "PRAGMA" && {
        let name = s[6..].trim_start().to_ascii_lowercase();
        name.starts_with("integrity_check") || name.starts_with("quick_check")
    }
}

/// One query: inside the snapshot's read transaction, in a short read transaction of its own
/// (always rolled back), or on the connection.
async fn run_once(
    read: &Option<libsql::Transaction>,
    access: Access,
    conn: &libsql::Connection,
    st: &Stmt,
) -> Result<StmtOut, libsql::Error> {
    match (read, access) {
        (Some(tx), _) => RemoteDb::run_on(tx, st, false).await,
        // SQLite's own checks read and never write: one request of their own, whose stream ends
        // with it. In a transaction, a check longer than the server keeps an idle stream (10 s,
        // libsql-server/src/hrana/http/stream.rs, `EXPIRATION`) loses the stream before the
        // ROLLBACK or the next statement ("The stream has expired due to inactivity").
        (None, Access::ReadOnly) if is_check_pragma(&st.sql) => {
            RemoteDb::run_on(conn, st, false).await
        }
        (None, Access::ReadOnly) => {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .await?;
            let out = RemoteDb::run_on(&tx, st, false).await;
            let _ = tx.rollback().await;
            out
        }
        (None, _) => RemoteDb::run_on(conn, st, false).await,
    }
}

impl RemoteDb {
    pub fn open(target: &Target, token: String, access: Access) -> Result<RemoteDb, DbError> {
        Self::open_with(target, token, access, TWINS, &mut || {})
    }

    /// Open a handle; a snapshot comes with up to `twins` more handles proved to read the very
    /// same state. A server has no call that shares one read transaction between streams, so a
    /// twin is proved instead: it reads SQLite's `data_version` (which changes, for one
    /// connection, whenever another connection has committed since its last read,
    /// https://sqlite.org/pragma.html#pragma_data_version) before the snapshot's first read,
    /// then begins its own read transaction and reads it again. The same number means no commit
    /// came between, so both read transactions began on the same state. A Hrana stream is one
    /// SQLite connection until the client closes it, and only queries (which never close it) run
    /// on a twin: libsql-server answers without a baton only for a stream that a close request
    /// ended (`Guard::release`, libsql-server/src/hrana/http/stream.rs), and refuses an expired
    /// one. As a guard against two server processes behind one URL, a twin must also show the
    /// snapshot's schema version, page count and free-list length. A twin that cannot be proved
    /// is closed; the work then stays on the one handle. `between` runs after the twins' first
    /// reads and before the snapshot's (for a test to commit there).
    #[doc(hidden)]
    pub fn open_with(
        target: &Target,
        token: String,
        access: Access,
        twins: usize,
        between: &mut dyn FnMut(),
    ) -> Result<RemoteDb, DbError> {
        let twins = if access == Access::Snapshot { twins } else { 0 };
        let mut candidates = Vec::new();
        for _ in 0..twins {
            let Ok(c) = Self::connect(target, token.clone(), Access::Snapshot) else {
                break;
            };
            match c.scalar_i64(DATA_VERSION, &[]) {
                Ok(Some(v)) => candidates.push((c, v)),
                _ => break,
            }
        }
        between();
        let mut db = Self::connect(target, token, access)?;
        if access != Access::Snapshot {
            return Ok(db);
        }
        let read = db.call("BEGIN", "to the start of a read transaction", async {
            let tx = db
                .conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .await?;
            // the snapshot begins with its first read, now
            let witness = RemoteDb::run_on(&tx, &Stmt::new(WITNESS, Vec::new()), false).await?;
            Ok((tx, witness.rows))
        })?;
        let (read, witness) = read;
        db.read = Some(read);
        for (mut c, before) in candidates {
            c.held = true;
            let proved = c
                .call("BEGIN", "to the start of a read transaction", async {
                    c.conn.query("BEGIN", ()).await?.next().await
                })
                .is_ok()
                && c.scalar_i64(DATA_VERSION, &[]).ok() == Some(Some(before))
                && c.query(WITNESS, &[]).ok().as_ref() == Some(&witness);
            if proved {
                db.twins.push(c);
            }
        }
        Ok(db)
    }

    /// A handle on a fresh connection, after one round trip (an unreachable server or a refused
    /// token fails here, clearly).
    fn connect(target: &Target, token: String, access: Access) -> Result<RemoteDb, DbError> {
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
        let limit = url.timeouts.connect;
        let opened = rt.block_on(bounded(
            async {
                let db = libsql::Builder::new_remote(url.url.clone(), token.clone())
                    .build()
                    .await?;
                let conn = db.connect()?;
                let mut rows = conn.query("SELECT count(*) FROM sqlite_schema", ()).await?;
                rows.next().await?;
                Ok::<_, libsql::Error>(conn)
            },
            limit,
        ));
        let conn = match opened {
            Ok(v) => v,
            Err(stop) => {
                rt.shutdown_background();
                return Err(match stop {
                    Stop::Failed(e) => fail(clean(&e, &token)),
                    Stop::Interrupted => DbError::Interrupted,
                    Stop::TimedOut => DbError::Timeout {
                        target: target.shown(),
                        message: format!(
                            "no answer from the server within {} s (--connect-timeout); check the URL and that the server is up",
                            limit.as_secs()
                        ),
                    },
                });
            }
        };
        Ok(RemoteDb {
            rt: Some(rt),
            conn,
            read: None,
            held: false,
            twins: Vec::new(),
            used: std::sync::Mutex::new(std::time::Instant::now()),
            gone: std::sync::atomic::AtomicBool::new(false),
            target: target.clone(),
            url: url.clone(),
            token,
            access,
        })
    }

    /// Whether a twin is still there to lend: one idle for a while is asked first (the server
    /// drops a stream idle for 10 s, and its read transaction with it).
    fn alive(&self) -> bool {
        use std::sync::atomic::Ordering;
        if self.gone.load(Ordering::SeqCst) {
            return false;
        }
        let idle = self.used.lock().expect("used").elapsed();
        if idle >= Duration::from_secs(4) && self.query("SELECT 1", &[]).is_err() {
            self.gone.store(true, Ordering::SeqCst);
            return false;
        }
        true
    }

    fn timeouts(&self) -> Timeouts {
        self.url.timeouts
    }

    /// Block on one call, bounded by `--timeout` and by signals; `what` names it for the error
    /// and says what became of its transaction.
    fn call<T>(
        &self,
        sql: &str,
        what: &str,
        fut: impl Future<Output = Result<T, libsql::Error>>,
    ) -> Result<T, DbError> {
        let limit = self.timeouts().read;
        let rt = self.rt.as_ref().expect("a runtime until dropped");
        rt.block_on(bounded(fut, limit)).map_err(|stop| match stop {
            Stop::Failed(e) => self.err(sql, &e),
            Stop::Interrupted => DbError::Interrupted,
            Stop::TimedOut => DbError::Timeout {
                target: self.target.shown(),
                message: format!(
                    "the server did not answer within {} s (--timeout) {what}; it may be overloaded or stopped",
                    limit.as_secs()
                ),
            },
        })
    }

    fn err(&self, sql: &str, e: &libsql::Error) -> DbError {
        let message = clean(e, &self.token);
        DbError::Sql {
            target: self.target.shown(),
            message,
            sql: DbError::sql_excerpt(sql),
            offset: None,
        }
    }

    /// Whether the snapshot's read transaction is still open on the server after a statement
    /// in it was interrupted (SQLite keeps a transaction open when a read in it is interrupted,
    /// https://sqlite.org/c3ref/interrupt.html; this asks the server rather than assume it): a
    /// BEGIN inside an open transaction fails with "cannot start a transaction within a
    /// transaction", and one that succeeds means the snapshot is gone.
    fn still_in_snapshot(&self) -> bool {
        let probe = match &self.read {
            Some(tx) => self.call("BEGIN", "to a check of the snapshot", async {
                tx.execute("BEGIN", ()).await.map(|_| ())
            }),
            None if self.held => self.call("BEGIN", "to a check of the snapshot", async {
                self.conn.query("BEGIN", ()).await?.next().await.map(|_| ())
            }),
            None => return false,
        };
        matches!(probe, Err(DbError::Sql { message, .. }) if message.contains("within a transaction"))
    }

    fn snapshot_ended(&self, sql: &str) -> DbError {
        DbError::Sql {
            target: self.target.shown(),
            message: "the server ended the read transaction that holds the one view of the database this command reads (interrupted); run the command again".into(),
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

    /// Run one statement. `in_batch`: inside a write batch's own transaction, where a statement
    /// without rows goes as a plain request: a query's rows come through a streamed cursor
    /// whose response the client stops reading at the end of the rows, and the server takes the
    /// dropped response for a cancelled request (see SERVER_CANCEL_RETRIES), which can
    /// interrupt the next statement of the batch. (Outside such a transaction the client may
    /// close its stream after a plain request, which would end a transaction a script opened.)
    async fn run_on(
        conn: &libsql::Connection,
        st: &Stmt,
        in_batch: bool,
    ) -> Result<StmtOut, libsql::Error> {
        let params: Vec<libsql::Value> = st.params.iter().map(to_libsql).collect();
        if in_batch && returns_no_rows(&st.sql) {
            let changes = conn.execute(&st.sql, params).await?;
            return Ok(StmtOut {
                changes: if changes_rows(&st.sql) { changes } else { 0 },
                rows: Vec::new(),
            });
        }
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
        let mut attempt = 0;
        loop {
            match self.call(
                sql,
                "to a query",
                run_once(&self.read, self.access, &self.conn, &st),
            ) {
                Err(e) if cancelled_by_server(&e) => {
                    // a snapshot holds only while its read transaction is open
                    if self.pinned() && !self.still_in_snapshot() {
                        return Err(self.snapshot_ended(sql));
                    }
                    if !back_off(&mut attempt) {
                        return Err(e);
                    }
                }
                r => {
                    *self.used.lock().expect("used") = std::time::Instant::now();
                    return r.map(|o| o.rows);
                }
            }
        }
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        if self.read_only() {
            return Err(self.refuse(sql));
        }
        let st = Stmt::new(sql, params.to_vec());
        self.call(
            sql,
            "to a statement (whether it took effect is unknown)",
            Self::run_on(&self.conn, &st, false),
        )
        .map(|o| o.changes)
    }

    fn write_batch(&self, stmts: &[Stmt]) -> Result<Vec<StmtOut>, DbError> {
        if self.read_only() {
            return Err(self.refuse(stmts.first().map_or("", |s| s.sql.as_str())));
        }
        let first = stmts.first().map_or("", |s| s.sql.as_str());
        let run = || async {
            let tx = match self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .await
            {
                Ok(tx) => tx,
                Err(e) => return Ok(Err(self.err("BEGIN IMMEDIATE", &e))),
            };
            let mut out = Vec::with_capacity(stmts.len());
            for (index, st) in stmts.iter().enumerate() {
                match Self::run_on(&tx, st, true).await {
                    Ok(o) => out.push(o),
                    Err(e) => {
                        let err = self.err(&st.sql, &e);
                        let _ = tx.rollback().await;
                        return Ok(Err(DbError::InBatch {
                            index,
                            source: Box::new(err),
                        }));
                    }
                }
            }
            if let Err(e) = tx.commit().await {
                return Ok(Err(self.err("COMMIT", &e)));
            }
            Ok::<_, libsql::Error>(Ok(out))
        };
        let mut attempt = 0;
        loop {
            let out = self.call(
                first,
                "to a write transaction (the server commits all of it or none of it; which one is unknown)",
                run(),
            )?;
            match out {
                // a statement before COMMIT was cancelled and the transaction rolled back: nothing
                // of the batch was written, so it runs again
                Err(DbError::InBatch { source, .. })
                    if cancelled_by_server(&source) && back_off(&mut attempt) => {}
                out => return out,
            }
        }
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

    fn pinned(&self) -> bool {
        self.read.is_some() || self.held
    }

    fn twins(&self) -> Vec<&(dyn Db + Sync)> {
        self.twins
            .iter()
            .filter(|t| t.alive())
            .map(|t| t as &(dyn Db + Sync))
            .collect()
    }

    fn unpinned(&self) -> Result<Option<Box<dyn Db>>, DbError> {
        if !self.pinned() {
            return Ok(None);
        }
        Ok(Some(Box::new(RemoteDb::open(
            &Target::Remote(self.url.clone()),
            self.token.clone(),
            Access::ReadOnly,
        )?)))
    }
}

impl Drop for RemoteDb {
    fn drop(&mut self) {
        // the twins' read transactions end first
        self.twins.clear();
        let Some(rt) = self.rt.take() else { return };
        if let Some(tx) = self.read.take()
            && !crate::interrupt::requested()
        {
            let _ = rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), tx.rollback()).await
            });
        }
        if self.held && !crate::interrupt::requested() {
            let _ = rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), async {
                    self.conn.query("ROLLBACK", ()).await?.next().await
                })
                .await
            });
        }
        // never wait for a call still hanging on a silent server
        rt.shutdown_background();
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

    #[test]
    fn the_server_cancelling_a_statement_is_told_from_other_errors() {
        let sql = |message: &str| DbError::Sql {
            target: "http://127.0.0.1:8080".into(),
            message: message.into(),
            sql: "SELECT 1".into(),
            offset: None,
        };
        assert!(cancelled_by_server(&sql("interrupted")));
        assert!(cancelled_by_server(&sql(
            "cursor error: error at step 0: (error code: SQLITE_INTERRUPT) SQLite error: interrupted"
        )));
        assert!(!cancelled_by_server(&sql("no such table: t")));
        assert!(!cancelled_by_server(&DbError::Interrupted));
    }

    #[test]
    fn sqlite_checks_are_told_from_other_pragmas() {
        assert!(is_check_pragma("PRAGMA integrity_check(\"t\")"));
        assert!(is_check_pragma("  pragma Quick_Check"));
        assert!(!is_check_pragma("PRAGMA foreign_key_check"));
        assert!(!is_check_pragma("PRAGMA page_count"));
        assert!(!is_check_pragma("SELECT 1"));
    }
}
