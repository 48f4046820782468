//! A fix session: show each plan, ask, back up, apply, verify, roll back what did not work.
//!
//! The session makes every decision and says what it decided as an [`Event`]; a [`Ui`] renders
//! the events and answers the one question a session asks (apply this fix?). The CLI's `Ui`
//! writes the text a person reads and prompts on the terminal; the tests record the events and
//! answer from a script, with no terminal. Two sessions share the events, the gate and the
//! tally: [`live`], on a running stack (fix, re-diagnose, fix the next failure), and [`files`],
//! `preflight --fix` on the project's files before anything starts.
pub mod files;
pub mod live;

use crate::fix::apply::HostFiles;
use crate::fix::backup::{Backup, Manifest, State};
use crate::fix::edit::Edit;
use crate::fix::plan::{Plan, PreparedPatch, Step};
use crate::rules::Safety;
use std::path::{Path, PathBuf};

/// What the flags allow.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Apply unsafe fixes too.
    pub unsafe_fixes: bool,
    /// Apply without asking.
    pub yes: bool,
    /// Show every plan, change nothing.
    pub dry_run: bool,
    /// Patch the source, rebuild and verify nothing.
    pub no_rebuild: bool,
}

/// What happened, in order; a [`Ui`] renders each as it comes.
#[derive(Debug)]
pub enum Event<'a> {
    /// The stack is a Swarm stack: the applier drives compose containers, so nothing is applied.
    Swarm,
    /// An earlier fix did not finish; its backup holds the originals.
    Interrupted(&'a Manifest),
    /// The diagnosis calls for no fix.
    NoFix,
    /// A plan opens: what it fixes, and its steps in words.
    PlanShown(&'a Plan),
    /// The patch a person applies (the doctor does not), and what they do after it.
    ManualPatch { diff: String, then: AfterPatch },
    /// What the doctor will do follows.
    WillDo,
    /// One step the doctor will run.
    Step(&'a Step),
    /// A step left to the person (pre-flight starts nothing).
    StepLeftToYou(&'a Step),
    /// Every service a source patch rebuilds and recreates, when there is more than one.
    Rebuilds(&'a [String]),
    /// The unified diff a step will apply to a project file.
    DiffPreview(String),
    /// The mode change a step will make, in one line.
    ModeChange(String),
    /// The source patch a step will apply: how and why, then each file's diff.
    PatchPreview(&'a PreparedPatch),
    /// Where the backup is taken, and the containers' paths it holds (`None`: the project files
    /// the steps edit).
    BackupFirst {
        root: &'a Path,
        paths: Option<Vec<&'a str>>,
    },
    /// What the fix could lose: files written inside the service's container outside its
    /// volumes when it is recreated (`Some(service)`), else nothing the backup does not hold.
    CouldBeLost { recreated: Option<&'a str> },
    /// The plan is not applied, and why.
    Skipped(Skip),
    /// A step of the applier runs now.
    Progress(&'a str),
    /// A step failed.
    Failed(String),
    /// Every step ran; the backup's folder.
    Applied { backup: &'a Path },
    /// `--no-rebuild`: the patch is on disk, not running, not verified.
    NotRebuilt { services: String },
    /// The service came back and the finding no longer fires.
    Verified { finding: &'a str, how: &'a str },
    /// A new pre-flight no longer finds it.
    VerifiedByPreflight { finding: &'a str },
    /// The patch removed the cause; the service now fails on the next failure of a cascade,
    /// which the next round fixes.
    CauseRemoved {
        finding: &'a str,
        service: &'a str,
        unhealthy: &'a str,
        next: &'a str,
    },
    /// The fix did not work; it is rolled back next.
    NotFixed(Unfixed<'a>),
    /// The originals are back (and these services rebuilt from them).
    RolledBack { rebuilt: &'a [String] },
    /// Putting the originals back failed: where they are.
    RollbackFailed { error: String, originals: &'a Path },
    /// Another round: the failures the diagnosis after the fixes shows, `finding on service`.
    Round { round: usize, next: Vec<String> },
    /// The rounds are used up with these failures still to fix.
    RoundsUsedUp { rounds: usize, left: Vec<String> },
    /// The session's end: how many plans ended which way.
    Summary(Tally),
}

/// What a person does after applying a [`Event::ManualPatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPatch {
    /// On a running stack: rebuild the image, restart the service.
    RebuildRestart,
    /// Before a start: build.
    Build,
}

/// Why a plan is not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The doctor cannot carry it out (a person applies it).
    Blocked(String),
    /// Its steps could not be worked out on the files as they are.
    Unplannable(String),
    /// Pre-flight: it needs the running stack.
    NeedsRunningStack,
    /// An unsafe fix without `--unsafe-fixes`.
    Unsafe,
    /// `--dry-run`.
    DryRun,
    /// No terminal to ask on, and no `--yes`.
    NoOneToAsk,
    /// The person said no.
    Declined,
}

/// Why a fix that ran is not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfixed<'a> {
    /// The service did not come back healthy.
    Unhealthy(&'a str),
    /// The finding still fires on the running stack.
    StillFires(&'a str),
    /// A new pre-flight still finds it.
    StillFiresInPreflight(&'a str),
}

/// The one question a session asks.
#[derive(Debug, Clone, Copy)]
pub enum Question<'a> {
    /// Apply the plan's fix?
    Apply { finding: &'a str, service: &'a str },
}

/// The answer to a [`Question`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    /// There is no one to ask (no terminal).
    NoOneToAsk,
}

/// Where a session's events go and its questions are answered.
pub trait Ui {
    fn show(&mut self, event: Event<'_>);
    fn ask(&mut self, question: Question<'_>) -> Answer;
}

/// How many plans ended which way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Applied and verified.
    pub applied: usize,
    pub failed: usize,
    /// Unsafe, without `--unsafe-fixes`.
    pub held: usize,
    /// For a person to apply.
    pub manual: usize,
    /// Not applied: a dry run, declined, no one to ask, not verifiable.
    pub skipped: usize,
}

impl Tally {
    /// Every plan was applied and verified.
    pub fn all_fixed(&self) -> bool {
        self.failed == 0 && self.held == 0 && self.manual == 0 && self.skipped == 0
    }
}

/// Whether a plan may be applied: what the flags and the person say.
enum Gate {
    Apply,
    /// An unsafe fix without `--unsafe-fixes`.
    Held,
    /// A dry run, no one to ask, or declined.
    NotApplied,
}

/// Decide [`Gate`] for `plan`, saying why it is not applied.
fn gate(plan: &Plan, options: Options, ui: &mut dyn Ui) -> Gate {
    let skip = |ui: &mut dyn Ui, why: Skip| {
        let gate = if why == Skip::Unsafe {
            Gate::Held
        } else {
            Gate::NotApplied
        };
        ui.show(Event::Skipped(why));
        gate
    };
    if plan.safety == Safety::Unsafe && !options.unsafe_fixes {
        return skip(ui, Skip::Unsafe);
    }
    if options.dry_run {
        return skip(ui, Skip::DryRun);
    }
    if !options.yes {
        let question = Question::Apply {
            finding: &plan.finding,
            service: &plan.service,
        };
        match ui.ask(question) {
            Answer::Yes => {}
            Answer::No => return skip(ui, Skip::Declined),
            Answer::NoOneToAsk => return skip(ui, Skip::NoOneToAsk),
        }
    }
    Gate::Apply
}

/// A step that edits a file of the project on this host (shown as a diff before it runs).
pub fn edits_a_host_file(s: &Step) -> bool {
    s.changes_data && s.path.is_none()
        || matches!(s.action, crate::rules::FixAction::LfLineEnds { .. })
}

/// For a missing import the python probe located: the patch to the source file in the
/// project's build context, for a person to apply.
pub fn import_patch(host: &HostFiles<'_>, plan: &Plan) -> Option<Edit> {
    let import = plan.data.get("import")?;
    let file = plan.data.get("file")?;
    let dir = host.compose_file.as_deref()?.parent()?;
    let source = host.source_of(&plan.service, file, dir, false).ok()?;
    let text = crate::capped::text(&source, crate::fix::apply::MAX_EDIT_BYTES).ok()?;
    let rel = source
        .strip_prefix(dir)
        .unwrap_or(&source)
        .display()
        .to_string();
    Some(crate::fix::edit::add_import(&rel, &text, import))
}

/// A backup's id: when it was made, and the finding it fixes.
fn backup_id(created: &str, plan: &Plan) -> String {
    format!("{}-{}", created.replace(['-', ':'], ""), plan.finding)
}

/// Put back the project files a backup holds, saying how it went, and close the backup.
fn roll_back_files(backup: &mut Backup, ui: &mut dyn Ui) {
    let restored = backup
        .manifest
        .entries
        .iter()
        .try_for_each(|e| crate::fix::apply::restore_host(backup, e));
    match restored {
        Ok(()) => {
            ui.show(Event::RolledBack { rebuilt: &[] });
            let _ = backup.finish(State::RolledBack);
        }
        Err(e) => {
            ui.show(Event::RollbackFailed {
                error: e.to_string(),
                originals: &backup.dir,
            });
            let _ = backup.finish(State::Failed);
        }
    }
}

/// Where backups of a project live: beside its compose file, else in the current directory.
pub fn backup_root(compose_file: Option<&Path>) -> PathBuf {
    compose_file
        .and_then(|f| f.parent())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(crate::fix::backup::BACKUP_DIR)
}

#[cfg(test)]
mod tests;
