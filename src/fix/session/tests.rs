//! The sessions driven with no terminal and no Docker: a recording [`Ui`] that answers from a
//! script, on a copy of the `depends-on-not-healthy` lab project (a compose-file edit), with
//! pre-flight as the diagnosis before and after.
use super::live::Stack;
use super::*;
use crate::engine::Diagnosis;
use crate::error::DoctorError;
use crate::fix::apply::ApplyError;
use crate::fix::backup::Backup;
use crate::preflight::{self, EngineFacts, Inputs, Prepared};
use crate::rules::RuleSet;
use crate::stack::snapshot::StackSnapshot;
use std::cell::RefCell;
use std::collections::VecDeque;

/// Each event as a short name with what matters of it; the answers given in turn.
#[derive(Default)]
struct Script {
    events: Vec<String>,
    answers: VecDeque<Answer>,
    asked: Vec<String>,
}

impl Ui for Script {
    fn show(&mut self, event: Event<'_>) {
        let e = match event {
            Event::PlanShown(p) => format!("plan {} on {}", p.finding, p.service),
            Event::Step(s) => format!("step {}", s.describe),
            Event::StepLeftToYou(s) => format!("yours {}", s.describe),
            Event::DiffPreview(d) => format!("diff {}", d.lines().count()),
            Event::Skipped(why) => format!("skipped {why:?}"),
            Event::Applied { .. } => "applied".into(),
            Event::Verified { finding, how } => format!("verified {finding}: {how}"),
            Event::VerifiedByPreflight { finding } => format!("verified {finding}"),
            Event::NotFixed(why) => format!("not fixed {why:?}"),
            Event::RolledBack { .. } => "rolled back".into(),
            Event::Summary(t) => format!(
                "summary {} fixed {} failed {} held {} manual {} skipped",
                t.applied, t.failed, t.held, t.manual, t.skipped
            ),
            other => format!("{other:?}")
                .split([' ', '(', '{'])
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        self.events.push(e);
    }

    fn ask(&mut self, question: Question<'_>) -> Answer {
        let Question::Apply { finding, service } = question;
        self.asked.push(format!("{finding} on {service}"));
        self.answers.pop_front().unwrap_or(Answer::NoOneToAsk)
    }
}

impl Script {
    fn answering(answers: &[Answer]) -> Self {
        Script {
            answers: answers.iter().copied().collect(),
            ..Default::default()
        }
    }
}

/// A copy of a lab project in a temp dir, with the rules and its pre-flight.
struct Project {
    _dir: tempfile::TempDir,
    compose: PathBuf,
    set: RuleSet,
}

impl Project {
    fn copy(stack: &str) -> Project {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/stacks")
            .join(stack);
        let dir = tempfile::tempdir().expect("temp dir");
        for entry in std::fs::read_dir(&from).expect("lab stack") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                std::fs::copy(&path, dir.path().join(path.file_name().expect("name")))
                    .expect("copy");
            }
        }
        Project {
            compose: dir.path().join("docker-compose.yml"),
            _dir: dir,
            set: crate::rules::load_embedded().expect("rules"),
        }
    }

    fn prepared(&self) -> Prepared {
        let inputs = Inputs {
            files: vec![self.compose.clone()],
            project_name: None,
            profiles: Vec::new(),
            bases: Vec::new(),
        };
        preflight::prepare(&inputs, &|_| None).expect("pre-flight reads the project")
    }

    fn diagnose(&self) -> Diagnosis {
        preflight::diagnose(&self.prepared(), &EngineFacts::offline("test"), &self.set)
    }

    fn compose_text(&self) -> String {
        std::fs::read_to_string(&self.compose).expect("compose file")
    }

    /// `preflight --fix` with these options and answers; verified by a new pre-flight, or by
    /// the diagnosis before the fix when `verify_sees_it_still`.
    fn files_session(&self, options: Options, ui: &mut Script, verify_sees_it_still: bool) -> bool {
        let prepared = self.prepared();
        let before = self.diagnose();
        let project = files::Project {
            snapshot: &prepared.snapshot,
            compose_file: &self.compose,
            name: &prepared.project.name,
        };
        let verify = || {
            Some(if verify_sees_it_still {
                before.clone()
            } else {
                self.diagnose()
            })
        };
        files::run(ui, options, &self.set, &project, &before, &verify).expect("session")
    }
}

const YES: Options = Options {
    unsafe_fixes: false,
    yes: true,
    dry_run: false,
    no_rebuild: false,
};

#[test]
fn preflight_session_asks_applies_the_compose_edit_and_verifies_it() {
    let p = Project::copy("depends-on-not-healthy");
    let before = p.compose_text();
    let mut ui = Script::answering(&[Answer::Yes]);
    let fixed = p.files_session(Options::default(), &mut ui, false);
    assert!(fixed, "{:#?}", ui.events);
    assert_eq!(ui.asked, ["depends-on-not-healthy on web"]);
    let diff = ui.events.iter().find(|e| e.starts_with("diff ")).cloned();
    assert_eq!(
        ui.events,
        [
            "plan depends-on-not-healthy on web".to_owned(),
            "WillDo".into(),
            "step compose file: web waits for db to be healthy".into(),
            diff.expect("a diff preview"),
            "yours recreate web (compose up -d web)".into(),
            "BackupFirst".into(),
            "applied".into(),
            "verified depends-on-not-healthy".into(),
            "summary 1 fixed 0 failed 0 held 0 manual 0 skipped".into(),
        ]
    );
    let after = p.compose_text();
    assert_ne!(after, before);
    assert!(after.contains("condition: service_healthy"), "{after}");
}

#[test]
fn preflight_session_declined_or_unasked_changes_nothing() {
    for (answer, why) in [
        (Answer::No, Skip::Declined),
        (Answer::NoOneToAsk, Skip::NoOneToAsk),
    ] {
        let p = Project::copy("depends-on-not-healthy");
        let before = p.compose_text();
        let mut ui = Script::answering(&[answer]);
        assert!(!p.files_session(Options::default(), &mut ui, false));
        assert!(
            ui.events.contains(&format!("skipped {why:?}")),
            "{:#?}",
            ui.events
        );
        assert_eq!(
            ui.events.last().map(String::as_str),
            Some("summary 0 fixed 0 failed 0 held 0 manual 1 skipped")
        );
        assert_eq!(p.compose_text(), before, "{answer:?} changed the file");
    }
}

#[test]
fn preflight_session_dry_run_and_yes_ask_nothing() {
    let p = Project::copy("depends-on-not-healthy");
    let before = p.compose_text();
    let mut ui = Script::default();
    let dry = Options {
        dry_run: true,
        ..YES
    };
    assert!(!p.files_session(dry, &mut ui, false));
    assert!(ui.asked.is_empty());
    assert!(
        ui.events.contains(&"skipped DryRun".to_owned()),
        "{:#?}",
        ui.events
    );
    assert_eq!(p.compose_text(), before);

    let mut ui = Script::default();
    assert!(p.files_session(YES, &mut ui, false), "{:#?}", ui.events);
    assert!(ui.asked.is_empty());
}

#[test]
fn preflight_session_rolls_back_what_did_not_fix_it() {
    let p = Project::copy("depends-on-not-healthy");
    let before = p.compose_text();
    let mut ui = Script::default();
    assert!(!p.files_session(YES, &mut ui, true));
    let tail: Vec<&str> = ui
        .events
        .iter()
        .rev()
        .take(4)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "applied",
            "not fixed StillFiresInPreflight(\"depends-on-not-healthy\")",
            "rolled back",
            "summary 0 fixed 1 failed 0 held 0 manual 0 skipped",
        ]
    );
    assert_eq!(p.compose_text(), before, "the original is back");
}

/// A stack with no engine: applying runs the plan's project-file steps (the compose edit), a
/// new diagnosis is pre-flight's without the finding (or with only it, when the fix is to look
/// as if it failed), restoring puts the project files back.
struct FakeStack<'a> {
    project: &'a Project,
    still_fires: bool,
    restored: RefCell<usize>,
}

impl Stack for FakeStack<'_> {
    fn swarm(&self) -> bool {
        false
    }
    fn remove_stale_helpers(&self, _: &str) {}
    fn prepare_patch(&self, _: &StackSnapshot, _: &Plan) -> Result<PreparedPatch, String> {
        Err("no source patch here".into())
    }
    fn apply(
        &self,
        snapshot: &StackSnapshot,
        plan: &Plan,
        id: String,
        created: &str,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Backup, ApplyError> {
        let root = backup_root(Some(&self.project.compose));
        let mut backup = Backup::create(&root, id, &plan.finding, &plan.service, "p", created)?;
        let host = HostFiles {
            snapshot,
            compose_file: Some(self.project.compose.clone()),
        };
        for s in plan
            .steps
            .iter()
            .filter(|s| HostFiles::edits_project(&s.action))
        {
            progress(&s.describe);
            host.apply_step(&mut backup, plan, s)?;
            backup.step_done(&s.describe)?;
        }
        Ok(backup)
    }
    fn restore(&self, _: &StackSnapshot, backup: &Backup) -> Result<(), ApplyError> {
        *self.restored.borrow_mut() += 1;
        backup
            .manifest
            .entries
            .iter()
            .try_for_each(|e| crate::fix::apply::restore_host(backup, e))
    }
    fn wait_healthy_or_failed(
        &self,
        _: &StackSnapshot,
        _: &str,
        _: bool,
    ) -> Result<String, String> {
        Ok("healthy after 1s".into())
    }
    fn diagnose(&self) -> Result<(StackSnapshot, Diagnosis), DoctorError> {
        let prepared = self.project.prepared();
        // Pre-flight still finds web's short-form dependency on redis: the live stack would not.
        let mut d = self.project.diagnose();
        d.findings
            .retain(|f| (f.id == "depends-on-not-healthy") == self.still_fires);
        Ok((prepared.snapshot, d))
    }
}

fn live_session(p: &Project, still_fires: bool, ui: &mut Script) -> (bool, usize) {
    let stack = FakeStack {
        project: p,
        still_fires,
        restored: RefCell::new(0),
    };
    let mut snapshot = p.prepared().snapshot;
    snapshot.compose_file = Some(p.compose.display().to_string());
    let fixed = live::run(
        &stack,
        ui,
        Options::default(),
        &p.set,
        snapshot,
        p.diagnose(),
    )
    .expect("session");
    (fixed, stack.restored.into_inner())
}

#[test]
fn live_session_shows_the_diff_asks_applies_and_verifies() {
    let p = Project::copy("depends-on-not-healthy");
    let mut ui = Script::answering(&[Answer::Yes]);
    let (fixed, restored) = live_session(&p, false, &mut ui);
    assert!(fixed, "{:#?}", ui.events);
    assert_eq!(restored, 0);
    assert_eq!(ui.asked, ["depends-on-not-healthy on web"]);
    let names: Vec<&str> = ui.events.iter().map(String::as_str).collect();
    let at = |e: &str| {
        names
            .iter()
            .position(|n| n.starts_with(e))
            .unwrap_or_else(|| panic!("no {e} in {names:#?}"))
    };
    // In the order a person reads them: the plan, its diff, what could be lost, the question
    // (asked between), the progress, the result.
    assert!(at("plan ") < at("diff ") && at("diff ") < at("CouldBeLost"));
    assert!(at("CouldBeLost") < at("Progress") && at("Progress") < at("applied"));
    assert!(at("applied") < at("verified depends-on-not-healthy: healthy after 1s"));
    assert_eq!(
        names.last(),
        Some(&"summary 1 fixed 0 failed 0 held 0 manual 0 skipped")
    );
    assert!(p.compose_text().contains("condition: service_healthy"));
}

#[test]
fn live_session_rolls_back_a_fix_the_new_diagnosis_still_shows() {
    let p = Project::copy("depends-on-not-healthy");
    let before = p.compose_text();
    let mut ui = Script::answering(&[Answer::Yes]);
    let (fixed, restored) = live_session(&p, true, &mut ui);
    assert!(!fixed);
    assert_eq!(restored, 1);
    assert!(
        ui.events
            .contains(&"not fixed StillFires(\"depends-on-not-healthy\")".to_owned()),
        "{:#?}",
        ui.events
    );
    assert!(ui.events.contains(&"rolled back".to_owned()));
    assert_eq!(p.compose_text(), before, "the original is back");
}

#[test]
fn live_session_holds_back_an_unsafe_fix_without_asking() {
    let p = Project::copy("depends-on-not-healthy");
    let mut d = p.diagnose();
    // The same plan, as if its rule said `unsafe`.
    let rule = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/depends-on-not-healthy.toml");
    let text = std::fs::read_to_string(&rule).expect("rule file");
    assert!(text.contains("safety = \"safe\""));
    let unsafe_rule = text.replacen("safety = \"safe\"", "safety = \"unsafe\"", 1);
    let drafts = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        drafts.path().join("depends-on-not-healthy.toml"),
        unsafe_rule,
    )
    .expect("write");
    let set = crate::rules::load_with_overrides(Some(drafts.path())).expect("rules");
    let mut ui = Script::answering(&[Answer::Yes]);
    let stack = FakeStack {
        project: &p,
        still_fires: false,
        restored: RefCell::new(0),
    };
    d.findings.retain(|f| f.id == "depends-on-not-healthy");
    let fixed = live::run(
        &stack,
        &mut ui,
        Options::default(),
        &set,
        p.prepared().snapshot,
        d,
    )
    .expect("session");
    assert!(!fixed);
    assert!(ui.asked.is_empty());
    assert!(
        ui.events.contains(&"skipped Unsafe".to_owned()),
        "{:#?}",
        ui.events
    );
    assert_eq!(
        ui.events.last().map(String::as_str),
        Some("summary 0 fixed 0 failed 1 held 0 manual 0 skipped")
    );
}
