//! Which tool a directory belongs to, and which table holds its records. The same file names
//! belong to several tools (`N_x.up.sql` is golang-migrate's and sqlx's) and the same table name
//! has different shapes (`schema_migrations(version, dirty)` is golang-migrate's, a
//! `schema_migrations(version)` is dbmate's), so files say what they can and the tracking table
//! is recognised by its columns, not its name.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

use super::{MigrationsError, Tool, files, read};
use crate::db::{Db, DbExt, Value, as_text};

/// The tool and its table.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub tool: Tool,
    /// The tracking table (None: the database has none of this tool's shape).
    pub table: Option<String>,
    /// Why this tool, in words.
    pub why: String,
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid pattern"))
}

/// What the directory's files say: tools with a marker of their own (strong), and tools whose
/// file names merely fit (weak).
fn from_directory(dir: &Path) -> Result<(BTreeSet<Tool>, BTreeSet<Tool>), MigrationsError> {
    static DBMATE: OnceLock<Regex> = OnceLock::new();
    static REFINERY: OnceLock<Regex> = OnceLock::new();
    static UPDOWN: OnceLock<Regex> = OnceLock::new();
    static NUMBERED: OnceLock<Regex> = OnceLock::new();
    static SELF_RECORDING: OnceLock<Regex> = OnceLock::new();
    let mut strong = BTreeSet::new();
    let mut weak = BTreeSet::new();
    if dir.join("meta/_journal.json").is_file() {
        strong.insert(Tool::Drizzle);
    }
    if dir.join("migration_lock.toml").is_file() {
        strong.insert(Tool::Prisma);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| MigrationsError::Read {
        path: dir.to_path_buf(),
        message: format!("{e} (--migrations names the directory of migration files)"),
    })?;
    for entry in entries.flatten() {
        if entry.path().join("migration.sql").is_file() {
            strong.insert(Tool::Prisma);
        }
    }
    for (name, path) in files(dir)? {
        if !name.ends_with(".sql") {
            continue;
        }
        if re(&REFINERY, r"^[UV]\d+(\.\d+)?__\w+\.sql$").is_match(&name) {
            weak.insert(Tool::Refinery);
        }
        if re(&UPDOWN, r"^[0-9]+_.*\.(up|down)\.sql$").is_match(&name) {
            weak.insert(Tool::GolangMigrate);
            weak.insert(Tool::Sqlx);
        } else if re(&NUMBERED, r"^[0-9]+_.+\.sql$").is_match(&name) {
            weak.insert(Tool::Sqlx);
        }
        let text = read(&path)?;
        if text.lines().any(|l| l.trim() == "-- +goose Up") {
            strong.insert(Tool::Goose);
        }
        if re(&DBMATE, r"(?m)^--\s*migrate:up(\s*$|\s+\S+)").is_match(&text) {
            strong.insert(Tool::Dbmate);
        }
        if re(
            &SELF_RECORDING,
            r#"(?i)insert\s+(or\s+\w+\s+)?into\s+["`\[]?migrations["`\]]?\s*\("#,
        )
        .is_match(&text)
        {
            strong.insert(Tool::Liveone);
        }
    }
    Ok((strong, weak))
}

/// Tools whose tracking-table shape some table of the database has, with the table.
fn from_database(db: &dyn Db) -> Result<Vec<(Tool, String)>, MigrationsError> {
    let tables: Vec<String> = db
        .query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            &[],
        )?
        .iter()
        .filter_map(|r| as_text(&r[0]))
        .collect();
    let mut out = Vec::new();
    for t in tables {
        let cols = columns(db, &t)?;
        for tool in Tool::ALL {
            if tool == Tool::DrizzleBetterSqlite3 {
                continue;
            }
            if same_columns(&cols, tool.format().columns()) {
                out.push((tool, t.clone()));
            }
        }
    }
    Ok(out)
}

fn columns(db: &dyn Db, table: &str) -> Result<BTreeSet<String>, MigrationsError> {
    Ok(db
        .query(
            "SELECT name FROM pragma_table_info(?1)",
            &[Value::Text(table.into())],
        )?
        .iter()
        .filter_map(|r| as_text(&r[0]).map(|c| c.to_ascii_lowercase()))
        .collect())
}

fn same_columns(have: &BTreeSet<String>, want: &[&str]) -> bool {
    have.len() == want.len() && want.iter().all(|c| have.contains(*c))
}

/// `tool`'s tracking table in `db`: `table` when given (it must have the tool's columns), else
/// the table with the tool's columns, its default name first.
pub fn find_table(
    db: &dyn Db,
    tool: Tool,
    table: Option<&str>,
) -> Result<Option<String>, MigrationsError> {
    let format = tool.format();
    let wrong_shape = |t: &str, cols: &BTreeSet<String>| {
        let other = Tool::ALL
            .iter()
            .find(|o| same_columns(cols, o.format().columns()))
            .map(|o| format!(": those of {o}'s table"))
            .unwrap_or_default();
        MigrationsError::Table {
            target: db.target().shown(),
            table: t.to_string(),
            message: format!(
                "has the columns ({}){other}, not {tool}'s ({}); name the tool with --tool or the table with --migrations-table",
                cols.iter().cloned().collect::<Vec<_>>().join(", "),
                format.columns().join(", ")
            ),
        }
    };
    if let Some(t) = table {
        if !db.table_exists(t)? {
            return Ok(None);
        }
        let cols = columns(db, t)?;
        return if same_columns(&cols, format.columns()) {
            Ok(Some(t.to_string()))
        } else {
            Err(wrong_shape(t, &cols))
        };
    }
    let shaped: Vec<String> = from_database(db)?
        .into_iter()
        .filter(|(t, _)| *t == tool || (tool == Tool::DrizzleBetterSqlite3 && *t == Tool::Drizzle))
        .map(|(_, name)| name)
        .collect();
    if shaped.iter().any(|t| t == format.table()) {
        return Ok(Some(format.table().to_string()));
    }
    if db.table_exists(format.table())? && shaped.is_empty() {
        let cols = columns(db, format.table())?;
        return Err(wrong_shape(format.table(), &cols));
    }
    match shaped.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        many => Err(MigrationsError::Table {
            target: db.target().shown(),
            table: many.join(", "),
            message: format!(
                "all have {tool}'s columns; name the one to read with --migrations-table"
            ),
        }),
    }
}

/// The tool of `dir` against `db`: `tool` when named, else the one the files and the tables
/// agree on.
pub fn detect(
    dir: &Path,
    db: &dyn Db,
    tool: Option<Tool>,
    table: Option<&str>,
) -> Result<Detected, MigrationsError> {
    if let Some(tool) = tool {
        return Ok(Detected {
            tool,
            table: find_table(db, tool, table)?,
            why: "named with --tool".into(),
        });
    }
    let (strong, weak) = from_directory(dir)?;
    let in_db = from_database(db)?;
    let db_tools: BTreeSet<Tool> = in_db.iter().map(|(t, _)| *t).collect();
    let candidates = if strong.is_empty() { weak } else { strong };
    let names = |set: &BTreeSet<Tool>| set.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
    let ambiguous = |set: &BTreeSet<Tool>, why: &str| MigrationsError::Detect {
        dir: dir.to_path_buf(),
        message: format!(
            "the files fit {} ({why}); name the tool with --tool {}",
            names(set),
            set.iter().map(|t| t.name()).collect::<Vec<_>>().join("|")
        ),
    };
    let chosen = match candidates.len() {
        0 => {
            return Err(MigrationsError::Detect {
                dir: dir.to_path_buf(),
                message: format!(
                    "no migration files of a known tool here; name the tool with --tool ({})",
                    Tool::ALL.map(|t| t.name()).join("|")
                ),
            });
        }
        1 => {
            let tool = *candidates.iter().next().expect("one");
            (tool, format!("files of {tool} in {}", dir.display()))
        }
        _ => {
            let both: BTreeSet<Tool> = candidates.intersection(&db_tools).copied().collect();
            match both.len() {
                1 => {
                    let tool = *both.iter().next().expect("one");
                    (
                        tool,
                        format!(
                            "files fit {}; the tracking table has {tool}'s columns",
                            names(&candidates)
                        ),
                    )
                }
                0 => {
                    return Err(ambiguous(
                        &candidates,
                        "the database has no tracking table of any of them",
                    ));
                }
                _ => {
                    return Err(ambiguous(
                        &both,
                        "the database has tracking tables of more than one",
                    ));
                }
            }
        }
    };
    let (tool, why) = chosen;
    Ok(Detected {
        tool,
        table: find_table(db, tool, table)?,
        why,
    })
}
