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
}

impl Scripts<'_> {
    fn run(&self, r: &Rehearsal, s: &Script) -> Result<Outcome, Error> {
        let mut session = r.session()?;
        Ok(Outcome::Script(self.runner.execute(s, &mut session)?))
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
        self.run(r, self.forward)
    }

    fn undo(&mut self, r: &Rehearsal) -> Option<Result<Outcome, Error>> {
        let rollback = self.rollback?;
        if let Some(e) = self.rollback_refused.take() {
            return Some(Ok(Outcome::Refused(e)));
        }
        Some(self.run(r, rollback))
    }
}

pub fn rehearse(opts: &Options, on_stage: OnStage) -> Result<Report, Error> {
    let forward = script::load(&opts.forward)?;
    let rollback = opts.rollback.as_deref().map(script::load).transpose()?;
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
    r.report.runner = Some(format!("{}; {clock}", opts.runner.describe()));
    r.fingerprint()?;
    let expect_data: Expect = expect
        .as_ref()
        .map(|(_, (e, _))| e.clone())
        .unwrap_or_default();
    // one the runner refuses is a failed rehearsal: production would not run it either
    let mut scripts = Scripts {
        forward: &forward,
        rollback: rollback.as_ref(),
        forward_refused: opts.runner.check(&forward).err(),
        rollback_refused: rollback.as_ref().and_then(|r| opts.runner.check(r).err()),
        runner: &opts.runner,
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
            hint: "give --expect".into(),
            no_undo: ("no --rollback given".into(), true),
            redeploy: true,
            bookkeeping: None,
        },
    )?;
    Ok(r.finish())
}
