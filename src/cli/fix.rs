//! `fix`, `check --fix`, `backups`, `restore`: the fix session around [`crate::fix`].
use super::*;
use crate::stack::snapshot::StackSnapshot;
use std::collections::BTreeMap;

/// Where backups of this project live: beside its compose file, else in the current directory.
pub(super) fn backup_root(compose_file: Option<&std::path::Path>) -> PathBuf {
    compose_file
        .and_then(|f| f.parent())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(crate::fix::backup::BACKUP_DIR)
}

/// The diffs the fixes of `diagnosis` would apply to the project's files, for the reports that
/// show them: each host-file edit (the compose file, a script's line ends), or the import patch
/// a person applies. Computed on the files as they are now, like `fix --dry-run`; a diff that
/// cannot be computed is left out (the report still gives the fix's steps).
pub(super) fn previews(
    live: &Live,
    snapshot: &StackSnapshot,
    diagnosis: &Diagnosis,
) -> Vec<report::FixPreview> {
    use crate::fix::{apply::Applier, plan};
    let compose_file = snapshot.compose_file.as_ref().map(PathBuf::from);
    let preview = Applier {
        docker: &live.docker,
        snapshot,
        compose_file: compose_file.clone(),
        backup_root: backup_root(compose_file.as_deref()),
    };
    let mut out = Vec::new();
    for plan in plan::plans(diagnosis, &live.set) {
        let patches = plan
            .steps
            .iter()
            .any(|s| matches!(s.action, crate::rules::FixAction::PatchSource));
        let edits: Vec<crate::fix::edit::Edit> = if plan.blocked.is_some() {
            import_patch(&preview, &plan).into_iter().collect()
        } else if patches {
            // The source patch `fix --unsafe-fixes` would apply, proven the same way.
            prepare_patch(live, &live.docker, snapshot, compose_file.as_deref(), &plan)
                .map(|p| p.edits.into_iter().map(|(_, e)| e).collect())
                .unwrap_or_default()
        } else {
            plan.steps
                .iter()
                .filter(|s| edits_a_host_file(s))
                .filter_map(|s| preview.host_edit(&plan, s).ok())
                .map(|(_, edit)| edit)
                .collect()
        };
        for edit in edits.iter().filter(|e| !e.is_noop()) {
            out.push(report::FixPreview {
                finding: plan.finding.clone(),
                service: plan.service.clone(),
                diff: edit.diff(),
            });
        }
    }
    out
}

/// A step that edits a file of the project on this host (shown as a diff before it runs).
fn edits_a_host_file(s: &crate::fix::plan::Step) -> bool {
    s.changes_data && s.path.is_none()
        || matches!(s.action, crate::rules::FixAction::LfLineEnds { .. })
}

/// For a missing import the python probe located: the patch to the source file in the
/// project's build context, for a person to apply.
fn import_patch(
    preview: &crate::fix::apply::Applier<'_>,
    plan: &crate::fix::plan::Plan,
) -> Option<crate::fix::edit::Edit> {
    let import = plan.data.get("import")?;
    let file = plan.data.get("file")?;
    let dir = preview.compose_file.as_deref()?.parent()?;
    let source = preview.source_of(&plan.service, file, dir, false).ok()?;
    let text = crate::capped::text(&source, crate::fix::apply::MAX_EDIT_BYTES).ok()?;
    let rel = source
        .strip_prefix(dir)
        .unwrap_or(&source)
        .display()
        .to_string();
    Some(crate::fix::edit::add_import(&rel, &text, import))
}

/// Show every plan, then apply the ones allowed (flags, prompt), verify each, roll back what did
/// not work. Exit 0 only when every problem was fixed and verified. The plans and what was done
/// go to stdout, or to stderr when stdout holds a machine report (`check --fix --format json`).
pub(super) fn fix_session(
    live: &Live,
    flags: &FixFlags,
    snapshot: StackSnapshot,
    diagnosis: Diagnosis,
    to_stderr: bool,
) -> Result<i32, DoctorError> {
    use crate::fix::{apply::Applier, backup::State, plan};
    use crate::rules::FixAction;
    if live.swarm {
        // The applier drives compose containers; a stack changes by deploying it again.
        eprintln!(
            "fixes are not applied to a Swarm stack: follow each finding's steps, then `docker \
             stack deploy` it again"
        );
        return Ok(if diagnosis.has_problems() { 1 } else { 0 });
    }
    let mut plans = plan::plans(&diagnosis, &live.set);
    // Plans quote project files (a compose diff shows its environment): mask every secret.
    let redactor = crate::redact::Redactor::for_output(&snapshot);
    // Stopping a container waits for its grace period: longer than a diagnosis's bound.
    let docker = live.docker.clone().with_timeout(Duration::from_secs(180));
    let mut out: Box<dyn Write> = if to_stderr {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    };
    let w = |out: &mut Box<dyn Write>, line: String| {
        let _ = writeln!(out, "{}", redactor.text(&line));
    };
    let compose_file = snapshot.compose_file.as_ref().map(PathBuf::from);
    let root = backup_root(compose_file.as_deref());
    live.rt.block_on(crate::fix::apply::remove_stale_helpers(
        &docker,
        &snapshot.project,
    ));
    // An earlier fix that did not finish: say where its originals are.
    for b in crate::fix::backup::list(&root) {
        if matches!(b.manifest.state, State::BackedUp | State::Applying) {
            w(
                &mut out,
                format!(
                    "An earlier fix was interrupted: backup {} ({} on {}, steps done: {}). \
                     `analylit-doctor restore {}` puts its originals back.",
                    b.manifest.id,
                    b.manifest.finding,
                    b.manifest.service,
                    if b.manifest.done.is_empty() {
                        "none".to_owned()
                    } else {
                        b.manifest.done.join("; ")
                    },
                    b.manifest.id
                ),
            );
        }
    }
    if plans.is_empty() {
        w(&mut out, "No fix to apply.".into());
        return Ok(if diagnosis.has_problems() { 1 } else { 0 });
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let (mut applied, mut held, mut manual, mut failed, mut skipped) = (0, 0, 0, 0, 0);
    let mut current = snapshot;
    // What each round tried: the finding, its service, and the name it is about when a probe
    // located one (a second `name-not-defined` for another name is a new failure).
    let key = |p: &plan::Plan| {
        (
            p.finding.clone(),
            p.service.clone(),
            p.data.get("name").cloned().unwrap_or_default(),
        )
    };
    let mut attempted: Vec<(String, String, String)> = Vec::new();
    let mut round = 1;
    loop {
        // Whether a fix of this round removed its cause and the diagnosis after it shows the next.
        let mut progressed = false;
        let mut latest: Option<Diagnosis> = None;
        for plan in plans.iter_mut() {
            attempted.push(key(plan));
            for line in plan_lines(plan) {
                w(&mut out, line);
            }
            if let Some(why) = &plan.blocked {
                let preview = Applier {
                    docker: &docker,
                    snapshot: &current,
                    compose_file: compose_file.clone(),
                    backup_root: root.clone(),
                };
                if let Some(edit) = import_patch(&preview, plan) {
                    w(&mut out, "  the patch (apply it, rebuild, restart):".into());
                    for line in edit.diff().lines() {
                        w(&mut out, format!("      {line}"));
                    }
                }
                w(&mut out, format!("  not applied: {why}"));
                manual += 1;
                continue;
            }
            w(&mut out, "  the doctor will:".into());
            let preview = Applier {
                docker: &docker,
                snapshot: &current,
                compose_file: compose_file.clone(),
                backup_root: root.clone(),
            };
            let mut unplannable = None;
            if flags.no_rebuild {
                plan.steps
                    .retain(|s| !matches!(s.action, FixAction::Recreate { .. }));
            }
            if plan
                .steps
                .iter()
                .any(|s| matches!(s.action, FixAction::PatchSource))
            {
                match prepare_patch(live, &docker, &current, compose_file.as_deref(), plan) {
                    Ok(p) => plan.patch = Some(p),
                    Err(why) => unplannable = Some(why),
                }
            }
            for s in &plan.steps {
                w(&mut out, format!("    - {}", s.describe));
                if let FixAction::Recreate { .. } = s.action
                    && let Some(p) = &plan.patch
                    && p.services.len() > 1
                {
                    w(
                        &mut out,
                        format!(
                            "      (rebuilt and recreated: {}, every service built from the patched files)",
                            p.services.join(", ")
                        ),
                    );
                }
                if let FixAction::PatchSource = s.action {
                    if let Some(p) = &plan.patch {
                        for line in p.lines(&redactor) {
                            w(&mut out, format!("      {line}"));
                        }
                    }
                } else if let crate::rules::FixAction::ExecBit { .. } = s.action {
                    match preview.host().exec_bit_change(plan, s) {
                        Ok((_, _, _, line)) => w(&mut out, format!("      {line}")),
                        Err(e) => unplannable = Some(e.to_string()),
                    }
                } else if edits_a_host_file(s) {
                    // A host file edit: show the exact diff it will apply.
                    match preview.host_edit(plan, s) {
                        Ok((_, edit)) => {
                            for line in edit.diff().lines() {
                                w(&mut out, format!("      {line}"));
                            }
                        }
                        Err(e) => unplannable = Some(e.to_string()),
                    }
                }
            }
            if let Some(why) = unplannable {
                w(&mut out, format!("  not applied: {why}"));
                failed += 1;
                continue;
            }
            let changed: Vec<&str> = plan
                .steps
                .iter()
                .filter(|s| s.changes_data)
                .filter_map(|s| s.path.as_deref())
                .collect();
            if !changed.is_empty() {
                w(
                    &mut out,
                    format!(
                        "  backed up first into {}/<id>/: {}",
                        root.display(),
                        changed.join(", ")
                    ),
                );
            }
            let recreates = plan
                .steps
                .iter()
                .any(|s| matches!(s.action, FixAction::Recreate { .. }));
            w(
                &mut out,
                if recreates {
                    format!(
                        "  could be lost: files written inside {}'s container outside its volumes \
                     (the container is recreated); everything the fix edits is in the backup",
                        plan.service
                    )
                } else {
                    "  could be lost: nothing the backup does not hold".to_owned()
                },
            );
            let _ = out.flush();
            match gate(plan, flags, interactive, &mut |l| w(&mut out, l.to_owned())) {
                Gate::Apply => {}
                Gate::Held => {
                    held += 1;
                    continue;
                }
                Gate::NotApplied => {
                    skipped += 1;
                    continue;
                }
            }
            let applier = Applier {
                docker: &docker,
                snapshot: &current,
                compose_file: compose_file.clone(),
                backup_root: root.clone(),
            };
            let created = collect::now_rfc3339();
            let id = format!("{}-{}", created.replace(['-', ':'], ""), plan.finding);
            let result = live
                .rt
                .block_on(applier.apply(plan, id.clone(), &created, &mut |step| {
                    eprintln!("  → {}", redactor.text(step));
                }));
            let mut backup = match result {
                Ok(b) => b,
                Err(e) => {
                    w(&mut out, format!("  failed: {e}"));
                    failed += 1;
                    // Put back whatever the steps that ran changed.
                    if let Ok(mut b) = crate::fix::backup::Backup::open(&root.join(&id))
                        && !b.manifest.done.is_empty()
                    {
                        match live.rt.block_on(applier.restore(&b)) {
                            Ok(()) => {
                                w(
                                    &mut out,
                                    "  rolled back: the originals are in place again".into(),
                                );
                                let _ = b.finish(State::RolledBack);
                            }
                            Err(e) => {
                                w(
                                    &mut out,
                                    format!(
                                        "  rollback failed ({e}): the originals are in {}",
                                        b.dir.display()
                                    ),
                                );
                                let _ = b.finish(State::Failed);
                            }
                        }
                    }
                    continue;
                }
            };
            w(
                &mut out,
                format!("  applied; backup {}", backup.dir.display()),
            );
            if flags.no_rebuild && plan.patch.is_some() {
                let services = plan
                    .patch
                    .as_ref()
                    .map(|p| p.services.join(" "))
                    .unwrap_or_default();
                w(
                    &mut out,
                    format!(
                        "  patched, not rebuilt (--no-rebuild): rebuild and restart {services} to                      run it; not verified"
                    ),
                );
                let _ = backup.finish(State::Applied);
                skipped += 1;
                continue;
            }
            // Verify: the service comes back, and the rule no longer fires there.
            let healthy = live
                .rt
                .block_on(applier.wait_healthy_or_failed(&plan.service, plan.patch.is_some()));
            let (after_snapshot, after) = live.diagnose(&Progress(None))?;
            // The same failure: the same rule on the service, about the same name when the
            // probe located one (after `init_db` is imported, a NameError for another name is
            // the next failure, not this one).
            let still = after.findings.iter().any(|f| {
                f.id == plan.finding
                    && f.service == plan.service
                    && f.severity > crate::rules::Severity::Info
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
                    plan::plans(&after, &live.set)
                        .into_iter()
                        .find(|p| {
                            p.service == plan.service
                                && p.blocked.is_none()
                                && !attempted.contains(&key(p))
                        })
                        .map(|p| p.finding)
                })
                .flatten();
            latest = Some(after.clone());
            match (&healthy, still, &next) {
                (Ok(how), false, _) => {
                    w(
                        &mut out,
                        format!("  fixed: {how}; {} no longer fires", plan.finding),
                    );
                    let _ = backup.finish(State::Verified);
                    applied += 1;
                    progressed |= plan.patch.is_some();
                }
                (Err(e), false, Some(next)) => {
                    w(
                        &mut out,
                        format!(
                            "  cause removed: {} no longer fires; {} is not healthy yet ({e}): the                          next failure shows now, {next}; kept for the next round",
                            plan.finding, plan.service
                        ),
                    );
                    let _ = backup.finish(State::Verified);
                    applied += 1;
                    progressed = true;
                }
                _ => {
                    let why = match &healthy {
                        Err(e) => e.to_string(),
                        Ok(_) => format!("{} still fires", plan.finding),
                    };
                    w(&mut out, format!("  not fixed: {why}; rolling back"));
                    let rollback = Applier {
                        docker: &docker,
                        snapshot: &after_snapshot,
                        compose_file: compose_file.clone(),
                        backup_root: root.clone(),
                    };
                    match live.rt.block_on(rollback.restore(&backup)) {
                        Ok(()) => {
                            w(
                                &mut out,
                                if backup.manifest.rebuild.is_empty() {
                                    "  rolled back: the originals are in place again".into()
                                } else {
                                    format!(
                                        "  rolled back: the original sources are in place \
                                         again, and {} rebuilt from them",
                                        backup.manifest.rebuild.join(", ")
                                    )
                                },
                            );
                            let _ = backup.finish(State::RolledBack);
                        }
                        Err(e) => {
                            w(
                                &mut out,
                                format!(
                                    "  rollback failed ({e}): the originals are in {}",
                                    backup.dir.display()
                                ),
                            );
                            let _ = backup.finish(State::Failed);
                        }
                    }
                    failed += 1;
                }
            }
            current = after_snapshot;
        }
        // The next round: what the diagnosis after this round's fixes shows that no round tried.
        let next: Vec<plan::Plan> = latest
            .as_ref()
            .map(|d| {
                plan::plans(d, &live.set)
                    .into_iter()
                    .filter(|p| !attempted.contains(&key(p)))
                    .collect()
            })
            .unwrap_or_default();
        if !progressed || next.is_empty() {
            break;
        }
        if round >= MAX_ROUNDS {
            w(
                &mut out,
                format!(
                    "\nStopped after {MAX_ROUNDS} rounds; still to fix: {}",
                    next.iter()
                        .map(|p| format!("{} on {}", p.finding, p.service))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            failed += next.len();
            break;
        }
        round += 1;
        w(&mut out, String::new());
        w(
            &mut out,
            format!(
                "Round {round}: diagnosed again after the fixes, the next failure: {}",
                next.iter()
                    .map(|p| format!("{} on {}", p.finding, p.service))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        plans = next;
    }
    w(&mut out, String::new());
    let mut summary = format!("{applied} fixed");
    if failed > 0 {
        summary.push_str(&format!(", {failed} failed"));
    }
    if held > 0 {
        summary.push_str(&format!(
            ", {held} held back (unsafe: add --unsafe-fixes to apply)"
        ));
    }
    if manual > 0 {
        summary.push_str(&format!(", {manual} for a person to apply"));
    }
    if skipped > 0 {
        summary.push_str(&format!(", {skipped} not applied"));
    }
    w(&mut out, summary);
    let all_fixed = failed == 0 && held == 0 && manual == 0 && skipped == 0;
    Ok(if all_fixed { 0 } else { 1 })
}

/// The lines that open a fix plan: what it fixes, then its numbered steps.
pub(super) fn plan_lines(plan: &crate::fix::plan::Plan) -> Vec<String> {
    let mut lines = vec![
        String::new(),
        format!(
            "Fix for {} on {} ({}): {}",
            plan.finding,
            plan.service,
            plan.safety.as_str(),
            plan.title
        ),
    ];
    lines.extend(
        plan.words
            .iter()
            .enumerate()
            .map(|(i, s)| format!("  {}. {s}", i + 1)),
    );
    lines
}

/// Whether a plan may be applied: what the flags and the person say.
pub(super) enum Gate {
    Apply,
    /// An unsafe fix without `--unsafe-fixes`.
    Held,
    /// A dry run, no terminal to ask on, or declined.
    NotApplied,
}

/// Decide [`Gate`] for `plan`, saying why it is not applied through `say`.
pub(super) fn gate(
    plan: &crate::fix::plan::Plan,
    flags: &FixFlags,
    interactive: bool,
    say: &mut dyn FnMut(&str),
) -> Gate {
    if plan.safety == crate::rules::Safety::Unsafe && !flags.unsafe_fixes {
        say("  held back: an unsafe fix (use --unsafe-fixes)");
        return Gate::Held;
    }
    if flags.dry_run {
        say("  dry run: nothing changed");
        return Gate::NotApplied;
    }
    if !flags.yes {
        if !interactive {
            say("  not applied: no terminal to ask on, and no --yes");
            return Gate::NotApplied;
        }
        if !ask(&format!(
            "Apply fix for {} on {}? [y/N] ",
            plan.finding, plan.service
        )) {
            say("  not applied: declined");
            return Gate::NotApplied;
        }
    }
    Gate::Apply
}

/// Ask on stderr, read one line from stdin; anything but y/yes is no.
pub(super) fn ask(question: &str) -> bool {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

pub(super) fn backups(args: &CheckArgs) -> Result<i32, DoctorError> {
    let inputs = project::ProjectInputs::from_process(
        args.stack.project_name.clone(),
        args.stack.files.clone(),
    );
    let choice = project::choose(&inputs).ok_or(DoctorError::NoProject)?;
    let root = backup_root(choice.compose_file.as_deref());
    let list = crate::fix::backup::list(&root);
    if list.is_empty() {
        outln!("No backups in {}.", root.display());
        return Ok(0);
    }
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_header(["id", "finding", "service", "state", "saved", "steps done"]);
    for b in &list {
        let m = &b.manifest;
        t.add_row([
            m.id.clone(),
            m.finding.clone(),
            m.service.clone(),
            serde_json::to_value(m.state)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            m.entries.len().to_string(),
            m.done.len().to_string(),
        ]);
    }
    outln!("{t}");
    outln!("(in {})", root.display());
    Ok(0)
}

pub(super) fn restore(args: CheckArgs, id: &str) -> Result<i32, DoctorError> {
    use crate::fix::{apply::Applier, backup};
    // A backup of project files only (a pre-flight fix) is put back without the engine.
    let inputs = project::ProjectInputs::from_process(
        args.stack.project_name.clone(),
        args.stack.files.clone(),
    );
    if let Some(choice) = project::choose(&inputs) {
        let root = backup_root(choice.compose_file.as_deref());
        if let Ok(mut b) = backup::Backup::open(&root.join(id))
            && !b.manifest.entries.is_empty()
            && b.manifest
                .entries
                .iter()
                .all(|e| matches!(e, backup::Entry::HostFile { .. }))
        {
            for e in &b.manifest.entries {
                crate::fix::apply::restore_host(&b, e).map_err(|source| DoctorError::Restore {
                    what: format!("restoring backup {id}"),
                    source: source.into(),
                })?;
            }
            let _ = b.finish(backup::State::Restored);
            outln!(
                "Restored {} project file(s) of {} for {} on {}.",
                b.manifest.entries.len(),
                id,
                b.manifest.finding,
                b.manifest.service
            );
            return Ok(0);
        }
    }
    let progress = Progress::new(args.stack.quiet);
    let live = Live::connect(&args.stack, &progress)?;
    let root = backup_root(live.choice.compose_file.as_deref());
    let mut b = backup::Backup::open(&root.join(id)).map_err(|source| DoctorError::Backup {
        what: format!("opening backup {id}"),
        source: source.into(),
    })?;
    let (snapshot, _) = live.diagnose(&progress)?;
    progress.done();
    let docker = live.docker.clone().with_timeout(Duration::from_secs(180));
    live.rt.block_on(crate::fix::apply::remove_stale_helpers(
        &docker,
        &snapshot.project,
    ));
    let applier = Applier {
        docker: &docker,
        snapshot: &snapshot,
        compose_file: live.choice.compose_file.clone(),
        backup_root: root,
    };
    live.rt
        .block_on(applier.restore(&b))
        .map_err(|source| DoctorError::Restore {
            what: format!("restoring backup {id}"),
            source: source.into(),
        })?;
    let _ = b.finish(backup::State::Restored);
    outln!(
        "Restored {} item(s) of {} for {} on {}.",
        b.manifest.entries.len(),
        id,
        b.manifest.finding,
        b.manifest.service
    );
    Ok(0)
}

pub(super) fn fix(args: CheckArgs) -> Result<i32, DoctorError> {
    needs_live_stack(&args, "fix")?;
    let progress = Progress::new(args.stack.quiet);
    let live = Live::connect(&args.stack, &progress)?;
    let (snapshot, diagnosis) = live.diagnose(&progress)?;
    progress.done();
    fix_session(&live, &args.fix, snapshot, diagnosis, false)
}

/// How many rounds of fix, re-diagnose, fix the next failure a session runs at most.
const MAX_ROUNDS: usize = 3;

/// For a plan with a `patch-source` step: read the sources out of the service's container,
/// compute the patch on them ([`crate::fix::patch::propose`], proven there), and map it onto the
/// project's files. Each project file must hold exactly the text the image holds: one that
/// differs changed since the image was built, and the patch would not be the one proven.
fn prepare_patch(
    live: &Live,
    docker: &bollard::Docker,
    snapshot: &StackSnapshot,
    compose_file: Option<&std::path::Path>,
    plan: &crate::fix::plan::Plan,
) -> Result<crate::fix::plan::PreparedPatch, String> {
    use crate::fix::patch::{Input, propose};
    use crate::probes::python::{Startup, probe};
    let compose = compose_file.ok_or("no compose file found for the project")?;
    let dir = compose
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    let c = snapshot
        .containers
        .iter()
        .find(|c| c.service == plan.service)
        .ok_or_else(|| format!("no container of {}", plan.service))?;
    let files = live
        .rt
        .block_on(probe::read_files(docker, c, Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let obs = probe::observe_files(c, &files, &plan.hints).map_err(|(why, _)| why)?;
    let analysis = obs.analysis();
    let env: Vec<(String, String)> = c
        .env
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let health_path = c
        .healthcheck
        .as_ref()
        .and_then(|h| crate::probes::http::health_url(&h.test, &env).ok())
        .map(|u| u.target);
    // The texts that may name gunicorn's target or run the init: the files read that are not
    // Python (the entrypoint script, a config file), the compose file, the service's Dockerfile.
    let mut others = BTreeMap::new();
    let mut on_host: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (p, t) in files.iter().filter(|(p, _)| !p.ends_with(".py")) {
        others.insert(p.clone(), t.clone());
    }
    let model = snapshot.compose.as_ref();
    let context = model
        .and_then(|m| m.service(&plan.service))
        .and_then(|s| s.build.clone())
        .map(|b| dir.join(b));
    let mut host_texts = vec![compose.to_path_buf()];
    if let Some(ctx) = &context {
        host_texts.push(ctx.join("Dockerfile"));
    }
    for p in host_texts {
        if let Ok(t) = crate::capped::text(&p, crate::fix::apply::MAX_EDIT_BYTES) {
            let key = format!("{}", p.display());
            others.insert(key.clone(), t);
            on_host.insert(key, p);
        }
    }
    let input = Input {
        tree: obs.source(),
        analysis,
        startup: Startup {
            target: analysis.wsgi.as_ref().map(|w| w.target.clone()),
            config_module: None,
            preload: false,
        },
        health_path,
        others,
        hints: plan.hints.clone(),
    };
    let patch = propose(&plan.finding, &input).map_err(|e| e.to_string())?;
    let host = crate::fix::apply::HostFiles {
        snapshot,
        compose_file: Some(compose.to_path_buf()),
    };
    let mut edits = Vec::new();
    for change in &patch.changes {
        let file = match on_host.get(&change.path) {
            Some(p) => p.clone(),
            None => host
                .source_of(&plan.service, &change.path, &dir, false)
                .map_err(|e| format!("{}: {e}", change.path))?,
        };
        let rel = file
            .strip_prefix(&dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        let now = crate::capped::text(&file, crate::fix::apply::MAX_EDIT_BYTES)
            .map_err(|e| format!("reading {rel}: {e}"))?;
        if now != change.old {
            return Err(format!(
                "the project's {rel} is not the {} {} runs (it changed since the image was \
                 built): the patch was proven on the image's copy, so it is not applied; \
                 rebuild, then run the doctor again",
                change.path, plan.service
            ));
        }
        edits.push((
            file,
            crate::fix::edit::Edit {
                path: rel,
                old: change.old.clone(),
                new: change.new.clone(),
            },
        ));
    }
    // Every service built from a context that holds a patched file runs it: rebuild them all.
    let mut services: Vec<String> = model
        .map(|m| {
            m.services
                .iter()
                .filter(|s| {
                    s.build.as_ref().is_some_and(|b| {
                        let ctx: PathBuf = dir.join(b).components().collect();
                        edits.iter().any(|(f, _)| {
                            let f: PathBuf = f.components().collect();
                            f.starts_with(&ctx)
                        })
                    })
                })
                .map(|s| s.name.clone())
                .collect()
        })
        .unwrap_or_default();
    if !services.contains(&plan.service) {
        services.insert(0, plan.service.clone());
    }
    Ok(crate::fix::plan::PreparedPatch {
        how: patch.how,
        edits,
        services,
    })
}
