//! Integration tests: the preflight binary and library against real SQLite files.

#[path = "../common/mod.rs"]
mod common;

mod backup;
mod diskfull;
mod extract;
mod fixture;
mod hazards;
mod inputs;
mod interrupt;
mod journal;
mod migrate;
mod readme;
mod rehearse;
mod rehearse_migrations;
mod remote;
mod report;
mod rerun;
mod sql;
mod status;
mod tool_runners;
mod verify;
