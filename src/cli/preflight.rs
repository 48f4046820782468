//! `preflight`: the diagnosis of a stack that has not started, from its files
//! ([`crate::preflight`]), printed like `check`'s, and `preflight --fix` for the fixes that need
//! no running stack.
use super::*;
use crate::engine::Finding;
use crate::fix::apply::HostFiles;
use crate::fix::backup::{Backup, State};
use crate::fix::plan;
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

/// `preflight --fix`: the fixes whose every step edits project files (line ends, execute bit,
/// compose file), each shown with its diff, backed up, asked for (unless --yes), applied, and
/// verified by a new pre-flight; rolled back when the finding still fires. Steps on containers
/// (`recreate`) are left to the next `docker compose up --build`; a fix that needs the running
/// stack is left to `analylit-doctor fix`.
/// What a new pre-flight needs to verify a fix the same way.
struct Known<'a> {
    inputs: &'a Inputs,
    configs: &'a Configs,
    engine: &'a EngineFacts,
}

fn fix_session(
    args: &PreflightArgs,
    known: &Known<'_>,
    prepared: &Prepared,
    set: &RuleSet,
    diagnosis: Diagnosis,
    to_stderr: bool,
) -> Result<i32, DoctorError> {
    let flags = &args.fix;
    let plans = plan::plans(&diagnosis, set);
    let redactor = crate::redact::Redactor::for_output(&prepared.snapshot);
    let mut out: Box<dyn Write> = if to_stderr {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    };
    let w = |out: &mut Box<dyn Write>, line: String| {
        let _ = writeln!(out, "{}", redactor.text(&line));
    };
    let compose_file = prepared.project.files[0].clone();
    let root = fix::backup_root(Some(&compose_file));
    let host = HostFiles {
        snapshot: &prepared.snapshot,
        compose_file: Some(compose_file.clone()),
    };
    if plans.is_empty() {
        w(&mut out, "No fix to apply.".into());
        return Ok(if diagnosis.has_problems() { 1 } else { 0 });
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let (mut applied, mut held, mut manual, mut failed, mut skipped) = (0, 0, 0, 0, 0);
    for plan in &plans {
        for line in fix::plan_lines(plan) {
            w(&mut out, line);
        }
        if let Some(why) = &plan.blocked {
            if let (Some(import), Some(file)) = (plan.data.get("import"), plan.data.get("file"))
                && let Some(dir) = compose_file.parent()
                && let Ok(source) = host.source_of(&plan.service, file, dir, false)
                && let Ok(text) = crate::capped::text(&source, crate::fix::apply::MAX_EDIT_BYTES)
            {
                let rel = source
                    .strip_prefix(dir)
                    .unwrap_or(&source)
                    .display()
                    .to_string();
                let edit = crate::fix::edit::add_import(&rel, &text, import);
                w(&mut out, "  the patch (apply it, then build):".into());
                for line in edit.diff().lines() {
                    w(&mut out, format!("      {line}"));
                }
            }
            w(&mut out, format!("  not applied: {why}"));
            manual += 1;
            continue;
        }
        let (on_files, on_stack): (Vec<&plan::Step>, Vec<&plan::Step>) = plan
            .steps
            .iter()
            .partition(|s| HostFiles::edits_project(&s.action));
        if on_files.is_empty() || on_stack.iter().any(|s| s.changes_data) {
            w(
                &mut out,
                "  not applied: it needs the running stack (`analylit-doctor fix` after `docker compose up`)"
                    .into(),
            );
            skipped += 1;
            continue;
        }
        w(&mut out, "  the doctor will:".into());
        let mut unplannable = None;
        for s in &on_files {
            w(&mut out, format!("    - {}", s.describe));
            let shown = match s.action {
                crate::rules::FixAction::ExecBit { .. } => host
                    .exec_bit_change(plan, s)
                    .map(|(_, _, _, line)| vec![line]),
                _ => host
                    .host_edit(plan, s)
                    .map(|(_, e)| e.diff().lines().map(str::to_owned).collect()),
            };
            match shown {
                Ok(lines) => {
                    for line in lines {
                        w(&mut out, format!("      {line}"));
                    }
                }
                Err(e) => unplannable = Some(e.to_string()),
            }
        }
        for s in &on_stack {
            w(
                &mut out,
                format!(
                    "    - then, yourself: {} (pre-flight starts nothing)",
                    s.describe
                ),
            );
        }
        if let Some(why) = unplannable {
            w(&mut out, format!("  not applied: {why}"));
            failed += 1;
            continue;
        }
        w(
            &mut out,
            format!("  backed up first into {}/<id>/", root.display()),
        );
        let _ = out.flush();
        match fix::gate(plan, flags, interactive, &mut |l| w(&mut out, l.to_owned())) {
            fix::Gate::Apply => {}
            fix::Gate::Held => {
                held += 1;
                continue;
            }
            fix::Gate::NotApplied => {
                skipped += 1;
                continue;
            }
        }
        let created = collect::now_rfc3339();
        let id = format!("{}-{}", created.replace(['-', ':'], ""), plan.finding);
        let backup_err = |source: crate::fix::backup::BackupError| DoctorError::Backup {
            what: "backing up before the fix".into(),
            source: source.into(),
        };
        let mut backup = Backup::create(
            &root,
            id,
            &plan.finding,
            &plan.service,
            &prepared.project.name,
            &created,
        )
        .map_err(backup_err)?;
        let mut result = Ok(());
        for s in &on_files {
            result = host.apply_step(&mut backup, plan, s);
            if result.is_err() {
                break;
            }
            let _ = backup.step_done(&s.describe);
        }
        let rollback = |backup: &mut Backup, out: &mut Box<dyn Write>| {
            let restored = backup
                .manifest
                .entries
                .iter()
                .try_for_each(|e| crate::fix::apply::restore_host(backup, e));
            match restored {
                Ok(()) => {
                    w(
                        out,
                        "  rolled back: the originals are in place again".into(),
                    );
                    let _ = backup.finish(State::RolledBack);
                }
                Err(e) => {
                    w(
                        out,
                        format!(
                            "  rollback failed ({e}): the originals are in {}",
                            backup.dir.display()
                        ),
                    );
                    let _ = backup.finish(State::Failed);
                }
            }
        };
        if let Err(e) = result {
            w(&mut out, format!("  failed: {e}"));
            rollback(&mut backup, &mut out);
            failed += 1;
            continue;
        }
        w(
            &mut out,
            format!("  applied; backup {}", backup.dir.display()),
        );
        // Verify: a new pre-flight no longer finds it.
        let again = prepare(known.inputs, known.configs)
            .map(|p| preflight::diagnose(&p, known.engine, set));
        // The same finding about the same thing (a finding about another dependency of the
        // same service is another problem, for another fix).
        let same_target = |f: &Finding| {
            ["dependency", "path", "file", "program", "variable"]
                .iter()
                .filter_map(|k| Some((*k, plan.data.get(*k)?)))
                .all(|(k, v)| f.probes.iter().any(|p| p.value(k).as_ref() == Some(v)))
        };
        let still = match &again {
            Ok(d) => d
                .problems()
                .iter()
                .any(|f| f.id == plan.finding && f.service == plan.service && same_target(f)),
            Err(_) => true,
        };
        if still {
            w(
                &mut out,
                format!(
                    "  not fixed: {} still fires in pre-flight; rolling back",
                    plan.finding
                ),
            );
            rollback(&mut backup, &mut out);
            failed += 1;
        } else {
            w(
                &mut out,
                format!(
                    "  fixed: {} no longer fires in pre-flight; `docker compose up -d --build` takes it in",
                    plan.finding
                ),
            );
            let _ = backup.finish(State::Verified);
            applied += 1;
        }
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
