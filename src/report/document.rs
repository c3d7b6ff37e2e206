//! What every command other than `verify` and `rehearse` returns: a typed result (its JSON), and
//! the same result laid out for people as labelled values, tables and notes. The renderers show
//! the layout in their format; JSON prints the typed result in a versioned envelope.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The version of the JSON that `--format json` prints (a report or a command's envelope).
/// It changes when a field changes meaning or disappears; new fields may appear within it.
pub const FORMAT_VERSION: u32 = 3;

/// A command's result laid out for people.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    /// What was done, in one line: `migrated liveone.db with spec (built-in) specs/liveone.toml`.
    pub title: String,
    /// Labelled values, in order.
    pub pairs: Vec<(String, String)>,
    pub tables: Vec<DocTable>,
    /// Lines that follow the tables.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocTable {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl DocTable {
    pub fn new(headers: &[&str], rows: Vec<Vec<String>>) -> DocTable {
        DocTable {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows,
        }
    }
}

/// A command's typed result.
pub trait View: Serialize + DeserializeOwned {
    /// The command's name, as the JSON envelope and the JUnit suite name it.
    fn command(&self) -> &'static str;
    /// The layout for people.
    fn document(&self) -> Document;
    /// Whether the command's verdict is a pass (exit 0); `diff` of two different databases and
    /// `status` with pending migrations are not.
    fn passed(&self) -> bool {
        true
    }
}

/// The JSON of a command's result: `{"format_version": 3, "tool": …, "command": …, "status":
/// "pass"|"fail", "result": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub format_version: u32,
    pub tool: String,
    pub command: String,
    pub status: super::Status,
    pub result: T,
}

impl<T: View> Envelope<T> {
    pub fn of(view: T) -> Envelope<T> {
        Envelope {
            format_version: FORMAT_VERSION,
            tool: format!("preflight {}", env!("CARGO_PKG_VERSION")),
            command: view.command().to_string(),
            status: if view.passed() {
                super::Status::Pass
            } else {
                super::Status::Fail
            },
            result: view,
        }
    }
}

/// Whatever a renderer needs of a view: its layout, verdict and JSON.
pub struct Shown {
    pub command: &'static str,
    pub passed: bool,
    pub document: Document,
    pub json: String,
}

impl Shown {
    pub fn of<T: View + Clone>(view: &T) -> Shown {
        Shown {
            command: view.command(),
            passed: view.passed(),
            document: view.document(),
            json: serde_json::to_string_pretty(&Envelope::of(view.clone()))
                .expect("a view serialises")
                + "\n",
        }
    }
}
