//! The session on the project's files before a start (`preflight --fix`): the fixes whose every
//! step edits project files (line ends, execute bit, compose file), each shown with its diff,
//! backed up, asked for, applied, and verified by a new pre-flight; rolled back when the finding
//! still fires. Steps on containers (`recreate`) are left to the next `docker compose up
//! --build`; a fix that needs the running stack is left to `analylit-doctor fix`.
use super::{
    AfterPatch, Event, Gate, Options, Skip, Tally, Ui, Unfixed, backup_id, backup_root, gate,
    import_patch, roll_back_files,
};
use crate::engine::{Diagnosis, Finding};
use crate::error::DoctorError;
use crate::fix::apply::HostFiles;
use crate::fix::backup::{Backup, State};
use crate::fix::plan::{self, Plan, Step};
use crate::rules::{FixAction, RuleSet};
use crate::stack::snapshot::StackSnapshot;
use std::path::Path;

/// The project the session edits.
pub struct Project<'a> {
    /// Its not-started containers and compose model, as pre-flight read them.
    pub snapshot: &'a StackSnapshot,
    /// The first compose file: backups go beside it, host paths are relative to its folder.
    pub compose_file: &'a Path,
    /// The compose project's name (in the backup's manifest).
    pub name: &'a str,
}

/// Run the session over the plans of `diagnosis`; `verify` diagnoses the project again after a
/// fix (`None` when it cannot be read). True only when every problem was fixed and verified.
pub fn run(
    ui: &mut dyn Ui,
    options: Options,
    set: &RuleSet,
    project: &Project<'_>,
    diagnosis: &Diagnosis,
    verify: &dyn Fn() -> Option<Diagnosis>,
) -> Result<bool, DoctorError> {
    let plans = plan::plans(diagnosis, set);
    if plans.is_empty() {
        ui.show(Event::NoFix);
        return Ok(!diagnosis.has_problems());
    }
    let root = backup_root(Some(project.compose_file));
    let host = HostFiles {
        snapshot: project.snapshot,
        compose_file: Some(project.compose_file.to_path_buf()),
    };
    let mut tally = Tally::default();
    for plan in &plans {
        ui.show(Event::PlanShown(plan));
        if let Some(why) = &plan.blocked {
            if let Some(edit) = import_patch(&host, plan) {
                ui.show(Event::ManualPatch {
                    diff: edit.diff(),
                    then: AfterPatch::Build,
                });
            }
            ui.show(Event::Skipped(Skip::Blocked(why.clone())));
            tally.manual += 1;
            continue;
        }
        let (on_files, on_stack): (Vec<&Step>, Vec<&Step>) = plan
            .steps
            .iter()
            .partition(|s| HostFiles::edits_project(&s.action));
        if on_files.is_empty() || on_stack.iter().any(|s| s.changes_data) {
            ui.show(Event::Skipped(Skip::NeedsRunningStack));
            tally.skipped += 1;
            continue;
        }
        ui.show(Event::WillDo);
        let mut unplannable = None;
        for s in &on_files {
            ui.show(Event::Step(s));
            let shown = match s.action {
                FixAction::ExecBit { .. } => host
                    .exec_bit_change(plan, s)
                    .map(|(_, _, _, line)| Event::ModeChange(line)),
                _ => host
                    .host_edit(plan, s)
                    .map(|(_, e)| Event::DiffPreview(e.diff())),
            };
            match shown {
                Ok(event) => ui.show(event),
                Err(e) => unplannable = Some(e.to_string()),
            }
        }
        for s in &on_stack {
            ui.show(Event::StepLeftToYou(s));
        }
        if let Some(why) = unplannable {
            ui.show(Event::Skipped(Skip::Unplannable(why)));
            tally.failed += 1;
            continue;
        }
        ui.show(Event::BackupFirst {
            root: &root,
            paths: None,
        });
        match gate(plan, options, ui) {
            Gate::Apply => {}
            Gate::Held => {
                tally.held += 1;
                continue;
            }
            Gate::NotApplied => {
                tally.skipped += 1;
                continue;
            }
        }
        let created = crate::stack::collect::now_rfc3339();
        let mut backup = Backup::create(
            &root,
            backup_id(&created, plan),
            &plan.finding,
            &plan.service,
            project.name,
            &created,
        )
        .map_err(|source| DoctorError::Backup {
            what: "backing up before the fix".into(),
            source: source.into(),
        })?;
        let mut result = Ok(());
        for s in &on_files {
            result = host.apply_step(&mut backup, plan, s);
            if result.is_err() {
                break;
            }
            let _ = backup.step_done(&s.describe);
        }
        if let Err(e) = result {
            ui.show(Event::Failed(e.to_string()));
            roll_back_files(&mut backup, ui);
            tally.failed += 1;
            continue;
        }
        ui.show(Event::Applied {
            backup: &backup.dir,
        });
        // Verify: a new pre-flight no longer finds it.
        let still = verify().is_none_or(|d| {
            d.problems()
                .iter()
                .any(|f| f.id == plan.finding && f.service == plan.service && same_target(plan, f))
        });
        if still {
            ui.show(Event::NotFixed(Unfixed::StillFiresInPreflight(
                &plan.finding,
            )));
            roll_back_files(&mut backup, ui);
            tally.failed += 1;
        } else {
            ui.show(Event::VerifiedByPreflight {
                finding: &plan.finding,
            });
            let _ = backup.finish(State::Verified);
            tally.applied += 1;
        }
    }
    ui.show(Event::Summary(tally));
    Ok(tally.all_fixed())
}

/// The same finding about the same thing (a finding about another dependency of the same
/// service is another problem, for another fix).
fn same_target(plan: &Plan, f: &Finding) -> bool {
    ["dependency", "path", "file", "program", "variable"]
        .iter()
        .filter_map(|k| Some((*k, plan.data.get(*k)?)))
        .all(|(k, v)| f.probes.iter().any(|p| p.value(k).as_ref() == Some(v)))
}
