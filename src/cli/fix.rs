//! `fix`, `check --fix`, `backups`, `restore`: the fix session around [`crate::fix`].
use super::*;
use crate::stack::snapshot::StackSnapshot;

/// Where backups of this project live: beside its compose file, else in the current directory.
pub(super) fn backup_root(compose_file: Option<&std::path::Path>) -> PathBuf {
    crate::fix::session::backup_root(compose_file)
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
            crate::fix::session::import_patch(&preview.host(), &plan)
                .into_iter()
                .collect()
        } else if patches {
            // The source patch `fix --unsafe-fixes` would apply, proven the same way.
            live.rt
                .block_on(crate::fix::patch::prepare::prepare(
                    &live.docker,
                    snapshot,
                    compose_file.as_deref(),
                    &plan,
                ))
                .map(|p| p.edits.into_iter().map(|(_, e)| e).collect())
                .unwrap_or_default()
        } else {
            plan.steps
                .iter()
                .filter(|s| crate::fix::session::edits_a_host_file(s))
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

/// The fix session on the live stack ([`crate::fix::session::live`]), rendered on the terminal.
/// Exit 0 only when every problem was fixed and verified. The plans and what was done go to
/// stdout, or to stderr when stdout holds a machine report (`check --fix --format json`).
pub(super) fn fix_session(
    live: &Live,
    flags: &FixFlags,
    snapshot: StackSnapshot,
    diagnosis: Diagnosis,
    to_stderr: bool,
) -> Result<i32, DoctorError> {
    let compose_file = snapshot.compose_file.as_ref().map(PathBuf::from);
    let stack = LiveStack {
        live,
        // Stopping a container waits for its grace period: longer than a diagnosis's bound.
        docker: live.docker.clone().with_timeout(Duration::from_secs(180)),
        backup_root: backup_root(compose_file.as_deref()),
        compose_file,
    };
    // Plans quote project files (a compose diff shows its environment): mask every secret.
    let mut ui = Terminal::new(crate::redact::Redactor::for_output(&snapshot), to_stderr);
    let fixed = crate::fix::session::live::run(
        &stack,
        &mut ui,
        flags.options(),
        &live.set,
        snapshot,
        diagnosis,
    )?;
    Ok(if fixed { 0 } else { 1 })
}

impl FixFlags {
    pub(super) fn options(&self) -> crate::fix::session::Options {
        crate::fix::session::Options {
            unsafe_fixes: self.unsafe_fixes,
            yes: self.yes,
            dry_run: self.dry_run,
            no_rebuild: self.no_rebuild,
        }
    }
}

/// The live stack a session acts on: the Engine API through the applier, and a new diagnosis.
struct LiveStack<'a> {
    live: &'a Live,
    docker: bollard::Docker,
    compose_file: Option<PathBuf>,
    backup_root: PathBuf,
}

impl LiveStack<'_> {
    fn applier<'s>(&'s self, snapshot: &'s StackSnapshot) -> crate::fix::apply::Applier<'s> {
        crate::fix::apply::Applier {
            docker: &self.docker,
            snapshot,
            compose_file: self.compose_file.clone(),
            backup_root: self.backup_root.clone(),
        }
    }
}

impl crate::fix::session::live::Stack for LiveStack<'_> {
    fn swarm(&self) -> bool {
        self.live.swarm
    }
    fn remove_stale_helpers(&self, project: &str) {
        self.live
            .rt
            .block_on(crate::fix::apply::remove_stale_helpers(
                &self.docker,
                project,
            ));
    }
    fn prepare_patch(
        &self,
        snapshot: &StackSnapshot,
        plan: &crate::fix::plan::Plan,
    ) -> Result<crate::fix::plan::PreparedPatch, String> {
        self.live.rt.block_on(crate::fix::patch::prepare::prepare(
            &self.docker,
            snapshot,
            self.compose_file.as_deref(),
            plan,
        ))
    }
    fn apply(
        &self,
        snapshot: &StackSnapshot,
        plan: &crate::fix::plan::Plan,
        id: String,
        created: &str,
        progress: &mut dyn FnMut(&str),
    ) -> Result<crate::fix::backup::Backup, crate::fix::apply::ApplyError> {
        self.live
            .rt
            .block_on(self.applier(snapshot).apply(plan, id, created, progress))
    }
    fn restore(
        &self,
        snapshot: &StackSnapshot,
        backup: &crate::fix::backup::Backup,
    ) -> Result<(), crate::fix::apply::ApplyError> {
        self.live
            .rt
            .block_on(self.applier(snapshot).restore(backup))
    }
    fn wait_healthy_or_failed(
        &self,
        snapshot: &StackSnapshot,
        service: &str,
        settle_on_failure: bool,
    ) -> Result<String, String> {
        // The session shows why in words: the typed reason ends here.
        self.live
            .rt
            .block_on(
                self.applier(snapshot)
                    .wait_healthy_or_failed(service, settle_on_failure),
            )
            .map_err(|e| e.to_string())
    }
    fn diagnose(&self) -> Result<(StackSnapshot, Diagnosis), DoctorError> {
        self.live.diagnose(&Progress(None))
    }
}

/// A fix session on the terminal: its events as text (every line masked) on stdout, or stderr
/// when stdout holds a machine report; its question asked on stderr, answered on stdin.
pub(super) struct Terminal {
    out: Box<dyn Write>,
    redactor: crate::redact::Redactor,
    /// Stdin and stderr are a terminal: there is someone to ask.
    interactive: bool,
}

impl Terminal {
    pub(super) fn new(redactor: crate::redact::Redactor, to_stderr: bool) -> Self {
        Terminal {
            out: if to_stderr {
                Box::new(std::io::stderr().lock())
            } else {
                Box::new(std::io::stdout().lock())
            },
            redactor,
            interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        }
    }

    fn line(&mut self, line: &str) {
        let _ = writeln!(self.out, "{}", self.redactor.text(line));
    }

    fn indented(&mut self, text: &str) {
        for line in text.lines() {
            self.line(&format!("      {line}"));
        }
    }
}

impl crate::fix::session::Ui for Terminal {
    fn show(&mut self, event: crate::fix::session::Event<'_>) {
        use crate::fix::session::{AfterPatch, Event, Skip, Unfixed};
        match event {
            Event::Swarm => eprintln!(
                "fixes are not applied to a Swarm stack: follow each finding's steps, then `docker \
                 stack deploy` it again"
            ),
            Event::Interrupted(m) => self.line(&format!(
                "An earlier fix was interrupted: backup {} ({} on {}, steps done: {}). \
                 `analylit-doctor restore {}` puts its originals back.",
                m.id,
                m.finding,
                m.service,
                if m.done.is_empty() {
                    "none".to_owned()
                } else {
                    m.done.join("; ")
                },
                m.id
            )),
            Event::NoFix => self.line("No fix to apply."),
            Event::PlanShown(plan) => {
                for line in plan_lines(plan) {
                    self.line(&line);
                }
            }
            Event::ManualPatch { diff, then } => {
                self.line(match then {
                    AfterPatch::RebuildRestart => "  the patch (apply it, rebuild, restart):",
                    AfterPatch::Build => "  the patch (apply it, then build):",
                });
                self.indented(&diff);
            }
            Event::WillDo => self.line("  the doctor will:"),
            Event::Step(s) => self.line(&format!("    - {}", s.describe)),
            Event::StepLeftToYou(s) => self.line(&format!(
                "    - then, yourself: {} (pre-flight starts nothing)",
                s.describe
            )),
            Event::Rebuilds(services) => self.line(&format!(
                "      (rebuilt and recreated: {}, every service built from the patched files)",
                services.join(", ")
            )),
            Event::DiffPreview(diff) => self.indented(&diff),
            Event::ModeChange(line) => self.indented(&line),
            Event::PatchPreview(p) => {
                for line in p.lines(&self.redactor) {
                    self.line(&format!("      {line}"));
                }
            }
            Event::BackupFirst { root, paths } => self.line(&match paths {
                Some(paths) => format!(
                    "  backed up first into {}/<id>/: {}",
                    root.display(),
                    paths.join(", ")
                ),
                None => format!("  backed up first into {}/<id>/", root.display()),
            }),
            Event::CouldBeLost { recreated } => self.line(&match recreated {
                Some(service) => format!(
                    "  could be lost: files written inside {service}'s container outside its volumes \
                     (the container is recreated); everything the fix edits is in the backup"
                ),
                None => "  could be lost: nothing the backup does not hold".to_owned(),
            }),
            Event::Skipped(why) => self.line(&match why {
                Skip::Blocked(why) | Skip::Unplannable(why) => format!("  not applied: {why}"),
                Skip::NeedsRunningStack => "  not applied: it needs the running stack \
                     (`analylit-doctor fix` after `docker compose up`)"
                    .to_owned(),
                Skip::Unsafe => "  held back: an unsafe fix (use --unsafe-fixes)".to_owned(),
                Skip::DryRun => "  dry run: nothing changed".to_owned(),
                Skip::NoOneToAsk => "  not applied: no terminal to ask on, and no --yes".to_owned(),
                Skip::Declined => "  not applied: declined".to_owned(),
            }),
            Event::Progress(step) => eprintln!("  → {}", self.redactor.text(step)),
            Event::Failed(e) => self.line(&format!("  failed: {e}")),
            Event::Applied { backup } => {
                self.line(&format!("  applied; backup {}", backup.display()))
            }
            Event::NotRebuilt { services } => self.line(&format!(
                "  patched, not rebuilt (--no-rebuild): rebuild and restart {services} to run it; not verified"
            )),
            Event::Verified { finding, how } => {
                self.line(&format!("  fixed: {how}; {finding} no longer fires"))
            }
            Event::VerifiedByPreflight { finding } => self.line(&format!(
                "  fixed: {finding} no longer fires in pre-flight; `docker compose up -d --build` takes it in"
            )),
            Event::CauseRemoved {
                finding,
                service,
                unhealthy,
                next,
            } => self.line(&format!(
                "  cause removed: {finding} no longer fires; {service} is not healthy yet ({unhealthy}): the next failure shows now, {next}; kept for the next round"
            )),
            Event::NotFixed(why) => self.line(&match why {
                Unfixed::Unhealthy(e) => format!("  not fixed: {e}; rolling back"),
                Unfixed::StillFires(finding) => {
                    format!("  not fixed: {finding} still fires; rolling back")
                }
                Unfixed::StillFiresInPreflight(finding) => {
                    format!("  not fixed: {finding} still fires in pre-flight; rolling back")
                }
            }),
            Event::RolledBack { rebuilt } => self.line(&if rebuilt.is_empty() {
                "  rolled back: the originals are in place again".to_owned()
            } else {
                format!(
                    "  rolled back: the original sources are in place again, and {} rebuilt \
                     from them",
                    rebuilt.join(", ")
                )
            }),
            Event::RollbackFailed { error, originals } => self.line(&format!(
                "  rollback failed ({error}): the originals are in {}",
                originals.display()
            )),
            Event::Round { round, next } => {
                self.line("");
                self.line(&format!(
                    "Round {round}: diagnosed again after the fixes, the next failure: {}",
                    next.join(", ")
                ));
            }
            Event::RoundsUsedUp { rounds, left } => self.line(&format!(
                "\nStopped after {rounds} rounds; still to fix: {}",
                left.join(", ")
            )),
            Event::Summary(t) => {
                self.line("");
                let mut summary = format!("{} fixed", t.applied);
                if t.failed > 0 {
                    summary.push_str(&format!(", {} failed", t.failed));
                }
                if t.held > 0 {
                    summary.push_str(&format!(
                        ", {} held back (unsafe: add --unsafe-fixes to apply)",
                        t.held
                    ));
                }
                if t.manual > 0 {
                    summary.push_str(&format!(", {} for a person to apply", t.manual));
                }
                if t.skipped > 0 {
                    summary.push_str(&format!(", {} not applied", t.skipped));
                }
                self.line(&summary);
            }
        }
        let _ = self.out.flush();
    }

    fn ask(&mut self, question: crate::fix::session::Question<'_>) -> crate::fix::session::Answer {
        use crate::fix::session::{Answer, Question};
        let _ = self.out.flush();
        if !self.interactive {
            return Answer::NoOneToAsk;
        }
        let Question::Apply { finding, service } = question;
        if ask(&format!("Apply fix for {finding} on {service}? [y/N] ")) {
            Answer::Yes
        } else {
            Answer::No
        }
    }
}

/// The lines that open a fix plan: what it fixes, then its numbered steps.
fn plan_lines(plan: &crate::fix::plan::Plan) -> Vec<String> {
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

/// Ask on stderr, read one line from stdin; anything but y/yes is no.
fn ask(question: &str) -> bool {
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
