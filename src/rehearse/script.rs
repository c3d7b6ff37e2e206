//! `rehearse --sql`: a SQL-script migration (forward, rollback) rehearsed on a copy of a backup,
//! executed as production's runner executes it (`migrate::runner`), with the clock frozen at one
//! instant for every stage. Forward → expectations → every change against the declared scope →
//! forward again (nothing may change) → rollback (every table and the schema exactly as before)
//! → forward once more (the change can be redeployed) → report: the pipeline's stages
//! (`rehearse::pipeline`) over the two scripts.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::OnStage;
use super::pipeline::{self, Checks, Migration, Outcome, Plan, Rehearsal};
use crate::error::Error;
use crate::migrate::expect::Expect;
use crate::migrate::runner::Runner;
use crate::migrate::script::{self, Script, ScriptError};
use crate::migrations::file;
use crate::report::{Report, SpecIdentity};

pub struct Options {
    /// The backup; None: the bundled fixture.
    pub backup: Option<PathBuf>,
    pub forward: PathBuf,
    pub rollback: Option<PathBuf>,
    pub expect: Option<PathBuf>,
    /// How production executes the scripts.
    pub runner: Runner,
    /// The "now" every stage sees, in Unix milliseconds; None: the backup's time.
    pub now: Option<i64>,
}

/// How the report names the scripts: their paths, and one sha256 of their texts.
fn identity(
    forward: &Script,
    rollback: Option<&Script>,
    expect: Option<(&Path, &str)>,
) -> SpecIdentity {
    let mut h = Sha256::new();
    let texts = [
        Some(forward.text.as_str()),
        rollback.map(|r| r.text.as_str()),
        expect.map(|(_, t)| t),
    ];
    for t in texts.into_iter().flatten() {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
    let mut origin = format!("forward {}", forward.name());
    if let Some(r) = rollback {
        origin.push_str(&format!(", rollback {}", r.name()));
    }
    if let Some((p, _)) = expect {
        origin.push_str(&format!(", expect {}", p.display()));
    }
    SpecIdentity {
        kind: "scripts".into(),
        name: "sql scripts".into(),
        origin,
        sha256: crate::backup::hex(&h.finalize()),
    }
}

/// The forward script (and its rollback) as a [`Migration`]: both run as production's runner
/// runs them, under the rehearsal's frozen clock.
struct Scripts<'a> {
    forward: &'a Script,
    rollback: Option<&'a Script>,
    forward_refused: Option<ScriptError>,
    rollback_refused: Option<ScriptError>,
    runner: &'a Runner,
    rollback_runner: &'a Runner,
}

impl Scripts<'_> {
    fn run(&self, r: &Rehearsal, s: &Script, runner: &Runner) -> Result<Outcome, Error> {
        let mut session = r.session()?;
        Ok(Outcome::Script(runner.execute(s, &mut session)?))
    }
}

impl Migration for Scripts<'_> {
    fn identity(&self) -> String {
        self.forward.name()
    }

    fn undo_identity(&self) -> Option<String> {
        self.rollback.map(Script::name)
    }

    fn script(&self) -> Option<&Script> {
        Some(self.forward)
    }

    fn forward(&mut self, r: &Rehearsal, _again: bool) -> Result<Outcome, Error> {
        if let Some(e) = self.forward_refused.take() {
            return Ok(Outcome::Refused(e));
        }
        self.run(r, self.forward, self.runner)
    }

    fn undo(&mut self, r: &Rehearsal) -> Option<Result<Outcome, Error>> {
        let rollback = self.rollback?;
        if let Some(e) = self.rollback_refused.take() {
            return Some(Ok(Outcome::Refused(e)));
        }
        Some(self.run(r, rollback, self.rollback_runner))
    }
}

/// A script as its runner takes it: as written, or, under a migration tool's profile, the file
/// read as that tool reads one migration file (`crate::migrations::file`).
pub struct Taken {
    pub script: Script,
    pub runner: Runner,
    /// The tool refuses the file before anything runs.
    pub refused: Option<ScriptError>,
    /// Statements written in the file that the tool never runs.
    pub unexecuted: Vec<crate::migrations::Statement>,
    /// What the tool takes from the file, for the report's header.
    pub says: Option<String>,
}

pub fn take(runner: &Runner, path: &Path, part: file::Part) -> Result<Taken, Error> {
    if runner.tool.is_none() {
        let script = script::load(path)?;
        return Ok(Taken {
            refused: runner.check(&script).err(),
            script,
            runner: runner.clone(),
            unexecuted: Vec::new(),
            says: None,
        });
    }
    let p = file::prepare(runner, path, part)?;
    let refused = p.refused.or_else(|| p.runner.check(&p.script).err());
    Ok(Taken {
        script: p.script,
        runner: p.runner,
        refused,
        unexecuted: p.unexecuted,
        says: Some(p.says),
    })
}

/// A statement the tool never runs, as a failed check naming file, line and statement: the
/// change it reads as would silently never happen.
pub fn never_runs(tool: &str, s: &crate::migrations::Statement) -> crate::report::CheckResult {
    never_runs_in(tool, s, false).with_examples(never_runs_examples(tool, s))
}

/// The check of a statement `tool` never runs: a failure, or a warning when the migration is
/// `applied` (it never ran), with no examples.
pub fn never_runs_in(
    tool: &str,
    s: &crate::migrations::Statement,
    applied: bool,
) -> crate::report::CheckResult {
    use crate::report::{Fact, Fixed};
    crate::checks::result("sql.runner", format!("{}:{}", s.file.display(), s.line)).judged(
        u64::from(!applied),
        Fixed::StatementDoesWhatItReads,
        Fact::NeverRuns {
            tool: tool.to_string(),
            statement: crate::db::DbError::sql_excerpt(&s.sql),
            applied,
        },
    )
}

/// Where the statement `tool` never runs is, and the statement.
pub fn never_runs_examples(
    tool: &str,
    s: &crate::migrations::Statement,
) -> Vec<crate::report::Example> {
    use crate::report::Example;
    vec![
        Example::NeverRuns {
            file: s.file.display().to_string(),
            line: s.line as u64,
            tool: tool.to_string(),
            statement: crate::db::DbError::sql_excerpt(&s.sql),
        },
        Example::Statement { sql: s.sql.clone() },
    ]
}

pub fn rehearse(opts: &Options, on_stage: OnStage) -> Result<Report, Error> {
    let taken = take(&opts.runner, &opts.forward, file::Part::Up)?;
    let mut taken_back = opts
        .rollback
        .as_deref()
        .map(|p| take(&opts.runner, p, file::Part::Down))
        .transpose()?;
    let forward = taken.script.clone();
    let rollback = taken_back.as_ref().map(|t| t.script.clone());
    // a script that does not parse stops here, before anything has run
    for s in std::iter::once(&forward).chain(rollback.as_ref()) {
        if let Some(e) = s.syntax_error() {
            return Err(e.into());
        }
    }
    let expect = match &opts.expect {
        Some(p) => Some((p.clone(), Expect::load(p)?)),
        None => None,
    };
    let mut r = Rehearsal::extract(
        opts.backup.as_deref(),
        identity(
            &forward,
            rollback.as_ref(),
            expect.as_ref().map(|(p, (_, t))| (p.as_path(), t.as_str())),
        ),
        None,
        on_stage,
    )?;
    let clock = r.freeze(opts.now)?;
    r.report.runner = Some(format!(
        "{}{}; {clock}",
        taken.runner.describe(),
        match &taken.says {
            Some(says) => format!(
                "; one file as the tool runs one migration file: {says} (no tracking row: a single file has no tracking table)"
            ),
            None => String::new(),
        }
    ));
    for s in taken
        .unexecuted
        .iter()
        .chain(taken_back.iter().flat_map(|t| &t.unexecuted))
    {
        r.report.checks.push(never_runs(&taken.runner.name, s));
    }
    r.fingerprint()?;
    let expect_data: Expect = expect
        .as_ref()
        .map(|(_, (e, _))| e.clone())
        .unwrap_or_default();
    // one the runner refuses is a failed rehearsal: production would not run it either
    let rollback_refused = taken_back.as_mut().and_then(|t| t.refused.take());
    let mut scripts = Scripts {
        forward: &forward,
        rollback: rollback.as_ref(),
        forward_refused: taken.refused,
        rollback_refused,
        runner: &taken.runner,
        rollback_runner: taken_back.as_ref().map_or(&taken.runner, |t| &t.runner),
    };
    pipeline::run(
        &mut r,
        &mut scripts,
        &Plan {
            label: None,
            checks: Checks::Expect {
                expect: &expect_data,
                declared: expect.is_some(),
            },
            what: "the forward script",
            hint: crate::report::ScopeHint::GiveExpect,
            no_undo: (
                "no --rollback given".into(),
                Some(crate::report::Fixed::NoRollbackGiven),
            ),
            redeploy: true,
            bookkeeping: None,
        },
    )?;
    Ok(r.finish())
}
