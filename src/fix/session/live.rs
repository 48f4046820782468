//! The session on a running stack (`fix`, `check --fix`): each plan shown, asked for, applied
//! through the Engine API with its backup, verified by diagnosing the stack again, rolled back
//! when it did not work. A source patch that removes a cause can reveal the next failure of a
//! cascade: the next round fixes that one, up to [`MAX_ROUNDS`].
use super::{
    AfterPatch, Event, Gate, Options, Skip, Tally, Ui, Unfixed, backup_id, backup_root,
    edits_a_host_file, gate, import_patch,
};
use crate::engine::Diagnosis;
use crate::error::DoctorError;
use crate::fix::apply::{ApplyError, HostFiles};
use crate::fix::backup::{Backup, State};
use crate::fix::plan::{self, Plan, PreparedPatch};
use crate::rules::{FixAction, RuleSet, Severity};
use crate::stack::snapshot::StackSnapshot;
use std::path::PathBuf;

/// How many rounds of fix, re-diagnose, fix the next failure a session runs at most.
pub const MAX_ROUNDS: usize = 3;

/// What the session does to the stack, and asks of it. The CLI's is the Engine API (the
/// [`crate::fix::apply::Applier`]) and a new diagnosis of the live stack; each call is bounded.
pub trait Stack {
    /// A Swarm stack (changed by deploying it again, not by the applier).
    fn swarm(&self) -> bool;
    /// Remove the helper containers an earlier session left behind.
    fn remove_stale_helpers(&self, project: &str);
    /// The source patch of a plan's `patch-source` step, mapped onto the project's files.
    fn prepare_patch(&self, snapshot: &StackSnapshot, plan: &Plan)
    -> Result<PreparedPatch, String>;
    /// Back up, then run every step of `plan`; `progress` hears each step as it starts.
    fn apply(
        &self,
        snapshot: &StackSnapshot,
        plan: &Plan,
        id: String,
        created: &str,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Backup, ApplyError>;
    /// Put back everything `backup` holds.
    fn restore(&self, snapshot: &StackSnapshot, backup: &Backup) -> Result<(), ApplyError>;
    /// Wait until `service` is healthy (how, in words), or, with `settle_on_failure`, shows a
    /// failure.
    fn wait_healthy_or_failed(
        &self,
        snapshot: &StackSnapshot,
        service: &str,
        settle_on_failure: bool,
    ) -> Result<String, String>;
    /// Collect and diagnose the stack again.
    fn diagnose(&self) -> Result<(StackSnapshot, Diagnosis), DoctorError>;
    /// Now, as RFC 3339 (a backup's creation time and id).
    fn now(&self) -> String {
        crate::stack::collect::now_rfc3339()
    }
}

/// Show every plan of `diagnosis`, then apply the ones allowed (options, the person's answer),
/// verify each, roll back what did not work. True only when every problem was fixed and
/// verified.
pub fn run(
    stack: &dyn Stack,
    ui: &mut dyn Ui,
    options: Options,
    set: &RuleSet,
    snapshot: StackSnapshot,
    diagnosis: Diagnosis,
) -> Result<bool, DoctorError> {
    if stack.swarm() {
        ui.show(Event::Swarm);
        return Ok(!diagnosis.has_problems());
    }
    let compose_file = snapshot.compose_file.as_ref().map(PathBuf::from);
    let root = backup_root(compose_file.as_deref());
    stack.remove_stale_helpers(&snapshot.project);
    // An earlier fix that did not finish: say where its originals are.
    for b in crate::fix::backup::list(&root) {
        if matches!(b.manifest.state, State::BackedUp | State::Applying) {
            ui.show(Event::Interrupted(&b.manifest));
        }
    }
    let mut plans = plan::plans(&diagnosis, set);
    if plans.is_empty() {
        ui.show(Event::NoFix);
        return Ok(!diagnosis.has_problems());
    }
    let mut session = Session {
        stack,
        ui,
        options,
        set,
        compose_file,
        root,
        tally: Tally::default(),
        attempted: Vec::new(),
    };
    let mut current = snapshot;
    let mut round = 1;
    loop {
        // Whether a fix of this round removed its cause and the diagnosis after it shows the next.
        let mut progressed = false;
        let mut latest: Option<Diagnosis> = None;
        for plan in plans.iter_mut() {
            session.attempted.push(key(plan));
            if let Some(after) = session.one(plan, &current, &mut progressed)? {
                latest = Some(after.1);
                current = after.0;
            }
        }
        // The next round: what the diagnosis after this round's fixes shows that no round tried.
        let next: Vec<Plan> = latest
            .as_ref()
            .map(|d| {
                plan::plans(d, set)
                    .into_iter()
                    .filter(|p| !session.attempted.contains(&key(p)))
                    .collect()
            })
            .unwrap_or_default();
        if !progressed || next.is_empty() {
            break;
        }
        let names = next
            .iter()
            .map(|p| format!("{} on {}", p.finding, p.service))
            .collect();
        if round >= MAX_ROUNDS {
            session.ui.show(Event::RoundsUsedUp {
                rounds: MAX_ROUNDS,
                left: names,
            });
            session.tally.failed += next.len();
            break;
        }
        round += 1;
        session.ui.show(Event::Round { round, next: names });
        plans = next;
    }
    session.ui.show(Event::Summary(session.tally));
    Ok(session.tally.all_fixed())
}

/// What each round tried: the finding, its service, and the name it is about when a probe
/// located one (a second `name-not-defined` for another name is a new failure).
fn key(p: &Plan) -> (String, String, String) {
    (
        p.finding.clone(),
        p.service.clone(),
        p.data.get("name").cloned().unwrap_or_default(),
    )
}

struct Session<'s, 'u> {
    stack: &'s dyn Stack,
    ui: &'u mut dyn Ui,
    options: Options,
    set: &'s RuleSet,
    compose_file: Option<PathBuf>,
    root: PathBuf,
    tally: Tally,
    attempted: Vec<(String, String, String)>,
}

impl Session<'_, '_> {
    fn host<'a>(&self, snapshot: &'a StackSnapshot) -> HostFiles<'a> {
        HostFiles {
            snapshot,
            compose_file: self.compose_file.clone(),
        }
    }

    /// One plan, shown, asked for, applied and verified: the stack and its diagnosis after it,
    /// when it ran and was verified (or rolled back).
    fn one(
        &mut self,
        plan: &mut Plan,
        current: &StackSnapshot,
        progressed: &mut bool,
    ) -> Result<Option<(StackSnapshot, Diagnosis)>, DoctorError> {
        self.ui.show(Event::PlanShown(plan));
        if let Some(why) = &plan.blocked {
            if let Some(edit) = import_patch(&self.host(current), plan) {
                self.ui.show(Event::ManualPatch {
                    diff: edit.diff(),
                    then: AfterPatch::RebuildRestart,
                });
            }
            self.ui.show(Event::Skipped(Skip::Blocked(why.clone())));
            self.tally.manual += 1;
            return Ok(None);
        }
        self.ui.show(Event::WillDo);
        if self.options.no_rebuild {
            plan.steps
                .retain(|s| !matches!(s.action, FixAction::Recreate { .. }));
        }
        let mut unplannable = None;
        if plan
            .steps
            .iter()
            .any(|s| matches!(s.action, FixAction::PatchSource))
        {
            match self.stack.prepare_patch(current, plan) {
                Ok(p) => plan.patch = Some(p),
                Err(why) => unplannable = Some(why),
            }
        }
        let host = self.host(current);
        for s in &plan.steps {
            self.ui.show(Event::Step(s));
            if let FixAction::Recreate { .. } = s.action
                && let Some(p) = &plan.patch
                && p.services.len() > 1
            {
                self.ui.show(Event::Rebuilds(&p.services));
            }
            if let FixAction::PatchSource = s.action {
                if let Some(p) = &plan.patch {
                    self.ui.show(Event::PatchPreview(p));
                }
            } else if let FixAction::ExecBit { .. } = s.action {
                match host.exec_bit_change(plan, s) {
                    Ok((_, _, _, line)) => self.ui.show(Event::ModeChange(line)),
                    Err(e) => unplannable = Some(e.to_string()),
                }
            } else if edits_a_host_file(s) {
                // A host file edit: show the exact diff it will apply.
                match host.host_edit(plan, s) {
                    Ok((_, edit)) => self.ui.show(Event::DiffPreview(edit.diff())),
                    Err(e) => unplannable = Some(e.to_string()),
                }
            }
        }
        if let Some(why) = unplannable {
            self.ui.show(Event::Skipped(Skip::Unplannable(why)));
            self.tally.failed += 1;
            return Ok(None);
        }
        let changed: Vec<&str> = plan
            .steps
            .iter()
            .filter(|s| s.changes_data)
            .filter_map(|s| s.path.as_deref())
            .collect();
        if !changed.is_empty() {
            self.ui.show(Event::BackupFirst {
                root: &self.root,
                paths: Some(changed),
            });
        }
        let recreates = plan
            .steps
            .iter()
            .any(|s| matches!(s.action, FixAction::Recreate { .. }));
        self.ui.show(Event::CouldBeLost {
            recreated: recreates.then_some(plan.service.as_str()),
        });
        match gate(plan, self.options, self.ui) {
            Gate::Apply => {}
            Gate::Held => {
                self.tally.held += 1;
                return Ok(None);
            }
            Gate::NotApplied => {
                self.tally.skipped += 1;
                return Ok(None);
            }
        }
        let created = self.stack.now();
        let id = backup_id(&created, plan);
        let ui = &mut *self.ui;
        let result = self
            .stack
            .apply(current, plan, id.clone(), &created, &mut |step| {
                ui.show(Event::Progress(step))
            });
        let mut backup = match result {
            Ok(b) => b,
            Err(e) => {
                self.ui.show(Event::Failed(e.to_string()));
                self.tally.failed += 1;
                // Put back whatever the steps that ran changed.
                if let Ok(mut b) = Backup::open(&self.root.join(&id))
                    && !b.manifest.done.is_empty()
                {
                    match self.stack.restore(current, &b) {
                        Ok(()) => {
                            self.ui.show(Event::RolledBack { rebuilt: &[] });
                            let _ = b.finish(State::RolledBack);
                        }
                        Err(e) => {
                            self.ui.show(Event::RollbackFailed {
                                error: e.to_string(),
                                originals: &b.dir,
                            });
                            let _ = b.finish(State::Failed);
                        }
                    }
                }
                return Ok(None);
            }
        };
        self.ui.show(Event::Applied {
            backup: &backup.dir,
        });
        if self.options.no_rebuild
            && let Some(patch) = &plan.patch
        {
            self.ui.show(Event::NotRebuilt {
                services: patch.services.join(" "),
            });
            let _ = backup.finish(State::Applied);
            self.tally.skipped += 1;
            return Ok(None);
        }
        // Verify: the service comes back, and the rule no longer fires there.
        let healthy =
            self.stack
                .wait_healthy_or_failed(current, &plan.service, plan.patch.is_some());
        let (after_snapshot, after) = self.stack.diagnose()?;
        // The same failure: the same rule on the service, about the same name when the
        // probe located one (after `init_db` is imported, a NameError for another name is
        // the next failure, not this one).
        let still = after.findings.iter().any(|f| {
            f.id == plan.finding
                && f.service == plan.service
                && f.severity > Severity::Info
                && plan.data.get("name").is_none_or(|n| {
                    let names: Vec<&String> =
                        f.probes.iter().filter_map(|p| p.data.get("name")).collect();
                    names.is_empty() || names.contains(&n)
                })
        });
        // A cascade: the cause is gone and the next failure now shows on the service, one the
        // doctor has a fix for. The patch stays; the next round fixes that one.
        let next = (healthy.is_err() && !still && plan.patch.is_some())
            .then(|| {
                plan::plans(&after, self.set)
                    .into_iter()
                    .find(|p| {
                        p.service == plan.service
                            && p.blocked.is_none()
                            && !self.attempted.contains(&key(p))
                    })
                    .map(|p| p.finding)
            })
            .flatten();
        match (&healthy, still, &next) {
            (Ok(how), false, _) => {
                self.ui.show(Event::Verified {
                    finding: &plan.finding,
                    how,
                });
                let _ = backup.finish(State::Verified);
                self.tally.applied += 1;
                *progressed |= plan.patch.is_some();
            }
            (Err(e), false, Some(next)) => {
                self.ui.show(Event::CauseRemoved {
                    finding: &plan.finding,
                    service: &plan.service,
                    unhealthy: e,
                    next,
                });
                let _ = backup.finish(State::Verified);
                self.tally.applied += 1;
                *progressed = true;
            }
            _ => {
                self.ui.show(Event::NotFixed(match &healthy {
                    Err(e) => Unfixed::Unhealthy(e),
                    Ok(_) => Unfixed::StillFires(&plan.finding),
                }));
                match self.stack.restore(&after_snapshot, &backup) {
                    Ok(()) => {
                        self.ui.show(Event::RolledBack {
                            rebuilt: &backup.manifest.rebuild,
                        });
                        let _ = backup.finish(State::RolledBack);
                    }
                    Err(e) => {
                        self.ui.show(Event::RollbackFailed {
                            error: e.to_string(),
                            originals: &backup.dir,
                        });
                        let _ = backup.finish(State::Failed);
                    }
                }
                self.tally.failed += 1;
            }
        }
        Ok(Some((after_snapshot, after)))
    }
}
