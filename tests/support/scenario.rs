//! `fixtures/stacks/<id>/scenario.toml`: what a lab stack reproduces and how to tell it did.
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The stack's folder name: the catalogue id it reproduces, or `healthy`, unless `class`
    /// says otherwise.
    pub id: String,
    /// The catalogue id (or `healthy`) when the folder is named otherwise: the `real-*` stacks,
    /// shaped like the users' own projects, reproduce classes other stacks already have.
    #[serde(default)]
    pub class: Option<String>,
    /// The service at fault (absent for the healthy stack).
    pub service: Option<String>,
    pub summary: String,
    /// The correct fix, in words.
    pub fix: String,
    /// How the failure is produced for real, when that is not obvious from the stack.
    #[serde(default)]
    pub how: Option<String>,
    pub lab: LabSpec,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Look-alike catalogue ids that must not be reported as a cause (top-level finding): the
    /// probes must have ruled them out or they must not have fired at all.
    #[serde(default)]
    pub look_alikes: Vec<String>,
    /// The probe kind expected to confirm the first finding (default: any probe).
    #[serde(default)]
    pub confirmed_by: Option<String>,
    /// The path the confirming probe (`confirmed_by`) took to its server, as its `via` says:
    /// `loopback` (a port published on 127.0.0.1), `relay` (a helper container inside the
    /// network) or `exec` (the relay run in a running container).
    #[serde(default)]
    pub confirmed_via: Option<String>,
    /// The project file (relative to the stack's folder) a probe ties the first finding to: what
    /// SARIF and GitHub annotations point at.
    #[serde(default)]
    pub location: Option<String>,
    /// What `analylit-doctor fix` must do on this stack, when the lab judges it.
    #[serde(default)]
    pub doctor_fix: Option<FixSpec>,
    /// A code fix the lab applies last, on the stack it judged (tests/support/code_fix.rs).
    #[serde(default)]
    pub code_fix: Option<CodeFixSpec>,
    /// A grouped stack reproduces more failures, on services independent of each other: each
    /// must be a cause the doctor reports (above info), on its service, confirmed and with a
    /// decisive line of its own. The first finding is then any of the stack's causes (they rank
    /// by when they broke), and the scenario's own class is judged wherever it stands.
    #[serde(default)]
    pub also: Vec<Also>,
}

/// One more failure of a grouped stack.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Also {
    /// The catalogue id.
    pub id: String,
    /// The service at fault.
    pub service: String,
    /// Regexes: at least one must match a line of the finding's own evidence.
    pub evidence: Vec<String>,
    /// The probe kind expected to confirm it (default: any probe, unless `unconfirmed`).
    #[serde(default)]
    pub confirmed_by: Option<String>,
    /// The class has no probe of its own: its evidence alone decides.
    #[serde(default)]
    pub unconfirmed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixSpec {
    /// `fixed`: `fix --yes` applies and verifies it; `manual`: it only shows the fix.
    pub expect: String,
    /// Files the fix touches: byte for byte the same after a dry run, a run without a terminal,
    /// and a `restore`; in the backup with the original bytes.
    #[serde(default)]
    pub files: Vec<FixFile>,
    /// Files of the stack's folder (relative) the fix edits: backed up, put back by `restore`.
    #[serde(default)]
    pub host_files: Vec<String>,
    /// Drive the prompt through a pseudo-terminal (`script`): `n` and an empty answer change
    /// nothing, `y` applies.
    #[serde(default)]
    pub prompt: bool,
    /// Kill the doctor (SIGKILL) in the middle of a fix: every file must then be in place or
    /// in the backup, byte for byte, and the next `fix --yes` must finish the job.
    #[serde(default)]
    pub interrupt: bool,
    /// For a manual fix: a regex the shown patch must match (multi-line mode).
    #[serde(default)]
    pub patch: Option<String>,
}

/// `fix --yes --unsafe-fixes` patches the project's source: the patch, exactly.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeFixSpec {
    /// The project file (relative to the stack's folder) the patch changes.
    pub file: String,
    /// The changed lines of its unified diff (`-old`, `+new`), in order.
    pub diff: Vec<String>,
    /// `fix --no-rebuild` first: patched and backed up, not rebuilt, then restored.
    #[serde(default)]
    pub no_rebuild_first: bool,
    /// The fix runs with no compose CLI on its `PATH`: the Engine API rebuilds.
    #[serde(default)]
    pub without_compose_cli: bool,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FixFile {
    pub service: String,
    pub path: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    #[serde(default = "default_settle")]
    pub settle_timeout_secs: u64,
    /// Compose arguments run, in order, before `up -d` (e.g. a `run --rm` that prepares a volume).
    #[serde(default)]
    pub prepare: Vec<Vec<String>>,
    /// Compose arguments run, in order, right after `up -d` (e.g. a `stop` that a service
    /// answers badly).
    #[serde(default)]
    pub after_up: Vec<Vec<String>>,
    /// The stack has settled when every one of these holds.
    pub settled: Vec<Settled>,
}

fn default_settle() -> u64 {
    120
}

/// A condition on one service's container; every field given must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settled {
    pub service: String,
    /// `healthy`, `unhealthy`, `starting`.
    pub health: Option<String>,
    /// `running`, `exited`, `restarting`, ...
    pub status: Option<Vec<String>>,
    pub restarts_at_least: Option<i64>,
    pub exit_code: Option<i64>,
    /// A regex a line of the service's logs must match: for a service that fails without
    /// restarting (a client retrying forever), whose failure only its log shows.
    pub logs: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The container's log (stdout and stderr).
    Logs,
    /// The outputs of the health check's last results.
    Health,
    /// One field of the container state: see `lab::StateView`.
    State,
    /// What `compose up` printed.
    Cli,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub service: String,
    #[serde(rename = "in")]
    pub source: Source,
    /// For `in = "state"`: status, exit_code, restarts, health, oom_killed, error.
    pub field: Option<String>,
    pub pattern: String,
    /// Count of matching lines required (default 1).
    #[serde(default = "one")]
    pub at_least: usize,
}

fn one() -> usize {
    1
}

pub fn stacks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stacks")
}

impl Scenario {
    /// The catalogue id the doctor must name first (`healthy`: none).
    pub fn class(&self) -> &str {
        self.class.as_deref().unwrap_or(&self.id)
    }

    /// Every `(id, service)` the stack must be diagnosed with: its own class, then `also`.
    pub fn causes(&self) -> Vec<(String, String)> {
        let mut out = vec![(
            self.class().to_owned(),
            self.service.clone().unwrap_or_default(),
        )];
        out.extend(self.also.iter().map(|a| (a.id.clone(), a.service.clone())));
        out
    }

    pub fn is_healthy(&self) -> bool {
        self.class() == "healthy"
    }

    pub fn load(id: &str) -> Scenario {
        let path = stacks_dir().join(id).join("scenario.toml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let scenario: Scenario =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            scenario.id,
            id,
            "{}: id must match the folder",
            path.display()
        );
        scenario
    }
}
