//! The typed, validated form of a rule file. Everything here has been checked by the loader:
//! regexes compile, every summary placeholder has a capture that can fill it, enums hold known
//! values.
use super::probe_spec::ProbeSpec;
use regex::Regex;
use std::collections::BTreeMap;
use std::fmt;

/// One diagnosis rule, loaded from `rules/<id>.toml`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Catalogue id (`name-not-defined`) or `<class-id>-<suffix>`.
    pub id: String,
    /// One-line name of the condition.
    pub title: String,
    pub severity: Severity,
    /// One-line cause, with `{placeholders}` filled from captures (see [`Rule::render_summary`]).
    pub summary: Template,
    /// Why this happens and how to confirm it (a short paragraph).
    pub explanation: String,
    /// `FAILURES.md#…` anchors and external documentation.
    pub references: Vec<String>,
    /// The services this rule applies to.
    pub services: ServiceFilter,
    /// A downstream effect (`restart-loop`): ranked after causes, folded under them.
    pub effect: bool,
    /// Ids of rules whose findings on the same service this rule explains (fold under it).
    pub confirms: Vec<String>,
    /// When a client and the service it depends on both show this class, which side the cause
    /// lives on (`side = "server"`: Redis that cannot save; `"client"`, the default: an app
    /// whose init never ran, echoed in the database's log).
    pub side: Side,
    /// What the catalogue says of this rule's class (`[catalogue]`): only in the class's own
    /// rule file, `rules/<class-id>.toml`; a second rule of the class (`<class-id>-<suffix>`)
    /// has none, nor does an override's rule that names no class.
    pub catalogue: Option<crate::catalogue::Entry>,
    /// Non-empty.
    pub symptoms: Vec<Symptom>,
    /// A log line that, written after the rule's matching lines in the same container, says the
    /// condition passed (`CREATE DATABASE` after PostgreSQL's init-time `database "x" does not
    /// exist`): such a finding is kept as `info`.
    pub resolved_by: Option<Regex>,
    /// `None` only for effect rules (the fix is the cause's fix).
    pub fix: Option<Fix>,
    /// Live checks that confirm or rule out a finding of this rule (`[[probe]]` tables); empty
    /// for most rules, whose symptoms are proof enough.
    pub probes: Vec<ProbeSpec>,
    /// The examples the rule file carries (`[[test]]`), run by `analylit-doctor rules test`.
    pub tests: Vec<super::case::RuleCase>,
    /// Where the rule was loaded from.
    pub source: RuleOrigin,
}

impl Rule {
    /// Whether the rule applies to the service named `service`.
    pub fn applies_to(&self, service: &str) -> bool {
        self.services.matches(service)
    }

    /// The summary with its placeholders filled: `{service}` by `service`, any other `{name}` by
    /// `captures[name]`; a capture the matched lines did not provide renders as `?`.
    pub fn render_summary(&self, captures: &BTreeMap<String, String>, service: &str) -> String {
        self.summary.render(captures, service)
    }

    /// Names of all captures the rule's symptoms can provide (plus `service`).
    pub fn capture_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once("service").chain(self.symptoms.iter().flat_map(Symptom::capture_names))
    }
}

/// Which end of a client → server dependency a class's cause lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Side {
    /// The client's own fault; the server's log only echoes it.
    #[default]
    Client,
    /// The server's fault; clients only see its effect.
    Server,
}

impl Side {
    pub const ALL: [Side; 2] = [Side::Client, Side::Server];

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// How bad a finding is. Ordered: `Info < Warning < Error < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; may be normal.
    Info,
    /// Likely a problem, or a look-alike that a probe must still confirm.
    Warning,
    /// The service cannot work.
    Error,
    /// The service cannot work and data is at risk if it is handled naively.
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Fix applicability, ordered like ruff's: `Manual < Unsafe < Safe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Safety {
    /// Shown as a patch or steps; never applied automatically.
    Manual,
    /// Changes data or config: needs explicit opt-in and a confirmation (or `--yes`).
    Unsafe,
    /// May run with `--fix`, after a backup.
    Safe,
}

impl Safety {
    pub const ALL: [Safety; 3] = [Safety::Manual, Safety::Unsafe, Safety::Safe];

    pub fn as_str(self) -> &'static str {
        match self {
            Safety::Manual => "manual",
            Safety::Unsafe => "unsafe",
            Safety::Safe => "safe",
        }
    }
}

impl fmt::Display for Safety {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text with `{name}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(String);

impl Template {
    pub(crate) fn new(text: String) -> Template {
        Template(text)
    }

    /// The raw text, placeholders unfilled.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `(byte range in the text, name)` of each `{name}` placeholder.
    pub fn placeholders(&self) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
        placeholder_regex().captures_iter(&self.0).map(|c| {
            let whole = c.get(0).expect("group 0");
            let name = c.get(1).expect("group 1").as_str();
            (whole.range(), name)
        })
    }

    /// Fill `{service}` and `{capture}` placeholders; unknown ones render as `?`.
    pub fn render(&self, captures: &BTreeMap<String, String>, service: &str) -> String {
        placeholder_regex()
            .replace_all(&self.0, |c: &regex::Captures<'_>| match &c[1] {
                "service" => service.to_owned(),
                name => captures.get(name).cloned().unwrap_or_else(|| "?".into()),
            })
            .into_owned()
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn placeholder_regex() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("placeholder regex"))
}

/// Service-name globs (`*` any run of characters, `?` one character). Empty = every service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFilter {
    pub globs: Vec<String>,
}

impl ServiceFilter {
    pub fn matches(&self, service: &str) -> bool {
        self.globs.is_empty() || self.globs.iter().any(|g| glob_match(g, service))
    }
}

/// `*`/`?` glob match over chars (iterative, with one backtrack point: linear enough for names).
fn glob_match(glob: &str, text: &str) -> bool {
    let g: Vec<char> = glob.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ti));
                gi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                gi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    gi = sg + 1;
                    ti = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

/// One piece of evidence a rule looks for.
///
/// A rule fires on a service when every `required` symptom holds and at least one symptom holds.
#[derive(Debug, Clone)]
pub enum Symptom {
    /// Holds when at least `at_least` lines of the service's log match `regex`.
    Logs {
        regex: Regex,
        required: bool,
        at_least: usize,
    },
    /// Holds when at least `at_least` lines of the health-check outputs match `regex`.
    Health {
        regex: Regex,
        required: bool,
        at_least: usize,
    },
    /// Holds when the container state satisfies the predicate.
    State {
        predicate: StatePredicate,
        required: bool,
    },
}

impl Symptom {
    pub fn required(&self) -> bool {
        match self {
            Symptom::Logs { required, .. }
            | Symptom::Health { required, .. }
            | Symptom::State { required, .. } => *required,
        }
    }

    /// The regex whose named captures fill placeholders: the line regex, or the state's
    /// `error` regex.
    pub fn regex(&self) -> Option<&Regex> {
        match self {
            Symptom::Logs { regex, .. } | Symptom::Health { regex, .. } => Some(regex),
            Symptom::State { predicate, .. } => predicate.error.as_ref(),
        }
    }

    /// Named captures this symptom provides.
    pub fn capture_names(&self) -> impl Iterator<Item = &str> {
        self.regex()
            .into_iter()
            .flat_map(|r| r.capture_names().flatten())
    }
}

/// A docker container status (`.State.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerStatus {
    Created,
    Running,
    Restarting,
    Exited,
    Dead,
    Paused,
}

impl ContainerStatus {
    pub const ALL: [ContainerStatus; 6] = [
        ContainerStatus::Created,
        ContainerStatus::Running,
        ContainerStatus::Restarting,
        ContainerStatus::Exited,
        ContainerStatus::Dead,
        ContainerStatus::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContainerStatus::Created => "created",
            ContainerStatus::Running => "running",
            ContainerStatus::Restarting => "restarting",
            ContainerStatus::Exited => "exited",
            ContainerStatus::Dead => "dead",
            ContainerStatus::Paused => "paused",
        }
    }
}

/// A health status (`.State.Health.Status`); `None` = the container has no health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
    Starting,
    None,
}

impl HealthStatus {
    pub const ALL: [HealthStatus; 4] = [
        HealthStatus::Healthy,
        HealthStatus::Unhealthy,
        HealthStatus::Starting,
        HealthStatus::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
            HealthStatus::Starting => "starting",
            HealthStatus::None => "none",
        }
    }
}

/// Conditions on the container state; every condition given must hold.
#[derive(Debug, Clone, Default)]
pub struct StatePredicate {
    /// Any of these statuses.
    pub status: Option<Vec<ContainerStatus>>,
    /// Any of these exit codes.
    pub exit_code: Option<Vec<i64>>,
    pub restarting: Option<bool>,
    pub oom_killed: Option<bool>,
    pub health: Option<HealthStatus>,
    pub restarts_at_least: Option<i64>,
    /// Matched against `.State.Error` (for a Swarm task without an error of its container's
    /// own, the task's error); its named captures fill placeholders.
    pub error: Option<Regex>,
    /// Swarm: any of these task states (`failed`, `rejected`, `pending`, …).
    pub task_state: Option<Vec<&'static str>>,
    /// Swarm: exactly this many of the service's replicas running.
    pub replicas_running: Option<u64>,
    /// Swarm: any of these rolling-update states (`paused`, `rollback_completed`, …).
    pub update_state: Option<Vec<&'static str>>,
}

/// The states of a Swarm task, as the engine spells them.
pub const TASK_STATES: [&str; 15] = [
    "new",
    "allocated",
    "pending",
    "assigned",
    "accepted",
    "preparing",
    "ready",
    "starting",
    "running",
    "complete",
    "shutdown",
    "failed",
    "rejected",
    "remove",
    "orphaned",
];

/// The states of a Swarm service's rolling update.
pub const UPDATE_STATES: [&str; 6] = [
    "updating",
    "paused",
    "completed",
    "rollback_started",
    "rollback_paused",
    "rollback_completed",
];

impl StatePredicate {
    /// Whether the predicate tests something as telling as a log line: the engine's error text
    /// (`.State.Error`) or the kernel's OOM verdict.
    pub fn is_decisive(&self) -> bool {
        // A Swarm task's state, its service's replica count and update state are the
        // manager's own verdicts, as telling as the engine's error text.
        self.error.is_some()
            || self.oom_killed == Some(true)
            || self.task_state.is_some()
            || self.update_state.is_some()
            || self.replicas_running.is_some()
    }

    /// Whether every condition holds for `s`.
    pub fn holds(&self, s: &StateFacts) -> bool {
        let status_ok = self.status.as_ref().is_none_or(|list| {
            list.iter()
                .any(|st| st.as_str().eq_ignore_ascii_case(s.status.trim()))
        });
        let exit_ok = self
            .exit_code
            .as_ref()
            .is_none_or(|codes| s.exit_code.is_some_and(|c| codes.contains(&c)));
        let health_ok = self.health.is_none_or(|want| {
            let have = s.health.as_deref().map(str::trim).unwrap_or("");
            match want {
                HealthStatus::None => have.is_empty() || have.eq_ignore_ascii_case("none"),
                other => have.eq_ignore_ascii_case(other.as_str()),
            }
        });
        status_ok
            && exit_ok
            && health_ok
            && self.restarting.is_none_or(|r| r == s.restarting)
            && self.oom_killed.is_none_or(|o| o == s.oom_killed)
            && self.restarts_at_least.is_none_or(|n| s.restarts >= n)
            && self.error.as_ref().is_none_or(|re| re.is_match(&s.error))
            && self.task_state.as_ref().is_none_or(|list| {
                s.task_state
                    .as_deref()
                    .is_some_and(|have| list.contains(&have))
            })
            && self
                .replicas_running
                .is_none_or(|n| s.replicas.is_some_and(|(running, _)| running == n))
            && self.update_state.as_ref().is_none_or(|list| {
                s.update_state
                    .as_deref()
                    .is_some_and(|have| list.contains(&have))
            })
    }
}

/// In words, the way a person says it: `exit code 3`, `unhealthy`, `restarting at least 3
/// times`, `status exited or dead`, `OOM-killed`, `.State.Error matching /…/`; the conditions
/// joined with "and".
impl fmt::Display for StatePredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |words: Vec<String>| -> String {
            match words.as_slice() {
                [] => String::new(),
                [one] => one.clone(),
                [init @ .., last] => format!("{} or {last}", init.join(", ")),
            }
        };
        let mut parts: Vec<String> = Vec::new();
        if let Some(list) = &self.status {
            parts.push(format!(
                "status {}",
                or(list.iter().map(|s| s.as_str().to_owned()).collect())
            ));
        }
        if let Some(codes) = &self.exit_code {
            parts.push(format!(
                "exit code {}",
                or(codes.iter().map(i64::to_string).collect())
            ));
        }
        match self.restarting {
            Some(true) => parts.push("restarting".into()),
            Some(false) => parts.push("not restarting".into()),
            None => {}
        }
        match self.oom_killed {
            Some(true) => parts.push("OOM-killed".into()),
            Some(false) => parts.push("not OOM-killed".into()),
            None => {}
        }
        match self.health {
            Some(HealthStatus::None) => parts.push("no health check".into()),
            Some(h) => parts.push(h.as_str().to_owned()),
            None => {}
        }
        if let Some(n) = self.restarts_at_least {
            parts.push(format!(
                "restarted at least {n} time{}",
                if n == 1 { "" } else { "s" }
            ));
        }
        if let Some(re) = &self.error {
            parts.push(format!("`.State.Error` matching /{}/", re.as_str()));
        }
        if let Some(list) = &self.task_state {
            parts.push(format!(
                "a Swarm task {}",
                or(list.iter().map(|s| s.to_string()).collect())
            ));
        }
        if let Some(n) = self.replicas_running {
            parts.push(format!(
                "{n} replica{} running",
                if n == 1 { "" } else { "s" }
            ));
        }
        if let Some(list) = &self.update_state {
            parts.push(format!(
                "the rolling update {}",
                or(list.iter().map(|s| s.replace('_', " ")).collect())
            ));
        }
        if parts.is_empty() {
            return f.write_str("any state");
        }
        f.write_str(&parts.join(" and "))
    }
}

/// The container state facts a [`StatePredicate`] looks at (from `docker inspect`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateFacts {
    /// `.State.Status`: created, running, restarting, exited, dead, paused.
    pub status: String,
    /// `.State.ExitCode` (`None` when the container never ran).
    pub exit_code: Option<i64>,
    /// `.State.Restarting`.
    pub restarting: bool,
    /// `.State.OOMKilled`.
    pub oom_killed: bool,
    /// `.State.Health.Status`, `None` without a health check.
    pub health: Option<String>,
    /// `.RestartCount` (top level of inspect, not under `.State`).
    pub restarts: i64,
    /// `.State.Error` (empty when none); a Swarm task's error when its container has none.
    pub error: String,
    /// Swarm: the task's state.
    pub task_state: Option<String>,
    /// Swarm: the service's running and desired replicas.
    pub replicas: Option<(u64, u64)>,
    /// Swarm: the service's rolling-update state, when it was updated.
    pub update_state: Option<String>,
}

/// How to remove the cause.
#[derive(Debug, Clone)]
pub struct Fix {
    pub title: Template,
    pub safety: Safety,
    /// What to do, in words: shown for every fix, and all there is for a manual one.
    pub steps: Vec<FixStep>,
    /// What `analylit-doctor fix` carries out (`[[fix.step]]` tables), in order; empty when the
    /// fix is for a person only.
    pub actions: Vec<FixAction>,
}

/// One typed step of a fix that the doctor can carry out (`[[fix.step]]`, `action = "…"`). Paths
/// are templates filled from the finding's captures and its probes' data (`{path}`: the file a
/// probe located). The service is always the finding's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixAction {
    /// `stop`: stop the service's containers and wait until they have stopped.
    Stop,
    /// `start`: start them and wait until they run.
    Start,
    /// `backup`: copy a file out of the service's container (or its volume) into the backup
    /// folder before anything changes it.
    Backup { path: Template },
    /// `move-aside`: rename a file inside its volume (`x` → `x.broken-<backup id>`), with a
    /// helper container from the service's image and its mounts; the service recreates it.
    MoveAside { path: Template },
    /// `chown`: give a path (and, for a directory, its contents) to the service's user.
    Chown { path: Template },
    /// `lf-line-ends`: rewrite the script's source in the build context with LF line ends.
    LfLineEnds { path: Template },
    /// `exec-bit`: give the script's source in the build context its execute bit (and git's
    /// index, when git tracks it).
    ExecBit { path: Template },
    /// `depends-on-healthy`: in the compose file, wait for the dependency to be healthy.
    DependsOnHealthy,
    /// `raise-start-period`: in the compose file, give the health check a start_period above the
    /// measured boot time.
    RaiseStartPeriod,
    /// `python-healthcheck`: in the compose file, request the health URL with python3 instead
    /// of a program the image lacks.
    PythonHealthcheck,
    /// `recreate`: `compose up -d [--build] <service>` so a changed file takes effect.
    Recreate { build: bool },
    /// `patch-source`: the smallest edit to the project's own source that removes the finding's
    /// cause ([`crate::fix::patch`]), proven on a re-analysis before it is offered.
    PatchSource,
}

/// How a `[[fix.step]]` makes its action from its `path` and `build`.
pub type MakeAction = fn(Template, bool) -> FixAction;

impl FixAction {
    /// Every action, as written in `action = "…"`, and how a step makes it from its `path`
    /// and `build` (each takes only the keys it has).
    pub const ALL: &[(&str, MakeAction)] = &[
        ("stop", |_, _| FixAction::Stop),
        ("start", |_, _| FixAction::Start),
        ("backup", |path, _| FixAction::Backup { path }),
        ("move-aside", |path, _| FixAction::MoveAside { path }),
        ("chown", |path, _| FixAction::Chown { path }),
        ("lf-line-ends", |path, _| FixAction::LfLineEnds { path }),
        ("exec-bit", |path, _| FixAction::ExecBit { path }),
        ("depends-on-healthy", |_, _| FixAction::DependsOnHealthy),
        ("raise-start-period", |_, _| FixAction::RaiseStartPeriod),
        ("python-healthcheck", |_, _| FixAction::PythonHealthcheck),
        ("recreate", |_, build| FixAction::Recreate { build }),
        ("patch-source", |_, _| FixAction::PatchSource),
    ];

    pub fn name(&self) -> &'static str {
        match self {
            FixAction::Stop => "stop",
            FixAction::Start => "start",
            FixAction::Backup { .. } => "backup",
            FixAction::MoveAside { .. } => "move-aside",
            FixAction::Chown { .. } => "chown",
            FixAction::LfLineEnds { .. } => "lf-line-ends",
            FixAction::ExecBit { .. } => "exec-bit",
            FixAction::DependsOnHealthy => "depends-on-healthy",
            FixAction::RaiseStartPeriod => "raise-start-period",
            FixAction::PythonHealthcheck => "python-healthcheck",
            FixAction::Recreate { .. } => "recreate",
            FixAction::PatchSource => "patch-source",
        }
    }

    /// Whether the action takes a `path`.
    pub fn takes_path(name: &str) -> bool {
        matches!(
            name,
            "backup" | "move-aside" | "chown" | "lf-line-ends" | "exec-bit"
        )
    }
}

/// One step of a fix in words (`steps = ["…"]`); what the doctor itself does is a
/// [`FixAction`].
#[derive(Debug, Clone)]
pub enum FixStep {
    /// A step for a person to carry out, with `{placeholders}` like the summary.
    Text(Template),
}

impl FixStep {
    pub fn render(&self, captures: &BTreeMap<String, String>, service: &str) -> String {
        match self {
            FixStep::Text(t) => t.render(captures, service),
        }
    }

    /// The step with each placeholder shown by its name (`<name>`, `<service>`): the words
    /// `explain` prints, before a diagnosis fills them in.
    pub fn render_named(&self) -> String {
        let FixStep::Text(t) = self;
        let named: BTreeMap<String, String> = t
            .placeholders()
            .map(|(_, name)| (name.to_owned(), format!("<{name}>")))
            .collect();
        t.render(&named, "<service>")
    }
}

/// Where a rule came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOrigin {
    /// `rules/<id>.toml` for embedded rules, the file's path otherwise.
    pub path: String,
    /// Compiled into the binary (as opposed to loaded from an override directory).
    pub embedded: bool,
    /// Of the file's text: which version of the rule a bundle was diagnosed with.
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fix_action_is_made_under_its_own_name() {
        let mut seen = std::collections::BTreeSet::new();
        for (name, make) in FixAction::ALL {
            assert!(seen.insert(*name), "{name} twice");
            for build in [false, true] {
                assert_eq!(make(Template::new("/x".into()), build).name(), *name);
            }
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("web", "web"));
        assert!(!glob_match("web", "web2"));
        assert!(glob_match("worker*", "worker"));
        assert!(glob_match("worker*", "worker-2"));
        assert!(!glob_match("worker*", "aworker"));
        assert!(glob_match("*flower*", "analylit-flower-1"));
        assert!(glob_match("db?", "db1"));
        assert!(!glob_match("db?", "db"));
        assert!(glob_match("*a*b", "xxaxxab"));
        assert!(!glob_match("*a*b", "xxaxxa"));
        assert!(glob_match("*", ""));
        let all = ServiceFilter::default();
        assert!(all.matches("anything"));
        let some = ServiceFilter {
            globs: vec!["web".into(), "worker*".into()],
        };
        assert!(some.matches("worker-1") && some.matches("web") && !some.matches("db"));
    }

    #[test]
    fn template_renders_captures_service_and_missing() {
        let t = Template::new("`{name}` on {service}, {nope}; {not a placeholder}".into());
        let caps = BTreeMap::from([("name".to_string(), "init_db".to_string())]);
        assert_eq!(
            t.render(&caps, "web"),
            "`init_db` on web, ?; {not a placeholder}"
        );
        let names: Vec<_> = t.placeholders().map(|(_, n)| n).collect();
        assert_eq!(names, ["name", "service", "nope"]);
    }

    #[test]
    fn orders() {
        assert!(Severity::Info < Severity::Warning);
        assert!(Severity::Error < Severity::Critical);
        assert!(Safety::Manual < Safety::Unsafe && Safety::Unsafe < Safety::Safe);
    }

    fn facts() -> StateFacts {
        StateFacts {
            status: "restarting".into(),
            exit_code: Some(3),
            restarting: true,
            oom_killed: false,
            health: None,
            restarts: 4,
            error: String::new(),
            ..Default::default()
        }
    }

    #[test]
    fn state_predicate_all_conditions_must_hold() {
        let p = StatePredicate {
            exit_code: Some(vec![3, 4]),
            restarting: Some(true),
            ..Default::default()
        };
        assert!(p.holds(&facts()));
        assert!(!p.holds(&StateFacts {
            exit_code: Some(1),
            ..facts()
        }));
        assert!(!p.holds(&StateFacts {
            exit_code: None,
            ..facts()
        }));
        let p = StatePredicate {
            status: Some(vec![ContainerStatus::Exited, ContainerStatus::Restarting]),
            restarts_at_least: Some(4),
            health: Some(HealthStatus::None),
            ..Default::default()
        };
        assert!(p.holds(&facts()));
        assert!(!p.holds(&StateFacts {
            restarts: 3,
            ..facts()
        }));
        assert!(!p.holds(&StateFacts {
            health: Some("unhealthy".into()),
            ..facts()
        }));
        let p = StatePredicate {
            error: Some(Regex::new("permission denied").unwrap()),
            oom_killed: Some(false),
            ..Default::default()
        };
        assert!(!p.holds(&facts()));
        assert!(p.holds(&StateFacts {
            error: "exec: \"./e.sh\": permission denied".into(),
            ..facts()
        }));
    }
}
