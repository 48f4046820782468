//! Pre-flight: the startup failure found before `docker compose up`.
//!
//! Most of the incidents the doctor diagnoses were in the sources before any container
//! started: an initialisation at module level in the gunicorn target, a name never imported, a
//! route that lost its decorator, a health check on a port nothing binds, an entrypoint saved
//! with CRLF line ends. Each cost a build, a start, a wait for the health check and a read of
//! logs. Pre-flight reads the compose project on disk instead and reports what will fail, with
//! file:line.
//!
//! It is a new input to the same pipeline, not a second doctor:
//! 1. [`project`] reads the compose file(s) (`.env` interpolation, profiles, `env_file`), each
//!    service's Dockerfile and build context ([`image`]: which file each image path is), and
//!    makes the [`StackSnapshot`] `collect` would make once the stack runs — one container per
//!    service, not started;
//! 2. [`sources`] follows each service's entry points (the gunicorn target and config file,
//!    `python -m`, the `FLASK_APP` of its entrypoint's `flask` commands, …) through the imports
//!    and reads only those files; the python probe observes them as it observes an image;
//! 3. [`checks`] asks every rule's probes that read nothing but what exists before start — the
//!    same code the live probes run — and a rule they confirm becomes a [`Finding`] with the
//!    rule's own id, so what pre-flight reports is what `check` would confirm later;
//! 4. the engine's ranking orders them, and the report printers print the [`Diagnosis`].
//!
//! Two questions need the Docker engine even before `up`: whether the health check's program
//! is in the base image, and whether the engine has the NVIDIA runtime a GPU reservation needs.
//! [`ask_engine`] answers them when an engine is there; otherwise the report says they were
//! skipped. Nothing is built, pulled or started.
pub mod checks;
pub mod dockerfile;
pub use crate::stack::git;
pub mod image;
pub mod project;
pub mod sources;
pub mod timing;

use crate::engine::{Diagnosis, Finding, ServiceStatus};
use crate::probes::entrypoint;
use crate::probes::python::gunicorn::{ConfigSource, config_location, start_dir};
use crate::probes::python::gunicorn_invocation;
use crate::probes::python::migrations;
use crate::probes::python::probe::{Observation, observe_files, observe_files_cut};
use crate::rules::RuleSet;
use crate::stack::snapshot::StackSnapshot;
use checks::{Script, ServiceInput, ToolQuestion};
use image::{BaseConfig, BuildSource, ImageView};
use project::{Project, Service};
use sources::Entry;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The bytes of an entrypoint script read: the `#!` line and what it runs.
const SCRIPT_BYTES: usize = 64 * 1024;

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The compose files, in `-f` order (later ones override).
    pub files: Vec<PathBuf>,
    pub project_name: Option<String>,
    /// The active profiles (`--profile`, `COMPOSE_PROFILES`).
    pub profiles: Vec<String>,
    /// Base images whose sources the caller knows: image name → Dockerfile and context. A
    /// project's own Dockerfile copies its own context, and images another service of the
    /// compose file builds are found by themselves: this is for images built elsewhere.
    pub bases: Vec<(String, BuildSource)>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PreflightError {
    #[error("no compose file to read")]
    #[diagnostic(
        code(doctor::preflight::no_compose_file),
        help("Run from the directory of the compose file, or pass -f/--file.")
    )]
    NoComposeFile,
    #[error("the compose file cannot be read: {0}")]
    #[diagnostic(code(doctor::preflight::compose))]
    Compose(String),
}

/// The project read from disk, with what each service will run.
pub struct Prepared {
    pub project: Project,
    pub snapshot: StackSnapshot,
    /// One per service of [`Project::services`], in order.
    pub inputs: Vec<ServiceInput>,
}

impl Prepared {
    /// Whether a question only the engine answers is left: a health check's program no source
    /// decides, or a GPU reservation.
    pub fn needs_engine(&self) -> bool {
        let tools = self
            .inputs
            .iter()
            .filter_map(|i| i.tool.as_ref())
            .any(|q| q.in_view.is_none() && q.dockerfile.is_none() && q.image.is_some());
        let gpu = self.project.services.iter().any(|s| {
            self.project
                .model
                .service(&s.name)
                .is_some_and(|m| m.gpu_reservation.is_some())
        });
        tools || gpu
    }
}

/// What only the engine can answer, or why it was not asked.
#[derive(Debug, Clone)]
pub struct EngineFacts {
    pub runtimes: Result<Vec<String>, String>,
    /// (image, program) → where the program is in the image (`None`: in no PATH directory).
    pub programs: BTreeMap<(String, String), Result<Option<String>, String>>,
}

impl EngineFacts {
    /// No engine: every engine question is reported as skipped.
    pub fn offline(why: &str) -> EngineFacts {
        EngineFacts {
            runtimes: Err(format!("skipped: {why}")),
            programs: BTreeMap::new(),
        }
    }
}

/// Read the project and what each service runs. `shell` gives the shell's variables (compose
/// reads them before `.env`).
pub fn prepare(
    inputs: &Inputs,
    shell: &dyn Fn(&str) -> Option<String>,
) -> Result<Prepared, PreflightError> {
    prepare_with(inputs, shell, &BTreeMap::new())
}

/// [`prepare`], knowing what outside images say about themselves ([`inspect_images`]).
pub fn prepare_with(
    inputs: &Inputs,
    shell: &dyn Fn(&str) -> Option<String>,
    configs: &BTreeMap<String, BaseConfig>,
) -> Result<Prepared, PreflightError> {
    let project = project::load(&project::Load {
        files: &inputs.files,
        project_name: inputs.project_name.as_deref(),
        profiles: &inputs.profiles,
        shell,
        bases: &inputs.bases,
        configs,
    })?;
    let snapshot = project.snapshot();
    let mut inputs: Vec<ServiceInput> = project
        .services
        .iter()
        .map(|s| service_input(&project, s, &[]))
        .collect();
    // Tasks one service sends by name (`send_task("tasks.ping")`) are what a Celery worker will
    // receive: the worker's analysis reads the modules that define them too, and is asked
    // whether its app includes them.
    let sent = sent_tasks(&inputs);
    if !sent.is_empty() {
        for (i, s) in project.services.iter().enumerate() {
            if !runs_celery_worker(&s.container) {
                continue;
            }
            let extra: Vec<Entry> = sent
                .iter()
                .filter_map(|t| t.rsplit_once('.').map(|(m, _)| Entry::Module(m.to_owned())))
                .collect();
            let mut input = service_input(&project, s, &extra);
            input.sent_tasks = sent.clone();
            inputs[i] = input;
        }
    }
    Ok(Prepared {
        project,
        snapshot,
        inputs,
    })
}

impl Prepared {
    /// The outside images the project uses (bases of its builds, `image:` of the services it
    /// does not build): what [`inspect_images`] can ask the engine about.
    pub fn outside_images(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .project
            .services
            .iter()
            .filter_map(|s| match s.view.as_deref() {
                Some(v) => v.base_image.as_ref().map(|(i, _)| i.clone()),
                None => s.build.is_none().then(|| s.container.image.clone()),
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// What each image says about itself (`docker image inspect`'s `Config`), for those present on
/// this machine; bounded by `timeout` each, nothing pulled.
pub async fn inspect_images(
    docker: &bollard::Docker,
    images: &[String],
    timeout: Duration,
) -> BTreeMap<String, BaseConfig> {
    let mut out = BTreeMap::new();
    for image in images {
        let Ok(Ok(i)) = tokio::time::timeout(timeout, docker.inspect_image(image)).await else {
            continue;
        };
        let Some(c) = i.config else { continue };
        out.insert(
            image.clone(),
            BaseConfig {
                entrypoint: c.entrypoint.filter(|e| !e.is_empty()),
                cmd: c.cmd.filter(|c| !c.is_empty()),
                workdir: c.working_dir,
                env: c
                    .env
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|e| e.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
                    .collect(),
                user: c.user,
                healthcheck: c.healthcheck.and_then(|h| h.test).filter(|t| !t.is_empty()),
            },
        );
    }
    out
}

/// The working tree, asked by an offline diagnosis (`check --logs`, `check --from` run where the
/// compose project is on disk): each service's static probes, from the files its image would be
/// built from.
pub struct Tree {
    prepared: Prepared,
    /// The folder of the first compose file, for the report's words.
    dir: PathBuf,
}

impl Tree {
    /// The tree of `prepared`. A service whose entry point is not known from the files (a base
    /// image built elsewhere carries its `CMD`, and an offline check asks no engine) is observed
    /// through every Python file its image would hold: the evidence's own texts say what to look
    /// for, which pre-flight, with no evidence, cannot afford to guess.
    pub fn new(mut prepared: Prepared, compose_file: &std::path::Path) -> Tree {
        let dir = compose_file.parent().map(PathBuf::from).unwrap_or_default();
        for (svc, input) in prepared
            .project
            .services
            .iter()
            .zip(prepared.inputs.iter_mut())
        {
            if input.obs.is_err()
                && let Some(view) = svc.view.as_deref()
                && let Some(obs) = every_python_file(svc, view)
            {
                input.obs = Ok(obs);
            }
        }
        Tree { prepared, dir }
    }

    /// The compose project's name, as compose would name it.
    pub fn project_name(&self) -> &str {
        &self.prepared.project.name
    }
}

impl crate::probes::WorkingTree for Tree {
    fn judge(
        &self,
        service: &str,
        spec: &crate::rules::ProbeSpec,
        hints: &[String],
    ) -> Option<crate::probes::ProbeResult> {
        let p = &self.prepared;
        let at = p.project.services.iter().position(|s| s.name == service)?;
        let svc = &p.project.services[at];
        // A script the files do not say the service starts (its base image carries the
        // entrypoint) is the one the evidence names, when the view holds it.
        let named = match (spec, &p.inputs[at].script, svc.view.as_deref()) {
            (crate::rules::ProbeSpec::Entrypoint { .. }, None, Some(view)) => hints
                .iter()
                .find_map(|h| script_named(view, h))
                .and_then(|path| script_at(&p.project, view, path)),
            _ => None,
        };
        let mut r = checks::judge_from_tree(
            spec,
            svc,
            &p.inputs[at],
            named.as_ref(),
            &p.project,
            &p.snapshot,
            hints,
        )?;
        let cwd = std::env::current_dir().unwrap_or_default();
        let dir = match self.dir.strip_prefix(&cwd) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
            Ok(rel) => rel.display().to_string(),
            Err(_) => self.dir.display().to_string(),
        };
        r.facts.insert(
            0,
            format!(
                "read from the working tree ({dir}), not from the image: an image built from \
                 other sources may differ"
            ),
        );
        r.data.insert("source".into(), "working tree".into());
        Some(r)
    }
}

/// The image path of the script an error names (`exec: "./entrypoint.sh": permission denied`,
/// `exec /app/run.sh: exec format error`): as given when absolute, else under the image's working
/// directory, else the one file of the view with that name.
fn script_named(view: &ImageView, text: &str) -> Option<String> {
    static EXEC: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"exec(?:ve)?:? "?([^\s":]+)"?: (?:permission denied|no such file|exec format error)"#,
        )
        .expect("exec regex")
    });
    let named = EXEC.captures(text)?.get(1)?.as_str();
    if named.starts_with('/') {
        return view.file(named).map(|_| named.to_owned());
    }
    let rel = named.trim_start_matches("./");
    if !view.workdir.trim_end_matches('/').is_empty() {
        let path = image::clean(&format!("{}/{rel}", view.workdir));
        if view.file(&path).is_some() {
            return Some(path);
        }
    }
    let suffix = format!("/{rel}");
    let mut found = view.files.keys().filter(|k| k.ends_with(&suffix));
    let first = found.next()?;
    found.next().is_none().then(|| first.clone())
}

/// The observation of every Python file of `view` (bounded in count and bytes), or `None` when
/// it holds none.
fn every_python_file(svc: &Service, view: &ImageView) -> Option<Observation> {
    const MAX_BYTES: usize = 32 * 1024 * 1024;
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut bytes = 0;
    let mut cut = false;
    for path in view.files.keys().filter(|p| p.ends_with(".py")) {
        if files.len() >= MAX_PREFLIGHT_FILES || bytes >= MAX_BYTES {
            cut = true;
            break;
        }
        if let Some(text) = read_text_or_cut(view, path, &mut cut) {
            bytes += text.len();
            files.insert(path.clone(), text);
        }
    }
    if files.is_empty() {
        return None;
    }
    // Where the files are read from: the container's working directory when the files say it,
    // else the image's, else the folder every file is under.
    let mut c = svc.container.clone();
    if c.working_dir.trim_end_matches('/').is_empty() {
        c.working_dir = if view.workdir.trim_end_matches('/').is_empty() {
            common_dir(files.keys().map(String::as_str))
        } else {
            view.workdir.clone()
        };
    }
    let mut obs = observe_files_cut(&c, &files, cut).ok()?;
    if obs.python().is_none()
        && let Some((v, from)) = &view.python
    {
        obs.set_python(*v, from.clone());
    }
    Some(obs)
}

/// The deepest folder all of `paths` (absolute) lie under.
fn common_dir<'a>(paths: impl IntoIterator<Item = &'a str>) -> String {
    let mut common: Option<Vec<&str>> = None;
    for p in paths {
        let dirs: Vec<&str> = p
            .rsplit_once('/')
            .map_or("", |(d, _)| d)
            .split('/')
            .collect();
        common = Some(match common {
            None => dirs,
            Some(c) => c
                .iter()
                .zip(&dirs)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    let joined = common.unwrap_or_default().join("/");
    if joined.is_empty() {
        "/".into()
    } else {
        joined
    }
}

/// Judge the prepared project with every rule's static probes.
pub fn diagnose(p: &Prepared, engine: &EngineFacts, rules: &RuleSet) -> Diagnosis {
    let mut findings: Vec<Finding> =
        checks::findings(&p.project, &p.snapshot, &p.inputs, engine, rules);
    crate::engine::rank(&mut findings, &p.snapshot);
    Diagnosis {
        input: None,
        project: p.project.name.clone(),
        services: p
            .project
            .services
            .iter()
            .map(|s| ServiceStatus {
                name: s.name.clone(),
                containers: 0,
                state: project::NOT_STARTED.into(),
                health: None,
                exit_code: None,
                restarts: None,
            })
            .collect(),
        findings,
    }
}

/// Task names sent by name in the sources the services run.
fn sent_tasks(inputs: &[ServiceInput]) -> Vec<String> {
    static SEND: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"\bsend_task\(\s*['"]([A-Za-z_][\w.]*\.[A-Za-z_]\w*)['"]"#)
            .expect("send_task regex")
    });
    let mut out: Vec<String> = inputs
        .iter()
        .filter_map(|i| i.obs.as_ref().ok())
        .flat_map(|o| {
            o.source()
                .modules()
                .flat_map(|m| SEND.captures_iter(m.text()).map(|c| c[1].to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `celery -A app worker …`.
fn runs_celery_worker(c: &crate::stack::snapshot::ContainerSnapshot) -> bool {
    let words: Vec<&str> = c
        .entrypoint
        .iter()
        .chain(&c.command)
        .flat_map(|a| a.split_whitespace())
        .collect();
    words.iter().any(|w| w.ends_with("celery")) && words.contains(&"worker")
}

fn service_input(project: &Project, svc: &Service, extra: &[Entry]) -> ServiceInput {
    let view = svc.view.as_deref();
    let script = view.and_then(|v| script(project, svc, v));
    let tool = tool_question(svc, view);
    let (obs, roots) = match view {
        Some(v) => match observe(svc, v, script.as_ref(), extra) {
            Ok((obs, roots)) => (Ok(obs), roots),
            Err(e) => (Err(e), vec![]),
        },
        None => (
            Err(svc.view_error.as_ref().map_or_else(
                || format!("{} is not built from this project", svc.name),
                ToString::to_string,
            )),
            vec![],
        ),
    };
    ServiceInput {
        obs,
        script,
        tool,
        roots,
        timing: std::cell::OnceCell::new(),
        sent_tasks: vec![],
    }
}

/// The script the container starts, its first bytes and the mode the image will give it.
fn script(project: &Project, svc: &Service, view: &ImageView) -> Option<Script> {
    let c = &svc.container;
    let path = entrypoint::script_path(&c.entrypoint, &c.command, &c.working_dir)?;
    script_at(project, view, path)
}

/// The script at `path` in the image, as its view holds it.
fn script_at(project: &Project, view: &ImageView, path: String) -> Option<Script> {
    let source = view.file(&path)?.clone();
    let meta = std::fs::metadata(&source.host).ok()?;
    // The head is what the entrypoint checks look at (shebang, line endings near the top).
    let bytes = crate::capped::head(&source.host, SCRIPT_BYTES).ok()?.bytes;
    let fs_mode = file_mode(&meta);
    let git_mode = (!source.bind)
        .then(|| project.git.mode(&source.host))
        .flatten();
    let (mode, git_only) = match source.mode {
        // The Dockerfile decides (`COPY --chmod`, `RUN chmod`).
        Some(m) => (m, false),
        None => {
            let git_exec = git_mode.is_none_or(|g| g & 0o111 != 0);
            let fs_exec = fs_mode & 0o111 != 0;
            // For a clone, git's mode is what COPY gets.
            let mode = if git_exec { fs_mode } else { fs_mode & !0o111 };
            (mode, fs_exec && !git_exec)
        }
    };
    let mut facts = entrypoint::inspect(&bytes, mode);
    if source.cr_stripped.is_some() {
        facts.crlf = false;
        facts.crlf_lines = 0;
    }
    Some(Script {
        path,
        source,
        facts,
        git_mode,
        git_only,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn file_mode(_: &std::fs::Metadata) -> u32 {
    // No mode bits on this platform: only git's index can tell.
    0o755
}

fn read_text(view: &ImageView, path: &str) -> Option<String> {
    read_text_or_cut(view, path, &mut false)
}

/// [`read_text`], setting `cut` when the file is over the cap (left out, and said so).
fn read_text_or_cut(view: &ImageView, path: &str, cut: &mut bool) -> Option<String> {
    let f = view.file(path)?;
    match crate::capped::lossy(&f.host, crate::probes::python::MAX_FILE_BYTES) {
        Ok(text) => Some(text),
        Err(e) => {
            *cut |= e.kind() == std::io::ErrorKind::FileTooLarge;
            None
        }
    }
}

/// The python probe's observation of what `svc` runs: its entry points and what they import.
fn observe(
    svc: &Service,
    view: &ImageView,
    script: Option<&Script>,
    extra: &[Entry],
) -> Result<(crate::probes::python::probe::Observation, Vec<String>), String> {
    let c = &svc.container;
    let argv: Vec<String> = c.entrypoint.iter().chain(&c.command).cloned().collect();
    let env: Vec<(String, String)> = c
        .env
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    if let Some(s) = script {
        files.insert(s.path.clone(), s.text.clone());
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut root = c.working_dir.clone();
    // Functions the server calls at load (a `module:create_app()` target).
    let mut roots: Vec<String> = Vec::new();
    let script_text = script.map(|s| s.text.as_str());
    if let Some(g) = gunicorn_invocation(&argv, script_text, &env) {
        let cfg = config_location(&g, &c.working_dir);
        match &cfg.source {
            ConfigSource::File { path } => {
                let mut cut = false;
                if let Some(text) = read_text_or_cut(view, path, &mut cut) {
                    files.insert(path.clone(), text);
                    entries.push(Entry::File(path.clone()));
                } else if cut {
                    // Judged without it, gunicorn's settings would be guessed wrong.
                    return Err(format!(
                        "gunicorn's config file {path} is over {} bytes, more than the doctor \
                         reads of a Python file",
                        crate::probes::python::MAX_FILE_BYTES
                    ));
                }
            }
            ConfigSource::Module { name } => entries.push(Entry::Module(name.clone())),
        }
        root = start_dir(&g, &c.working_dir);
        // gunicorn's own settings say which module is the app and where it imports from.
        if let Ok(first) = observe_files(c, &files, &[])
            && let Some(e) = first.gunicorn()
        {
            if let Some(t) = e.target.as_ref().and_then(|t| t.known()) {
                entries.push(Entry::Module(t.module.clone()));
                if let Some(factory) = t.var.strip_suffix(')').and_then(|v| v.split('(').next()) {
                    roots.push(factory.to_owned());
                }
            }
            if let Some(dir) = e.chdir.known() {
                root = dir.clone();
            }
        }
    }
    let mut text = argv.join(" ");
    if let Some(t) = script_text {
        text.push('\n');
        text.push_str(t);
    }
    entries.extend(sources::entries_in(&text, &env));
    // A script the view cannot read (it comes with an outside base image): the app the image
    // declares (`FLASK_APP`) is what it runs.
    let unread_script = script.is_none()
        && entrypoint::script_path(&c.entrypoint, &c.command, &c.working_dir).is_some();
    if entries.is_empty()
        && unread_script
        && let Some((_, app)) = env.iter().rev().find(|(k, _)| k == "FLASK_APP")
    {
        entries.extend(sources::flask_app(app));
    }
    if entries.is_empty() {
        return Err(format!("{} starts no Python of the project", svc.name));
    }
    entries.extend(extra.iter().cloned());
    let selected = sources::select(view, &root, &c.working_dir, &entries);
    if selected.files.is_empty() {
        return Err(format!(
            "{} runs no Python file of the project ({})",
            svc.name,
            selected.entries.join(", ")
        ));
    }
    let cut = selected.over_limit > 0;
    files.extend(selected.files);
    // Migration files are read by path at run time, so no import reaches them: for a service
    // that runs the migrations, those under the working directory join, for the migration-order
    // check.
    let command: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let runs = migrations::runs_migrations(&command, files.values().map(String::as_str));
    let candidates = if runs { MAX_MIGRATION_FILES * 8 } else { 0 };
    let mut read = 0;
    for (path, _) in view.under(&c.working_dir).take(candidates) {
        if files.len() > MAX_PREFLIGHT_FILES || read >= MAX_MIGRATION_FILES {
            break;
        }
        let candidate = path.ends_with(".sql") || path.ends_with(".py");
        if candidate
            && !files.contains_key(path.as_str())
            && migrations::in_migrations_folder(path)
            && let Some(text) = read_text(view, path)
            && (path.ends_with(".sql") || migrations::is_migration(path, &text))
        {
            files.insert(path.clone(), text);
            read += 1;
        }
    }
    let mut obs = observe_files_cut(c, &files, cut).map_err(|(why, _)| why)?;
    if obs.python().is_none()
        && let Some((v, from)) = &view.python
    {
        obs.set_python(*v, from.clone());
    }
    Ok((obs, roots))
}

/// The most migration files read for one service (and the files looked at to find them).
const MAX_MIGRATION_FILES: usize = 500;
/// The most files handed to the python analysis for one service.
const MAX_PREFLIGHT_FILES: usize = 5000;

/// Shell words a health check may start with that are no program to look for.
const SHELL_WORDS: [&str; 9] = [
    "exit", "true", "false", "test", "[", "echo", ":", "set", "cd",
];

fn tool_question(svc: &Service, view: Option<&ImageView>) -> Option<ToolQuestion> {
    let c = &svc.container;
    let hc = c.healthcheck.as_ref()?;
    let program = crate::probes::docker::health_program(&hc.test)?;
    if SHELL_WORDS.contains(&program.as_str()) {
        return None;
    }
    let path_var = c
        .env
        .iter()
        .rev()
        .find(|v| v.name == "PATH")
        .map(|v| v.value.clone());
    let name = program.rsplit('/').next().unwrap_or(&program).to_owned();
    let dirs: Vec<String> = if program.starts_with('/') {
        vec![program.rsplit_once('/').map_or("/", |(d, _)| d).to_owned()]
    } else {
        path_var
            .as_deref()
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .split(':')
            .map(str::to_owned)
            .collect()
    };
    let in_view = view.and_then(|v| {
        dirs.iter()
            .find_map(|d| v.file(&format!("{}/{name}", d.trim_end_matches('/'))))
            .map(|f| f.via.clone())
    });
    let dockerfile = view.and_then(|v| {
        v.packages
            .iter()
            .rev()
            .find(|p| p.program == name)
            .map(|p| (p.installed, p.at.clone()))
    });
    let image = match view {
        Some(v) => v.base_image.clone(),
        None => Some((c.image.clone(), format!("`image:` of {}", svc.name))),
    };
    Some(ToolQuestion {
        program: name,
        image,
        path_var,
        in_view,
        dockerfile,
    })
}

/// Ask the engine what only it knows: the programs of base images present on this machine (a
/// container is created from each, never started, and removed), and its runtimes when a
/// service reserves GPUs. Bounded by `timeout` per question; nothing is pulled.
pub async fn ask_engine(p: &Prepared, docker: &bollard::Docker, timeout: Duration) -> EngineFacts {
    let needs_gpu = p.project.services.iter().any(|s| {
        p.project
            .model
            .service(&s.name)
            .is_some_and(|m| m.gpu_reservation.is_some())
    });
    let runtimes = if needs_gpu {
        crate::probes::docker::engine_runtimes(docker, timeout)
            .await
            .map_err(|e| format!("skipped: {e}"))
    } else {
        Err("not asked: no service reserves GPUs".into())
    };
    let mut programs = BTreeMap::new();
    for q in p.inputs.iter().filter_map(|i| i.tool.as_ref()) {
        if q.in_view.is_some() || q.dockerfile.is_some() {
            continue;
        }
        let Some((image, _)) = &q.image else { continue };
        let key = (image.clone(), q.program.clone());
        if programs.contains_key(&key) {
            continue;
        }
        let found = which_in_image(
            docker,
            &p.project.name,
            image,
            &q.program,
            q.path_var.as_deref(),
            timeout,
        )
        .await;
        programs.insert(key, found);
    }
    EngineFacts { runtimes, programs }
}

/// Where `program` is in `image`'s PATH: from a container created from the image (not
/// started: the archive endpoint reads a created container's filesystem), removed afterwards.
async fn which_in_image(
    docker: &bollard::Docker,
    project: &str,
    image: &str,
    program: &str,
    path_var: Option<&str>,
    timeout: Duration,
) -> Result<Option<String>, String> {
    use bollard::models::{ContainerCreateBody, HostConfig};
    use bollard::query_parameters::RemoveContainerOptionsBuilder;
    let inspect = match tokio::time::timeout(timeout, docker.inspect_image(image)).await {
        Ok(Ok(i)) => i,
        Ok(Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        })) => {
            return Err(format!(
                "the image {image} is not on this machine (pre-flight pulls nothing)"
            ));
        }
        Ok(Err(e)) => {
            return Err(format!(
                "inspecting {image}: {}",
                crate::stack::connect::error_chain(&e)
            ));
        }
        Err(_) => return Err(format!("inspecting {image}: no answer within {timeout:?}")),
    };
    let image_path = inspect
        .config
        .and_then(|c| c.env)
        .unwrap_or_default()
        .into_iter()
        .find_map(|e| e.strip_prefix("PATH=").map(str::to_owned));
    let path = path_var.map(str::to_owned).or(image_path);
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        entrypoint: Some(vec!["true".into()]),
        cmd: Some(vec![]),
        network_disabled: Some(true),
        labels: Some(
            [
                (
                    crate::fix::apply::HELPER_LABEL.to_owned(),
                    "true".to_owned(),
                ),
                (
                    crate::fix::apply::HELPER_PROJECT_LABEL.to_owned(),
                    project.to_owned(),
                ),
            ]
            .into(),
        ),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = match tokio::time::timeout(
        timeout,
        docker.create_container(
            None::<bollard::query_parameters::CreateContainerOptions>,
            body,
        ),
    )
    .await
    {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            return Err(format!(
                "creating a container of {image}: {}",
                crate::stack::connect::error_chain(&e)
            ));
        }
        Err(_) => return Err(format!("creating a container of {image}: no answer")),
    };
    let found =
        crate::stack::archive::which(docker, &created.id, program, path.as_deref(), timeout)
            .await
            .map_err(|e| format!("looking in {image}: {e}"));
    let rm = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(&created.id, Some(rm)).await;
    found
}
