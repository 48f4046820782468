//! The `python` probe: read the app's source out of the image and answer the rule's question
//! from the analysis ([`super::analyse_startup`]), never by importing the app.
//!
//! How gunicorn starts comes first: its command line (the container's argv, else the script it
//! starts, read through the archive endpoint), `GUNICORN_CMD_ARGS`, and the config file gunicorn
//! loads (`-c FILE`, `-c python:MODULE`, or the implicit `gunicorn.conf.py` where it starts), read
//! from the image too. Layered as gunicorn layers them ([`super::gunicorn::effective`]), they give
//! the target, `chdir`, workers, preload, bind and timeout, each with where it was set. The `.py`
//! files under the application directory are then read in one bounded archive stream
//! (site-packages and caches left out), the config file is added to them, and everything is
//! parsed once: every `python` spec of the finding is judged on that one observation, focused by
//! what the error names (the undefined name, the missing import, the gunicorn target).
//!
//! The reading is async (the Engine) and the rest pure: [`observe_files`] runs the same steps
//! over files given in memory, for tests and fixtures.
use super::gunicorn::{
    ConfigChoice, ConfigFile, ConfigRef, ConfigSource, Effective, FlaskCommand, Gunicorn, Origin,
    Value, config_location, effective, gunicorn_invocation, read_config, script_runs_flask_command,
    start_dir,
};
use super::migrations;
use super::{
    Analysis, Finding, HandlerKind, MasterReason, PyVersion, RouteMatch, SourceFile, SourceTree,
    Startup, WsgiTarget, analyse_startup, match_route, newer_than,
};
use crate::probes::{Ctx, Outcome, ProbeResult, entrypoint, http};
use crate::rules::Expectation;
use crate::rules::{ProbeSpec, PythonExpectation};
use crate::stack::archive::{self, Entry, TreeLimits};
use crate::stack::snapshot::ContainerSnapshot;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The most bytes read of the script a container starts, and of gunicorn's config file.
const SCRIPT_BYTES: usize = 64 * 1024;

/// What was read and parsed for one container.
pub struct Observation {
    analysis: Analysis,
    source: SourceTree,
    /// The module a `celery -A X worker` command loads (`X`, before any `:` or `.app`).
    celery_app: Option<String>,
    /// The container's log lines, for timing gunicorn's worker boots.
    logs: Vec<(Option<String>, String)>,
    /// The settings gunicorn runs with, when it runs.
    gunicorn: Option<Effective>,
    /// The `flask <command>` lines of the entrypoint script: an initialisation of its own.
    flask_commands: Vec<FlaskCommand>,
    /// The entrypoint script's path, when one was read.
    script_path: Option<String>,
    /// The health check's path (`/api/settings/profiles`), when it requests a local URL.
    health_path: Option<String>,
    /// The health check's port, with the URL.
    health_port: Option<(u16, String)>,
    /// The migration files, in the order they run.
    migrations: Vec<migrations::Migration>,
    /// The image's Python version and where it was read (`PYTHON_VERSION`, a traceback's
    /// `/usr/lib/python3.11/` path, or what pre-flight read in the Dockerfile).
    python: Option<(PyVersion, String)>,
    facts: Vec<String>,
}

impl Observation {
    /// The analysis of the source.
    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    /// The source read and parsed.
    pub fn source(&self) -> &SourceTree {
        &self.source
    }

    /// gunicorn's settings, when it runs.
    pub fn gunicorn(&self) -> Option<&Effective> {
        self.gunicorn.as_ref()
    }

    /// What the probe saw, in order (every result repeats them).
    pub fn facts(&self) -> &[String] {
        &self.facts
    }

    /// The image's Python version, when known, and where it was read.
    pub fn python(&self) -> Option<&(PyVersion, String)> {
        self.python.as_ref()
    }

    /// Set the image's Python version from what the caller knows better (pre-flight reads it
    /// from the Dockerfile's base image).
    pub fn set_python(&mut self, version: PyVersion, from: String) {
        self.python = Some((version, from));
    }
}

/// The image's Python, from what the container shows: `PYTHON_VERSION` (the official images set
/// it), else a `pythonX.Y` directory in a log line or the evidence (a traceback's
/// `/usr/lib/python3.11/importlib/__init__.py`).
fn python_of(c: &ContainerSnapshot, hints: &[String]) -> Option<(PyVersion, String)> {
    if let Some(v) = c.env.iter().find(|v| v.name == "PYTHON_VERSION")
        && let Some(version) = PyVersion::parse(&v.value)
    {
        return Some((version, format!("PYTHON_VERSION={}", v.value)));
    }
    static DIR: OnceLock<Regex> = OnceLock::new();
    let re = DIR.get_or_init(|| Regex::new(r"/python(3\.\d+)/").expect("regex"));
    hints
        .iter()
        .map(String::as_str)
        .chain(c.logs.lines.iter().map(|l| l.text.as_str()))
        .find_map(|t| {
            let m = re.captures(t)?;
            let v = PyVersion::parse(&m[1])?;
            Some((v, format!("a python{v} path in the logs")))
        })
}

type Failed = (String, Vec<String>);

/// Judge every `python` spec for `ctx.container`.
pub async fn probe(expects: &[PythonExpectation], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let specs: Vec<ProbeSpec> = expects.iter().map(|e| e.spec()).collect();
    let specs = &specs[..];
    match observe(ctx).await {
        Ok(obs) => judge_all(specs, &obs, ctx.hints),
        Err((why, facts)) => specs
            .iter()
            .map(|s| ProbeResult::unknown(s, why.clone(), &facts))
            .collect(),
    }
}

/// Judge `python` specs on an observation (other kinds are answered unknown).
pub fn judge_all(specs: &[ProbeSpec], obs: &Observation, hints: &[String]) -> Vec<ProbeResult> {
    specs
        .iter()
        .map(|spec| match spec {
            ProbeSpec::Python { expect } => judge(spec, *expect, obs, hints),
            _ => ProbeResult::unknown(spec, "not a python probe".into(), &obs.facts),
        })
        .collect()
}

/// How the container starts, before any file but the script is read.
struct Plan {
    gunicorn: Option<Gunicorn>,
    script_path: Option<String>,
    flask_commands: Vec<FlaskCommand>,
    config: Option<ConfigRef>,
}

fn argv_of(c: &ContainerSnapshot) -> Vec<String> {
    c.entrypoint.iter().chain(&c.command).cloned().collect()
}

fn env_of(c: &ContainerSnapshot) -> Vec<(String, String)> {
    c.env
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect()
}

fn script_path(c: &ContainerSnapshot) -> Option<String> {
    entrypoint::script_path(&c.entrypoint, &c.command, &c.working_dir)
}

fn plan(c: &ContainerSnapshot, script: Option<(String, String)>) -> Plan {
    let gunicorn = gunicorn_invocation(
        &argv_of(c),
        script.as_ref().map(|(_, t)| t.as_str()),
        &env_of(c),
    );
    let config = gunicorn
        .as_ref()
        .map(|g| config_location(g, &c.working_dir));
    Plan {
        flask_commands: script
            .as_ref()
            .map(|(_, t)| script_runs_flask_command(t))
            .unwrap_or_default(),
        script_path: script.map(|(p, _)| p),
        gunicorn,
        config,
    }
}

/// The config file's path to read, when it is a file.
fn config_file_path(plan: &Plan) -> Option<&str> {
    match &plan.config.as_ref()?.source {
        ConfigSource::File { path } => Some(path),
        ConfigSource::Module { .. } => None,
    }
}

/// The config file as read: its text, or why there is none.
#[derive(Clone)]
enum ConfigRead {
    Text(String),
    Absent,
    Unreadable(String),
}

/// Where gunicorn imports the app from, knowing the config file (when it is a file): its
/// `chdir`, else `--chdir`, else where gunicorn starts.
struct Settled {
    config: Option<(ConfigRef, SourceFile)>,
    root: String,
    facts: Vec<String>,
}

fn settle(c: &ContainerSnapshot, plan: &Plan, read: Option<ConfigRead>) -> Settled {
    let mut facts = Vec::new();
    let Some(g) = &plan.gunicorn else {
        return Settled {
            config: None,
            root: c.working_dir.clone(),
            facts,
        };
    };
    let config = match (&plan.config, read) {
        // Only a config file is read (a `python:module` config is found in the tree).
        (
            Some(
                r @ ConfigRef {
                    source: ConfigSource::File { path },
                    ..
                },
            ),
            Some(ConfigRead::Text(text)),
        ) => Some((
            r.clone(),
            SourceFile {
                path: path.clone(),
                text,
            },
        )),
        (Some(r), Some(ConfigRead::Absent)) => {
            if r.chosen_by == ConfigChoice::Implicit {
                if let ConfigSource::File { path } = &r.source {
                    facts.push(format!("gunicorn config file: none (no -c, and no {path})"));
                }
            } else {
                facts.push(format!(
                    "gunicorn's config file {} does not exist in the image: gunicorn stops at start",
                    r
                ));
            }
            None
        }
        (Some(r), Some(ConfigRead::Unreadable(why))) => {
            facts.push(format!("could not read gunicorn's config file {r}: {why}"));
            None
        }
        _ => None,
    };
    let e = match &config {
        Some((r, file)) => {
            let (tree, name) = lone_module(file);
            let cfg = read_config(tree.module(&name).expect("added"), &g.env);
            effective(
                g,
                Some((r, &cfg)),
                plan.script_path.as_deref(),
                &c.working_dir,
            )
        }
        None => effective(g, None, plan.script_path.as_deref(), &c.working_dir),
    };
    let root = e
        .chdir
        .known()
        .cloned()
        .unwrap_or_else(|| start_dir(g, &c.working_dir));
    Settled {
        config,
        root,
        facts,
    }
}

/// A tree holding only `file`, as gunicorn's `__config__`.
fn lone_module(file: &SourceFile) -> (SourceTree, String) {
    let mut t = SourceTree::new("/", vec![]);
    let name = t
        .add_script("__config__", file.clone())
        .unwrap_or_else(|| "__config__".into());
    (t, name)
}

/// The files read from the image: the app's Python sources, and the SQL migrations beside them.
fn keep(p: &str) -> bool {
    let ours = !p.contains("/site-packages/") && !p.contains("/__pycache__/");
    ours && (p.ends_with(".py") || (p.ends_with(".sql") && migrations::is_migration(p, "")))
}

async fn observe(ctx: &Ctx<'_>) -> Result<Observation, Failed> {
    let docker = ctx.docker().map_err(|e| (e.to_string(), vec![]))?;
    let Sources {
        files,
        config,
        truncated,
    } = read_sources(docker, ctx.container, ctx.opts.timeout).await?;
    observe_read(ctx.container, &files, Some(config), truncated, ctx.hints)
}

/// Why the app's sources could not be read out of a container (the archive's answer, a bound
/// passed), in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourcesUnreadable(pub String);

/// The files the probe reads out of `c` (the entrypoint script, gunicorn's config file, the
/// app's `.py` files), path → text, for [`observe_files`]: what a source patch is computed on.
pub async fn read_files(
    docker: &bollard::Docker,
    c: &ContainerSnapshot,
    timeout: std::time::Duration,
) -> Result<BTreeMap<String, String>, SourcesUnreadable> {
    read_sources(docker, c, timeout)
        .await
        .map(|read| read.files)
        .map_err(|(why, _)| SourcesUnreadable(why))
}

/// What [`read_sources`] read out of a container.
struct Sources {
    /// Path → text: the entrypoint script, gunicorn's config file, the tree under the app's root.
    files: BTreeMap<String, String>,
    /// How reading gunicorn's config file went, when one is named (an unreadable one says why).
    config: Option<ConfigRead>,
    /// Whether the tree was cut at its bounds.
    truncated: bool,
}

/// Read what the probe observes out of `c`: the entrypoint script, gunicorn's config file when
/// one is named, then the tree under the app's root (bounded).
async fn read_sources(
    docker: &bollard::Docker,
    c: &ContainerSnapshot,
    timeout: std::time::Duration,
) -> Result<Sources, Failed> {
    let mut files = BTreeMap::new();
    let read_text = |path: String| async move {
        match archive::read(docker, &c.id, &path, SCRIPT_BYTES, timeout).await {
            // Judging the start of a Python file as if it were the whole would be wrong.
            Ok(Entry::File { size, .. }) if size > SCRIPT_BYTES as u64 => {
                ConfigRead::Unreadable(over_cap(&path, size))
            }
            Ok(Entry::File { head, .. }) => ConfigRead::Text(String::from_utf8_lossy(&head).into()),
            Ok(other) => ConfigRead::Unreadable(format!("{} is not a file", other.path())),
            Err(archive::ArchiveError::Absent(_)) => ConfigRead::Absent,
            Err(e) => ConfigRead::Unreadable(e.to_string()),
        }
    };
    let script = match script_path(c) {
        Some(path) => match read_text(path.clone()).await {
            ConfigRead::Text(t) => Some((path, t)),
            _ => None,
        },
        None => None,
    };
    if let Some((p, t)) = &script {
        files.insert(p.clone(), t.clone());
    }
    let plan = plan(c, script);
    let read = match config_file_path(&plan) {
        Some(path) => {
            let r = read_text(path.to_owned()).await;
            if let ConfigRead::Text(t) = &r {
                files.insert(path.to_owned(), t.clone());
            }
            Some(r)
        }
        None => None,
    };
    let settled = settle(c, &plan, read.clone());
    let root = checked_root(c, &settled)?;
    let tree = archive::read_tree(
        docker,
        &c.id,
        &root,
        &keep,
        TreeLimits::default(),
        timeout * 3,
    )
    .await
    .map_err(|e| (format!("reading {root}: {e}"), settled.facts.clone()))?;
    for (path, bytes) in tree.files {
        files.insert(path, String::from_utf8_lossy(&bytes).into_owned());
    }
    Ok(Sources {
        files,
        config: read,
        truncated: tree.truncated,
    })
}

/// Why a file the probe reads whole (the entrypoint script, gunicorn's config) was not read.
fn over_cap(path: &str, size: u64) -> String {
    format!("{path} is {size} bytes, more than the {SCRIPT_BYTES} the probe reads of it")
}

/// The probe's observation of a container whose files are given in memory (path → text): the
/// entrypoint script, gunicorn's config file and the app's `.py` files, as the image holds them.
/// The same steps as the live probe, with no Engine.
pub fn observe_files(
    c: &ContainerSnapshot,
    files: &BTreeMap<String, String>,
    hints: &[String],
) -> Result<Observation, Failed> {
    observe_read(c, files, None, false, hints)
}

/// [`observe_files`] of a tree its reader cut at its bounds (`truncated`): the facts say so.
pub fn observe_files_cut(
    c: &ContainerSnapshot,
    files: &BTreeMap<String, String>,
    truncated: bool,
) -> Result<Observation, Failed> {
    observe_read(c, files, None, truncated, &[])
}

/// [`observe_files`]; `config`, when the files came out of the container, says how reading the
/// config file went (an unreadable one says why), and `truncated` whether the tree was cut.
fn observe_read(
    c: &ContainerSnapshot,
    files: &BTreeMap<String, String>,
    config: Option<Option<ConfigRead>>,
    truncated: bool,
    hints: &[String],
) -> Result<Observation, Failed> {
    let script = script_path(c).and_then(|p| files.get(&p).map(|t| (p, t.clone())));
    let plan = plan(c, script);
    let read = match config {
        Some(read) => read,
        None => config_file_path(&plan).map(|p| match files.get(p) {
            Some(t) => ConfigRead::Text(t.clone()),
            None => ConfigRead::Absent,
        }),
    };
    let settled = settle(c, &plan, read);
    let root = checked_root(c, &settled)?;
    let prefix = format!("{}/", root.trim_end_matches('/'));
    let tree = files
        .iter()
        .filter(|(p, _)| p.starts_with(&prefix) && keep(p))
        .map(|(p, t)| SourceFile {
            path: p.clone(),
            text: t.clone(),
        })
        .collect();
    Ok(build(c, plan, settled, tree, truncated, hints))
}

fn checked_root(c: &ContainerSnapshot, settled: &Settled) -> Result<String, Failed> {
    if settled.root.trim_end_matches('/').is_empty() {
        return Err((
            format!("{} works in `/`: no application directory to read", c.name),
            settled.facts.clone(),
        ));
    }
    Ok(settled.root.clone())
}

fn build(
    c: &ContainerSnapshot,
    plan: Plan,
    settled: Settled,
    files: Vec<SourceFile>,
    truncated: bool,
    hints: &[String],
) -> Observation {
    let Settled {
        config,
        root,
        facts: settle_facts,
    } = settled;
    let mut facts = Vec::new();
    let migrations = migrations::in_run_order(
        &files
            .iter()
            .map(|f| (f.path.clone(), f.text.clone()))
            .collect::<Vec<_>>(),
    );
    let files: Vec<SourceFile> = files
        .into_iter()
        .filter(|f| f.path.ends_with(".py"))
        .collect();
    let file_count = files.len();
    let mut source = SourceTree::new(&root, files);
    // The config file joins the tree, so its hooks resolve into the app's modules.
    let mut config_file: Option<(ConfigRef, ConfigFile, String)> = None;
    if let Some(g) = &plan.gunicorn
        && let Some(r) = &plan.config
    {
        let module = match (&r.source, config) {
            (ConfigSource::File { .. }, Some((_, file))) => source.add_script("__config__", file),
            (ConfigSource::Module { name }, _) => source.module(name).map(|m| m.name().to_owned()),
            _ => None,
        };
        if let Some(name) = module
            && let Some(m) = source.module(&name)
        {
            config_file = Some((r.clone(), read_config(m, &g.env), name));
        } else if let ConfigSource::Module { name } = &r.source {
            facts.push(format!(
                "gunicorn's config module {name} ({r}) is not in the source read under {root}"
            ));
        }
    }
    let effective = plan.gunicorn.as_ref().map(|g| {
        effective(
            g,
            config_file.as_ref().map(|(r, f, _)| (r, f)),
            plan.script_path.as_deref(),
            &c.working_dir,
        )
    });
    let mut target = effective
        .as_ref()
        .and_then(|e| e.target.as_ref())
        .and_then(|t| t.known().cloned());
    if let Some(e) = &effective {
        facts.extend(gunicorn_facts(e, config_file.as_ref().map(|(_, f, _)| f)));
    } else if let Some(t) = failed_target(hints) {
        // The target gunicorn said it could not load, when argv and script do not tell.
        facts.push(format!(
            "gunicorn target from the error: {}:{}",
            t.module, t.var
        ));
        target = Some(t);
    }
    facts.extend(settle_facts);
    facts.push(format!(
        "read {file_count} Python file(s) under {root}{}",
        if truncated {
            " (stopped at the limit)"
        } else {
            ""
        }
    ));
    if !migrations.is_empty() {
        facts.push(format!(
            "{} migration file(s), in run order: {}",
            migrations.len(),
            migrations
                .iter()
                .take(6)
                .map(|m| m.path.rsplit('/').next().unwrap_or(&m.path))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let startup = Startup {
        target,
        config_module: config_file.as_ref().map(|(_, _, n)| n.clone()),
        preload: effective
            .as_ref()
            .and_then(|e| e.preload.known().copied())
            .unwrap_or(false),
    };
    let analysis = analyse_startup(&source, &startup);
    // One line per import that brings modules into the master (`from app import x` brings the
    // app's whole import closure).
    let mut groups: Vec<(&MasterReason, Option<&super::Location>, Vec<&str>)> = Vec::new();
    for m in analysis
        .master_imports
        .iter()
        .filter(|m| m.reason != MasterReason::Preload)
    {
        match groups
            .iter_mut()
            .find(|(r, at, _)| *r == &m.reason && *at == m.at.as_ref())
        {
            Some((_, _, names)) => names.push(&m.module),
            None => groups.push((&m.reason, m.at.as_ref(), vec![&m.module])),
        }
    }
    for (reason, at, names) in groups {
        let by = match reason {
            MasterReason::Hook(h) => format!("the {h} hook"),
            _ => "gunicorn's config file".to_owned(),
        };
        let shown: Vec<&str> = names.iter().take(4).copied().collect();
        let more = names.len() - shown.len();
        facts.push(format!(
            "the master imports {}{} before forking ({by}{}): the workers inherit them imported",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more module(s)")
            } else {
                String::new()
            },
            at.map(|a| format!(" at {a}")).unwrap_or_default()
        ));
    }
    let env = env_of(c);
    let health = c
        .healthcheck
        .as_ref()
        .and_then(|h| http::health_url(&h.test, &env).ok());
    Observation {
        analysis,
        source,
        celery_app: celery_app(&argv_of(c)),
        logs: c
            .logs
            .lines
            .iter()
            .map(|l| (l.ts.clone(), l.text.clone()))
            .collect(),
        gunicorn: effective,
        flask_commands: plan.flask_commands,
        script_path: plan.script_path,
        health_path: health
            .as_ref()
            .map(|u| u.target.split('?').next().unwrap_or_default().to_owned()),
        health_port: health.map(|u| (u.port, u.url)),
        migrations,
        python: python_of(c, hints),
        facts,
    }
}

/// The facts of gunicorn's settings: one line with each setting and where it came from, then
/// the config file, its hooks and the names it sets in vain.
fn gunicorn_facts(e: &Effective, config: Option<&ConfigFile>) -> Vec<String> {
    let at = |from: &Origin| match from {
        Origin::ConfigFile { at, .. } => at.to_string(),
        other => other.to_string(),
    };
    let mut line = format!(
        "gunicorn {}",
        e.target
            .as_ref()
            .map_or("(no application target)".to_owned(), |t| t.shown())
    );
    let mut parts = vec![
        format!("workers {} ({})", e.workers.shown(), at(&e.workers.from)),
        format!(
            "worker_class {} ({})",
            e.worker_class.shown(),
            at(&e.worker_class.from)
        ),
    ];
    if e.threads.from != Origin::Default {
        parts.push(format!(
            "threads {} ({})",
            e.threads.shown(),
            at(&e.threads.from)
        ));
    }
    parts.push(format!(
        "{} ({})",
        match e.preload.known() {
            Some(true) => "preload".to_owned(),
            Some(false) => "no preload".to_owned(),
            None => format!("preload {}", e.preload.shown()),
        },
        at(&e.preload.from)
    ));
    parts.push(format!(
        "timeout {} ({})",
        e.timeout.shown(),
        at(&e.timeout.from)
    ));
    parts.push(format!("bind {} ({})", e.bind.shown(), at(&e.bind.from)));
    line.push_str(" — ");
    line.push_str(&parts.join(", "));
    let mut facts = vec![line];
    for (name, s) in [("workers", &e.workers), ("timeout", &e.timeout)] {
        if let Value::Unknown { why, .. } = &s.value {
            facts.push(format!("{}: {why}", s.describe(name)));
        }
    }
    if let Some(r) = &e.config {
        facts.push(format!("gunicorn config file: {r}"));
    }
    if let Some(f) = config
        && let Some(line) = f.syntax_error
    {
        facts.push(format!(
            "{}:{line}: the config file does not parse: gunicorn stops at start",
            f.path
        ));
    }
    for h in &e.hooks {
        facts.push(format!(
            "gunicorn hook {} ({}) runs {}",
            h.name,
            h.at,
            h.runs.describe()
        ));
    }
    for m in &e.misnamed {
        facts.push(format!(
            "{}: `{}` is no gunicorn setting and is ignored (`{}`?)",
            m.at, m.name, m.setting
        ));
    }
    facts
}

fn first<'h>(hints: &'h [String], re: &Regex) -> Option<regex::Captures<'h>> {
    hints.iter().find_map(|h| re.captures(h))
}

/// `Failed to find attribute 'application' in 'server'.`
fn failed_target(hints: &[String]) -> Option<WsgiTarget> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"Failed to find attribute '([^']+)' in '([^']+)'").expect("regex")
    });
    first(hints, re).map(|c| WsgiTarget {
        module: c[2].to_owned(),
        var: c[1].to_owned(),
    })
}

/// One condition's judgement: what it reads, and the facts its result carries.
struct Verdict<'a> {
    spec: &'a ProbeSpec,
    expect: PythonExpectation,
    obs: &'a Observation,
    hints: &'a [String],
    /// The observation's facts, then what the judgement adds.
    facts: Vec<String>,
}

impl Verdict<'_> {
    fn result(&mut self, outcome: Outcome, summary: String, more: Vec<String>) -> ProbeResult {
        self.facts.extend(more);
        ProbeResult::new(self.spec, outcome, summary, &self.facts)
    }

    fn unknown(&self, why: String) -> ProbeResult {
        ProbeResult::unknown(self.spec, why, &self.facts)
    }
}

/// Judge one expectation: each condition has its own function below.
fn judge(
    spec: &ProbeSpec,
    expect: PythonExpectation,
    obs: &Observation,
    hints: &[String],
) -> ProbeResult {
    use PythonExpectation as E;
    let mut v = Verdict {
        spec,
        expect,
        obs,
        hints,
        facts: obs.facts.clone(),
    };
    match expect {
        E::InitAtImport => judge_init_at_import(&mut v),
        E::UndefinedName => judge_undefined_name(&mut v),
        E::ImportNameMissing => judge_import_name_missing(&mut v),
        E::ImportCycle => judge_import_cycle(&mut v),
        E::NoneRebound => judge_none_rebound(&mut v),
        E::HandlerUndecorated => judge_handler_undecorated(&mut v),
        E::RoutePrefixMismatch => judge_route_prefix_mismatch(&mut v),
        E::HealthRouteAbsent => judge_health_route_absent(&mut v),
        E::WsgiTargetUnbound => judge_wsgi_target_unbound(&mut v),
        E::AppContextAtImport => judge_app_context_at_import(&mut v),
        E::TaskNotIncluded => judge_task_not_included(&mut v),
        E::MigrationOrder | E::MigrationsInOrder => judge_migration_order(&mut v),
        E::SlowImport => judge_slow_import(&mut v),
        E::SyntaxNewer => judge_syntax_newer(&mut v),
        E::ExtensionRegisteredTwice => judge_extension_registered_twice(&mut v),
        E::HealthPortUnbound => judge_health_port_unbound(&mut v),
    }
}

/// `InitAtImport`.
fn judge_init_at_import(v: &mut Verdict<'_>) -> ProbeResult {
    let obs = v.obs;
    let (o, summary, more) = init_judgement(obs);
    v.result(o, summary, more)
}

/// `UndefinedName`.
fn judge_undefined_name(v: &mut Verdict<'_>) -> ProbeResult {
    let a = &v.obs.analysis;
    let obs = v.obs;
    let hints = v.hints;
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"name '([^']+)' is not defined").expect("regex"));
    let named = first(hints, re).map(|c| c[1].to_owned());
    let hit = a
        .undefined_names
        .iter()
        .find(|u| named.as_ref().is_none_or(|n| *n == u.name));
    match (hit, named) {
        (Some(u), _) => {
            // The module that defines the name, for the patch a person applies.
            let def = Regex::new(&format!(
                r"(?m)^(?:async\s+)?(?:def|class)\s+{n}\b|^{n}\s*(?::[^=]*)?=",
                n = regex::escape(&u.name)
            ))
            .expect("escaped");
            let home = obs
                .source
                .modules()
                .find(|m| def.is_match(m.text()))
                .map(|m| m.name().to_owned());
            let mut result = v
                .result(
                    Outcome::Confirmed,
                    format!(
                        "{}: `{}` is used, and never defined nor imported{}",
                        u.at,
                        u.name,
                        home.as_deref()
                            .map(|m| format!(" (it is defined in {m})"))
                            .unwrap_or_default()
                    ),
                    vec![],
                )
                .with("name", u.name.clone())
                .located(u.at.file.clone(), u.at.line);
            if let Some(m) = home {
                result = result.with("import", format!("from {m} import {}", u.name));
            }
            result
        }
        (None, Some(n)) => v.result(
            Outcome::RuledOut,
            format!("`{n}` is bound in the app's source"),
            vec![],
        ),
        (None, None) => v.result(Outcome::RuledOut, "every name used is bound".into(), vec![]),
    }
}

/// `ImportNameMissing`.
fn judge_import_name_missing(v: &mut Verdict<'_>) -> ProbeResult {
    let a = &v.obs.analysis;
    let hints = v.hints;
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE
        .get_or_init(|| Regex::new(r"cannot import name '([^']+)' from '([^']+)'").expect("regex"));
    let named = first(hints, re).map(|c| (c[1].to_owned(), c[2].to_owned()));
    let hit = a.missing_imports.iter().find(|m| {
        named
            .as_ref()
            .is_none_or(|(n, module)| *n == m.name && *module == m.module)
    });
    match (hit, named) {
        (Some(m), _) => v.result(
            Outcome::Confirmed,
            format!(
                "{}: `from {} import {}`, and {} binds no `{}`{}",
                m.at,
                m.module,
                m.name,
                m.module,
                m.name,
                if m.defined_nearby.is_empty() {
                    String::new()
                } else {
                    format!(" (it binds {})", m.defined_nearby.join(", "))
                }
            ),
            vec![],
        ),
        (None, Some((n, m))) => v.result(
            Outcome::RuledOut,
            format!("`{m}` binds `{n}` in the source, or is not part of the app"),
            vec![],
        ),
        (None, None) => v.result(
            Outcome::RuledOut,
            "every import names a bound name".into(),
            vec![],
        ),
    }
}

/// `ImportCycle`.
fn judge_import_cycle(v: &mut Verdict<'_>) -> ProbeResult {
    let a = &v.obs.analysis;
    match a.import_cycles.first() {
        Some(cy) => v.result(
            Outcome::Confirmed,
            format!(
                "module-level imports form a cycle: {} → {}",
                cy.modules.join(" → "),
                cy.modules[0]
            ),
            cy.at.iter().map(|l| format!("import at {l}")).collect(),
        ),
        None => v.result(
            Outcome::RuledOut,
            "the module-level imports form no cycle".into(),
            vec![],
        ),
    }
}

/// `NoneRebound`.
fn judge_none_rebound(v: &mut Verdict<'_>) -> ProbeResult {
    let a = &v.obs.analysis;
    match a.none_rebound.first() {
            Some(n) => v.result(
                Outcome::Confirmed,
                format!(
                    "{} binds `{} = None` ({}), rebinds it under `global` ({}), and {} copy the None at import",
                    n.module,
                    n.name,
                    n.bound_at,
                    n.rebound_at,
                    n.imported_at
                        .iter()
                        .map(|l| l.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                vec![],
            ),
            None => v.result(
                Outcome::RuledOut,
                "no module-level None is copied by value".into(),
                vec![],
            ),
        }
}

/// `HandlerUndecorated`.
fn judge_handler_undecorated(v: &mut Verdict<'_>) -> ProbeResult {
    let a = &v.obs.analysis;
    match a.undecorated_handlers.first() {
        Some(h) => v.result(
            Outcome::Confirmed,
            format!(
                "{}: `{}` looks like a {} but has no decorator and no caller{}",
                h.at,
                h.function,
                match h.kind {
                    HandlerKind::Route => "view",
                    HandlerKind::Teardown => "teardown function",
                    HandlerKind::Command => "CLI command",
                },
                h.suggested_decorator
                    .as_deref()
                    .map(|d| format!(" (lost `{d}`?)"))
                    .unwrap_or_default()
            ),
            a.undecorated_handlers[1..]
                .iter()
                .map(|h| format!("also {}: `{}`", h.at, h.function))
                .collect(),
        ),
        None => v.result(
            Outcome::RuledOut,
            "every handler-like function is decorated or called".into(),
            vec![],
        ),
    }
}

/// `RoutePrefixMismatch`.
fn judge_route_prefix_mismatch(v: &mut Verdict<'_>) -> ProbeResult {
    let a = &v.obs.analysis;
    let obs = v.obs;
    let Some(path) = &obs.health_path else {
        return v.unknown("the health check requests no local URL".into());
    };
    match match_route(&a.routes, path) {
        RouteMatch::PrefixDoubled { route } | RouteMatch::PrefixMissing { route } => v.result(
            Outcome::Confirmed,
            format!(
                "the health check asks {path}; the source routes it at {} ({})",
                route.url, route.at
            ),
            vec![],
        ),
        RouteMatch::Exact(route) => v.result(
            Outcome::RuledOut,
            format!("{path} is routed ({})", route.at),
            vec![],
        ),
        RouteMatch::Unregistered(route) => v.result(
            Outcome::RuledOut,
            format!(
                "{path} belongs to a blueprint that is never registered ({})",
                route.at
            ),
            vec![],
        ),
        RouteMatch::NoRoute => v.result(
            Outcome::RuledOut,
            format!("no route serves {path}, with or without a prefix"),
            vec![],
        ),
    }
}

/// `HealthRouteAbsent`.
fn judge_health_route_absent(v: &mut Verdict<'_>) -> ProbeResult {
    let a = &v.obs.analysis;
    let obs = v.obs;
    let Some(path) = &obs.health_path else {
        return v.unknown("the health check requests no local URL".into());
    };
    if a.routes.is_empty() {
        return v.unknown("no route was found in the source read".into());
    }
    match (match_route(&a.routes, path), a.undecorated_handlers.first()) {
        (RouteMatch::NoRoute, None) => v.result(
            Outcome::Confirmed,
            format!(
                "no route of the app serves {path}, with or without a prefix ({} route(s) read)",
                a.routes.len()
            ),
            a.routes
                .iter()
                .take(8)
                .map(|route| format!("route {} ({})", route.url, route.at))
                .collect(),
        ),
        (RouteMatch::NoRoute, Some(h)) => v.result(
            Outcome::RuledOut,
            format!(
                "{}: `{}` has lost its decorator: the route exists in the source",
                h.at, h.function
            ),
            vec![],
        ),
        (RouteMatch::Exact(route), _) => v.result(
            Outcome::RuledOut,
            format!("{path} is routed ({})", route.at),
            vec![],
        ),
        (RouteMatch::PrefixDoubled { route } | RouteMatch::PrefixMissing { route }, _) => v.result(
            Outcome::RuledOut,
            format!(
                "{path} is routed under another prefix: {} ({})",
                route.url, route.at
            ),
            vec![],
        ),
        (RouteMatch::Unregistered(route), _) => v.result(
            Outcome::RuledOut,
            format!(
                "{path} belongs to a blueprint that is never registered ({})",
                route.at
            ),
            vec![],
        ),
    }
}

/// `WsgiTargetUnbound`.
fn judge_wsgi_target_unbound(v: &mut Verdict<'_>) -> ProbeResult {
    let a = &v.obs.analysis;
    match &a.wsgi {
        Some(w) if !w.module_found => v.unknown(format!(
            "module {} is not in the source read",
            w.target.module
        )),
        Some(w) if !w.var_bound => v.result(
            Outcome::Confirmed,
            format!(
                "{} binds no `{}` at module level{}",
                w.target.module,
                w.target.var,
                if w.candidates.is_empty() {
                    String::new()
                } else {
                    format!(" (the app is `{}`)", w.candidates.join("`, `"))
                }
            ),
            vec![],
        ),
        Some(w) => v.result(
            Outcome::RuledOut,
            format!(
                "{}:{} is bound{}",
                w.target.module,
                w.target.var,
                w.bound_at
                    .as_ref()
                    .map(|l| format!(" at {l}"))
                    .unwrap_or_default()
            ),
            vec![],
        ),
        None => v.unknown("no gunicorn target found".into()),
    }
}

/// `AppContextAtImport`.
fn judge_app_context_at_import(v: &mut Verdict<'_>) -> ProbeResult {
    let a = &v.obs.analysis;
    match a.app_context_at_import.first() {
        Some(u) => v.result(
            Outcome::Confirmed,
            format!(
                "{}: `{}` is used at import, outside any application context",
                u.at, u.name
            ),
            vec![],
        ),
        None => v.result(
            Outcome::RuledOut,
            "no Flask context global is used at import".into(),
            vec![],
        ),
    }
}

/// `TaskNotIncluded`.
fn judge_task_not_included(v: &mut Verdict<'_>) -> ProbeResult {
    let obs = v.obs;
    let hints = v.hints;
    let (outcome, summary, more) = task_not_included(obs, hints);
    match outcome {
        Some(o) => v.result(o, summary, more),
        None => v.unknown(summary),
    }
}

/// `MigrationOrder | MigrationsInOrder`.
fn judge_migration_order(v: &mut Verdict<'_>) -> ProbeResult {
    let obs = v.obs;
    let hints = v.hints;
    let expect = v.expect;
    let (outcome, summary, table) = migration_judgement(obs, hints, expect);
    match outcome {
        Some(o) => {
            let judged = v.result(o, summary, vec![]);
            match table {
                Some(t) => judged.with("table", t),
                None => judged,
            }
        }
        None => v.unknown(summary),
    }
}

/// `SlowImport`.
fn judge_slow_import(v: &mut Verdict<'_>) -> ProbeResult {
    let obs = v.obs;
    let (outcome, summary, more) = slow_boot(obs);
    match outcome {
        Some(o) => v.result(o, summary, more),
        None => v.unknown(summary),
    }
}

/// `SyntaxNewer`.
fn judge_syntax_newer(v: &mut Verdict<'_>) -> ProbeResult {
    let obs = v.obs;
    let hints = v.hints;
    let Some((version, from)) = &obs.python else {
        return v.unknown("the image's Python version is not known".into());
    };
    let seen = format!("the image's Python: {version} ({from})");
    let newer = newer_than(&obs.source, *version);
    // The file the traceback names first, when it names one.
    static FILE: OnceLock<Regex> = OnceLock::new();
    let file_re = FILE.get_or_init(|| Regex::new(r#"File "([^"]+)""#).expect("regex"));
    let named: Vec<String> = hints
        .iter()
        .flat_map(|h| file_re.captures_iter(h).map(|c| c[1].to_owned()))
        .collect();
    let hit = newer
        .iter()
        .find(|n| named.contains(&n.at.file))
        .or(newer.first());
    match hit {
        Some(n) => {
            let more: Vec<String> =
                std::iter::once(seen)
                    .chain(
                        newer.iter().filter(|o| o.at != n.at).take(8).map(|o| {
                            format!("also {}: {} (Python {})", o.at, o.construct, o.needs)
                        }),
                    )
                    .collect();
            v.result(
                Outcome::Confirmed,
                format!(
                    "{}: {} needs Python {}; the image has {version}",
                    n.at, n.construct, n.needs
                ),
                more,
            )
            .located(n.at.file.clone(), n.at.line)
        }
        None => v.result(
            Outcome::RuledOut,
            format!("every module read compiles under Python {version}"),
            vec![seen],
        ),
    }
}

/// `ExtensionRegisteredTwice`.
fn judge_extension_registered_twice(v: &mut Verdict<'_>) -> ProbeResult {
    let a = &v.obs.analysis;
    let hints = v.hints;
    static EXT: OnceLock<Regex> = OnceLock::new();
    let ext_re =
        EXT.get_or_init(|| Regex::new(r"A '([\w.]+)' instance has already").expect("regex"));
    let named = first(hints, ext_re).map(|c| c[1].to_owned());
    let list = &a.extension_registered_twice;
    let hit = list
        .iter()
        .find(|t| named.as_ref().is_none_or(|n| n.ends_with(&t.extension)));
    match hit {
        Some(t) => v
            .result(
                Outcome::Confirmed,
                format!(
                    "{}: `{}` is bound to `{}` again (first at {}), both in {}",
                    t.second, t.extension, t.app, t.first, t.place
                ),
                list.iter()
                    .filter(|o| !std::ptr::eq(*o, t))
                    .map(|o| {
                        format!(
                            "also {}: `{}` again (first at {})",
                            o.second, o.extension, o.first
                        )
                    })
                    .collect(),
            )
            .located(t.second.file.clone(), t.second.line)
            .with("extension", t.extension.clone()),
        None => v.result(
            Outcome::RuledOut,
            match named {
                Some(n) => format!("no place binds `{n}` twice to one app in the source"),
                None => "no Flask extension class is bound twice to one app".into(),
            },
            vec![],
        ),
    }
}

/// `HealthPortUnbound`.
fn judge_health_port_unbound(v: &mut Verdict<'_>) -> ProbeResult {
    let obs = v.obs;
    let Some((port, url)) = &obs.health_port else {
        return v.unknown("the health check requests no local URL".into());
    };
    let Some(e) = &obs.gunicorn else {
        return v.unknown("the container runs no gunicorn".into());
    };
    v.facts
        .push(format!("the health check connects to port {port} ({url})"));
    v.facts.push(e.bind.describe("bind"));
    let Some(ports) = e.ports() else {
        return v.unknown(format!(
            "gunicorn's bind is computed at start-up ({})",
            e.bind.from
        ));
    };
    let list = ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if ports.contains(port) {
        v.result(
            Outcome::RuledOut,
            format!(
                "gunicorn binds port {port} (from {}), the port the health check asks",
                e.bind.from
            ),
            vec![],
        )
    } else {
        v.result(
            Outcome::Confirmed,
            if ports.is_empty() {
                format!(
                    "the health check asks port {port}; gunicorn binds no TCP port ({}, from {})",
                    e.bind.shown(),
                    e.bind.from
                )
            } else {
                format!(
                    "the health check asks port {port}; gunicorn binds {list} (from {})",
                    e.bind.from
                )
            },
            vec![],
        )
        .with("health_port", port.to_string())
        .with(
            "bound_port",
            ports.first().map(u16::to_string).unwrap_or_default(),
        )
    }
}

/// `migration-order` and `migrations-in-order`, for the table the error names; with no error
/// (pre-flight, before anything ran), `migration-order` looks for any table a migration uses
/// before a later one creates it. Also returns the table judged.
fn migration_judgement(
    obs: &Observation,
    hints: &[String],
    expect: PythonExpectation,
) -> (Option<Outcome>, String, Option<String>) {
    use migrations::TableOrder;
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r#"relation "(?:\w+\.)?([^"]+)" does not exist"#).expect("relation pattern")
    });
    if obs.migrations.is_empty() {
        return (
            None,
            "no migration file was found in the image".into(),
            None,
        );
    }
    let misordered = expect == PythonExpectation::MigrationOrder;
    let named = hints
        .iter()
        .find_map(|h| re.captures(h))
        .map(|c| c[1].to_owned());
    let table = match named {
        Some(t) => t,
        None if misordered => {
            let first = obs
                .migrations
                .iter()
                .flat_map(|m| m.uses.iter().map(|(t, _)| t.as_str()))
                .find(|t| {
                    matches!(
                        migrations::order_of(&obs.migrations, t),
                        TableOrder::Misordered { .. }
                    )
                });
            match first {
                Some(t) => t.to_owned(),
                None => {
                    return (
                        Some(Outcome::RuledOut),
                        format!(
                            "every table the {} migration(s) use is created before it is used",
                            obs.migrations.len()
                        ),
                        None,
                    );
                }
            }
        }
        None => return (None, "the error names no table".into(), None),
    };
    let at = |(path, line): &(String, u32)| format!("{path}:{line}");
    let (outcome, summary) = match migrations::order_of(&obs.migrations, &table) {
        TableOrder::Misordered {
            used_by,
            created_by,
        } => (
            Some(Outcome::of(misordered)),
            format!(
                "{} uses {table}, which {} creates later: the migrations run in the wrong order",
                at(&used_by),
                at(&created_by)
            ),
        ),
        TableOrder::InOrder { created_by } => (
            Some(Outcome::of(!misordered)),
            format!(
                "{} creates {table} before any migration uses it: the migrations did not run \
                 against this database",
                at(&created_by)
            ),
        ),
        TableOrder::NeverCreated { used_by } if misordered => (
            Some(Outcome::RuledOut),
            format!("{} uses {table}, and no migration creates it", at(&used_by)),
        ),
        TableOrder::NeverCreated { used_by } => (
            None,
            format!(
                "{} uses {table}, and no migration creates it (the app's own init may)",
                at(&used_by)
            ),
        ),
        TableOrder::Unmentioned => (None, format!("no migration mentions {table}")),
    };
    (outcome, summary, Some(table))
}

/// `celery -A proj worker`, `celery --app=proj.celery:app worker` → `proj` / `proj.celery`.
fn celery_app(argv: &[String]) -> Option<String> {
    let words: Vec<&str> = argv.iter().flat_map(|a| a.split_whitespace()).collect();
    let at = words.iter().position(|w| w.ends_with("celery"))?;
    let rest = &words[at + 1..];
    let value = rest.iter().enumerate().find_map(|(i, w)| {
        if *w == "-A" || *w == "--app" {
            rest.get(i + 1).copied()
        } else {
            w.strip_prefix("--app=").or_else(|| w.strip_prefix("-A"))
        }
    })?;
    let module = value.split(':').next()?.trim_end_matches(".app");
    (!module.is_empty()).then(|| module.to_owned())
}

/// A task the worker received but does not know (`Received unregistered task of type
/// 'tasks.ping'`): is it defined in the source, in a module the worker's Celery app neither
/// imports nor lists in `include`/`imports`?
fn task_not_included(
    obs: &Observation,
    hints: &[String],
) -> (Option<Outcome>, String, Vec<String>) {
    static RECEIVED: OnceLock<Regex> = OnceLock::new();
    let received = RECEIVED.get_or_init(|| {
        Regex::new(r"unregistered task of type '([A-Za-z0-9_.]+)'").expect("regex")
    });
    let Some(task) = first(hints, received).map(|c| c[1].to_owned()) else {
        return (None, "the error names no task".into(), vec![]);
    };
    let Some((module, func)) = task.rsplit_once('.') else {
        return (
            None,
            format!("`{task}` is not a module.function task name"),
            vec![],
        );
    };
    let Some(app) = &obs.celery_app else {
        return (
            None,
            "the container runs no `celery -A <app> worker`".into(),
            vec![],
        );
    };
    let Some(app_module) = obs.source.module(app) else {
        return (
            None,
            format!("the worker's app module `{app}` is not in the source read"),
            vec![],
        );
    };
    let Some(task_module) = obs.source.module(module) else {
        return (
            Some(Outcome::RuledOut),
            format!(
                "no module `{module}` in the app's source defines `{task}`: the producer's name is wrong"
            ),
            vec![],
        );
    };
    let def = Regex::new(&format!(
        r"(?m)^@[\w.]*task\b[^\n]*\n(?:@[^\n]*\n)*(?:async\s+)?def\s+{}\s*\(",
        regex::escape(func)
    ))
    .expect("escaped");
    let named =
        Regex::new(&format!(r#"name\s*=\s*['"]{}['"]"#, regex::escape(&task))).expect("escaped");
    if !def.is_match(task_module.text()) && !named.is_match(task_module.text()) {
        return (
            Some(Outcome::RuledOut),
            format!("{} defines no task `{func}`", task_module.path()),
            vec![],
        );
    }
    let text = app_module.text();
    let quoted = Regex::new(&format!(r#"['"]{}['"]"#, regex::escape(module))).expect("escaped");
    let imported = Regex::new(&format!(
        r"(?m)^\s*(?:import\s+{m}\b|from\s+{m}\s+import\b)",
        m = regex::escape(module)
    ))
    .expect("escaped");
    let listed = text
        .lines()
        .filter(|l| l.contains("include") || l.contains("imports") || l.contains("autodiscover"))
        .any(|l| quoted.is_match(l));
    if imported.is_match(text) || listed {
        return (
            Some(Outcome::RuledOut),
            format!("{} imports or includes `{module}`", app_module.path()),
            vec![],
        );
    }
    let include_line = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("include") || l.contains("imports"))
        .map(|(i, l)| format!("{}:{}: {}", app_module.path(), i + 1, l.trim()));
    (
        Some(Outcome::Confirmed),
        format!(
            "`{task}` is defined in {}, which the worker's app `{app}` never imports nor includes",
            task_module.path()
        ),
        include_line.into_iter().collect(),
    )
}

/// gunicorn kills a worker that has not checked in for `timeout` seconds. When the kill comes
/// `timeout` after the worker booted, the worker never finished importing the app: slow work at
/// import time (not a slow request). The timeout is the effective one (command line,
/// `GUNICORN_CMD_ARGS`, config file or default), and what a late kill means depends on the
/// worker class: a `sync` worker is silent while it serves, the others are not.
fn slow_boot(obs: &Observation) -> (Option<Outcome>, String, Vec<String>) {
    static BOOT: OnceLock<Regex> = OnceLock::new();
    static KILL: OnceLock<Regex> = OnceLock::new();
    let boot = BOOT.get_or_init(|| Regex::new(r"Booting worker with pid: (\d+)").expect("regex"));
    let kill = KILL.get_or_init(|| Regex::new(r"WORKER TIMEOUT \(pid:(\d+)\)").expect("regex"));
    let (timeout, timeout_from) = match &obs.gunicorn {
        Some(e) => match e.timeout.known() {
            Some(0) => {
                return (
                    None,
                    format!(
                        "{}: gunicorn's worker timeout is off",
                        e.timeout.describe("timeout")
                    ),
                    vec![],
                );
            }
            Some(t) => (*t as f64, e.timeout.from.to_string()),
            None => {
                return (
                    None,
                    format!(
                        "gunicorn's timeout is computed at start-up: {}",
                        e.timeout.describe("timeout")
                    ),
                    vec![],
                );
            }
        },
        None => (30.0, "gunicorn's default".to_owned()),
    };
    let mut booted: Vec<(String, f64)> = Vec::new();
    let mut deltas: Vec<f64> = Vec::new();
    for (ts, text) in &obs.logs {
        let Some(t) = ts.as_deref().and_then(crate::probes::docker::rfc3339_secs) else {
            continue;
        };
        if let Some(c) = boot.captures(text) {
            booted.push((c[1].to_owned(), t));
        } else if let Some(c) = kill.captures(text)
            && let Some((_, b)) = booted.iter().find(|(pid, _)| *pid == c[1])
        {
            deltas.push(t - b);
        }
    }
    if deltas.is_empty() {
        return (
            None,
            "no worker boot and timeout pair in the log tail".into(),
            vec![],
        );
    }
    let at_boot = deltas
        .iter()
        .filter(|d| (timeout - 1.0..=timeout + 5.0).contains(*d))
        .count();
    let class = obs.gunicorn.as_ref().and_then(|e| {
        e.worker_class_runs()
            .map(|c| (c, e.worker_class.from.to_string(), e.async_workers()))
    });
    let mut facts = vec![format!(
        "{} worker(s) killed {} s after booting; timeout {timeout:.0} (from {timeout_from})",
        deltas.len(),
        deltas
            .iter()
            .map(|d| format!("{d:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    if let Some((c, from, _)) = &class {
        facts.push(format!("worker class {c} (from {from})"));
    }
    if at_boot == deltas.len() {
        (
            Some(Outcome::Confirmed),
            format!(
                "every timed-out worker was killed {timeout:.0} s after it booted: the app's import takes longer than gunicorn's timeout ({timeout:.0} s, from {timeout_from})"
            ),
            facts,
        )
    } else {
        let summary = match &class {
            Some((c, from, Some(true))) => format!(
                "workers time out well after booting: a {c} worker (from {from}) keeps notifying while it serves, so it was blocked (a call that does not yield), not slow to import"
            ),
            _ => "workers time out well after booting: slow requests, not a slow import".into(),
        };
        (Some(Outcome::RuledOut), summary, facts)
    }
}

/// Where an initialisation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    PerWorker,
    MasterOnce,
}

/// One place the app's initialisation runs, as the report says it.
struct Run<'a> {
    place: Place,
    summary: String,
    /// The hook it runs in, if any.
    hook: Option<&'a str>,
    finding: &'a Finding,
}

/// `initialize_app() (/app/utils/app_globals.py:22)`: the init by the name it is called with,
/// and where it is defined (else where it is called).
fn init_call(f: &Finding) -> String {
    let step = f.chain.iter().find(|s| s.call == f.what);
    let at = step
        .and_then(|s| s.defined_at.as_ref().or(Some(&s.at)))
        .unwrap_or(&f.at);
    format!("{}() ({at})", f.what)
}

/// `workers = 3 from /app/gunicorn.conf.py:4`.
fn workers_note(e: &Effective) -> String {
    match &e.workers.value {
        Value::Known { value } => format!("workers = {value} from {}", e.workers.from),
        Value::Unknown { expr, why } => {
            format!("workers = `{expr}` from {}, {why}", e.workers.from)
        }
    }
}

/// Every place the app's initialisation runs: module-level init of the modules gunicorn
/// imports (per worker, or once in the master when it preloads or the config file imports
/// them), the config file's own, and its hooks'.
fn init_runs(obs: &Observation) -> Vec<Run<'_>> {
    let a = &obs.analysis;
    let e = obs.gunicorn.as_ref();
    let each = e.map_or("every worker".to_owned(), |e| match e.workers.known() {
        Some(n) => format!("each of the {n} workers ({})", workers_note(e)),
        None => format!("every worker ({})", workers_note(e)),
    });
    let mut runs = Vec::new();
    for f in &a.init_at_import {
        match a.master_imports.iter().find(|m| m.path == f.at.file) {
            Some(m) => {
                let why = match &m.reason {
                    MasterReason::Preload => format!(
                        "preload, from {}",
                        e.map_or("--preload".into(), |e| e.preload.from.to_string())
                    ),
                    MasterReason::ConfigFile => format!(
                        "gunicorn's config file imports {}{}",
                        m.module,
                        m.at.as_ref()
                            .map(|a| format!(" at {a}"))
                            .unwrap_or_default()
                    ),
                    MasterReason::Hook(h) => format!(
                        "the {h} hook imports {}{}",
                        m.module,
                        m.at.as_ref()
                            .map(|a| format!(" at {a}"))
                            .unwrap_or_default()
                    ),
                };
                runs.push(Run {
                    place: Place::MasterOnce,
                    summary: format!(
                        "{} calls {} at import, once in the master ({why})",
                        f.at,
                        init_call(f)
                    ),
                    hook: None,
                    finding: f,
                });
            }
            None => runs.push(Run {
                place: Place::PerWorker,
                summary: format!("{} calls {} at import: {each} re-runs it", f.at, f.what),
                hook: None,
                finding: f,
            }),
        }
    }
    for h in &a.hook_init {
        if !h.runs.at_start() {
            continue;
        }
        let how = match &h.via_import {
            Some(m) => format!("imports {m}, whose import calls {}", init_call(&h.init)),
            None => format!("calls {}", init_call(&h.init)),
        };
        let (place, when) = match (h.runs.per_worker(), e) {
            (true, Some(e)) => (
                Place::PerWorker,
                format!("{} ({})", h.runs.describe(), workers_note(e)),
            ),
            (true, None) => (Place::PerWorker, h.runs.describe().to_owned()),
            (false, _) => (Place::MasterOnce, h.runs.describe().to_owned()),
        };
        runs.push(Run {
            place,
            summary: format!("{} ({}) {how} {when}", h.hook, h.at),
            hook: Some(&h.hook),
            finding: &h.init,
        });
    }
    for f in &a.config_init {
        runs.push(Run {
            place: Place::MasterOnce,
            summary: format!(
                "{} calls {} when gunicorn loads its config file, once in the master",
                f.at,
                init_call(f)
            ),
            hook: None,
            finding: f,
        });
    }
    runs
}

fn chain_fact(run: &Run) -> String {
    let mut steps: Vec<String> = Vec::new();
    if let Some(h) = run.hook {
        steps.push(h.to_owned());
    }
    steps.extend(
        run.finding
            .chain
            .iter()
            .map(|s| format!("{} ({})", s.call, s.at)),
    );
    format!("call chain: {}", steps.join(" → "))
}

/// The `init-at-import` judgement: an initialisation that every worker repeats confirms it; one
/// that runs once in the master confirms it only after the entrypoint's own (a second run, not
/// one per worker).
fn init_judgement(obs: &Observation) -> (Outcome, String, Vec<String>) {
    let a = &obs.analysis;
    let runs = init_runs(obs);
    let swallowed = a.broad_except_register.iter().map(|s| {
        format!(
            "{}: `{}` swallows errors of {}",
            s.handler_at, s.handler, s.call
        )
    });
    let also = |chosen: &Run| -> Vec<String> {
        runs.iter()
            .filter(|r| !std::ptr::eq(*r, chosen))
            .map(|r| format!("also: {}", r.summary))
            .collect()
    };
    if let Some(run) = runs.iter().find(|r| r.place == Place::PerWorker) {
        let mut more = vec![chain_fact(run)];
        more.extend(swallowed);
        more.extend(also(run));
        return (Outcome::Confirmed, run.summary.clone(), more);
    }
    if let Some(run) = runs.first() {
        let mut more = vec![chain_fact(run)];
        more.extend(also(run));
        let init_command = obs
            .flask_commands
            .iter()
            .find(|c| !matches!(c.command.as_str(), "run" | "shell" | "routes" | "--version"));
        return match init_command {
            Some(c) => {
                more.extend(swallowed);
                (
                    Outcome::Confirmed,
                    format!(
                        "{}, after the entrypoint's `flask {}` ({}:{}) already initialised: a second initialisation, though not one per worker",
                        run.summary,
                        c.command,
                        obs.script_path.as_deref().unwrap_or("the entrypoint"),
                        c.line
                    ),
                    more,
                )
            }
            None => (
                Outcome::RuledOut,
                format!(
                    "{}: the only initialisation, and no worker repeats it",
                    run.summary
                ),
                more,
            ),
        };
    }
    (
        Outcome::RuledOut,
        "no module-level call of the app, nor a gunicorn hook, reaches initialisation".into(),
        vec![],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::stack::snapshot::testing::{container, with_env};
    use crate::stack::snapshot::{HealthcheckConfig, LogLine, Stream};

    /// A container running `argv` in /app, with its files (paths under /app) and log lines.
    fn web(argv: &[&str], logs: &[(&str, &str)]) -> ContainerSnapshot {
        let mut c = container("web");
        c.command = argv.iter().map(|s| s.to_string()).collect();
        for (ts, text) in logs {
            c.logs.lines.push(LogLine {
                ts: Some(ts.to_string()),
                stream: Stream::Stderr,
                text: text.to_string(),
            });
        }
        c
    }

    fn observe_in(c: &ContainerSnapshot, files: &[(&str, &str)]) -> Observation {
        let files: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (format!("/app/{p}"), t.to_string()))
            .collect();
        observe_files(c, &files, &[]).expect("observed")
    }

    fn obs(files: &[(&str, &str)], argv: &[&str], logs: &[(&str, &str)]) -> Observation {
        observe_in(&web(argv, logs), files)
    }

    fn judge_one(obs: &Observation, expect: PythonExpectation) -> ProbeResult {
        judge_all(&[ProbeSpec::Python { expect }], obs, &[]).remove(0)
    }

    const SEEDING: &str = "\
from flask import Flask

def seed():
    session.add_all([1])
    session.commit()

def initialize_app():
    seed()

def create_app():
    return Flask(__name__)

app = create_app()
";

    #[test]
    fn a_post_fork_hook_calling_the_init_is_per_worker_initialisation() {
        let conf = "\
from server import initialize_app

workers = 3

def post_fork(server, worker):
    initialize_app()
";
        let o = obs(
            &[("server.py", SEEDING), ("gunicorn.conf.py", conf)],
            &["gunicorn", "server:app"],
            &[],
        );
        // No -c: the implicit ./gunicorn.conf.py of /app.
        assert!(
            o.facts.iter().any(
                |f| f.contains("/app/gunicorn.conf.py (found in gunicorn's working directory)")
            ),
            "{:?}",
            o.facts
        );
        let r = judge_one(&o, PythonExpectation::InitAtImport);
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert_eq!(
            r.summary,
            "post_fork (/app/gunicorn.conf.py:5) calls initialize_app() (/app/server.py:7) in every worker (workers = 3 from /app/gunicorn.conf.py:3)"
        );
        assert!(
            r.facts.iter().any(|f| f.starts_with(
                "call chain: post_fork → initialize_app (/app/gunicorn.conf.py:6) → seed"
            )),
            "{:?}",
            r.facts
        );
    }

    #[test]
    fn a_harmless_post_fork_rules_it_out() {
        let conf = "\
import logging
def post_fork(server, worker):
    logging.getLogger('gunicorn').info('worker %s', worker.pid)
";
        let o = obs(
            &[("server.py", SEEDING), ("gunicorn.conf.py", conf)],
            &["gunicorn", "server:app"],
            &[],
        );
        let r = judge_one(&o, PythonExpectation::InitAtImport);
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
    }

    #[test]
    fn when_ready_initialises_once_which_counts_only_after_the_entrypoints_init() {
        let conf = "\
def when_ready(server):
    from server import initialize_app
    initialize_app()
";
        let files = [("server.py", SEEDING), ("conf.py", conf)];
        let once = obs(
            &files,
            &["gunicorn", "-c", "conf.py", "-w", "4", "server:app"],
            &[],
        );
        let r = judge_one(&once, PythonExpectation::InitAtImport);
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
        assert!(
            r.summary
                .contains("when_ready (/app/conf.py:1) calls initialize_app()"),
            "{}",
            r.summary
        );
        assert!(r.summary.contains("once, in the master"), "{}", r.summary);

        let script = "#!/bin/sh\nflask init-db\nexec gunicorn -c conf.py -w 4 server:app\n";
        let mut files = files.to_vec();
        files.push(("entrypoint.sh", script));
        let twice = obs(&files, &["./entrypoint.sh"], &[]);
        let r = judge_one(&twice, PythonExpectation::InitAtImport);
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert!(
            r.summary
                .contains("after the entrypoint's `flask init-db` (/app/entrypoint.sh:2)"),
            "{}",
            r.summary
        );
        assert!(r.summary.contains("not one per worker"), "{}", r.summary);
    }

    #[test]
    fn preload_app_in_the_file_makes_import_time_init_run_once_in_the_master() {
        let server = "from flask import Flask\nsession.commit()\napp = Flask(__name__)\n";
        let per_worker = obs(
            &[("server.py", server), ("gunicorn.conf.py", "workers = 2\n")],
            &["gunicorn", "server:app"],
            &[],
        );
        let r = judge_one(&per_worker, PythonExpectation::InitAtImport);
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert!(r.summary.contains("each of the 2 workers"), "{}", r.summary);

        let preloaded = obs(
            &[
                ("server.py", server),
                ("gunicorn.conf.py", "workers = 2\npreload_app = True\n"),
            ],
            &["gunicorn", "server:app"],
            &[],
        );
        let r = judge_one(&preloaded, PythonExpectation::InitAtImport);
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
        assert!(
            r.summary
                .contains("once in the master (preload, from /app/gunicorn.conf.py:2)"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn the_python_config_module_form_is_read_from_the_tree() {
        let conf = "bind = '0.0.0.0:80'\ntimeout = 5\n";
        let o = obs(
            &[
                ("server.py", SEEDING),
                ("settings/gunicorn.py", conf),
                ("settings/__init__.py", ""),
            ],
            &["gunicorn", "-c", "python:settings.gunicorn", "server:app"],
            &[],
        );
        let e = o.gunicorn().unwrap();
        assert_eq!(e.timeout.known(), Some(&5));
        assert_eq!(e.timeout.from.to_string(), "/app/settings/gunicorn.py:2");
        assert!(
            o.facts[0].contains("bind 0.0.0.0:80 (/app/settings/gunicorn.py:1)"),
            "{:?}",
            o.facts
        );
    }

    #[test]
    fn the_health_port_against_the_effective_bind() {
        let mut c = web(&["gunicorn", "server:app"], &[]);
        c.healthcheck = Some(HealthcheckConfig {
            test: vec![
                "CMD-SHELL".into(),
                "curl -f http://localhost:5000/api/health || exit 1".into(),
            ],
            interval_ns: 0,
            timeout_ns: 0,
            start_period_ns: 0,
            retries: 3,
        });
        let files = [
            ("server.py", SEEDING),
            ("gunicorn.conf.py", "bind = '0.0.0.0:5000'\n"),
        ];
        let r = judge_one(
            &observe_in(&c, &files),
            PythonExpectation::HealthPortUnbound,
        );
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
        assert!(
            r.summary.contains("/app/gunicorn.conf.py:1"),
            "{}",
            r.summary
        );

        let c = with_env(c, "GUNICORN_CMD_ARGS", "--bind=0.0.0.0:80");
        let r = judge_one(
            &observe_in(&c, &files),
            PythonExpectation::HealthPortUnbound,
        );
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert_eq!(
            r.summary,
            "the health check asks port 5000; gunicorn binds 80 (from GUNICORN_CMD_ARGS)"
        );
        assert_eq!(r.data["bound_port"], "80");

        let mut c = c;
        c.command = vec![
            "gunicorn".into(),
            "-b".into(),
            ":5000".into(),
            "server:app".into(),
        ];
        let r = judge_one(
            &observe_in(&c, &files),
            PythonExpectation::HealthPortUnbound,
        );
        assert_eq!(r.outcome, Outcome::RuledOut, "the command line wins: {r:?}");
    }

    #[test]
    fn syntax_newer_than_the_images_python_from_its_traceback_paths() {
        let server =
            "from flask import Flask\nd = {}\nlog = f\"{d[\"k\"]}\"\napp = Flask(__name__)\n";
        let logs = [(
            "2026-11-21T10:00:00.0Z",
            "  File \"/usr/lib/python3.11/importlib/__init__.py\", line 126, in import_module",
        )];
        let o = obs(&[("server.py", server)], &["gunicorn", "server:app"], &logs);
        let r = judge_one(&o, PythonExpectation::SyntaxNewer);
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert_eq!(
            r.summary,
            "/app/server.py:3: an f-string reusing its own quote inside a replacement field needs Python 3.12; the image has 3.11"
        );
        assert_eq!(r.location.and_then(|l| l.line), Some(3));

        let mut newer = obs(&[("server.py", server)], &["gunicorn", "server:app"], &[]);
        assert!(matches!(
            judge_one(&newer, PythonExpectation::SyntaxNewer).outcome,
            Outcome::Unknown(_)
        ));
        newer.set_python(PyVersion::new(3, 12), "the Dockerfile".into());
        let r = judge_one(&newer, PythonExpectation::SyntaxNewer);
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
    }

    #[test]
    fn an_extension_bound_twice_is_confirmed_with_both_places() {
        let server = "\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
db = SQLAlchemy()

def create_app():
    app = Flask(__name__)
    db.init_app(app)
    db.init_app(app)
    return app

app = create_app()
";
        let o = obs(&[("server.py", server)], &["gunicorn", "server:app"], &[]);
        let r = judge_one(&o, PythonExpectation::ExtensionRegisteredTwice);
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert_eq!(
            r.summary,
            "/app/server.py:8: `SQLAlchemy` is bound to `app` again (first at /app/server.py:7), both in create_app"
        );
        let once = server.replacen("    db.init_app(app)\n", "", 1);
        let o = obs(&[("server.py", &once)], &["gunicorn", "server:app"], &[]);
        let r = judge_one(&o, PythonExpectation::ExtensionRegisteredTwice);
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
    }

    #[test]
    fn the_celery_app_module_of_a_worker_command() {
        let a = |s: &str| celery_app(&s.split(' ').map(String::from).collect::<Vec<_>>());
        assert_eq!(
            a("celery -A celery_app worker -l INFO").as_deref(),
            Some("celery_app")
        );
        assert_eq!(
            a("celery --app=proj.celery:app worker").as_deref(),
            Some("proj.celery")
        );
        assert_eq!(a("python -m celery -Aproj worker").as_deref(), Some("proj"));
        assert_eq!(a("gunicorn server:app"), None);
    }

    #[test]
    fn a_task_outside_the_workers_includes_is_confirmed_and_an_included_one_ruled_out() {
        let hint = vec!["Received unregistered task of type 'tasks.ping'.".to_owned()];
        let tasks = "from celery_app import app\n\n@app.task\ndef ping():\n    return 'pong'\n";
        let missing = obs(
            &[
                (
                    "celery_app.py",
                    "from celery import Celery\napp = Celery('a', include=['tasks_export'])\n",
                ),
                ("tasks.py", tasks),
            ],
            &["celery", "-A", "celery_app", "worker"],
            &[],
        );
        let (o, summary, facts) = task_not_included(&missing, &hint);
        assert_eq!(o, Some(Outcome::Confirmed), "{summary}");
        assert!(facts[0].contains("celery_app.py:2"), "{facts:?}");

        let included = obs(
            &[
                (
                    "celery_app.py",
                    "from celery import Celery\napp = Celery('a', include=['tasks', 'tasks_export'])\n",
                ),
                ("tasks.py", tasks),
            ],
            &["celery", "-A", "celery_app", "worker"],
            &[],
        );
        assert_eq!(
            task_not_included(&included, &hint).0,
            Some(Outcome::RuledOut)
        );
    }

    #[test]
    fn a_worker_killed_timeout_seconds_after_booting_never_finished_importing() {
        let argv = ["gunicorn", "--timeout", "5", "-w", "2", "server:app"];
        let logs = [
            (
                "2026-11-21T10:00:00.0Z",
                "[INFO] Booting worker with pid: 8",
            ),
            (
                "2026-11-21T10:00:05.6Z",
                "[CRITICAL] WORKER TIMEOUT (pid:8)",
            ),
            (
                "2026-11-21T10:00:05.9Z",
                "[INFO] Booting worker with pid: 9",
            ),
            (
                "2026-11-21T10:00:11.2Z",
                "[CRITICAL] WORKER TIMEOUT (pid:9)",
            ),
        ];
        let (o, _, facts) = slow_boot(&obs(&[], &argv, &logs));
        assert_eq!(o, Some(Outcome::Confirmed), "{facts:?}");

        let late = [
            (
                "2026-11-21T10:00:00.0Z",
                "[INFO] Booting worker with pid: 8",
            ),
            (
                "2026-11-21T10:02:00.0Z",
                "[CRITICAL] WORKER TIMEOUT (pid:8)",
            ),
        ];
        assert_eq!(
            slow_boot(&obs(&[], &argv, &late)).0,
            Some(Outcome::RuledOut)
        );
    }

    #[test]
    fn the_timeout_and_worker_class_come_from_the_config_file() {
        let conf = "timeout = 5\nworker_class = 'gevent'\n";
        let files = [("gunicorn.conf.py", conf)];
        let argv = ["gunicorn", "server:app"];
        let boot = [
            (
                "2026-11-21T10:00:00.0Z",
                "[INFO] Booting worker with pid: 8",
            ),
            (
                "2026-11-21T10:00:05.4Z",
                "[CRITICAL] WORKER TIMEOUT (pid:8)",
            ),
        ];
        let (o, summary, facts) = slow_boot(&obs(&files, &argv, &boot));
        assert_eq!(o, Some(Outcome::Confirmed), "{facts:?}");
        assert!(
            summary.contains("from /app/gunicorn.conf.py:1"),
            "{summary}"
        );
        assert!(
            facts
                .iter()
                .any(|f| f == "worker class gevent (from /app/gunicorn.conf.py:2)"),
            "{facts:?}"
        );
        let late = [
            (
                "2026-11-21T10:00:00.0Z",
                "[INFO] Booting worker with pid: 8",
            ),
            (
                "2026-11-21T10:01:00.0Z",
                "[CRITICAL] WORKER TIMEOUT (pid:8)",
            ),
        ];
        let (o, summary, _) = slow_boot(&obs(&files, &argv, &late));
        assert_eq!(o, Some(Outcome::RuledOut));
        assert!(summary.contains("a gevent worker"), "{summary}");
        // Without the file, gunicorn's default of 30 s: a kill 5 s after boot is no import.
        let (o, _, _) = slow_boot(&obs(&[], &argv, &boot));
        assert_eq!(o, Some(Outcome::RuledOut));
    }
}
