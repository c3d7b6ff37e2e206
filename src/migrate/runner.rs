//! How production executes a SQL script: a runner profile is a name and three settings. A
//! rehearsal reproduces them, because the runner decides the result (a `PRAGMA foreign_keys=OFF`
//! takes effect under one runner and is silently ignored under another; an error stops one runner
//! and not another).
//!
//! The profiles of single-script runners (`atomic`, `sqlite3`, `turso-shell`) and of the
//! migration tools (drizzle, dbmate, sqlx, …) are all expressed with these settings.
//!
//! Execution is SQLite's own: every statement runs on a real connection, in order, and the runner
//! only decides where transactions begin and end, what foreign keys are at the start, and whether
//! an error stops the script. What SQLite does inside (a pragma ignored in a transaction, a
//! failing statement rolled back alone, a cascade) is therefore what production gets.
//!
//! A script runs contained: before anything runs, statements that would reach outside the
//! database or end the runner's transaction are refused with their file and line; on a local file
//! SQLite's authorizer refuses the same actions again wherever they hide (a trigger, a view) and
//! `SQLITE_DBCONFIG_DEFENSIVE` forbids writing the schema directly. The authorizer also hands every
//! action to an optional [`Watch`], where per-statement checks can attach.

use std::collections::BTreeMap;
use std::ffi::{CString, c_int};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::script::{Kind, Script, ScriptError, ScriptStmt, line_within};
use crate::db::{Db, DbError, Value, as_i64, as_text};

/// Whether foreign keys are enforced when the script starts (a script may change it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ForeignKeys {
    On,
    Off,
}

/// How statements are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Transactions {
    /// One transaction around the whole script (its own BEGIN/COMMIT folded into it).
    Script,
    /// Each statement on its own (autocommit), the script's BEGIN/COMMIT ignored.
    Statement,
    /// As the script says: autocommit, except between its own BEGIN and COMMIT/ROLLBACK.
    AsWritten,
}

/// What happens after a statement fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Stop at the failing statement (rolling back what the open transaction holds).
    Stop,
    /// Report the error and go on with the next statement.
    Continue,
}

/// Where a script's pragmas run when the runner holds one transaction around it
/// (`Transactions::Script`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pragmas {
    /// The pragmas that lead the script run before the transaction begins, as SQLite's
    /// documented table-rebuild procedure does; one further in that SQLite would ignore there
    /// and that would change what follows is refused with its line.
    Hoisted,
    /// Every statement runs where it is written, inside the transaction: SQLite ignores a
    /// `foreign_keys` pragma there (a warning says so), as it does under a tool that opens its
    /// transaction first.
    InPlace,
}

/// Who holds the one transaction around a script (`Transactions::Script`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Holder {
    /// preflight's own runner: the script's own BEGIN/COMMIT are folded into its transaction,
    /// and a script that leaves a foreign key pointing nowhere is rolled back.
    Preflight,
    /// A migration tool: the script's statements go to SQLite as written (its own BEGIN fails
    /// inside the tool's transaction), and the tool commits whatever `PRAGMA foreign_key_check`
    /// would say, as no tool checks it.
    Tool,
}

/// A runner: how one script is executed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Runner {
    /// The profile's name as `--runner` takes it (or `custom`).
    pub name: String,
    pub foreign_keys: ForeignKeys,
    pub transactions: Transactions,
    pub on_error: OnError,
    pub pragmas: Pragmas,
    pub holder: Holder,
    /// The migration tool whose execution of one file this is (`--runner dbmate`), when it is
    /// one: the file is then read as that tool reads it (`crate::migrations::file`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<crate::migrations::Tool>,
}

/// The profiles `--runner` takes: the single-script runners, then the migration tools
/// (`crate::migrations::Tool::name`), each running one file as it runs one migration file.
pub const PROFILES: [&str; 12] = [
    "atomic",
    "sqlite3",
    "turso-shell",
    "liveone",
    "drizzle",
    "drizzle-better-sqlite3",
    "sqlx",
    "golang-migrate",
    "dbmate",
    "goose",
    "prisma",
    "refinery",
];

impl Default for Runner {
    fn default() -> Runner {
        Runner::atomic()
    }
}

impl Runner {
    /// preflight's own `apply`: one transaction around the script, foreign keys on (as the
    /// bundled SQLite and the libSQL server start), the first error rolls everything back.
    pub fn atomic() -> Runner {
        Runner {
            name: "atomic".into(),
            foreign_keys: ForeignKeys::On,
            transactions: Transactions::Script,
            on_error: OnError::Stop,
            pragmas: Pragmas::Hoisted,
            holder: Holder::Preflight,
            tool: None,
        }
    }

    /// `sqlite3 DB < script.sql`: the shell's connection starts with foreign keys off (SQLite's
    /// compile-time default, which the shell keeps), every statement commits on its own unless
    /// the script opened a transaction, and an error is printed and the next statement runs
    /// (unless `.bail on`). At exit an open transaction is rolled back (closing the connection).
    pub fn sqlite3() -> Runner {
        Runner {
            name: "sqlite3".into(),
            foreign_keys: ForeignKeys::Off,
            transactions: Transactions::AsWritten,
            on_error: OnError::Continue,
            pragmas: Pragmas::InPlace,
            holder: Holder::Preflight,
            tool: None,
        }
    }

    /// `turso db shell DB < script.sql`. From the sources:
    /// - turso-cli `internal/cmd/db_shell.go`: when stdin is not a terminal the CLI connects over
    ///   `https://` (not `wss://`), reads all of stdin and passes it as one string to
    ///   `shell.RunShellLine` (libsql-shell-go), which runs it as statements unless it starts
    ///   with `.`.
    /// - libsql-shell-go `internal/db/db.go`, `prepareStatementsIntoQueries`: over `http(s)://`
    ///   the script is not split; the whole text is one `QueryContext` call.
    /// - libsql-client-go `libsql/internal/http/hranaV2/hranaV2.go`, `executeStmt`: the text is
    ///   split into statements and sent as one Hrana batch (`hrana.BatchStream` in
    ///   `libsql/internal/hrana/stream_request.go`): step i runs only if step i-1 succeeded, and a
    ///   final `ROLLBACK` step runs if the last step did not. No BEGIN is added: each statement
    ///   autocommits unless the script's own BEGIN is open, the first error stops the script, and
    ///   an open transaction of the script is rolled back. (Scripts over 20 MiB go another way:
    ///   `executeInChunks` wraps them in one BEGIN…COMMIT and drops the script's own
    ///   BEGIN/COMMIT/END/ROLLBACK statements.)
    /// - Foreign keys: the statements run on the libSQL server's connection, which enforces
    ///   them (the server's default; a script's `PRAGMA foreign_keys=OFF` outside a transaction
    ///   takes effect for the statements after it).
    pub fn turso_shell() -> Runner {
        Runner {
            name: "turso-shell".into(),
            foreign_keys: ForeignKeys::On,
            transactions: Transactions::AsWritten,
            on_error: OnError::Stop,
            pragmas: Pragmas::InPlace,
            holder: Holder::Preflight,
            tool: None,
        }
    }

    /// A profile by name.
    pub fn profile(name: &str) -> Option<Runner> {
        match name {
            "atomic" => Some(Runner::atomic()),
            "sqlite3" => Some(Runner::sqlite3()),
            "turso-shell" | "turso" => Some(Runner::turso_shell()),
            _ => crate::migrations::Tool::ALL
                .into_iter()
                .find(|t| t.name() == name)
                .map(crate::migrations::file::tool_runner),
        }
    }

    /// The profile with some settings given by flags; a changed profile is named as such.
    pub fn with(
        mut self,
        foreign_keys: Option<ForeignKeys>,
        transactions: Option<Transactions>,
        on_error: Option<OnError>,
    ) -> Runner {
        let before = self.clone();
        self.foreign_keys = foreign_keys.unwrap_or(self.foreign_keys);
        self.transactions = transactions.unwrap_or(self.transactions);
        self.on_error = on_error.unwrap_or(self.on_error);
        if self != before {
            self.name = format!("{} (changed by flags)", before.name);
        }
        self
    }

    /// The profile and its settings, in words, for report headers.
    pub fn describe(&self) -> String {
        format!(
            "{}: foreign keys {} at start; {}; {}",
            self.name,
            match self.foreign_keys {
                ForeignKeys::On => "on",
                ForeignKeys::Off => "off",
            },
            match (self.transactions, self.pragmas) {
                (Transactions::Script, Pragmas::Hoisted) =>
                    "one transaction around the script, its leading pragmas applied before it",
                (Transactions::Script, Pragmas::InPlace) =>
                    "one transaction around the script, its pragmas inside it",
                (Transactions::Statement, _) => "every statement commits on its own",
                (Transactions::AsWritten, _) => "transactions as the script writes them",
            },
            match self.on_error {
                OnError::Stop => "the first error stops the script",
                OnError::Continue => "an error does not stop the script",
            }
        )
    }

    /// Does production understand the sqlite3 shell's dot-commands?
    fn shell(&self) -> bool {
        self.name.starts_with("sqlite3")
    }
}

/// Something the runner says about a statement that is not an error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub line: usize,
    pub text: String,
    /// Production does something the script's author may not expect (a pragma that SQLite
    /// ignores, a transaction left open).
    pub warn: bool,
}

/// Rows a statement returned: its columns, the first rows, and how many there were.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    pub total: u64,
}

/// What happened to one statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It ran: rows it changed itself (not counting triggers and cascades), and rows it
    /// returned.
    Ran {
        changes: u64,
        output: Option<Output>,
    },
    Failed {
        message: String,
    },
    /// The script's own BEGIN/COMMIT, folded into the runner's one transaction.
    Folded,
    /// Not run, on purpose (a transaction statement under `--transactions statement`, an
    /// output-only dot-command).
    Ignored {
        why: String,
    },
    /// Not run: the script had stopped.
    NotRun,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StmtRun {
    pub line: usize,
    pub statement: String,
    /// It begins, ends or nests a transaction (not a change of its own).
    pub control: bool,
    pub outcome: Outcome,
    /// Its effect stayed (it ran, and the transaction it ran in committed).
    pub kept: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The line of the offending token when SQLite points at it, else the statement's.
    pub line: usize,
    pub statement: String,
    pub message: String,
}

/// A row that `PRAGMA foreign_key_check` reports after the script and not before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FkViolation {
    pub table: String,
    pub rowid: Option<i64>,
    pub parent: String,
}

/// Everything one run of a script did.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub runner: Runner,
    pub path: String,
    pub statements: Vec<StmtRun>,
    pub notes: Vec<Note>,
    pub failures: Vec<Failure>,
    /// The line where the script stopped, when an error stopped it.
    pub stopped_at: Option<usize>,
    /// New foreign key violations after the script (table, rowid, parent), up to 100.
    pub fk_violations: Vec<FkViolation>,
    /// How many new violations in all.
    pub fk_violation_count: u64,
}

impl Run {
    /// Every statement ran, and no foreign key points nowhere.
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.fk_violation_count == 0
    }

    /// Rows the statements changed themselves (triggers and cascades are in the diff).
    pub fn direct_changes(&self) -> u64 {
        self.statements
            .iter()
            .map(|s| match &s.outcome {
                Outcome::Ran { changes, .. } => *changes,
                _ => 0,
            })
            .sum()
    }

    /// Statements that ran without error.
    pub fn ran(&self) -> usize {
        self.statements
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Ran { .. }))
            .count()
    }

    /// What of the script stayed, in words: "every statement was kept", "nothing of the script
    /// was kept", or "kept: lines 1-3, 5; not kept: lines 6-9".
    pub fn kept(&self) -> String {
        let ran: Vec<&StmtRun> = self
            .statements
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Ran { .. }) && !s.control)
            .collect();
        let kept: Vec<usize> = ran.iter().filter(|s| s.kept).map(|s| s.line).collect();
        let lost: Vec<usize> = ran.iter().filter(|s| !s.kept).map(|s| s.line).collect();
        if kept.is_empty() {
            "nothing of the script was kept".into()
        } else if lost.is_empty() && self.failures.is_empty() {
            "every statement was kept".into()
        } else if lost.is_empty() {
            format!(
                "kept: the statements at lines {} (every one that ran without error)",
                ranges(&kept)
            )
        } else {
            format!(
                "kept: the statements at lines {}; rolled back: lines {}",
                ranges(&kept),
                ranges(&lost)
            )
        }
    }

    /// The first failure as an error naming file and line, and what stayed.
    pub fn error(&self) -> Option<ScriptError> {
        if let Some(f) = self.failures.first() {
            let more = match self.failures.len() {
                1 => String::new(),
                n => format!(" ({} more errors after it)", n - 1),
            };
            return Some(ScriptError::Failed {
                path: self.path.clone().into(),
                line: f.line,
                statement: f.statement.clone(),
                message: format!("{}{more}; {}", f.message, self.kept()),
            });
        }
        if self.fk_violation_count > 0 && !self.statements.iter().any(|s| s.kept) {
            let v = self.fk_violations.first();
            return Some(ScriptError::Failed {
                path: self.path.clone().into(),
                line: self.statements.last().map_or(0, |s| s.line),
                statement: "PRAGMA foreign_key_check (end of script)".into(),
                message: format!(
                    "{} row(s) would point to a missing parent{}",
                    self.fk_violation_count,
                    v.map_or(String::new(), |v| format!(
                        " (first: {} rowid {} → {})",
                        v.table,
                        v.rowid.map_or("?".into(), |r| r.to_string()),
                        v.parent
                    ))
                ) + "; "
                    + &self.kept(),
            });
        }
        None
    }

    /// The statements that returned rows (queries the script runs to check itself).
    pub fn outputs(&self) -> impl Iterator<Item = (&StmtRun, &Output)> {
        self.statements.iter().filter_map(|s| match &s.outcome {
            Outcome::Ran {
                output: Some(o), ..
            } => Some((s, o)),
            _ => None,
        })
    }
}

/// "1-3, 5, 7-8"
fn ranges(lines: &[usize]) -> String {
    let lines: Vec<u64> = lines.iter().map(|&l| l as u64).collect();
    crate::report::render::phrase::line_ranges(&lines)
}

/// Watches every statement the runner runs on a local file: SQLite asks it about every action
/// while preparing the statement (tables read and written, functions called, …), after the
/// runner's own containment rules allowed it. The line is the statement's.
pub trait Watch: Send {
    /// A statement at `line` is about to be prepared (0: one of the runner's own).
    fn statement(&mut self, line: usize) {
        let _ = line;
    }

    fn authorize(&mut self, line: usize, action: &AuthContext<'_>) -> Authorization {
        let _ = (line, action);
        Authorization::Allow
    }
}

/// Several watches on one session: each sees every statement and every action; an action is
/// allowed only when every watch allows it (the first answer other than Allow is SQLite's).
pub struct Watches(pub Vec<Box<dyn Watch>>);

impl Watch for Watches {
    fn statement(&mut self, line: usize) {
        for w in &mut self.0 {
            w.statement(line);
        }
    }

    fn authorize(&mut self, line: usize, action: &AuthContext<'_>) -> Authorization {
        let mut answer = Authorization::Allow;
        for w in &mut self.0 {
            let a = w.authorize(line, action);
            if matches!(answer, Authorization::Allow) {
                answer = a;
            }
        }
        answer
    }
}

// ---------------------------------------------------------------------------------------------
// What may run: refusals and notes before anything runs.

/// Pragmas that SQLite ignores inside a transaction (pragma.c: "Foreign key support may not be
/// enabled or disabled while not in auto-commit mode"). Others, `legacy_alter_table` among them,
/// take effect inside one (tests below prove both).
const IGNORED_IN_TRANSACTION: [&str; 1] = ["foreign_keys"];

/// Dot-commands of the sqlite3 shell that only change how output looks.
const OUTPUT_DOT_COMMANDS: [&str; 14] = [
    ".headers",
    ".mode",
    ".print",
    ".echo",
    ".timer",
    ".changes",
    ".nullvalue",
    ".separator",
    ".width",
    ".show",
    ".tables",
    ".schema",
    ".indexes",
    ".help",
];

fn truthy(v: &str) -> Option<bool> {
    match v {
        "1" | "on" | "true" | "yes" => Some(true),
        "0" | "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Why a statement may not run at all, wherever it runs: it reaches outside the database.
fn escapes(st: &ScriptStmt) -> Option<String> {
    if st.loads_extension {
        return Some("load_extension() loads native code into the process".into());
    }
    match &st.kind {
        Kind::Attach { file } => match file.as_deref() {
            Some(":memory:") | Some("") => None,
            Some(f) => Some(format!(
                "ATTACH opens another database file ({f}), which the script could write to; a script may only touch its own database"
            )),
            None => Some(
                "ATTACH of a computed file name; a script may only touch its own database".into(),
            ),
        },
        Kind::Vacuum { into: true } => {
            Some("VACUUM INTO writes a full copy of the database to another file".into())
        }
        Kind::Pragma {
            name,
            value: Some(_),
        } if matches!(
            name.as_str(),
            "writable_schema" | "temp_store_directory" | "data_store_directory"
        ) =>
        {
            Some(format!(
                "PRAGMA {name} lets a script write the schema or files directly and can leave a corrupt database"
            ))
        }
        Kind::Pragma {
            name,
            value: Some(_),
        } if name == "schema_version" => Some(SCHEMA_COOKIE.into()),
        _ => None,
    }
}

/// Could a statement behave differently with foreign keys on or off?
fn depends_on_foreign_keys(st: &ScriptStmt) -> bool {
    if st.kind != Kind::Sql {
        return false;
    }
    let first = super::script::tokens(&super::script::without_comments(&st.sql))
        .first()
        .map(|t| t.to_ascii_uppercase())
        .unwrap_or_default();
    !matches!(
        first.as_str(),
        "CREATE" | "SELECT" | "VALUES" | "ANALYZE" | "REINDEX" | "EXPLAIN"
    )
}

fn refuse(script: &Script, st: &ScriptStmt, why: String) -> ScriptError {
    ScriptError::Refused {
        path: script.path.clone(),
        line: st.line,
        statement: st.excerpt(),
        why,
    }
}

/// The leading statements the runner runs before its own transaction (under
/// `Transactions::Script`): the pragmas (and the script's BEGIN) that come first.
fn leading(script: &Script) -> usize {
    script
        .statements
        .iter()
        .position(|s| !matches!(s.kind, Kind::Pragma { .. } | Kind::Begin | Kind::Dot { .. }))
        .unwrap_or(script.statements.len())
}

impl Runner {
    /// What the runner refuses, before anything runs (the first refusal, with its file and
    /// line), and what it notes about statements it will run differently from how they read.
    pub fn check(&self, script: &Script) -> Result<Vec<Note>, ScriptError> {
        let mut notes = Vec::new();
        let lead = leading(script);
        let mut keys = self.foreign_keys == ForeignKeys::On;
        let mut folded = Vec::new();
        for (i, st) in script.statements.iter().enumerate() {
            if let Some(why) = escapes(st) {
                return Err(refuse(script, st, why));
            }
            match &st.kind {
                Kind::Dot { command, args } => {
                    if !self.shell() {
                        return Err(refuse(
                            script,
                            st,
                            format!(
                                "{command} is a sqlite3 shell command, which the {} runner would send to SQLite as SQL; if production runs this script in the sqlite3 shell, rehearse with --runner sqlite3",
                                self.name
                            ),
                        ));
                    }
                    if command == ".bail" {
                        if !matches!(args.first().map(String::as_str), Some("on" | "off")) {
                            return Err(refuse(script, st, "give .bail on or .bail off".into()));
                        }
                    } else if OUTPUT_DOT_COMMANDS.contains(&command.as_str()) {
                        notes.push(Note {
                            line: st.line,
                            text: format!(
                                "{command} only changes the shell's output: not rehearsed"
                            ),
                            warn: false,
                        });
                    } else {
                        return Err(refuse(
                            script,
                            st,
                            format!(
                                "the shell command {command} is not rehearsed (only .bail and output settings are); run its effect as SQL in the script"
                            ),
                        ));
                    }
                }
                Kind::Begin | Kind::Commit
                    if self.transactions == Transactions::Script
                        && self.holder == Holder::Preflight =>
                {
                    folded.push(st.line);
                }
                Kind::Commit | Kind::Rollback
                    if self.transactions == Transactions::Script && self.holder == Holder::Tool =>
                {
                    return Err(refuse(
                        script,
                        st,
                        format!(
                            "{} would end the transaction {} holds around the migration: what follows runs outside it, and {} then fails at its own COMMIT",
                            st.excerpt().trim_end_matches(';'),
                            self.name,
                            self.name
                        ),
                    ));
                }
                Kind::Rollback if self.transactions == Transactions::Script => {
                    return Err(refuse(
                        script,
                        st,
                        format!(
                            "ROLLBACK would end the one transaction the {} runner holds around the script, and what follows would run outside it; if production runs the script's own transactions, rehearse with --runner sqlite3 or --transactions as-written",
                            self.name
                        ),
                    ));
                }
                _ if self.transactions == Transactions::Statement
                    && st.is_transaction_control() =>
                {
                    notes.push(Note {
                        line: st.line,
                        text: format!(
                            "{} not run: every statement commits on its own under this runner",
                            st.excerpt()
                        ),
                        warn: matches!(st.kind, Kind::Rollback | Kind::RollbackTo),
                    });
                }
                Kind::Pragma {
                    name,
                    value: Some(v),
                } if self.transactions == Transactions::Script
                    && self.pragmas == Pragmas::Hoisted
                    && IGNORED_IN_TRANSACTION.contains(&name.as_str()) =>
                {
                    let Some(want) = truthy(v) else {
                        continue;
                    };
                    if i < lead {
                        keys = want;
                        notes.push(Note {
                            line: st.line,
                            text: format!(
                                "PRAGMA {name}={v} leads the script: applied before the runner's transaction begins (SQLite ignores it inside one), reset after"
                            ),
                            warn: false,
                        });
                    } else if want == keys {
                        notes.push(Note {
                            line: st.line,
                            text: format!(
                                "PRAGMA {name}={v} has no effect inside the transaction, and needs none: foreign keys are already {}",
                                if keys { "on" } else { "off" }
                            ),
                            warn: false,
                        });
                    } else if let Some(after) = script.statements[i + 1..]
                        .iter()
                        .find(|s| depends_on_foreign_keys(s))
                    {
                        return Err(refuse(
                            script,
                            st,
                            format!(
                                "PRAGMA {name}={v} has no effect inside the one transaction of the {} runner (SQLite ignores it there), so line {} and what follows would run with foreign keys {}; move the pragma before the first statement, or rehearse with --runner sqlite3 if production runs the script statement by statement",
                                self.name,
                                after.line,
                                if keys { "on" } else { "off" }
                            ),
                        ));
                    } else {
                        notes.push(Note {
                            line: st.line,
                            text: format!(
                                "PRAGMA {name}={v} has no effect inside the transaction (SQLite ignores it there); nothing after it depends on foreign keys"
                            ),
                            warn: false,
                        });
                    }
                }
                _ => {}
            }
        }
        if self.name == "turso-shell" && script.text.len() > 20 * 1024 * 1024 {
            // libsql-client-go hranaV2.go: querySizeLimitForChunking
            notes.push(Note {
                line: 1,
                text: "turso db shell runs a script over 20 MiB in one transaction and drops its own BEGIN/COMMIT/END/ROLLBACK (libsql-client-go executeInChunks): rehearse it with --transactions script".into(),
                warn: true,
            });
        }
        if !folded.is_empty() {
            notes.insert(
                0,
                Note {
                    line: folded[0],
                    text: format!(
                        "the script's own BEGIN/COMMIT at lines {} folded into the runner's one transaction",
                        folded
                            .iter()
                            .map(|l| l.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    warn: false,
                },
            );
        }
        Ok(notes)
    }
}

// ---------------------------------------------------------------------------------------------
// Connections the runner speaks to.

/// What one statement returned.
#[derive(Debug, Default)]
pub struct Ran {
    pub changes: u64,
    pub output: Option<Output>,
}

/// A statement that failed: SQLite's words, where in the statement, and whether the runner's
/// containment refused it.
#[derive(Debug)]
pub struct RunError {
    pub message: String,
    pub offset: Option<usize>,
    pub refused: bool,
}

/// One connection the runner runs statements on, in order.
pub trait Conn {
    /// Run one statement; `allow_transaction`: it may begin or end a transaction (the runner
    /// says so for the transaction statements it means to run).
    fn run(
        &mut self,
        line: usize,
        sql: &str,
        allow_transaction: bool,
        keep_rows: usize,
    ) -> Result<Ran, RunError>;
    /// Outside any transaction? None: the connection cannot tell.
    fn autocommit(&self) -> Option<bool>;
}

/// A frozen clock: every way SQL reads the time (`'now'` in the date functions, `unixepoch()`,
/// `CURRENT_TIMESTAMP` and the like, column defaults included) sees one fixed instant. SQLite
/// reads the time from its VFS (`sqlite3OsCurrentTimeInt64`); this is the default VFS with
/// `xCurrentTime`/`xCurrentTimeInt64` answering the fixed instant, registered under a name of its
/// own and used only by the connections opened with it.
pub struct FrozenClock {
    vfs: Box<ClockVfs>,
    name: CString,
    /// The instant, in Unix milliseconds.
    pub unix_ms: i64,
}

#[repr(C)]
struct ClockVfs {
    base: rusqlite::ffi::sqlite3_vfs,
    julian_ms: i64,
}

// SAFETY: the VFS only holds pointers into SQLite's default VFS (static for the process) and
// an immutable instant; SQLite calls it from any thread.
unsafe impl Send for FrozenClock {}
unsafe impl Sync for FrozenClock {}

/// Milliseconds from the Julian epoch to the Unix epoch (SQLite's `unixEpoch` in os_unix.c).
const UNIX_EPOCH_JULIAN_MS: i64 = 24_405_875 * 8_640_000;

unsafe extern "C" fn frozen_time_int64(
    vfs: *mut rusqlite::ffi::sqlite3_vfs,
    out: *mut rusqlite::ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: SQLite passes back the pointer registered, the first field of a ClockVfs.
    unsafe {
        *out = (*(vfs as *const ClockVfs)).julian_ms;
    }
    rusqlite::ffi::SQLITE_OK
}

unsafe extern "C" fn frozen_time(vfs: *mut rusqlite::ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    // SAFETY: as above.
    unsafe {
        *out = (*(vfs as *const ClockVfs)).julian_ms as f64 / 86_400_000.0;
    }
    rusqlite::ffi::SQLITE_OK
}

impl FrozenClock {
    pub fn new(unix_ms: i64) -> Result<Arc<FrozenClock>, DbError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let fail = |message: &str| DbError::Open {
            target: "frozen clock".into(),
            message: message.into(),
        };
        let name = CString::new(format!(
            "preflight-clock-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
        .map_err(|_| fail("bad name"))?;
        // SAFETY: sqlite3_vfs_find initialises SQLite and returns the default VFS, which lives
        // for the whole process; it is copied, not changed.
        let base = unsafe { rusqlite::ffi::sqlite3_vfs_find(std::ptr::null()) };
        if base.is_null() {
            return Err(fail("SQLite has no default VFS"));
        }
        let mut copy = unsafe { *base };
        copy.zName = name.as_ptr();
        copy.pNext = std::ptr::null_mut();
        copy.xCurrentTime = Some(frozen_time);
        if copy.iVersion >= 2 {
            copy.xCurrentTimeInt64 = Some(frozen_time_int64);
        }
        let mut vfs = Box::new(ClockVfs {
            base: copy,
            julian_ms: unix_ms + UNIX_EPOCH_JULIAN_MS,
        });
        // SAFETY: the VFS stays at this address (boxed) until Drop unregisters it.
        let rc = unsafe { rusqlite::ffi::sqlite3_vfs_register(&mut vfs.base, 0) };
        if rc != rusqlite::ffi::SQLITE_OK {
            return Err(fail("cannot register the clock VFS"));
        }
        Ok(Arc::new(FrozenClock { vfs, name, unix_ms }))
    }

    fn vfs_name(&self) -> &str {
        self.name.to_str().unwrap_or_default()
    }

    /// The instant as RFC 3339, for reports.
    pub fn shown(&self) -> String {
        time::OffsetDateTime::from_unix_timestamp_nanos(self.unix_ms as i128 * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| format!("{} ms", self.unix_ms))
    }
}

impl Drop for FrozenClock {
    fn drop(&mut self) {
        // SAFETY: registered in new(); every connection using it holds an Arc to it and is
        // closed before the last Arc goes.
        unsafe {
            rusqlite::ffi::sqlite3_vfs_unregister(&mut self.vfs.base);
        }
    }
}

/// What the authorizer knows about the statement being prepared.
struct Guard {
    line: usize,
    allow_transaction: bool,
    refused: Option<String>,
    watch: Option<Box<dyn Watch>>,
}

/// Writing the schema cookie makes every connection misread the schema (SQLite's pragma
/// documentation: "Misuse of this pragma can result in database corruption"), and defensive
/// mode would silently skip it (https://sqlite.org/c3ref/c_dbconfig_defensive.html): refused.
const SCHEMA_COOKIE: &str = "PRAGMA schema_version = N overwrites the schema cookie, which can leave a corrupt database (user_version is the one to set)";

/// The containment rules, as SQLite's authorizer sees actions (anywhere in a statement, the
/// triggers it fires and the views it reads included).
fn contained(action: &AuthAction<'_>, allow_transaction: bool) -> Option<String> {
    match action {
        AuthAction::Attach { filename } if !matches!(*filename, ":memory:" | "") => Some(format!(
            "ATTACH opens another database file ({filename}); a script may only touch its own database"
        )),
        AuthAction::Unknown { code, .. } if *code == rusqlite::ffi::SQLITE_ATTACH => {
            Some("ATTACH of a computed file name; a script may only touch its own database".into())
        }
        AuthAction::Pragma {
            pragma_name,
            pragma_value: Some(_),
        } if matches!(
            pragma_name.to_ascii_lowercase().as_str(),
            "writable_schema" | "temp_store_directory" | "data_store_directory"
        ) =>
        {
            Some(format!("PRAGMA {pragma_name} can leave a corrupt database"))
        }
        AuthAction::Pragma {
            pragma_name,
            pragma_value: Some(_),
        } if pragma_name.eq_ignore_ascii_case("schema_version") => Some(SCHEMA_COOKIE.into()),
        AuthAction::Function { function_name }
            if function_name.eq_ignore_ascii_case("load_extension") =>
        {
            Some("load_extension() loads native code into the process".into())
        }
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } if !allow_transaction => {
            Some("a transaction statement the runner does not run here".into())
        }
        _ => None,
    }
}

/// A local SQLite file, on a connection of the runner's own: SQLite's authorizer and defensive
/// mode on, and the clock frozen when one is given.
pub struct LocalSession {
    conn: Connection,
    guard: Arc<Mutex<Guard>>,
    // dropped after the connection that uses it
    _clock: Option<Arc<FrozenClock>>,
}

impl LocalSession {
    /// Open an existing database file. `rehearsal`: a throw-away copy (no fsync).
    pub fn open(
        path: &Path,
        clock: Option<Arc<FrozenClock>>,
        rehearsal: bool,
    ) -> Result<LocalSession, DbError> {
        let fail = |message: String| DbError::Open {
            target: path.display().to_string(),
            message,
        };
        if !path.is_file() {
            return Err(fail("no such file".into()));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = match &clock {
            Some(c) => Connection::open_with_flags_and_vfs(path, flags, c.vfs_name()),
            None => Connection::open_with_flags(path, flags),
        }
        .map_err(|e| fail(e.to_string()))?;
        // a signal stops a long statement, and any wait for the lock
        crate::interrupt::watch(&mut conn, Duration::from_secs(30))
            .map_err(|e| fail(e.to_string()))?;
        if rehearsal {
            conn.execute_batch("PRAGMA synchronous = OFF")
                .map_err(|e| fail(e.to_string()))?;
        }
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
            .map_err(|e| fail(e.to_string()))?;
        let guard = Arc::new(Mutex::new(Guard {
            line: 0,
            allow_transaction: true,
            refused: None,
            watch: None,
        }));
        let g = guard.clone();
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            let mut g = g.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(why) = contained(&ctx.action, g.allow_transaction) {
                g.refused.get_or_insert(why);
                return Authorization::Deny;
            }
            let line = g.line;
            match g.watch.as_mut() {
                Some(w) => w.authorize(line, &ctx),
                None => Authorization::Allow,
            }
        }))
        .map_err(|e| fail(e.to_string()))?;
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
            .map_err(|e| fail(e.to_string()))?;
        Ok(LocalSession {
            conn,
            guard,
            _clock: clock,
        })
    }

    /// Hand every action of every statement to `watch` from now on.
    pub fn watch(&mut self, watch: Box<dyn Watch>) {
        self.guard.lock().unwrap_or_else(|e| e.into_inner()).watch = Some(watch);
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

fn column_output(columns: Vec<String>) -> Output {
    Output {
        columns,
        rows: Vec::new(),
        total: 0,
    }
}

impl Conn for LocalSession {
    fn run(
        &mut self,
        line: usize,
        sql: &str,
        allow_transaction: bool,
        keep_rows: usize,
    ) -> Result<Ran, RunError> {
        {
            let mut g = self.guard.lock().unwrap_or_else(|e| e.into_inner());
            g.line = line;
            g.allow_transaction = allow_transaction;
            g.refused = None;
            if let Some(w) = g.watch.as_mut() {
                w.statement(line);
            }
        }
        let refused =
            |g: &Arc<Mutex<Guard>>| g.lock().unwrap_or_else(|e| e.into_inner()).refused.take();
        let fail = |e: rusqlite::Error, guard: &Arc<Mutex<Guard>>| {
            if let Some(why) = refused(guard) {
                return RunError {
                    message: format!("refused: {why}"),
                    offset: None,
                    refused: true,
                };
            }
            let (message, offset) = match e {
                rusqlite::Error::SqlInputError { msg, offset, .. } => {
                    (msg, usize::try_from(offset).ok())
                }
                rusqlite::Error::SqliteFailure(_, Some(m)) => (m, None),
                other => (other.to_string(), None),
            };
            RunError {
                message,
                offset,
                refused: false,
            }
        };
        let total = self.conn.total_changes();
        let mut stmt = self.conn.prepare(sql).map_err(|e| fail(e, &self.guard))?;
        let n = stmt.column_count();
        let columns: Vec<String> = stmt.column_names().map(|c| c.to_string()).collect();
        let mut output = (n > 0).then(|| column_output(columns));
        let mut rows = stmt.raw_query();
        loop {
            match rows.next() {
                Ok(Some(r)) => {
                    if let Some(o) = output.as_mut() {
                        if o.rows.len() < keep_rows {
                            o.rows.push(
                                (0..n)
                                    .map(|i| r.get::<_, Value>(i).unwrap_or(Value::Null))
                                    .collect(),
                            );
                        }
                        o.total += 1;
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(fail(e, &self.guard)),
            }
        }
        drop(rows);
        drop(stmt);
        let changes = if self.conn.total_changes() == total {
            0
        } else {
            self.conn.changes()
        };
        Ok(Ran { changes, output })
    }

    fn autocommit(&self) -> Option<bool> {
        Some(self.conn.is_autocommit())
    }
}

/// A database behind the `Db` trait (a libSQL server): statements run one by one on its
/// connection, whose transaction state persists between them. No authorizer here: the
/// runner's checks before the run are the containment.
pub struct DbConn<'a> {
    db: &'a dyn Db,
}

impl<'a> DbConn<'a> {
    pub fn new(db: &'a dyn Db) -> DbConn<'a> {
        DbConn { db }
    }
}

fn writes_rows(sql: &str) -> bool {
    let code = super::script::without_comments(sql);
    let toks = super::script::tokens(&code);
    let first = toks
        .first()
        .map(|t| t.to_ascii_uppercase())
        .unwrap_or_default();
    matches!(first.as_str(), "INSERT" | "UPDATE" | "DELETE" | "REPLACE")
        && !toks.iter().any(|t| t.eq_ignore_ascii_case("RETURNING"))
}

impl Conn for DbConn<'_> {
    fn run(
        &mut self,
        _line: usize,
        sql: &str,
        _allow_transaction: bool,
        keep_rows: usize,
    ) -> Result<Ran, RunError> {
        let err = |e: DbError| {
            // the server's SQLite says "SQL input error: <message> (at offset N)"
            let raw = e.message();
            let (message, offset) = raw
                .strip_prefix("SQL input error: ")
                .and_then(|m| {
                    let (text, rest) = m.rsplit_once(" (at offset ")?;
                    Some((text.to_string(), rest.strip_suffix(')')?.parse().ok()))
                })
                .unwrap_or_else(|| (raw.to_string(), e.offset()));
            RunError {
                message,
                offset,
                refused: false,
            }
        };
        if writes_rows(sql) {
            let changes = self.db.execute(sql, &[]).map_err(err)?;
            return Ok(Ran {
                changes,
                output: None,
            });
        }
        let rows = self.db.query(sql, &[]).map_err(err)?;
        let output = (!rows.is_empty()).then(|| Output {
            columns: Vec::new(),
            total: rows.len() as u64,
            rows: rows.into_iter().take(keep_rows).collect(),
        });
        Ok(Ran { changes: 0, output })
    }

    fn autocommit(&self) -> Option<bool> {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Running a script.

/// Rows kept per statement that returns rows.
pub const KEEP_ROWS: usize = 5;

/// `PRAGMA foreign_key_check`: violations counted by (table, parent), with examples.
type FkCounts = BTreeMap<(String, String), (u64, Vec<Option<i64>>)>;

fn fk_counts(conn: &mut dyn Conn) -> Result<FkCounts, RunError> {
    // counted where the data lives: a database with many orphans answers in a few rows
    let counts = conn.run(
        0,
        "SELECT \"table\", parent, count(*) FROM pragma_foreign_key_check GROUP BY 1, 2",
        true,
        usize::MAX,
    )?;
    let examples = conn.run(
        0,
        "SELECT \"table\", parent, rowid FROM pragma_foreign_key_check LIMIT 500",
        true,
        usize::MAX,
    )?;
    let key = |r: &[Value]| {
        (
            r.first().and_then(as_text).unwrap_or_default(),
            r.get(1).and_then(as_text).unwrap_or_default(),
        )
    };
    let mut out: FkCounts = BTreeMap::new();
    for r in counts.output.map(|o| o.rows).unwrap_or_default() {
        let n = r.get(2).and_then(as_i64).unwrap_or(0).max(0) as u64;
        out.entry(key(&r)).or_default().0 = n;
    }
    for r in examples.output.map(|o| o.rows).unwrap_or_default() {
        let e = out.entry(key(&r)).or_default();
        if e.1.len() < 5 {
            e.1.push(r.get(2).and_then(as_i64));
        }
    }
    Ok(out)
}

fn fk_error(script: &Script, e: RunError) -> ScriptError {
    ScriptError::Db(DbError::Open {
        target: script.name(),
        message: format!("PRAGMA foreign_key_check: {}", e.message),
    })
}

/// Violations after the script beyond those there before.
fn new_violations(before: &FkCounts, after: &FkCounts) -> (u64, Vec<FkViolation>) {
    let mut n = 0;
    let mut ex = Vec::new();
    for ((table, parent), (count, rowids)) in after {
        let had = before
            .get(&(table.clone(), parent.clone()))
            .map_or(0, |b| b.0);
        if *count > had {
            n += count - had;
            for rowid in rowids {
                if ex.len() < 100 {
                    ex.push(FkViolation {
                        table: table.clone(),
                        rowid: *rowid,
                        parent: parent.clone(),
                    });
                }
            }
        }
    }
    (n, ex)
}

/// Track where transactions stand, for what is kept.
struct Ledger {
    /// Indices of statements that ran inside the open transaction.
    pending: Vec<usize>,
    /// The runner's own view when the connection cannot tell (a server).
    in_transaction: bool,
}

impl Ledger {
    fn settle(
        &mut self,
        runs: &mut [StmtRun],
        idx: Option<usize>,
        autocommit: bool,
        rolled_back: bool,
    ) {
        if let Some(i) = idx {
            self.pending.push(i);
        }
        if autocommit {
            let keep = !rolled_back;
            for i in self.pending.drain(..) {
                runs[i].kept = keep && matches!(runs[i].outcome, Outcome::Ran { .. });
            }
        }
        self.in_transaction = !autocommit;
    }
}

impl Runner {
    /// Run a script on a connection as production's runner would. Refusals come before
    /// anything runs (`Err`); a statement that fails is part of the returned `Run`.
    pub fn execute(&self, script: &Script, conn: &mut dyn Conn) -> Result<Run, ScriptError> {
        let notes = self.check(script)?;
        let mut run = Run {
            runner: self.clone(),
            path: script.name(),
            statements: script
                .statements
                .iter()
                .map(|s| StmtRun {
                    line: s.line,
                    statement: s.excerpt(),
                    control: s.is_transaction_control(),
                    outcome: Outcome::NotRun,
                    kept: false,
                })
                .collect(),
            notes,
            failures: Vec::new(),
            stopped_at: None,
            fk_violations: Vec::new(),
            fk_violation_count: 0,
        };
        let internal = |conn: &mut dyn Conn, sql: &str| -> Result<Ran, ScriptError> {
            conn.run(0, sql, true, KEEP_ROWS).map_err(|e| {
                ScriptError::Db(DbError::Open {
                    target: script.name(),
                    message: format!("{sql}: {}", e.message),
                })
            })
        };
        let fk_before = fk_counts(conn).map_err(|e| fk_error(script, e))?;
        // the connection's own setting, restored at the end (a server keeps its connection)
        let keys_before = internal(conn, "PRAGMA foreign_keys")?
            .output
            .and_then(|o| o.rows.into_iter().next())
            .and_then(|r| r.first().and_then(as_i64))
            .unwrap_or(1);
        internal(
            conn,
            match self.foreign_keys {
                ForeignKeys::On => "PRAGMA foreign_keys = ON",
                ForeignKeys::Off => "PRAGMA foreign_keys = OFF",
            },
        )?;
        let mut on_error = self.on_error;
        let mut ledger = Ledger {
            pending: Vec::new(),
            in_transaction: false,
        };
        let one_transaction = self.transactions == Transactions::Script;
        let hoisted = one_transaction && self.pragmas == Pragmas::Hoisted;
        let lead = if hoisted { leading(script) } else { 0 };
        let mut begun = false;
        let mut open_since: Option<usize> = None;
        for (i, st) in script.statements.iter().enumerate() {
            // a signal stops the script between statements, rolling back what is open
            if crate::interrupt::requested() {
                if !conn.autocommit().unwrap_or(true) {
                    let _ = conn.run(0, "ROLLBACK", true, 0);
                }
                return Err(ScriptError::Db(DbError::Interrupted));
            }
            if one_transaction && !begun && i >= lead {
                internal(conn, "BEGIN IMMEDIATE")?;
                begun = true;
                ledger.in_transaction = true;
            }
            // what the runner does with this statement
            match &st.kind {
                Kind::Dot { command, args } => {
                    run.statements[i].outcome = if command == ".bail" {
                        on_error = if args.first().map(String::as_str) == Some("on") {
                            OnError::Stop
                        } else {
                            OnError::Continue
                        };
                        Outcome::Ignored {
                            why: format!(
                                "the shell now {} at an error",
                                if on_error == OnError::Stop {
                                    "stops"
                                } else {
                                    "goes on"
                                }
                            ),
                        }
                    } else {
                        Outcome::Ignored {
                            why: "output only".into(),
                        }
                    };
                    continue;
                }
                Kind::Begin | Kind::Commit
                    if one_transaction && self.holder == Holder::Preflight =>
                {
                    run.statements[i].outcome = Outcome::Folded;
                    continue;
                }
                _ if self.transactions == Transactions::Statement
                    && st.is_transaction_control() =>
                {
                    run.statements[i].outcome = Outcome::Ignored {
                        why: "every statement commits on its own".into(),
                    };
                    continue;
                }
                _ => {}
            }
            let was_autocommit = conn.autocommit().unwrap_or(!ledger.in_transaction);
            let allow = st.is_transaction_control();
            match conn.run(st.line, &st.sql, allow, KEEP_ROWS) {
                Ok(ran) => {
                    run.statements[i].outcome = Outcome::Ran {
                        changes: ran.changes,
                        output: ran.output,
                    };
                    if let Kind::Pragma {
                        name,
                        value: Some(v),
                    } = &st.kind
                        && IGNORED_IN_TRANSACTION.contains(&name.as_str())
                        && !was_autocommit
                        && !hoisted
                        && let Some(want) = truthy(v)
                    {
                        let now = internal(conn, &format!("PRAGMA {name}"))?
                            .output
                            .and_then(|o| o.rows.into_iter().next())
                            .and_then(|r| r.first().and_then(as_i64));
                        if now.map(|n| n != 0) != Some(want) {
                            run.notes.push(Note {
                                line: st.line,
                                text: format!(
                                    "PRAGMA {name}={v} had no effect: it ran inside {} (SQLite ignores it there), so foreign keys stayed {}",
                                    match open_since {
                                        _ if one_transaction => "the runner's one transaction".to_string(),
                                        Some(l) => format!("the transaction begun at line {l}"),
                                        None => "a transaction".to_string(),
                                    },
                                    if want { "off" } else { "on" }
                                ),
                                warn: true,
                            });
                        }
                    }
                    if !one_transaction {
                        let autocommit = conn.autocommit().unwrap_or(match st.kind {
                            Kind::Begin => false,
                            Kind::Savepoint => false,
                            Kind::Commit | Kind::Rollback => true,
                            _ => !ledger.in_transaction,
                        });
                        if was_autocommit && !autocommit {
                            open_since = Some(st.line);
                        }
                        ledger.settle(
                            &mut run.statements,
                            Some(i),
                            autocommit,
                            st.kind == Kind::Rollback,
                        );
                    } else {
                        ledger.pending.push(i);
                    }
                }
                Err(e) => {
                    run.statements[i].outcome = Outcome::Failed {
                        message: e.message.clone(),
                    };
                    run.failures.push(Failure {
                        line: line_within(st, e.offset),
                        statement: st.excerpt(),
                        message: e.message,
                    });
                    let mut stop = on_error == OnError::Stop || e.refused;
                    if one_transaction && begun && conn.autocommit() == Some(true) {
                        // the error ended the runner's transaction from inside (INSERT OR
                        // ROLLBACK, RAISE(ROLLBACK)): what follows would run outside it
                        stop = true;
                        run.notes.push(Note {
                            line: st.line,
                            text: "this statement's error rolled back the runner's transaction; the runner stops: nothing of the script is kept".into(),
                            warn: true,
                        });
                    }
                    if !one_transaction {
                        let autocommit = conn.autocommit().unwrap_or(!ledger.in_transaction);
                        // an error that ended the transaction rolled it back
                        ledger.settle(&mut run.statements, None, autocommit, !was_autocommit);
                    }
                    if stop {
                        run.stopped_at = Some(st.line);
                        break;
                    }
                }
            }
        }
        let stopped = run.stopped_at.is_some();
        if one_transaction {
            if !begun {
                internal(conn, "BEGIN IMMEDIATE")?;
            }
            let mut commit = !stopped;
            if commit {
                let after = fk_counts(conn).map_err(|e| fk_error(script, e))?;
                (run.fk_violation_count, run.fk_violations) = new_violations(&fk_before, &after);
                if run.fk_violation_count > 0 && self.holder == Holder::Preflight {
                    commit = false;
                    run.notes.push(Note {
                        line: script.statements.last().map_or(0, |s| s.line),
                        text: format!(
                            "{} foreign key violations after the script: the {} runner rolls everything back",
                            run.fk_violation_count, self.name
                        ),
                        warn: true,
                    });
                }
            }
            if commit && let Err(e) = conn.run(0, "COMMIT", true, 0) {
                // a deferred constraint fails at COMMIT
                run.failures.push(Failure {
                    line: script.statements.last().map_or(0, |s| s.line),
                    statement: "COMMIT (end of script)".into(),
                    message: e.message,
                });
                commit = false;
            }
            if !commit {
                if conn.autocommit() != Some(true) {
                    let _ = conn.run(0, "ROLLBACK", true, 0);
                }
                for s in &mut run.statements {
                    s.kept = false;
                }
            } else {
                for i in ledger.pending.drain(..) {
                    run.statements[i].kept =
                        matches!(run.statements[i].outcome, Outcome::Ran { .. });
                }
            }
        } else {
            let open = !conn.autocommit().unwrap_or(!ledger.in_transaction);
            if open {
                // the shell's exit (or turso's final ROLLBACK step) ends an open transaction
                let _ = conn.run(0, "ROLLBACK", true, 0);
                let lines: Vec<usize> = ledger
                    .pending
                    .iter()
                    .map(|&i| run.statements[i].line)
                    .collect();
                ledger.settle(&mut run.statements, None, true, true);
                if !stopped {
                    run.notes.push(Note {
                        line: open_since.unwrap_or(0),
                        text: format!(
                            "the transaction begun at line {} is still open when the script ends: it is rolled back when the runner disconnects{}",
                            open_since.map_or("?".into(), |l| l.to_string()),
                            if lines.is_empty() {
                                String::new()
                            } else {
                                format!(" (lines {} not kept)", ranges(&lines))
                            }
                        ),
                        warn: true,
                    });
                }
            }
            let after = fk_counts(conn).map_err(|e| fk_error(script, e))?;
            (run.fk_violation_count, run.fk_violations) = new_violations(&fk_before, &after);
        }
        internal(
            conn,
            if keys_before != 0 {
                "PRAGMA foreign_keys = ON"
            } else {
                "PRAGMA foreign_keys = OFF"
            },
        )?;
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::script::parse;

    const BLOG: &str = "
        CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE, title TEXT);
        CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER REFERENCES posts(id) ON DELETE CASCADE, body TEXT);
        INSERT INTO users VALUES (1, 'ada');
        INSERT INTO posts VALUES (1, 1, 'a'), (2, 1, 'b');
        INSERT INTO comments VALUES (1, 1, 'x'), (2, 1, 'y'), (3, 2, 'z');";

    fn blog() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("blog.db");
        Connection::open(&p).unwrap().execute_batch(BLOG).unwrap();
        (dir, p)
    }

    fn count(p: &Path, sql: &str) -> i64 {
        Connection::open(p)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }

    fn go(runner: &Runner, p: &Path, text: &str) -> Result<Run, ScriptError> {
        let script = parse(Path::new("m.sql"), text).unwrap();
        let mut s = LocalSession::open(p, None, true).unwrap();
        runner.execute(&script, &mut s)
    }

    #[test]
    fn sqlite_ignores_foreign_keys_inside_a_transaction_and_honours_legacy_alter_table() {
        // the facts the runners rest on, on the bundled SQLite itself
        let (_d, p) = blog();
        let c = Connection::open(&p).unwrap();
        c.execute_batch("PRAGMA foreign_keys = ON; BEGIN; PRAGMA foreign_keys = OFF;")
            .unwrap();
        let keys: i64 = c
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(keys, 1, "ignored inside a transaction");
        c.execute_batch("DELETE FROM posts WHERE id = 1; ROLLBACK;")
            .unwrap();
        c.execute_batch("BEGIN; PRAGMA legacy_alter_table = ON;")
            .unwrap();
        let legacy: i64 = c
            .query_row("PRAGMA legacy_alter_table", [], |r| r.get(0))
            .unwrap();
        assert_eq!(legacy, 1, "takes effect inside a transaction");
        c.execute_batch("ROLLBACK").unwrap();
    }

    #[test]
    fn a_leading_foreign_keys_pragma_takes_effect_under_atomic() {
        let (_d, p) = blog();
        let r = go(
            &Runner::atomic(),
            &p,
            "PRAGMA foreign_keys=OFF;\nBEGIN;\nDELETE FROM posts WHERE id = 1;\nINSERT INTO posts VALUES (1, 1, 'a2');\nCOMMIT;\n",
        )
        .unwrap();
        assert!(r.ok(), "{r:?}");
        assert_eq!(count(&p, "SELECT count(*) FROM comments"), 3, "no cascade");
        assert_eq!(r.kept(), "every statement was kept");
        assert!(
            r.notes
                .iter()
                .any(|n| n.line == 1 && n.text.contains("applied before"))
        );
    }

    #[test]
    fn without_the_pragma_atomic_cascades_as_sqlite_does() {
        let (_d, p) = blog();
        let r = go(&Runner::atomic(), &p, "DELETE FROM posts WHERE id = 1;\n").unwrap();
        assert!(r.ok());
        assert_eq!(count(&p, "SELECT count(*) FROM comments"), 1);
    }

    #[test]
    fn a_consequential_pragma_inside_the_transaction_is_refused_with_its_line() {
        let (_d, p) = blog();
        let e = go(
            &Runner::atomic(),
            &p,
            "UPDATE posts SET title = 'c' WHERE id = 2;\nPRAGMA foreign_keys=OFF;\nDELETE FROM posts WHERE id = 1;\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("m.sql:2: refused: PRAGMA foreign_keys=off has no effect inside the one transaction of the atomic runner"), "{e}");
        assert!(e.contains("line 3"), "{e}");
        assert_eq!(
            count(&p, "SELECT count(*) FROM posts WHERE title = 'c'"),
            0,
            "nothing ran"
        );
        // a trailing one that restores keys, with only DDL after it, is fine
        let r = go(
            &Runner::atomic(),
            &p,
            "PRAGMA foreign_keys=OFF;\nCREATE TABLE posts2 (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE, title TEXT NOT NULL);\nINSERT INTO posts2 SELECT * FROM posts;\nDROP TABLE posts;\nALTER TABLE posts2 RENAME TO posts;\nPRAGMA foreign_keys=ON;\nCREATE INDEX c_post ON comments (post_id);\n",
        )
        .unwrap();
        assert!(r.ok(), "{r:?}");
        assert_eq!(
            count(&p, "SELECT count(*) FROM comments"),
            3,
            "the rebuild kept every child"
        );
        assert!(r.notes.iter().any(|n| n.line == 6 && n.text.contains("nothing after it depends on foreign keys")));
    }

    #[test]
    fn a_tool_holding_the_transaction_sends_begin_to_sqlite_and_commits_orphans() {
        let tool = Runner {
            name: "dbmate".into(),
            foreign_keys: ForeignKeys::Off,
            pragmas: Pragmas::InPlace,
            holder: Holder::Tool,
            ..Runner::atomic()
        };
        // the file's own BEGIN inside the tool's transaction: SQLite refuses it, nothing stays
        let (_d, p) = blog();
        let r = go(
            &tool,
            &p,
            "DELETE FROM comments;\nBEGIN;\nDELETE FROM posts;\n",
        )
        .unwrap();
        assert_eq!(r.failures[0].line, 2);
        assert!(
            r.failures[0].message.contains("within a transaction"),
            "{:?}",
            r.failures
        );
        assert_eq!(count(&p, "SELECT count(*) FROM comments"), 3);
        // preflight's own runner folds it
        assert!(
            go(
                &Runner::atomic(),
                &p,
                "BEGIN;\nDELETE FROM comments;\nCOMMIT;\n"
            )
            .unwrap()
            .ok()
        );
        assert_eq!(count(&p, "SELECT count(*) FROM comments"), 0);
        // an orphan: the tool commits it (and the run says so), atomic keeps nothing
        let orphan = "INSERT INTO comments VALUES (9, 99, 'nobody''s');\n";
        let (_d2, p2) = blog();
        let keys_off = Runner::atomic().with(Some(ForeignKeys::Off), None, None);
        let a = go(&keys_off, &p2, orphan).unwrap();
        assert_eq!((a.fk_violation_count, a.statements[0].kept), (1, false));
        let t = go(&tool, &p2, orphan).unwrap();
        assert_eq!((t.fk_violation_count, t.statements[0].kept), (1, true));
        assert_eq!(count(&p2, "SELECT count(*) FROM comments WHERE id = 9"), 1);
        // its COMMIT would end the tool's transaction: refused with its line
        let e = go(&tool, &p2, "DELETE FROM comments;\nCOMMIT;\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("m.sql:2: refused: COMMIT would end the transaction dbmate holds"),
            "{e}"
        );
    }

    #[test]
    fn pragmas_in_place_inside_one_transaction_do_what_sqlite_does_with_them() {
        // a tool that opens its transaction first (drizzle on better-sqlite3): the pragma is
        // ignored, DROP TABLE cascades, and a warning says why
        let (_d, p) = blog();
        let runner = Runner {
            name: "one transaction, pragmas in place".into(),
            pragmas: Pragmas::InPlace,
            ..Runner::atomic()
        };
        let r = go(
            &runner,
            &p,
            "PRAGMA foreign_keys=OFF;\nCREATE TABLE posts2 (id INTEGER PRIMARY KEY, user_id INTEGER, title TEXT);\nINSERT INTO posts2 SELECT * FROM posts;\nDROP TABLE posts;\nALTER TABLE posts2 RENAME TO posts;\n",
        )
        .unwrap();
        assert!(r.ok(), "{r:?}");
        assert_eq!(count(&p, "SELECT count(*) FROM comments"), 0, "cascaded");
        let n = r.notes.iter().find(|n| n.warn).unwrap();
        assert_eq!(n.line, 1);
        assert!(
            n.text.contains("inside the runner's one transaction"),
            "{}",
            n.text
        );
    }

    #[test]
    fn the_sqlite3_runner_goes_on_after_an_error_and_says_what_stayed() {
        let (_d, p) = blog();
        let r = go(
            &Runner::sqlite3(),
            &p,
            "UPDATE posts SET title = 'c' WHERE id = 2;\nINSERT INTO nowhere VALUES (1);\nDELETE FROM posts WHERE id = 1;\n",
        )
        .unwrap();
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.failures[0].line, 2);
        assert_eq!(r.failures[0].message, "no such table: nowhere");
        assert_eq!(
            r.kept(),
            "kept: the statements at lines 1, 3 (every one that ran without error)"
        );
        // keys off: deleting a parent leaves its children (orphans, reported)
        assert_eq!(count(&p, "SELECT count(*) FROM comments"), 3);
        assert_eq!(r.fk_violation_count, 2);
        assert_eq!(r.fk_violations[0].table, "comments");
        assert_eq!(r.fk_violations[0].parent, "posts");
    }

    #[test]
    fn bail_and_the_scripts_own_transaction_under_sqlite3() {
        let (_d, p) = blog();
        let r = go(
            &Runner::sqlite3(),
            &p,
            "UPDATE posts SET title = 'c' WHERE id = 2;\n.bail on\nBEGIN;\nUPDATE users SET name = 'x';\nINSERT INTO nowhere VALUES (1);\nUPDATE users SET name = 'y';\nCOMMIT;\n",
        )
        .unwrap();
        assert_eq!(r.stopped_at, Some(5));
        assert_eq!(
            r.kept(),
            "kept: the statements at lines 1; rolled back: lines 4"
        );
        assert_eq!(
            count(&p, "SELECT count(*) FROM users WHERE name = 'ada'"),
            1
        );
        assert_eq!(count(&p, "SELECT count(*) FROM posts WHERE title = 'c'"), 1);
        assert!(matches!(r.statements[5].outcome, Outcome::NotRun));
    }

    #[test]
    fn a_pragma_inside_the_scripts_own_transaction_is_noted_as_ignored() {
        let (_d, p) = blog();
        let r = go(
            &Runner::turso_shell(),
            &p,
            "BEGIN TRANSACTION;\nPRAGMA foreign_keys=OFF;\nDELETE FROM posts WHERE id = 1;\nCOMMIT;\n",
        )
        .unwrap();
        assert!(r.ok());
        assert_eq!(count(&p, "SELECT count(*) FROM comments"), 1, "cascaded");
        let n = r.notes.iter().find(|n| n.warn).unwrap();
        assert_eq!(n.line, 2);
        assert!(
            n.text.contains("begun at line 1") && n.text.contains("stayed on"),
            "{}",
            n.text
        );
    }

    #[test]
    fn a_script_cannot_end_the_atomic_transaction_nor_reach_outside_its_database() {
        let (d, p) = blog();
        let outside = d.path().join("outside.db");
        for (text, line, what) in [
            (
                "UPDATE users SET name = 'x';\nROLLBACK;\nUPDATE posts SET title = 'z';\n",
                2,
                "ROLLBACK would end",
            ),
            (
                &format!("SELECT 1;\nVACUUM INTO '{}';\n", outside.display()) as &str,
                2,
                "VACUUM INTO",
            ),
            (
                &format!("ATTACH DATABASE '{}' AS o;\n", outside.display()),
                1,
                "ATTACH opens another database file",
            ),
            (
                "PRAGMA writable_schema=1;\nUPDATE sqlite_schema SET sql = 'x';\n",
                1,
                "writable_schema",
            ),
            ("SELECT load_extension('/tmp/x.so');\n", 1, "load_extension"),
            (
                "UPDATE users SET name = 'x';\nPRAGMA schema_version = 99;\n",
                2,
                "schema cookie",
            ),
            ("PRAGMA main.SCHEMA_VERSION=7;\n", 1, "schema cookie"),
            (
                ".shell touch /tmp/x\nSELECT 1;\n",
                1,
                "sqlite3 shell command",
            ),
        ] {
            let e = go(&Runner::atomic(), &p, text).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("m.sql:{line}: refused: ")) && e.contains(what),
                "{e}"
            );
        }
        assert!(!outside.exists());
        assert_eq!(count(&p, "SELECT count(*) FROM users WHERE name = 'x'"), 0);
        // the authorizer catches what hides from the text: load_extension inside a view
        let r = go(
            &Runner::sqlite3(),
            &p,
            "CREATE VIEW v AS SELECT load_extension('/tmp/x.so') AS x;\nSELECT * FROM v;\nUPDATE users SET name = 'after';\n",
        );
        let e = r.unwrap_err().to_string();
        assert!(e.contains("load_extension"), "{e}");
        // savepoints nest inside the runner's transaction and cannot end it
        let r = go(
            &Runner::atomic(),
            &p,
            "SAVEPOINT a;\nUPDATE users SET name = 'x';\nROLLBACK TO a;\nRELEASE a;\nUPDATE posts SET title = 'sp' WHERE id = 1;\n",
        )
        .unwrap();
        assert!(r.ok(), "{r:?}");
        assert_eq!(count(&p, "SELECT count(*) FROM users WHERE name = 'x'"), 0);
        assert_eq!(
            count(&p, "SELECT count(*) FROM posts WHERE title = 'sp'"),
            1
        );
    }

    #[test]
    fn an_error_that_rolls_back_the_transaction_stops_even_a_going_on_runner() {
        let (_d, p) = blog();
        let runner = Runner::atomic().with(None, None, Some(OnError::Continue));
        let r = go(
            &runner,
            &p,
            "UPDATE users SET name = 'x';\nINSERT OR ROLLBACK INTO posts VALUES (1, 1, 'dup');\nUPDATE posts SET title = 'after';\n",
        )
        .unwrap();
        assert_eq!(r.stopped_at, Some(2));
        assert_eq!(r.kept(), "nothing of the script was kept");
        assert_eq!(count(&p, "SELECT count(*) FROM users WHERE name = 'x'"), 0);
        assert_eq!(
            count(&p, "SELECT count(*) FROM posts WHERE title = 'after'"),
            0
        );
    }

    #[test]
    fn atomic_keeps_nothing_after_an_error_or_a_foreign_key_violation() {
        let (_d, p) = blog();
        let r = go(
            &Runner::atomic(),
            &p,
            "UPDATE users SET name = 'x';\nINSERT INTO nowhere VALUES (1);\n",
        )
        .unwrap();
        assert_eq!(r.kept(), "nothing of the script was kept");
        let e = r.error().unwrap().to_string();
        assert!(
            e.starts_with("m.sql:2: no such table: nowhere; nothing of the script was kept"),
            "{e}"
        );
        let r = go(
            &Runner::atomic(),
            &p,
            "PRAGMA foreign_keys=OFF;\nDELETE FROM users;\n",
        )
        .unwrap();
        assert_eq!(r.fk_violation_count, 2, "two posts lost their user");
        assert_eq!(r.kept(), "nothing of the script was kept");
        assert_eq!(count(&p, "SELECT count(*) FROM users"), 1);
    }

    #[test]
    fn the_clock_is_frozen_for_every_way_sql_reads_it() {
        let (_d, p) = blog();
        let clock = FrozenClock::new(1_756_553_400_123).unwrap();
        let mut s = LocalSession::open(&p, Some(clock.clone()), true).unwrap();
        s.conn()
            .execute_batch(
                "CREATE TABLE t (a DEFAULT CURRENT_TIMESTAMP, b DEFAULT (unixepoch()), c)",
            )
            .unwrap();
        let script = parse(
            Path::new("c.sql"),
            "INSERT INTO t (c) VALUES (datetime('now'));\nSELECT a, b, c, julianday('now'), strftime('%s','now'), CURRENT_DATE, CURRENT_TIME, unixepoch('subsec') FROM t;\n",
        )
        .unwrap();
        let r = Runner::sqlite3().execute(&script, &mut s).unwrap();
        let (_, out) = r.outputs().next().unwrap();
        assert_eq!(
            out.rows[0],
            vec![
                Value::Text("2025-08-30 11:30:00".into()),
                Value::Integer(1_756_553_400),
                Value::Text("2025-08-30 11:30:00".into()),
                Value::Real(2_460_917.979_168_090_5),
                Value::Text("1756553400".into()),
                Value::Text("2025-08-30".into()),
                Value::Text("11:30:00".into()),
                Value::Real(1_756_553_400.123),
            ]
        );
        assert_eq!(clock.shown(), "2025-08-30T11:30:00.123Z");
    }

    #[test]
    fn the_clock_connection_reads_and_writes_a_wal_database_like_any_other() {
        let (_d, p) = blog();
        Connection::open(&p)
            .unwrap()
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        let clock = FrozenClock::new(0).unwrap();
        let mut s = LocalSession::open(&p, Some(clock), true).unwrap();
        let script = parse(
            Path::new("w.sql"),
            "INSERT INTO users VALUES (2, datetime('now'));\nSELECT name FROM users WHERE id = 2;\n",
        )
        .unwrap();
        let r = Runner::atomic().execute(&script, &mut s).unwrap();
        assert!(r.ok(), "{r:?}");
        drop(s);
        let name: String = Connection::open(&p)
            .unwrap()
            .query_row("SELECT name FROM users WHERE id = 2", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, "1970-01-01 00:00:00");
    }
}
