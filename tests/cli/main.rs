//! Integration tests: the preflight binary and library against real SQLite files.

#[path = "../common/mod.rs"]
mod common;

mod backup;
mod extract;
mod fixture;
mod hazards;
mod migrate;
mod rehearse;
mod remote;
mod report;
mod sql;
mod status;
mod verify;
