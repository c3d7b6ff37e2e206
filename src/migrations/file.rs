//! One migration as its tool executes it, for a runner: the statements of a file as the tool
//! reads them, in a [`Script`] the runner runs, and the [`Runner`] that holds the tool's settings.
//! `rehearse --migrations` runs a directory's migrations this way; `--runner TOOL` on `rehearse
//! --sql` and `apply` runs one file this way, read by the tool's own format (its up section,
//! drizzle's breakpoints, dbmate's `transaction:false`, goose's `NO TRANSACTION`, sqlx's
//! `-- no-transaction`): no second model of any tool.

use std::path::Path;

use super::{
    Down, ForeignKeys, Migration, MigrationsError, OnError, Statement, Tool, Transactions,
};
use crate::db::{Stmt, Value};
use crate::migrate::runner::{Holder, Pragmas, Runner};
use crate::migrate::script::{self, Script, ScriptError, ScriptStmt};

/// A tracking statement with its parameters written in as SQL literals (the runner runs SQL
/// text): `?` takes the next parameter, `?N` the Nth; quoted text is left alone.
pub fn bind(s: &Stmt) -> String {
    let mut out = String::with_capacity(s.sql.len());
    let mut next = 0;
    let mut quote: Option<char> = None;
    let mut chars = s.sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if matches!(c, '\'' | '"' | '`') => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '[' => {
                quote = Some(']');
                out.push(c);
            }
            None if c == '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let at = match digits.parse::<usize>() {
                    Ok(n) => n.saturating_sub(1),
                    Err(_) => {
                        next += 1;
                        next - 1
                    }
                };
                out.push_str(&crate::sql::literal(
                    s.params.get(at).unwrap_or(&Value::Null),
                ));
            }
            None => out.push(c),
        }
    }
    out
}

/// A migration's statements as the runner runs them, its tool's rows `with` it at the end.
pub fn script_of(path: &Path, statements: &[Statement], with: &[Stmt]) -> Script {
    let mut stmts: Vec<ScriptStmt> = Vec::new();
    for st in statements {
        // a tool sends a block (goose's StatementBegin…End) to SQLite whole, which runs every
        // statement in it
        for piece in script::pieces(&st.sql, st.line, false) {
            stmts.push(script::statement(piece.line, piece.sql.trim_end()));
        }
    }
    let last = stmts.last().map_or(1, |s| s.line);
    for s in with {
        stmts.push(script::statement(last, &bind(s)));
    }
    Script {
        path: path.to_path_buf(),
        text: stmts
            .iter()
            .map(|s| s.sql.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        statements: stmts,
    }
}

/// The runner that runs a migration as `tool` does.
pub fn runner_for(tool: Tool, foreign_keys: ForeignKeys, transactions: Transactions) -> Runner {
    if tool == Tool::Liveone {
        // piped into `turso db shell` by hand
        return Runner {
            tool: Some(tool),
            ..Runner::turso_shell()
        };
    }
    Runner {
        name: tool.name().into(),
        foreign_keys,
        transactions,
        on_error: OnError::Stop,
        // a tool opens its transaction before the file's first statement
        pragmas: Pragmas::InPlace,
        holder: Holder::Tool,
        tool: Some(tool),
    }
}

/// A tool's refusal ("path:line: why" or "path: why") as a refusal naming file and line.
pub fn refusal(path: &Path, why: &str) -> ScriptError {
    let shown = path.display().to_string();
    let rest = why.strip_prefix(&shown).unwrap_or(why);
    let (line, why) = match rest.strip_prefix(':').map(|r| r.split_once(':')) {
        Some(Some((n, w))) if n.parse::<usize>().is_ok() => (n.parse().unwrap_or(1), w.trim()),
        _ => (1, rest.trim_start_matches(':').trim()),
    };
    ScriptError::Refused {
        path: path.to_path_buf(),
        line,
        statement: "(the whole migration)".into(),
        why: why.to_string(),
    }
}

/// The name a directory of `tool` gives one migration file, and the text that directory needs
/// beside it (drizzle's journal): the file laid out as the tool's own loader reads it.
fn layout(tool: Tool, dir: &Path, text: &str) -> Result<(), MigrationsError> {
    let write = |rel: &str, body: &str| -> Result<(), MigrationsError> {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| MigrationsError::Read {
                path: parent.to_path_buf(),
                message: e.to_string(),
            })?;
        }
        std::fs::write(&p, body).map_err(|e| MigrationsError::Read {
            path: p.clone(),
            message: e.to_string(),
        })
    };
    match tool {
        Tool::Liveone => write("0001_file.sql", text),
        Tool::Drizzle | Tool::DrizzleBetterSqlite3 => {
            write("0000_file.sql", text)?;
            write(
                "meta/_journal.json",
                r#"{"version":"7","dialect":"sqlite","entries":[{"idx":0,"version":"6","when":1,"tag":"0000_file","breakpoints":true}]}"#,
            )
        }
        Tool::Sqlx | Tool::Dbmate | Tool::Goose => write("1_file.sql", text),
        Tool::GolangMigrate => write("1_file.up.sql", text),
        Tool::Prisma => write("0_file/migration.sql", text),
        Tool::Refinery => write("V1__file.sql", text),
    }
}

/// The file at `path` read as `tool` reads one migration file: its statements (the up section
/// where the file has sections), its down section where it has one, what the tool refuses or never
/// runs, and its execution settings, every path naming `path` itself.
pub fn load(tool: Tool, path: &Path) -> Result<Migration, MigrationsError> {
    let text = super::read(path)?;
    // the tool's own loader reads a directory: the file's text, laid out there under a name the
    // tool accepts (a SQL file, never data)
    let dir = tempfile::Builder::new()
        .prefix(".preflight-file-")
        .tempdir()
        .map_err(|e| MigrationsError::Read {
            path: path.to_path_buf(),
            message: format!("a temporary directory: {e}"),
        })?;
    layout(tool, dir.path(), &text)?;
    let mut all = super::load(tool, dir.path())?;
    let Some(mut m) = (!all.is_empty()).then(|| all.remove(0)) else {
        return Err(MigrationsError::invalid(
            path,
            format!("{tool} reads no migration from it"),
        ));
    };
    let tmp = m.path.display().to_string();
    let real = path.to_path_buf();
    let fix = |s: &mut Statement| s.file = real.clone();
    m.up.iter_mut().for_each(fix);
    m.unexecuted.iter_mut().for_each(fix);
    if let Some(d) = m.down.as_mut() {
        d.path = real.clone();
        d.statements.iter_mut().for_each(fix);
    }
    m.refused = m
        .refused
        .map(|r| r.replace(&tmp, &path.display().to_string()));
    m.path = real;
    Ok(m)
}

/// Which part of a file a run executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Up,
    /// The down section where the file has one (dbmate, goose), else the file as for up.
    Down,
}

/// One file prepared to run as a tool runs it.
pub struct Prepared {
    pub script: Script,
    pub runner: Runner,
    /// The tool refuses the file whatever the data (file and line).
    pub refused: Option<ScriptError>,
    /// Statements written in the file that the tool never runs.
    pub unexecuted: Vec<Statement>,
    /// What the file's own markers decided, in words, for the report's header.
    pub says: String,
}

/// Prepare `path` to run under `runner`, a tool's profile (`runner.tool`): the statements and
/// settings the tool takes from the file, with the settings `--foreign-keys`, `--transactions`,
/// `--on-error` changed from the profile kept.
pub fn prepare(runner: &Runner, path: &Path, part: Part) -> Result<Prepared, MigrationsError> {
    let tool = runner.tool.expect("a tool's runner");
    let m = load(tool, path)?;
    let default = tool_runner(tool);
    let (statements, transactions, section) = match (&m.down, part) {
        (
            Some(Down {
                statements,
                transactions,
                ..
            }),
            Part::Down,
        ) => (statements.clone(), *transactions, "its down section"),
        (Some(_), Part::Up) => (m.up.clone(), m.execution.transactions, "its up section"),
        (None, _) => (m.up.clone(), m.execution.transactions, "the whole file"),
    };
    let mut r = runner_for(tool, m.execution.foreign_keys, transactions);
    // a setting the flags changed from the profile's stays changed
    if runner.foreign_keys != default.foreign_keys {
        r.foreign_keys = runner.foreign_keys;
    }
    if runner.transactions != default.transactions {
        r.transactions = runner.transactions;
    }
    if runner.on_error != default.on_error {
        r.on_error = runner.on_error;
    }
    r.name = runner.name.clone();
    let says = format!(
        "{tool} runs {section} of {}{}",
        path.display(),
        if tool == Tool::Liveone {
            String::new()
        } else if transactions == Transactions::Script {
            " in a transaction of its own".to_string()
        } else {
            " outside a transaction, as the file's marker says".to_string()
        }
    );
    Ok(Prepared {
        script: script_of(path, &statements, &[]),
        refused: m.refused.as_deref().map(|why| refusal(path, why)),
        unexecuted: m.unexecuted.clone(),
        runner: r,
        says,
    })
}

/// The profile `--runner TOOL` names: the tool's settings for a file without markers (read from
/// the tool's own format, on a file of one statement).
pub fn tool_runner(tool: Tool) -> Runner {
    let probe = tempfile::Builder::new()
        .prefix(".preflight-file-")
        .tempdir()
        .ok()
        .and_then(|d| {
            layout(tool, d.path(), "SELECT 1;\n").ok()?;
            super::load(tool, d.path()).ok()?.into_iter().next()
        });
    let mut r = match probe {
        Some(m) => runner_for(tool, m.execution.foreign_keys, m.execution.transactions),
        None => runner_for(tool, ForeignKeys::On, Transactions::Script),
    };
    r.name = tool.name().into();
    r
}
