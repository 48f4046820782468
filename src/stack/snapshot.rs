//! The stack snapshot: everything `collect` learned about a compose project, as plain data.
//!
//! It can come from a live engine or (later) from a recorded bundle; the matcher, the report and
//! everything after collection read only this, never Docker.
use super::compose::ComposeModel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped when a field changes meaning or disappears.
pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StackSnapshot {
    pub snapshot_version: u32,
    pub project: String,
    /// The compose file the project was found from, when there was one.
    pub compose_file: Option<String>,
    /// RFC 3339, from the engine's clock when known.
    pub collected_at: String,
    pub engine_version: Option<String>,
    /// One entry per container, ordered by service name then container number.
    pub containers: Vec<ContainerSnapshot>,
    /// The compose file's model, when the file was found and parsed. Its env values are raw,
    /// like the containers': anything shown passes through [`crate::redact`].
    #[serde(default)]
    pub compose: Option<ComposeModel>,
    /// Why the compose file could not be read (`docker-compose.yml:4:9: …`), when it could not.
    #[serde(default)]
    pub compose_error: Option<String>,
    /// Where the containers came from: a compose project or a Swarm stack, on this machine's
    /// engine or a remote one. Bundles written before it existed read as compose, local.
    #[serde(default)]
    pub backend: Backend,
}

/// Which kind of stack a snapshot was read from, and through which engine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Backend {
    pub kind: BackendKind,
    /// The engine was reached another way than this machine's own socket (`tcp://`, `ssh://`):
    /// its published ports are on its own host, so probes never dial 127.0.0.1 for them.
    #[serde(default)]
    pub remote_engine: bool,
    /// A Swarm stack's services, with their desired and running replicas (empty for compose).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<SwarmService>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// Containers found by their `com.docker.compose.project` label.
    #[default]
    Compose,
    /// A `docker stack deploy` stack: services found by `com.docker.stack.namespace`, their
    /// tasks' containers as the containers.
    Swarm,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Compose => "compose",
            BackendKind::Swarm => "swarm",
        }
    }
}

/// One service of a Swarm stack, as the manager sees it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SwarmService {
    /// The name in the compose file (`web`), without the stack's prefix.
    pub name: String,
    /// The engine's name (`lab_web`).
    pub full_name: String,
    pub image: String,
    /// `replicated`, `global`, `replicated-job`, `global-job`.
    pub mode: String,
    pub desired: u64,
    pub running: u64,
    /// The rolling update's state (`updating`, `paused`, `rollback_completed`, …); empty when
    /// the service was never updated.
    #[serde(default)]
    pub update_state: String,
    #[serde(default)]
    pub update_message: String,
    /// Placement constraints (`node.labels.tier == db`).
    #[serde(default)]
    pub constraints: Vec<String>,
    /// Reserved CPUs (in nano-CPUs) and memory (bytes) per task.
    #[serde(default)]
    pub reserved_nano_cpus: i64,
    #[serde(default)]
    pub reserved_memory: i64,
    /// The names of the secrets and configs it mounts.
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub configs: Vec<String>,
    /// Published ports: `8080:5001/tcp (ingress)`.
    #[serde(default)]
    pub ports: Vec<String>,
}

/// A Swarm task: the slot's latest, whose container (when this engine has it) is the snapshot's
/// container; the facts `docker service ps` shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SwarmTask {
    pub id: String,
    /// `running`, `failed`, `rejected`, `pending`, `shutdown`, `complete`, …
    pub state: String,
    pub desired_state: String,
    /// `started`, `task: non-zero exit (1)`'s context: the manager's message.
    pub message: String,
    /// `task: non-zero exit (1)`, `No such image: …`, `no suitable node (…)`.
    pub error: String,
    pub node: String,
    /// When the task last changed state (RFC 3339).
    pub timestamp: String,
    /// Whether the task's container is on this engine (else the container is made from the
    /// task's spec, with no state of its own).
    pub container_here: bool,
    /// The errors of the slot's earlier tasks, newest first (at most five).
    #[serde(default)]
    pub earlier_errors: Vec<String>,
    /// The service's running and desired replicas and its update state (copied for the rules).
    pub service_running: u64,
    pub service_desired: u64,
    #[serde(default)]
    pub update_state: String,
    /// The service's placement constraints and reservations, in words (copied for evidence).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement: Vec<String>,
}

impl StackSnapshot {
    /// Service names in order, each once.
    pub fn services(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.containers.iter().map(|c| c.service.as_str()).collect();
        names.dedup();
        names
    }
}

/// The `Default` is an empty container (no state, no logs): builders fill in what they know.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ContainerSnapshot {
    pub id: String,
    pub name: String,
    /// `com.docker.compose.service`.
    pub service: String,
    /// `com.docker.compose.container-number`.
    pub number: Option<u32>,
    pub image: String,
    pub state: ContainerState,
    /// Top level in inspect (not under State).
    pub restart_count: i64,
    /// When the container was created (inspect's top-level `Created`, RFC 3339); empty in
    /// bundles written before it was recorded.
    #[serde(default)]
    pub created: String,
    pub health: Option<Health>,
    pub healthcheck: Option<HealthcheckConfig>,
    pub entrypoint: Vec<String>,
    pub command: Vec<String>,
    pub working_dir: String,
    /// `Config.User`; empty means the image default (root unless the image says otherwise).
    pub user: String,
    /// Raw values, kept for probes. Anything shown passes through [`crate::redact`].
    pub env: Vec<EnvVar>,
    pub mounts: Vec<Mount>,
    pub ports: Vec<PortBinding>,
    /// The networks the container is attached to, with its address and aliases on each: how
    /// probes reach an unpublished service from inside the stack (never from the host).
    #[serde(default)]
    pub networks: Vec<NetworkAttachment>,
    pub restart_policy: String,
    /// Bytes; 0 = no limit; -1 = not known (pasted output without inspect's `HostConfig`).
    pub memory_limit: i64,
    /// The compose labels (`com.docker.compose.*`).
    pub labels: BTreeMap<String, String>,
    pub logs: LogTail,
    /// Recent engine events (oldest first): what ended the previous runs of a container that
    /// restarted since (`die`, `oom`, `kill`), and when each run began and the health check
    /// changed its mind (`create`, `start`, `health_status: …`) for the report's timeline.
    #[serde(default)]
    pub events: Vec<ContainerEvent>,
    /// In a Swarm stack: the task this container runs (or would run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<SwarmTask>,
}

impl ContainerSnapshot {
    /// Whether the kernel OOM-killed this container, now or in a recent run.
    pub fn oom_killed_recently(&self) -> bool {
        self.state.oom_killed || self.events.iter().any(|e| e.action == "oom")
    }

    /// The exit code that tells what happened: the current one for a stopped container, the last
    /// `die` event's for one running again after a crash (a restart loop caught mid-run).
    pub fn telling_exit_code(&self) -> Option<i64> {
        if !self.state.running {
            return (!self.state.started_at.starts_with("0001-")).then_some(self.state.exit_code);
        }
        match self.events.iter().rev().find(|e| e.action == "die") {
            Some(e) if self.restart_count > 0 => e.exit_code,
            _ => Some(self.state.exit_code),
        }
    }
}

/// One engine event of a container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerEvent {
    /// RFC 3339, with nanoseconds when the engine gave them (older bundles: seconds).
    pub time: String,
    /// `die`, `oom`, `kill`, `create`, `start`, `health_status: healthy` (bundles written
    /// before the timeline existed hold only the first three).
    pub action: String,
    /// For `die`.
    pub exit_code: Option<i64>,
    /// For `kill`: `9`, `15`.
    pub signal: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ContainerState {
    /// created | running | restarting | exited | paused | dead | removing
    pub status: String,
    pub running: bool,
    pub restarting: bool,
    pub oom_killed: bool,
    pub exit_code: i64,
    /// `State.Error`, e.g. `exec: "./entrypoint.sh": permission denied`.
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Health {
    /// starting | healthy | unhealthy
    pub status: String,
    pub failing_streak: i64,
    /// The engine keeps the last five results.
    pub log: Vec<HealthResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HealthResult {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HealthcheckConfig {
    pub test: Vec<String>,
    /// Nanoseconds, as the engine gives them (0 = default).
    pub interval_ns: i64,
    pub timeout_ns: i64,
    pub start_period_ns: i64,
    pub retries: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Mount {
    /// volume | bind | tmpfs
    pub kind: String,
    /// Volume name, or host path for binds.
    pub source: String,
    pub destination: String,
    pub rw: bool,
}

/// One network a container is attached to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct NetworkAttachment {
    /// The network's name (`lab_default`).
    pub name: String,
    /// The container's IPv4 address on it; empty while the container is not running.
    pub ip: String,
    /// The names Docker's DNS answers with this container on that network (the compose service,
    /// the container name, `links` aliases).
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PortBinding {
    /// e.g. `5001/tcp`
    pub container_port: String,
    pub host_ip: String,
    pub host_port: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LogTail {
    pub lines: Vec<LogLine>,
    /// True when older lines or bytes were dropped to stay within the bounds.
    pub truncated: bool,
    /// Lines that matched a rule but were dropped: older than the tail, and past the first
    /// [`crate::stack::logs::KEEP_EARLY`] such lines kept before it (pasted logs read whole).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub elided: usize,
    /// The elided lines, counted: per class of lines (those the same rule patterns match), the
    /// first and last and how many (see [`crate::stack::logs::KeepLines::class`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counted: Vec<CountedLines>,
}

/// Lines of one class dropped from before the tail past the early ones kept (a long log read
/// whole): the first and the last of them, and how many there were.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CountedLines {
    pub first: LogLine,
    pub last: LogLine,
    /// Lines of the class, `first` and `last` included (1 when they are one line).
    pub count: usize,
    /// Where they were logged: before `lines[at]` (after the lines kept early, before the tail).
    pub at: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogLine {
    /// RFC 3339 with nanoseconds, as the engine stamps it.
    pub ts: Option<String>,
    pub stream: Stream,
    pub text: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
    Console,
}

/// Builders for unit tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A running container `<service>_1` of `service`, with nothing else set.
    pub fn container(service: &str) -> ContainerSnapshot {
        ContainerSnapshot {
            id: format!("{service}-id"),
            name: format!("{service}_1"),
            service: service.into(),
            number: Some(1),
            image: format!("{service}-image"),
            state: ContainerState {
                status: "running".into(),
                running: true,
                ..Default::default()
            },
            working_dir: "/app".into(),
            ..Default::default()
        }
    }

    /// `c` exited with `code` (and restarting under its policy when `restarting`).
    pub fn exited(mut c: ContainerSnapshot, code: i64, restarting: bool) -> ContainerSnapshot {
        c.state.running = restarting;
        c.state.restarting = restarting;
        c.state.status = if restarting { "restarting" } else { "exited" }.into();
        c.state.exit_code = code;
        c
    }

    /// `c` with `NAME=value` in its environment.
    pub fn with_env(mut c: ContainerSnapshot, name: &str, value: &str) -> ContainerSnapshot {
        c.env.push(EnvVar {
            name: name.into(),
            value: value.into(),
        });
        c
    }

    pub fn stack(containers: Vec<ContainerSnapshot>) -> StackSnapshot {
        StackSnapshot {
            snapshot_version: SNAPSHOT_VERSION,
            project: "lab".into(),
            compose_file: None,
            collected_at: "2026-11-21T10:00:00Z".into(),
            engine_version: None,
            containers,
            compose: None,
            compose_error: None,
            backend: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{container, exited};
    use super::*;

    fn event(action: &str, exit_code: Option<i64>) -> ContainerEvent {
        ContainerEvent {
            time: "2026-11-21T10:00:00Z".into(),
            action: action.into(),
            exit_code,
            signal: None,
        }
    }

    #[test]
    fn a_restart_loop_caught_mid_run_keeps_what_ended_the_last_run() {
        let mut c = container("worker");
        c.state.started_at = "2026-11-21T10:00:01Z".into();
        c.restart_count = 3;
        c.events = vec![event("oom", None), event("die", Some(137))];
        assert_eq!(c.telling_exit_code(), Some(137));
        assert!(c.oom_killed_recently());

        let calm = container("web");
        assert_eq!(calm.telling_exit_code(), Some(0));
        assert!(!calm.oom_killed_recently());

        let mut stopped = exited(container("web"), 3, false);
        stopped.state.started_at = "2026-11-21T10:00:01Z".into();
        stopped.events = vec![event("die", Some(1))];
        assert_eq!(
            stopped.telling_exit_code(),
            Some(3),
            "a stopped container's own code"
        );
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
