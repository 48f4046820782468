//! `preflight`: the diagnosis of a stack that has not started, from its files
//! ([`crate::preflight`]), printed like `check`'s, and `preflight --fix` for the fixes that need
//! no running stack.
use super::*;
use crate::preflight::{self, EngineFacts, Inputs, Prepared};
use std::collections::BTreeMap;

#[derive(Args, Debug)]
pub struct PreflightArgs {
    /// Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file's `name:` or
    /// directory).
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Compose file; repeat it for override files, later ones winning (default: COMPOSE_FILE,
    /// else compose.yaml / docker-compose.yml here or above).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Start the services of this profile too (repeatable; default: COMPOSE_PROFILES).
    #[arg(long = "profile", value_name = "NAME")]
    pub profiles: Vec<String>,
    /// An image the project's Dockerfiles start `FROM` that is built elsewhere from a Dockerfile
    /// of this checkout: `NAME=DOCKERFILE` (its folder is the context) or
    /// `NAME=DOCKERFILE,CONTEXT`. Repeatable. Images another service of the compose file builds
    /// are found without it.
    #[arg(long = "base", value_name = "NAME=DOCKERFILE[,CONTEXT]", value_parser = parse_base)]
    pub bases: Vec<(String, preflight::image::BuildSource)>,
    /// Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Report format, as for `check`.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the --format report to FILE; the table still goes to the terminal.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Do not ask the Docker engine: the health check's program in the base image and the NVIDIA
    /// runtime are reported as not checked.
    #[arg(long)]
    pub offline: bool,
    /// Bound on reaching the engine, in seconds.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub connect_timeout: u64,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub fix: FixFlags,
}

fn parse_base(spec: &str) -> Result<(String, preflight::image::BuildSource), String> {
    let (name, rest) = spec
        .split_once('=')
        .filter(|(n, r)| !n.is_empty() && !r.is_empty())
        .ok_or_else(|| format!("`{spec}`: expected NAME=DOCKERFILE[,CONTEXT]"))?;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let (dockerfile, context) = match rest.split_once(',') {
        Some((d, c)) => (cwd.join(d), cwd.join(c)),
        None => {
            let d = cwd.join(rest);
            let c = d.parent().map(PathBuf::from).unwrap_or_else(|| cwd.clone());
            (d, c)
        }
    };
    if !dockerfile.is_file() {
        return Err(format!("{}: no such Dockerfile", dockerfile.display()));
    }
    Ok((
        name.to_owned(),
        preflight::image::BuildSource {
            dockerfile,
            context,
            args: vec![],
            target: None,
        },
    ))
}

/// The compose files: `-f`, else every file of COMPOSE_FILE, else the one compose finds.
fn compose_files(
    files: &[PathBuf],
    project_name: Option<&str>,
) -> Result<Vec<PathBuf>, DoctorError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if !files.is_empty() {
        return Ok(files.iter().map(|f| cwd.join(f)).collect());
    }
    if let Ok(list) = std::env::var("COMPOSE_FILE")
        && !list.is_empty()
    {
        let sep = std::env::var("COMPOSE_PATH_SEPARATOR").unwrap_or_else(|_| ":".into());
        let files: Vec<PathBuf> = list
            .split(sep.as_str())
            .filter(|s| !s.is_empty())
            .map(|f| cwd.join(f))
            .collect();
        if !files.is_empty() {
            return Ok(files);
        }
    }
    let inputs = project::ProjectInputs::from_process(project_name.map(str::to_owned), vec![]);
    project::choose(&inputs)
        .and_then(|c| c.compose_file)
        .map(|f| vec![f])
        .ok_or(DoctorError::NoProject)
}

fn inputs(args: &PreflightArgs) -> Result<Inputs, DoctorError> {
    let profiles = if args.profiles.is_empty() {
        std::env::var("COMPOSE_PROFILES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    } else {
        args.profiles.clone()
    };
    Ok(Inputs {
        files: compose_files(&args.files, args.project_name.as_deref())?,
        project_name: args
            .project_name
            .clone()
            .or_else(|| std::env::var("COMPOSE_PROJECT_NAME").ok())
            .filter(|n| !n.is_empty()),
        profiles,
        bases: args.bases.clone(),
    })
}

/// The project's working tree for an offline `check` (`--logs`, `--from`), when a compose file
/// is on disk (`-f`, COMPOSE_FILE, or compose's own search from here): the static probes answer
/// from it. `None`, said on stderr unless quiet, when there is none or it cannot be read.
pub(super) fn working_tree(stack: &StackArgs) -> Option<preflight::Tree> {
    let files = compose_files(&stack.files, stack.project_name.as_deref()).ok()?;
    let inputs = Inputs {
        files: files.clone(),
        project_name: stack
            .project_name
            .clone()
            .or_else(|| std::env::var("COMPOSE_PROJECT_NAME").ok())
            .filter(|n| !n.is_empty()),
        profiles: vec![],
        bases: vec![],
    };
    match prepare(&inputs, &Configs::new()) {
        Ok(prepared) => Some(preflight::Tree::new(prepared, &files[0])),
        Err(e) => {
            if !stack.quiet {
                eprintln!(
                    "note: the working tree was not read ({e}); source probes need the live stack"
                );
            }
            None
        }
    }
}

type Configs = BTreeMap<String, preflight::image::BaseConfig>;

fn prepare(inputs: &Inputs, configs: &Configs) -> Result<Prepared, DoctorError> {
    let shell = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    preflight::prepare_with(inputs, &shell, configs).map_err(|e| DoctorError::Stage(Box::new(e)))
}

/// Read the project, with what the engine knows when one answers within the bound: the
/// configuration of the outside images it has (their `CMD`, working directory, environment),
/// then the questions only it answers. Without an engine, those are reported as skipped.
fn prepare_and_ask(
    args: &PreflightArgs,
    inputs: &Inputs,
    progress: &Progress,
) -> Result<(Prepared, Configs, EngineFacts), DoctorError> {
    let offline = prepare(inputs, &Configs::new())?;
    if args.offline {
        return Ok((offline, Configs::new(), EngineFacts::offline("--offline")));
    }
    let endpoint = match connect::resolve_endpoint(&connect::EndpointEnv::from_process()) {
        Ok(e) => e,
        Err(e) => {
            let why = format!("no Docker engine ({e})");
            return Ok((offline, Configs::new(), EngineFacts::offline(&why)));
        }
    };
    let rt = runtime()?;
    progress.phase("asking the Docker engine");
    let timeout = Duration::from_secs(args.connect_timeout);
    let docker = match rt.block_on(connect::connect(&endpoint, timeout)) {
        Ok(d) => d,
        Err(e) => {
            let why = format!("no Docker engine ({e})");
            return Ok((offline, Configs::new(), EngineFacts::offline(&why)));
        }
    };
    let configs = rt.block_on(preflight::inspect_images(
        &docker,
        &offline.outside_images(),
        timeout,
    ));
    let prepared = if configs.is_empty() {
        offline
    } else {
        prepare(inputs, &configs)?
    };
    let engine = if prepared.needs_engine() {
        rt.block_on(preflight::ask_engine(&prepared, &docker, timeout))
    } else {
        EngineFacts::offline("nothing to ask")
    };
    Ok((prepared, configs, engine))
}

pub(super) fn preflight(args: PreflightArgs) -> Result<i32, DoctorError> {
    let machine_stdout = args.format != ReportFormat::Table && args.output.is_none();
    let progress = Progress::new(args.quiet || machine_stdout);
    progress.phase("loading rules");
    let set = rules::load_with_overrides(args.rules.as_deref())?;
    let inputs = inputs(&args)?;
    progress.phase("reading the project");
    let (prepared, configs, engine) = prepare_and_ask(&args, &inputs, &progress)?;
    let diagnosis = preflight::diagnose(&prepared, &engine, &set);
    progress.done();
    // The project's own snapshot (not-started containers, the compose model): the HTML and
    // Markdown reports draw its graph.
    let context = crate::report::Context {
        snapshot: Some(&prepared.snapshot),
        diffs: &[],
        redactor: None,
    };
    print_report(
        &diagnosis,
        &context,
        &set,
        args.format,
        args.output.as_deref(),
    )?;
    if args.fix.fix {
        let known = Known {
            inputs: &inputs,
            configs: &configs,
            engine: &engine,
        };
        return fix_session(&args, &known, &prepared, &set, diagnosis, machine_stdout);
    }
    Ok(if diagnosis.has_problems() { 1 } else { 0 })
}

/// What a new pre-flight needs to verify a fix the same way.
struct Known<'a> {
    inputs: &'a Inputs,
    configs: &'a Configs,
    engine: &'a EngineFacts,
}

/// `preflight --fix`: [`crate::fix::session::files`] on the terminal.
fn fix_session(
    args: &PreflightArgs,
    known: &Known<'_>,
    prepared: &Prepared,
    set: &RuleSet,
    diagnosis: Diagnosis,
    to_stderr: bool,
) -> Result<i32, DoctorError> {
    let project = crate::fix::session::files::Project {
        snapshot: &prepared.snapshot,
        compose_file: &prepared.project.files[0],
        name: &prepared.project.name,
    };
    let mut ui = fix::Terminal::new(
        crate::redact::Redactor::for_output(&prepared.snapshot),
        to_stderr,
    );
    // A new pre-flight, the same way.
    let verify = || {
        prepare(known.inputs, known.configs)
            .ok()
            .map(|p| preflight::diagnose(&p, known.engine, set))
    };
    let fixed = crate::fix::session::files::run(
        &mut ui,
        args.fix.options(),
        set,
        &project,
        &diagnosis,
        &verify,
    )?;
    Ok(if fixed { 0 } else { 1 })
}
