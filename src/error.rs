//! The top-level error and the documented exit codes.

use std::process::ExitCode;

/// Every check passed.
pub const EXIT_PASS: u8 = 0;
/// The command ran and at least one check failed.
pub const EXIT_FAIL: u8 = 1;
/// preflight could not run (bad input, unreadable file, refused confirmation, ...).
pub const EXIT_ERROR: u8 = 2;
/// Stopped by SIGINT (Ctrl-C): 128 + 2.
pub const EXIT_SIGINT: u8 = 130;
/// Stopped by SIGTERM: 128 + 15.
pub const EXIT_SIGTERM: u8 = 143;

/// What a command that ran to the end concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Pass => EXIT_PASS.into(),
            Outcome::Fail => EXIT_FAIL.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    #[error(transparent)]
    Fixture(#[from] crate::fixture::FixtureError),
    #[error(transparent)]
    Backup(#[from] crate::backup::BackupError),
    #[error(transparent)]
    Simulate(#[from] crate::fixture::simulate::SimulateError),
    #[error(transparent)]
    Guard(#[from] crate::guard::GuardError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    Plan(#[from] crate::spec::validate::PlanError),
    #[error(transparent)]
    Migrate(#[from] crate::migrate::MigrateError),
    #[error(transparent)]
    Journal(#[from] crate::migrate::journal::JournalError),
    #[error(transparent)]
    Script(#[from] crate::migrate::script::ScriptError),
    #[error(transparent)]
    Expect(#[from] crate::migrate::expect::ExpectError),
    #[error(transparent)]
    Migrations(#[from] crate::migrations::MigrationsError),
    #[error(transparent)]
    Checks(#[from] crate::checks::invariants::ChecksError),
    #[error("writing to standard output: {0}")]
    Output(std::io::Error),
    /// A signal stopped the command at a safe point.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The exit status for this error: a backup below `--min-size` is a failed check (1), the
    /// seed checklist's "backup size ≥ 6MB"; everything else means preflight could not run (2).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Backup(crate::backup::BackupError::TooSmall { .. }) => EXIT_FAIL,
            _ => EXIT_ERROR,
        }
    }

    /// The message as printed: one line, without credentials.
    pub fn one_line(&self) -> String {
        crate::db::target::scrub(&self.to_string())
    }

    /// Output cut short by a closed pipe (`preflight ... | head`) is not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}
