//! The static half of every rule, asked of the working tree.
//!
//! A rule names the probes that confirm it (`[[probe]]`); some of them read only what exists
//! before anything runs — the python probe's source analysis, the entrypoint script's bytes and
//! mode, the compose model, gunicorn's bind, the client URLs against their servers. Pre-flight
//! runs exactly those, on the not-started containers [`super::project`] made and the files the
//! image views map, and a rule whose static probes confirm it (none ruling it out) becomes a
//! finding with the rule's own id, title, severity and fix: the finding `check` would confirm
//! once the stack runs. Probes that need a running stack (HTTP, PostgreSQL, Redis, files in
//! volumes, the logs' timings) are not asked; the two that need the engine — the health check's
//! program in the base image, the NVIDIA runtime — are asked when an engine answers and said to
//! be skipped otherwise.
use super::EngineFacts;
use super::image::{FileSource, ImageView};
use super::project::{Project, Service};
use super::timing::{Runs, Timing};
use crate::engine::{Confirmation, Finding, FixView};
use crate::probes::entrypoint::{self, ScriptFacts};
use crate::probes::python::probe::Observation;
use crate::probes::{self, Ctx, Location, Options, Outcome, ProbeResult};
use crate::redact::Redactor;
use crate::rules::{
    DependencyExpectation, DockerExpectation, PortsExpectation, ProbeSpec, PythonExpectation, Rule,
    RuleSet, Severity,
};
use crate::stack::snapshot::StackSnapshot;
use regex::Regex;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

/// The entrypoint script a service starts, as its image will hold it.
#[derive(Debug, Clone)]
pub struct Script {
    /// The path in the image.
    pub path: String,
    pub source: FileSource,
    pub facts: ScriptFacts,
    /// The mode git records for the file, when it tracks it.
    pub git_mode: Option<u32>,
    /// Executable in this checkout, but git records no execute bit: a clone's build gets none.
    pub git_only: bool,
    /// The script's text (bounded), for the checks that read what it runs.
    pub text: String,
}

/// The health check's program, and what the sources say about it.
#[derive(Debug, Clone)]
pub struct ToolQuestion {
    pub program: String,
    /// The image to look in with the engine, and where it is named.
    pub image: Option<(String, String)>,
    /// The PATH to search (the container's, else the image default).
    pub path_var: Option<String>,
    /// A file the view puts in a PATH directory (`COPY curl /usr/local/bin/`).
    pub in_view: Option<String>,
    /// The last `RUN` that installs or removes it: (installed, `Dockerfile:3`).
    pub dockerfile: Option<(bool, String)>,
}

/// What pre-flight read for one service.
pub struct ServiceInput {
    /// The python probe's observation of the files the service runs, or why there is none.
    pub obs: Result<Observation, String>,
    pub script: Option<Script>,
    pub tool: Option<ToolQuestion>,
    /// Functions the server calls at load (a `module:create_app()` target).
    pub roots: Vec<String>,
    /// When the lines of the files it runs run (at import, or when a function is called):
    /// computed on the first question.
    pub timing: std::cell::OnceCell<Timing>,
    /// For a Celery worker: the tasks other services send it by name.
    pub sent_tasks: Vec<String>,
}

impl ServiceInput {
    /// When the code at `file:line` runs; at import when nothing was read.
    fn runs(&self, file: &str, line: u32, name: Option<&str>) -> Runs {
        let Ok(obs) = &self.obs else {
            return Runs::AtImport;
        };
        self.timing
            .get_or_init(|| Timing::new(obs.source(), &self.roots))
            .runs(obs.source(), file, line, name)
    }
}

/// Whether pre-flight asks this probe expectation: it must read only what exists before start.
fn asked(spec: &ProbeSpec) -> bool {
    match spec {
        ProbeSpec::Python { expect } => !matches!(expect, PythonExpectation::SlowImport),
        ProbeSpec::Entrypoint { .. } | ProbeSpec::Compose { .. } => true,
        // Before a start, no bind was refused.
        ProbeSpec::Ports { expect } => !matches!(expect, PortsExpectation::HostPortHeld),
        ProbeSpec::Dependency { expect } => matches!(
            expect,
            DependencyExpectation::NotAService
                | DependencyExpectation::UrlPasswordStale
                | DependencyExpectation::UrlPasswordMissing
        ),
        ProbeSpec::Docker { expect } => matches!(
            expect,
            DockerExpectation::HealthToolMissing | DockerExpectation::GpuRuntimeMissing
        ),
        ProbeSpec::HttpRoute { .. }
        | ProbeSpec::Postgres { .. }
        | ProbeSpec::Redis { .. }
        | ProbeSpec::Gdbm { .. }
        | ProbeSpec::File { .. } => false,
    }
}

/// A result that says the engine was not there to ask.
const SKIPPED: &str = "skipped: ";

/// Every finding the static probes confirm, service by service, in the engine's order.
pub fn findings(
    project: &Project,
    snapshot: &StackSnapshot,
    inputs: &[ServiceInput],
    engine: &EngineFacts,
    rules: &RuleSet,
) -> Vec<Finding> {
    let redactor = Redactor::for_snapshot(snapshot);
    let opts = Options::default();
    let mut all = Vec::new();
    for (svc, input) in project.services.iter().zip(inputs) {
        let ctx = Ctx {
            snapshot,
            container: &svc.container,
            docker: None,
            opts: &opts,
            hints: &[],
        };
        let mut found = Vec::new();
        for rule in rules.iter().filter(|r| !r.effect) {
            let results: Vec<ProbeResult> = rule
                .probes
                .iter()
                .filter(|s| asked(s))
                .filter_map(|s| judge(s, svc, input, &ctx, engine))
                .collect();
            if results.is_empty() {
                continue;
            }
            if let Some(f) = finding(rule, svc, input, project, results, &redactor) {
                found.push(f);
            }
        }
        all.extend(crate::engine::fold_same_service(found, rules));
    }
    all
}

/// One static probe for one service; `None` when the question does not apply to it.
fn judge(
    spec: &ProbeSpec,
    svc: &Service,
    input: &ServiceInput,
    ctx: &Ctx<'_>,
    engine: &EngineFacts,
) -> Option<ProbeResult> {
    match spec {
        ProbeSpec::Python {
            expect: PythonExpectation::TaskNotIncluded,
        } => {
            // Each task sent by name, as the worker would receive it: the first its app does
            // not include decides.
            let obs = input.obs.as_ref().ok()?;
            let results: Vec<ProbeResult> = input
                .sent_tasks
                .iter()
                .map(|t| {
                    let hint = format!("Received unregistered task of type '{t}'.");
                    probes::python::probe::judge_all(std::slice::from_ref(spec), obs, &[hint])
                        .remove(0)
                })
                .collect();
            results
                .iter()
                .find(|r| r.outcome == Outcome::Confirmed)
                .or(results.first())
                .cloned()
        }
        ProbeSpec::Python { expect } => match &input.obs {
            Ok(obs) => {
                let hints = focus(*expect, obs, input);
                Some(
                    probes::python::probe::judge_all(std::slice::from_ref(spec), obs, &hints)
                        .remove(0),
                )
            }
            Err(_) => None,
        },
        ProbeSpec::Entrypoint { expect } => {
            let s = input.script.as_ref()?;
            Some(entrypoint::judge(&[*expect], &s.path, &s.facts).remove(0))
        }
        ProbeSpec::Compose { expect } => Some(probes::compose::probe(&[*expect], ctx).remove(0)),
        ProbeSpec::Ports { expect } => Some(probes::ports::probe(&[*expect], ctx).remove(0)),
        ProbeSpec::Dependency { expect } => {
            Some(probes::dependency::probe(&[*expect], ctx).remove(0))
        }
        ProbeSpec::Docker {
            expect: DockerExpectation::GpuRuntimeMissing,
        } => {
            let reservation = svc.container.service.as_str();
            let s = ctx.snapshot.compose.as_ref()?.service(reservation)?;
            let pos = s.gpu_reservation?;
            Some(probes::docker::gpu_runtime(
                spec,
                &svc.name,
                Ok(Some((
                    ctx.snapshot.compose.as_ref()?.file.display().to_string(),
                    pos.line,
                ))),
                engine.runtimes.clone(),
            ))
        }
        ProbeSpec::Docker {
            expect: DockerExpectation::HealthToolMissing,
        } => input.tool.as_ref().map(|q| tool(spec, svc, q, engine)),
        _ => None,
    }
}

/// One static probe asked of the working tree for an offline diagnosis: the evidence's own
/// texts focus the python judgement (the name the pasted `NameError` names), as they focus the
/// live probe; without them it is judged as pre-flight judges it. `None` when the probe needs
/// the running stack or does not apply. The result is placed in the working tree.
#[allow(clippy::too_many_arguments)]
pub(crate) fn judge_from_tree(
    spec: &ProbeSpec,
    svc: &Service,
    input: &ServiceInput,
    script: Option<&Script>,
    project: &Project,
    snapshot: &StackSnapshot,
    hints: &[String],
) -> Option<ProbeResult> {
    if !asked(spec) {
        return None;
    }
    let opts = Options::default();
    let ctx = Ctx {
        snapshot,
        container: &svc.container,
        docker: None,
        opts: &opts,
        hints,
    };
    let result = match spec {
        ProbeSpec::Entrypoint { expect } if let Some(s) = script.or(input.script.as_ref()) => {
            entrypoint::judge(&[*expect], &s.path, &s.facts).remove(0)
        }
        ProbeSpec::Python { .. } if !hints.is_empty() => {
            let obs = input.obs.as_ref().ok()?;
            probes::python::probe::judge_all(std::slice::from_ref(spec), obs, hints).remove(0)
        }
        _ => judge(
            spec,
            svc,
            input,
            &ctx,
            &EngineFacts::offline("diagnosing offline"),
        )?,
    };
    Some(place(result, svc, project))
}

/// What the live probe learns from the error text, pre-flight takes from the analysis: the name
/// or import to judge, one that fails at import first (a start-up failure before a request-time
/// one), worded as Python's own error so the probe focuses on it.
fn focus(expect: PythonExpectation, obs: &Observation, input: &ServiceInput) -> Vec<String> {
    let a = obs.analysis();
    let at_import =
        |file: &str, line: u32, name: &str| input.runs(file, line, Some(name)) == Runs::AtImport;
    match expect {
        PythonExpectation::UndefinedName => a
            .undefined_names
            .iter()
            .find(|u| at_import(&u.at.file, u.at.line, &u.name))
            .or(a.undefined_names.first())
            .map(|u| vec![format!("NameError: name '{}' is not defined", u.name)])
            .unwrap_or_default(),
        PythonExpectation::ImportNameMissing => a
            .missing_imports
            .iter()
            .find(|m| at_import(&m.at.file, m.at.line, &m.name))
            .or(a.missing_imports.first())
            .map(|m| {
                vec![format!(
                    "ImportError: cannot import name '{}' from '{}'",
                    m.name, m.module
                )]
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The health check's program: copied into the image, installed or removed by a `RUN`, else
/// looked up in the base image through the engine.
fn tool(spec: &ProbeSpec, svc: &Service, q: &ToolQuestion, engine: &EngineFacts) -> ProbeResult {
    let program = &q.program;
    let mut facts = vec![format!(
        "{}'s health check runs `{program}`; PATH = {}",
        svc.name,
        q.path_var.as_deref().unwrap_or("(the image's default)")
    )];
    let with_data = |r: ProbeResult| {
        let mut r = r
            .with("program", program.clone())
            .with("compose_key", "healthcheck");
        if let Some(test) = &svc.container.healthcheck
            && let Ok(url) = probes::http::health_url(&test.test, &[])
        {
            r = r.with("url", url.url);
        }
        r
    };
    if let Some(at) = &q.in_view {
        return ProbeResult::new(
            spec,
            Outcome::RuledOut,
            format!("`{program}` is copied into the image ({at})"),
            &facts,
        );
    }
    match &q.dockerfile {
        Some((false, at)) => {
            return with_data(ProbeResult::new(
                spec,
                Outcome::Confirmed,
                format!("{at} removes `{program}` from {}'s image", svc.name),
                &facts,
            ));
        }
        Some((true, at)) => {
            return ProbeResult::new(
                spec,
                Outcome::RuledOut,
                format!("{at} installs `{program}`"),
                &facts,
            );
        }
        None => {}
    }
    let Some((image, at)) = &q.image else {
        return ProbeResult::unknown(
            spec,
            format!("the image {}'s health check runs in is not known", svc.name),
            &facts,
        );
    };
    facts.push(format!("the base image: {image} ({at})"));
    match engine.programs.get(&(image.clone(), program.clone())) {
        Some(Ok(Some(found))) => ProbeResult::new(
            spec,
            Outcome::RuledOut,
            format!("`{program}` is in the base image {image} ({found})"),
            &facts,
        ),
        Some(Ok(None)) => with_data(ProbeResult::new(
            spec,
            Outcome::Confirmed,
            format!(
                "`{program}` is in no PATH directory of the base image {image}, and no RUN installs it"
            ),
            &facts,
        )),
        Some(Err(why)) => ProbeResult::unknown(spec, format!("{SKIPPED}{why}"), &facts),
        None => ProbeResult::unknown(
            spec,
            format!(
                "{SKIPPED}looking for `{program}` in the base image {image} needs the Docker engine"
            ),
            &facts,
        ),
    }
}

static WAITS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)^\s*(?:until|while)\b[^\n]*(?:pg_isready|psycopg2?|connect|nc\s+-z|redis-cli|mysqladmin|curl|wget|/dev/tcp)|wait-for-it|wait-for\b|dockerize\s[^\n]*-wait|pg_isready[^\n]*-t\s",
    )
    .expect("wait regex")
});

/// `/abs/path.py:12` in a summary.
static PLACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(/[^\s:()`']+):(\d+)\b").expect("place regex"));

/// Images and names of server-like services: what `depends_on` should wait to be healthy.
static SERVER_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)postgres|postgis|timescale|pg_isready|mysql|mariadb|mongo|redis|valkey|rabbitmq|memcached|elasticsearch|opensearch|cassandra|kafka|zookeeper|influxdb|clickhouse|couchdb")
        .expect("server regex")
});

fn server_like(project: &Project, service: &str) -> bool {
    let Some(s) = project.model.service(service) else {
        return false;
    };
    let mut text = format!("{} {}", s.name, s.image.as_deref().unwrap_or(""));
    for w in s.command.iter().chain(s.entrypoint.iter()).flatten() {
        text.push(' ');
        text.push_str(w);
    }
    if let Some(h) = &s.healthcheck {
        text.push(' ');
        text.push_str(&h.test.join(" "));
    }
    SERVER_LIKE.is_match(&text)
}

/// The finding `rule` makes of `results` on `svc`, if any, with pre-flight's precision: a
/// ruled-out probe or none confirming gives none (the engine's skipped checks give an `info`).
fn finding(
    rule: &Rule,
    svc: &Service,
    input: &ServiceInput,
    project: &Project,
    mut results: Vec<ProbeResult>,
    redactor: &Redactor,
) -> Option<Finding> {
    if results.iter().any(|r| r.outcome == Outcome::RuledOut) {
        return None;
    }
    let mut severity = rule.severity;
    let mut note: Option<String> = None;
    let confirmed = results.iter().position(|r| r.outcome == Outcome::Confirmed);
    let Some(at) = confirmed else {
        // Only a check the engine would have answered is worth saying it was not made.
        let skipped = results.iter().find(|r| r.summary.starts_with(SKIPPED))?;
        let summary = format!(
            "not checked before start: {}",
            &skipped.summary[SKIPPED.len()..]
        );
        return Some(build(
            rule,
            svc,
            project,
            results,
            Severity::Info,
            summary,
            redactor,
            false,
        ));
    };
    // Per-service precision the rule's live evidence gave by itself.
    match rule.id.as_str() {
        "depends-on-not-healthy" => {
            let dep = results[at]
                .data
                .get("dependency")
                .cloned()
                .unwrap_or_default();
            if !server_like(project, &dep) {
                return None;
            }
            // A restart policy starts it again until the server answers: a noisy start, not a
            // stack that stays down.
            let policy = svc.container.restart_policy.as_str();
            if matches!(policy, "always" | "unless-stopped") || policy.starts_with("on-failure") {
                severity = severity.min(Severity::Warning);
                note = Some(format!(
                    "`restart: {policy}` starts it again until {dep} answers"
                ));
            }
            if let Some(s) = &input.script
                && let Some(m) = WAITS.find(&s.text)
            {
                let line = s.text[..m.start()].matches('\n').count() + 1;
                severity = Severity::Info;
                note = Some(format!(
                    "its entrypoint waits for the server itself ({}:{line})",
                    s.path
                ));
            }
        }
        "env-var-unset" => {
            let line: u32 = results[at].data.get("compose_line")?.parse().ok()?;
            if service_at_line(project, line)? != svc.name {
                return None;
            }
        }
        "entrypoint-not-executable" => {
            if let Some(s) = input.script.as_ref().filter(|s| s.git_only) {
                severity = severity.min(Severity::Warning);
                results[at].summary = format!(
                    "{}: executable in this checkout, but git records it as {:o}: a fresh clone builds an image where it cannot run",
                    s.path,
                    s.git_mode.unwrap_or(0o100644)
                );
            }
        }
        "name-not-defined" | "import-name-missing" => {
            // A name that fails only when a function runs is a bug, not a start-up failure.
            let r = &results[at];
            let place = r
                .location
                .as_ref()
                .and_then(|l| Some((l.file.clone(), l.line?)))
                .or_else(|| {
                    let m = PLACE.captures(&r.summary)?;
                    Some((m[1].to_owned(), m[2].parse().ok()?))
                });
            let name = r.data.get("name").map(String::as_str);
            if let Some((file, line)) = place
                && let Runs::When(f) = input.runs(&file, line, name)
            {
                severity = severity.min(Severity::Warning);
                note = Some(format!(
                    "inside `{f}`, which fails when it is called, not at start"
                ));
            }
        }
        _ => {}
    }
    let mut summary = results[at].summary.clone();
    if let Some(n) = note {
        summary = format!("{summary} — {n}");
    }
    Some(build(
        rule, svc, project, results, severity, summary, redactor, true,
    ))
}

/// The service whose block of the compose file holds `line`.
fn service_at_line(project: &Project, line: u32) -> Option<String> {
    let mut starts: Vec<(u32, &str)> = project
        .model
        .services
        .iter()
        .map(|s| (s.pos.line, s.name.as_str()))
        .collect();
    starts.sort();
    starts
        .iter()
        .rev()
        .find(|(l, _)| *l <= line)
        .map(|(_, n)| (*n).to_owned())
}

#[allow(clippy::too_many_arguments)]
fn build(
    rule: &Rule,
    svc: &Service,
    project: &Project,
    results: Vec<ProbeResult>,
    severity: Severity,
    summary: String,
    redactor: &Redactor,
    confirmed: bool,
) -> Finding {
    let mut probes: Vec<ProbeResult> = results
        .into_iter()
        .map(|r| place(r, svc, project))
        .collect();
    // A health check's class with no place of its own points at the health check.
    if rule.id.starts_with("healthcheck-")
        && !probes.iter().any(|p| p.project_location.is_some())
        && let Some(first) = probes.iter_mut().find(|p| p.outcome == Outcome::Confirmed)
    {
        first
            .data
            .insert("compose_key".into(), "healthcheck".into());
        *first = place(first.clone(), svc, project);
    }
    for p in &mut probes {
        p.summary = redactor.text(&p.summary);
        p.facts = p.facts.iter().map(|f| redactor.text(f)).collect();
        if let Outcome::Unknown(why) = &p.outcome {
            p.outcome = Outcome::Unknown(redactor.text(why));
        }
    }
    // Captures for the fix's words: what the probes located, project paths where known.
    let mut captures: BTreeMap<String, String> = BTreeMap::new();
    for p in &probes {
        captures.extend(p.values());
    }
    if let Some(f) = captures.get("project_file").cloned() {
        captures.insert("path".into(), f);
    }
    let mut summary = summary;
    for p in &probes {
        if let (Some(image_path), Some(project)) = (
            p.location
                .as_ref()
                .map(|l| &l.file)
                .or_else(|| p.data.get("path")),
            &p.project_location,
        ) && *image_path != project.file
        {
            summary = summary.replace(image_path.as_str(), &project.file);
        }
    }
    // Any other image path the headline names (a second file of the same judgement) is shown
    // where it lives in the working tree too.
    if let Some(view) = svc.view.as_deref() {
        summary = IMAGE_PATH
            .replace_all(&summary, |m: &regex::Captures<'_>| {
                match view_file(view, &m[0]) {
                    Some(f) => shown(&f.host),
                    None => m[0].to_owned(),
                }
            })
            .into_owned();
    }
    let by: Vec<String> = probes
        .iter()
        .filter(|p| p.outcome == Outcome::Confirmed)
        .map(|p| format!("{} ({})", p.kind, p.expect))
        .collect();
    let confirmation = if confirmed {
        Confirmation::Confirmed { by }
    } else {
        Confirmation::Unconfirmed {
            reason: probes
                .iter()
                .map(|p| format!("{}: {}", p.kind, p.summary))
                .collect::<Vec<_>>()
                .join("; "),
        }
    };
    Finding {
        id: rule.id.clone(),
        title: rule.title.clone(),
        service: svc.name.clone(),
        severity,
        summary: redactor.text(&summary),
        evidence: vec![],
        fix: rule.fix.as_ref().filter(|_| confirmed).map(|f| FixView {
            title: redactor.text(&f.title.render(&captures, &svc.name)),
            safety: f.safety,
            steps: f
                .steps
                .iter()
                .map(|s| redactor.text(&s.render(&captures, &svc.name)))
                .collect(),
            automatic: !f.actions.is_empty(),
        }),
        effects: vec![],
        caused_by: None,
        rule: rule.source.path.clone(),
        probes,
        ruled_out: vec![],
        confirmation: Some(confirmation),
    }
}

/// An absolute path in the image, as a judgement's words name it.
static IMAGE_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"/[\w.-]+(?:/[\w.-]+)+").expect("image path regex"));

/// A working-tree path as the report shows it: relative to the current directory when under it.
fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// The `project_location` of what a probe located: an image path through the image view
/// (exactly the file the build copies), a compose line or key in the compose file that holds it.
fn place(mut p: ProbeResult, svc: &Service, project: &Project) -> ProbeResult {
    let compose_line = p
        .data
        .get("compose_line")
        .and_then(|l| l.parse::<u32>().ok())
        .map(|l| (l, project.files[0].clone()))
        .or_else(|| {
            let key = p.data.get("compose_key")?;
            let pos = project.model.service(&svc.name)?.key_pos.get(key)?;
            Some((pos.line, project.file_of(&svc.name, key).to_path_buf()))
        });
    if let Some((line, file)) = compose_line {
        p.project_location = Some(Location::new(shown(&file), Some(line)));
        return p;
    }
    // A python judgement names its place in its summary (`/app/api/health.py:8: …`).
    if p.location.is_none()
        && !p.data.contains_key("path")
        && let Some(m) = PLACE.captures(&p.summary)
        && svc.view.as_deref().is_some_and(|v| v.file(&m[1]).is_some())
    {
        p.location = Some(Location::new(&m[1], m[2].parse().ok()));
    }
    let image_path = p
        .location
        .as_ref()
        .map(|l| l.file.clone())
        .or_else(|| p.data.get("path").cloned());
    if let (Some(path), Some(view)) = (image_path, svc.view.as_deref())
        && let Some(f) = view_file(view, &path)
    {
        let line = p.location.as_ref().and_then(|l| l.line);
        p.project_location = Some(Location::new(shown(&f.host), line));
    }
    p
}

fn view_file<'v>(view: &'v ImageView, path: &str) -> Option<&'v FileSource> {
    view.file(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_only_probes_are_not_asked() {
        let rules = crate::rules::load_embedded().expect("rules");
        let r = rules.get("gunicorn-worker-reinit").expect("rule");
        let names = |r: &Rule| -> Vec<String> {
            r.probes
                .iter()
                .filter(|s| asked(s))
                .map(|s| s.to_string())
                .collect()
        };
        assert_eq!(names(r), ["python (init-at-import)"]);
        let r = rules.get("pg-auth-failed-client-url").expect("rule");
        assert_eq!(names(r), ["dependency (url-password-stale)"]);
    }

    #[test]
    fn wait_loops_in_entrypoints() {
        for waits in [
            "until pg_isready -d \"$DATABASE_URL\" -t 2; do sleep 1; done",
            "until python3 -c 'import os, psycopg2; psycopg2.connect(os.environ[\"X\"])'; do sleep 1; done",
            "while ! nc -z db 5432; do sleep 1; done",
            "./wait-for-it.sh db:5432 -- gunicorn app:app",
        ] {
            assert!(WAITS.is_match(waits), "{waits}");
        }
        assert!(!WAITS.is_match("flask init-db\nexec gunicorn app:app\n"));
    }
}
