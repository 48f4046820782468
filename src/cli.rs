//! The command line: parse, run one command, map the outcome to an exit code.
use crate::engine::{self, Diagnosis};
use crate::error::DoctorError;
use crate::report::{self, Report};
use crate::rules::{self, RuleSet};
use crate::stack::snapshot::StackSnapshot;
use crate::stack::{collect, connect, project};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

const EXIT_CODES: &str = "\
Exit codes:
  0  no finding above info: the stack looks healthy
  1  findings: at least one problem was found
  2  usage or tool error (Docker unreachable, bad rule file, no such project, ...)";

#[derive(Parser, Debug)]
#[command(
    name = "analylit-doctor",
    version,
    about = "Finds the root cause when an AnalyLit Docker Compose stack fails to start, shows the evidence, and the fix.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Inspect the running compose project and report root causes with their evidence.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Wait until every service is up (healthy; running without a health check; a one-shot
    /// exited 0). As soon as one exits, keeps restarting or turns unhealthy — or at the timeout —
    /// print the diagnosis and exit 1.
    #[command(after_help = EXIT_CODES)]
    Wait {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 120, value_name = "SECS")]
        timeout: u64,
        #[command(flatten)]
        args: CheckArgs,
    },
    /// Diagnose, then apply the fixes: each plan is shown, backed up, asked for (unless --yes),
    /// applied, verified, and rolled back when it did not work.
    Fix(CheckArgs),
    /// List the backups fixes made for this project.
    Backups(CheckArgs),
    /// Put a backup's originals back.
    Restore {
        /// A backup id from `analylit-doctor backups`.
        id: String,
        #[command(flatten)]
        args: CheckArgs,
    },
    /// The rules the doctor knows.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Explain one failure class: what it is, its symptoms, its fix.
    Explain {
        /// A rule id, e.g. gunicorn-worker-reinit.
        id: String,
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `analylit-doctor man > analylit-doctor.1`.
    Man,
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// List the rules (embedded, plus those of --rules DIR).
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file's directory).
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Report format: a table for people; json, junit, github (workflow commands) or sarif for
    /// machines (nothing else is written to stdout then).
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the --format report to FILE; the table still goes to the terminal.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Bound on reaching the engine, in seconds.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub connect_timeout: u64,
    /// Log lines read per container (the most recent ones).
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub tail: usize,
    /// Diagnose from pasted logs, without Docker: SERVICE=FILE, SERVICE=- (stdin), or a bare FILE
    /// holding a `docker compose logs` transcript. Repeatable.
    #[arg(long = "logs", value_name = "SPEC")]
    pub logs: Vec<String>,
    #[command(flatten)]
    pub fix: FixFlags,
}

/// How far fixes may go.
#[derive(Args, Debug, Default)]
pub struct FixFlags {
    /// After the report, apply the safe fixes (with `check`; `fix` implies it).
    #[arg(long)]
    pub fix: bool,
    /// Also apply unsafe fixes (they change data or configuration).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print every plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// What `check` prints its diagnosis as (`rules list` keeps [`Format`]).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Table,
    Json,
    /// JUnit XML: one test case per rule checked on each service.
    Junit,
    /// GitHub Actions workflow commands (`::error ...`), one per problem.
    Github,
    /// SARIF 2.1.0.
    Sarif,
}

pub fn run() -> i32 {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{:?}", miette::Report::new(e));
            2
        }
    }
}

fn execute(cli: Cli) -> Result<i32, DoctorError> {
    match cli.command {
        Command::Check(args) => check(args),
        Command::Fix(mut args) => {
            args.fix.fix = true;
            fix(args)
        }
        Command::Backups(args) => backups(&args),
        Command::Wait { timeout, args } => wait(args, Duration::from_secs(timeout)),
        Command::Restore { id, args } => restore(args, &id),
        Command::Rules {
            command: RulesCommand::List { format, rules },
        } => {
            let set = rules::load_with_overrides(rules.as_deref())?;
            list_rules(&set, format);
            Ok(0)
        }
        Command::Explain { id, rules } => {
            let set = rules::load_with_overrides(rules.as_deref())?;
            explain(&set, &id)
        }
        Command::Man => {
            let page = clap_mangen::Man::new(Cli::command());
            let mut out = std::io::stdout().lock();
            page.render(&mut out)
                .and_then(|_| out.flush())
                .map_err(|e| DoctorError::Io {
                    what: "writing the man page".into(),
                    reason: e.to_string(),
                })?;
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "analylit-doctor", &mut std::io::stdout());
            Ok(0)
        }
    }
}

/// A spinner on stderr for a person at a terminal; nothing in CI, off-TTY or with --quiet.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(quiet: bool) -> Self {
        let wanted = !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Progress(wanted.then(|| {
            let pb = indicatif::ProgressBar::new_spinner();
            pb.enable_steady_tick(Duration::from_millis(100));
            pb
        }))
    }
    fn phase(&self, msg: &str) {
        if let Some(pb) = &self.0 {
            pb.set_message(msg.to_string());
        }
    }
    fn done(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, DoctorError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| DoctorError::Io {
            what: "starting the async runtime".into(),
            reason: e.to_string(),
        })
}

/// What one live diagnosis needs, kept so a fix can diagnose again to verify itself.
struct Live {
    rt: tokio::runtime::Runtime,
    docker: bollard::Docker,
    set: RuleSet,
    choice: project::ProjectChoice,
    tail: usize,
}

impl Live {
    fn connect(args: &CheckArgs, progress: &Progress) -> Result<Live, DoctorError> {
        progress.phase("loading rules");
        let set = rules::load_with_overrides(args.rules.as_deref())?;
        let inputs =
            project::ProjectInputs::from_process(args.project_name.clone(), args.files.clone());
        let choice = project::choose(&inputs).ok_or(DoctorError::NoProject)?;
        let endpoint = connect::resolve_endpoint(&connect::EndpointEnv::from_process())?;
        let rt = runtime()?;
        progress.phase("connecting to the Docker engine");
        let docker = rt.block_on(connect::connect(
            &endpoint,
            Duration::from_secs(args.connect_timeout),
        ))?;
        Ok(Live {
            rt,
            docker,
            set,
            choice,
            tail: args.tail,
        })
    }

    /// Collect, match, probe, chain.
    fn diagnose(&self, progress: &Progress) -> Result<(StackSnapshot, Diagnosis), DoctorError> {
        let choice = &self.choice;
        progress.phase(&format!("collecting project {}", choice.name));
        let snapshot = self.rt.block_on(async {
            let limits = collect::LogLimits {
                lines: self.tail,
                ..Default::default()
            };
            let snapshot = collect::collect(
                &self.docker,
                &choice.name,
                choice
                    .compose_file
                    .as_ref()
                    .map(|p| p.display().to_string()),
                limits,
            )
            .await?;
            if snapshot.containers.is_empty() {
                let known = collect::known_projects(&self.docker).await;
                return Err(DoctorError::NoContainers {
                    project: choice.name.clone(),
                    how: choice.how.clone(),
                    known: if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    },
                });
            }
            Ok(snapshot)
        })?;
        progress.phase("matching rules");
        let diagnosis = engine::diagnose(&snapshot, &self.set);
        progress.phase("running probes");
        let mut diagnosis = self.rt.block_on(engine::confirm::confirm(
            diagnosis,
            &snapshot,
            &self.set,
            Some(&self.docker),
        ));
        engine::chain::chain(&mut diagnosis.findings, &snapshot, &self.set);
        Ok((snapshot, diagnosis))
    }
}

fn check(args: CheckArgs) -> Result<i32, DoctorError> {
    if !args.logs.is_empty() {
        return check_logs(&args);
    }
    // A machine format on stdout gets nothing else there (the spinner is on stderr, but CI logs
    // interleave them); with --output, stdout is the table.
    let machine_stdout = args.format != ReportFormat::Table && args.output.is_none();
    let progress = Progress::new(args.quiet || machine_stdout);
    let live = Live::connect(&args, &progress)?;
    let (snapshot, diagnosis) = live.diagnose(&progress)?;
    progress.done();
    print_diagnosis(&diagnosis, &live.set, args.format, args.output.as_deref())?;
    if args.fix.fix {
        return fix_session(&live, &args.fix, snapshot, diagnosis);
    }
    Ok(if diagnosis.has_problems() { 1 } else { 0 })
}

fn wait(args: CheckArgs, timeout: Duration) -> Result<i32, DoctorError> {
    use crate::stack::wait::{Standing, look, standing};
    use futures_util::StreamExt;
    let progress = Progress::new(args.quiet || args.format != ReportFormat::Table);
    let live = Live::connect(&args, &progress)?;
    let project = live.choice.name.clone();
    let started = std::time::Instant::now();
    let deadline = started + timeout;
    let mut up_after: BTreeMap<String, (Duration, String)> = BTreeMap::new();
    let mut stop: Option<String> = None;
    live.rt.block_on(async {
        // Container events of the project wake the loop; a bounded sleep covers a quiet engine.
        let filters: HashMap<String, Vec<String>> = HashMap::from([
            ("type".to_owned(), vec!["container".to_owned()]),
            (
                "label".to_owned(),
                vec![format!("com.docker.compose.project={project}")],
            ),
        ]);
        let opts = bollard::query_parameters::EventsOptions {
            since: None,
            until: None,
            filters: Some(filters),
        };
        let mut events = live.docker.events(Some(opts));
        loop {
            let services = match look(&live.docker, &project).await {
                Ok(s) => s,
                Err(e) => {
                    stop = Some(format!("the engine: {e}"));
                    return;
                }
            };
            if services.is_empty() {
                stop = Some(format!("no containers of project {project}"));
                return;
            }
            let mut waiting = Vec::new();
            for (service, containers) in &services {
                match standing(containers) {
                    Standing::Up(how) => {
                        up_after
                            .entry(service.clone())
                            .or_insert((started.elapsed(), how));
                    }
                    Standing::Starting(how) => {
                        up_after.remove(service);
                        waiting.push(format!("{service} ({how})"));
                    }
                    Standing::Down(how) => {
                        stop = Some(format!("{service} is {how}"));
                        return;
                    }
                }
            }
            if waiting.is_empty() {
                return;
            }
            progress.phase(&format!("waiting for {}", waiting.join(", ")));
            let now = std::time::Instant::now();
            if now >= deadline {
                stop = Some(format!(
                    "not up after {}s: {}",
                    timeout.as_secs(),
                    waiting.join(", ")
                ));
                return;
            }
            let nap = (deadline - now).min(Duration::from_secs(2));
            let _ = tokio::time::timeout(nap, events.next()).await;
        }
    });
    progress.done();
    match stop {
        None => {
            if args.format == ReportFormat::Table || args.output.is_some() {
                for (service, (after, how)) in &up_after {
                    println!("{service:<20} {how:<22} after {:.1}s", after.as_secs_f64());
                }
                println!("✓ every service of {project} is up");
            }
            if !matches!(args.format, ReportFormat::Table | ReportFormat::Json)
                || (args.output.is_some() && args.format != ReportFormat::Table)
            {
                // JUnit, GitHub, SARIF (or any file report): the checked rules, all passing.
                let (_, diagnosis) = live.diagnose(&Progress(None))?;
                print_diagnosis(&diagnosis, &live.set, args.format, args.output.as_deref())?;
                return Ok(if diagnosis.has_problems() { 1 } else { 0 });
            }
            if args.format == ReportFormat::Json {
                let rows: Vec<serde_json::Value> = up_after
                    .iter()
                    .map(|(s, (after, how))| {
                        serde_json::json!({"service": s, "state": how, "after_secs": after.as_secs_f64()})
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"project": project, "verdict": "up", "services": rows})
                );
            }
            Ok(0)
        }
        Some(why) => {
            eprintln!("{why}: diagnosing");
            let (_, diagnosis) = live.diagnose(&progress)?;
            progress.done();
            print_diagnosis(&diagnosis, &live.set, args.format, args.output.as_deref())?;
            Ok(1)
        }
    }
}

fn fix(args: CheckArgs) -> Result<i32, DoctorError> {
    if !args.logs.is_empty() {
        return check_logs(&args);
    }
    let progress = Progress::new(args.quiet);
    let live = Live::connect(&args, &progress)?;
    let (snapshot, diagnosis) = live.diagnose(&progress)?;
    progress.done();
    fix_session(&live, &args.fix, snapshot, diagnosis)
}

/// `check --logs`: diagnose pasted logs. No Docker connection is made; probes that need the live
/// stack come back unknown and say so.
fn check_logs(args: &CheckArgs) -> Result<i32, DoctorError> {
    use crate::stack::transcript;
    use std::collections::BTreeMap;
    if args.fix.fix {
        return Err(logs_usage("fixing needs the live stack: drop --logs"));
    }
    let set = rules::load_with_overrides(args.rules.as_deref())?;
    let read = |source: &str| -> Result<String, DoctorError> {
        let io = |e: std::io::Error| DoctorError::Io {
            what: format!("reading logs from {source}"),
            reason: e.to_string(),
        };
        let (text, _) = if source == "-" {
            transcript::read_bounded(std::io::stdin().lock()).map_err(io)?
        } else {
            transcript::read_bounded(std::fs::File::open(source).map_err(io)?).map_err(io)?
        };
        Ok(text)
    };
    let limits = collect::LogLimits {
        lines: args.tail,
        ..Default::default()
    };
    let mut per: BTreeMap<String, Vec<crate::stack::snapshot::LogLine>> = BTreeMap::new();
    for spec in &args.logs {
        match spec.split_once('=') {
            Some((service, source)) if !service.is_empty() && !source.is_empty() => {
                per.entry(service.to_owned())
                    .or_default()
                    .extend(transcript::lines_of(&read(source)?, &limits));
            }
            Some(_) => {
                return Err(logs_usage(&format!(
                    "{spec:?}: expected SERVICE=FILE, SERVICE=- or FILE"
                )));
            }
            None => {
                for (name, lines) in transcript::split_within(&read(spec)?, &limits) {
                    per.entry(name).or_default().extend(lines);
                }
            }
        }
    }
    let project = args.project_name.clone().unwrap_or_default();
    let snapshot = transcript::snapshot_from_logs(&project, per);
    if snapshot.containers.is_empty() {
        return Err(logs_usage(
            "no log lines found (a transcript needs `service_1 | ` prefixes; \
             use SERVICE=FILE for a single service's log)",
        ));
    }
    let diagnosis = engine::diagnose(&snapshot, &set);
    let mut diagnosis =
        runtime()?.block_on(engine::confirm::confirm(diagnosis, &snapshot, &set, None));
    engine::chain::chain(&mut diagnosis.findings, &snapshot, &set);
    diagnosis.project = if project.is_empty() {
        "(from logs)".to_owned()
    } else {
        format!("{project} (from logs)")
    };
    print_diagnosis(&diagnosis, &set, args.format, args.output.as_deref())?;
    Ok(if diagnosis.has_problems() { 1 } else { 0 })
}

fn logs_usage(reason: &str) -> DoctorError {
    DoctorError::Io {
        what: "--logs".into(),
        reason: reason.into(),
    }
}

/// Where backups of this project live: beside its compose file, else in the current directory.
fn backup_root(compose_file: Option<&std::path::Path>) -> PathBuf {
    compose_file
        .and_then(|f| f.parent())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(crate::fix::backup::BACKUP_DIR)
}

/// Show every plan, then apply the ones allowed (flags, prompt), verify each, roll back what did
/// not work. Exit 0 only when every problem was fixed and verified.
fn fix_session(
    live: &Live,
    flags: &FixFlags,
    snapshot: StackSnapshot,
    diagnosis: Diagnosis,
) -> Result<i32, DoctorError> {
    use crate::fix::{apply::Applier, backup::State, plan};
    use crate::rules::{FixAction, Safety};
    let plans = plan::plans(&diagnosis, &live.set);
    // Plans quote project files (a compose diff shows its environment): mask every secret.
    let redactor = crate::redact::Redactor::for_snapshot(&snapshot);
    // Stopping a container waits for its grace period: longer than a diagnosis's bound.
    let docker = live.docker.clone().with_timeout(Duration::from_secs(180));
    let mut out = std::io::stdout().lock();
    let w = |out: &mut std::io::StdoutLock<'_>, line: String| {
        let _ = writeln!(out, "{}", redactor.text(&line));
    };
    let compose_file = snapshot.compose_file.as_ref().map(PathBuf::from);
    let root = backup_root(compose_file.as_deref());
    live.rt.block_on(crate::fix::apply::remove_stale_helpers(
        &docker,
        &snapshot.project,
    ));
    // An earlier fix that did not finish: say where its originals are.
    for b in crate::fix::backup::list(&root) {
        if matches!(b.manifest.state, State::BackedUp | State::Applying) {
            w(
                &mut out,
                format!(
                    "An earlier fix was interrupted: backup {} ({} on {}, steps done: {}). \
                     `analylit-doctor restore {}` puts its originals back.",
                    b.manifest.id,
                    b.manifest.finding,
                    b.manifest.service,
                    if b.manifest.done.is_empty() {
                        "none".to_owned()
                    } else {
                        b.manifest.done.join("; ")
                    },
                    b.manifest.id
                ),
            );
        }
    }
    if plans.is_empty() {
        w(&mut out, "No fix to apply.".into());
        return Ok(if diagnosis.has_problems() { 1 } else { 0 });
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let (mut applied, mut held, mut manual, mut failed, mut skipped) = (0, 0, 0, 0, 0);
    let mut current = snapshot;
    for plan in &plans {
        w(&mut out, String::new());
        w(
            &mut out,
            format!(
                "Fix for {} on {} ({}): {}",
                plan.finding,
                plan.service,
                plan.safety.as_str(),
                plan.title
            ),
        );
        for (i, s) in plan.words.iter().enumerate() {
            w(&mut out, format!("  {}. {s}", i + 1));
        }
        if let Some(why) = &plan.blocked {
            // A missing import the python probe located: the patch, for a person to apply.
            if let (Some(import), Some(file), Some(dir)) = (
                plan.data.get("import"),
                plan.data.get("file"),
                compose_file.as_deref().and_then(|f| f.parent()),
            ) {
                let preview = Applier {
                    docker: &docker,
                    snapshot: &current,
                    compose_file: compose_file.clone(),
                    backup_root: root.clone(),
                };
                if let Ok(source) = preview.source_of(&plan.service, file, dir, false)
                    && let Ok(text) = std::fs::read_to_string(&source)
                {
                    let rel = source
                        .strip_prefix(dir)
                        .unwrap_or(&source)
                        .display()
                        .to_string();
                    let edit = crate::fix::edit::add_import(&rel, &text, import);
                    w(&mut out, "  the patch (apply it, rebuild, restart):".into());
                    for line in edit.diff().lines() {
                        w(&mut out, format!("      {line}"));
                    }
                }
            }
            w(&mut out, format!("  not applied: {why}"));
            manual += 1;
            continue;
        }
        w(&mut out, "  the doctor will:".into());
        let preview = Applier {
            docker: &docker,
            snapshot: &current,
            compose_file: compose_file.clone(),
            backup_root: root.clone(),
        };
        let mut unplannable = None;
        for s in &plan.steps {
            w(&mut out, format!("    - {}", s.describe));
            if s.changes_data && s.path.is_none()
                || matches!(s.action, FixAction::LfLineEnds { .. })
            {
                // A host file edit: show the exact diff it will apply.
                match preview.host_edit(plan, s) {
                    Ok((_, edit)) => {
                        for line in edit.diff().lines() {
                            w(&mut out, format!("      {line}"));
                        }
                    }
                    Err(e) => unplannable = Some(e.to_string()),
                }
            }
        }
        if let Some(why) = unplannable {
            w(&mut out, format!("  not applied: {why}"));
            failed += 1;
            continue;
        }
        let changed: Vec<&str> = plan
            .steps
            .iter()
            .filter(|s| s.changes_data)
            .filter_map(|s| s.path.as_deref())
            .collect();
        if !changed.is_empty() {
            w(
                &mut out,
                format!(
                    "  backed up first into {}/<id>/: {}",
                    root.display(),
                    changed.join(", ")
                ),
            );
        }
        let recreates = plan
            .steps
            .iter()
            .any(|s| matches!(s.action, FixAction::Recreate { .. }));
        w(
            &mut out,
            if recreates {
                format!(
                    "  could be lost: files written inside {}'s container outside its volumes \
                     (the container is recreated); everything the fix edits is in the backup",
                    plan.service
                )
            } else {
                "  could be lost: nothing the backup does not hold".to_owned()
            },
        );
        if plan.safety == Safety::Unsafe && !flags.unsafe_fixes {
            w(
                &mut out,
                "  held back: an unsafe fix (use --unsafe-fixes)".into(),
            );
            held += 1;
            continue;
        }
        if flags.dry_run {
            w(&mut out, "  dry run: nothing changed".into());
            skipped += 1;
            continue;
        }
        if !flags.yes {
            if !interactive {
                w(
                    &mut out,
                    "  not applied: no terminal to ask on, and no --yes".into(),
                );
                skipped += 1;
                continue;
            }
            let _ = out.flush();
            if !ask(&format!(
                "Apply fix for {} on {}? [y/N] ",
                plan.finding, plan.service
            )) {
                w(&mut out, "  not applied: declined".into());
                skipped += 1;
                continue;
            }
        }
        let applier = Applier {
            docker: &docker,
            snapshot: &current,
            compose_file: compose_file.clone(),
            backup_root: root.clone(),
        };
        let created = collect::now_rfc3339();
        let id = format!("{}-{}", created.replace(['-', ':'], ""), plan.finding);
        let result = live
            .rt
            .block_on(applier.apply(plan, id.clone(), &created, &mut |step| {
                eprintln!("  → {}", redactor.text(step));
            }));
        let mut backup = match result {
            Ok(b) => b,
            Err(e) => {
                w(&mut out, format!("  failed: {e}"));
                failed += 1;
                // Put back whatever the steps that ran changed.
                if let Ok(mut b) = crate::fix::backup::Backup::open(&root.join(&id))
                    && !b.manifest.done.is_empty()
                {
                    match live.rt.block_on(applier.restore(&b)) {
                        Ok(()) => {
                            w(
                                &mut out,
                                "  rolled back: the originals are in place again".into(),
                            );
                            let _ = b.finish(State::RolledBack);
                        }
                        Err(e) => {
                            w(
                                &mut out,
                                format!(
                                    "  rollback failed ({e}): the originals are in {}",
                                    b.dir.display()
                                ),
                            );
                            let _ = b.finish(State::Failed);
                        }
                    }
                }
                continue;
            }
        };
        w(
            &mut out,
            format!("  applied; backup {}", backup.dir.display()),
        );
        // Verify: the service comes back, and the rule no longer fires there.
        let healthy = live.rt.block_on(applier.wait_healthy(&plan.service));
        let (after_snapshot, after) = live.diagnose(&Progress(None))?;
        let still = after.findings.iter().any(|f| {
            f.id == plan.finding
                && f.service == plan.service
                && f.severity > crate::rules::Severity::Info
        });
        match (&healthy, still) {
            (Ok(how), false) => {
                w(
                    &mut out,
                    format!("  fixed: {how}; {} no longer fires", plan.finding),
                );
                let _ = backup.finish(State::Verified);
                applied += 1;
            }
            _ => {
                let why = match &healthy {
                    Err(e) => e.clone(),
                    Ok(_) => format!("{} still fires", plan.finding),
                };
                w(&mut out, format!("  not fixed: {why}; rolling back"));
                let rollback = Applier {
                    docker: &docker,
                    snapshot: &after_snapshot,
                    compose_file: compose_file.clone(),
                    backup_root: root.clone(),
                };
                match live.rt.block_on(rollback.restore(&backup)) {
                    Ok(()) => {
                        w(
                            &mut out,
                            "  rolled back: the originals are in place again".into(),
                        );
                        let _ = backup.finish(State::RolledBack);
                    }
                    Err(e) => {
                        w(
                            &mut out,
                            format!(
                                "  rollback failed ({e}): the originals are in {}",
                                backup.dir.display()
                            ),
                        );
                        let _ = backup.finish(State::Failed);
                    }
                }
                failed += 1;
            }
        }
        current = after_snapshot;
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

fn backups(args: &CheckArgs) -> Result<i32, DoctorError> {
    let inputs =
        project::ProjectInputs::from_process(args.project_name.clone(), args.files.clone());
    let choice = project::choose(&inputs).ok_or(DoctorError::NoProject)?;
    let root = backup_root(choice.compose_file.as_deref());
    let list = crate::fix::backup::list(&root);
    if list.is_empty() {
        println!("No backups in {}.", root.display());
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
    println!("{t}");
    println!("(in {})", root.display());
    Ok(0)
}

fn restore(args: CheckArgs, id: &str) -> Result<i32, DoctorError> {
    use crate::fix::{apply::Applier, backup};
    let progress = Progress::new(args.quiet);
    let live = Live::connect(&args, &progress)?;
    let root = backup_root(live.choice.compose_file.as_deref());
    let mut b = backup::Backup::open(&root.join(id)).map_err(|e| DoctorError::Io {
        what: format!("opening backup {id}"),
        reason: e.to_string(),
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
        .map_err(|e| DoctorError::Io {
            what: format!("restoring backup {id}"),
            reason: e.to_string(),
        })?;
    let _ = b.finish(backup::State::Restored);
    println!(
        "Restored {} item(s) of {} for {} on {}.",
        b.manifest.entries.len(),
        id,
        b.manifest.finding,
        b.manifest.service
    );
    Ok(0)
}

/// The printer for a format; `colour` only matters to the table.
fn printer(format: ReportFormat, set: &RuleSet, colour: bool) -> Box<dyn Report + '_> {
    match format {
        ReportFormat::Table => Box::new(report::Table {
            colour,
            width: None,
        }),
        ReportFormat::Json => Box::new(report::Json),
        ReportFormat::Junit => Box::new(report::Junit { rules: set }),
        ReportFormat::Github => Box::new(report::Github),
        ReportFormat::Sarif => Box::new(report::Sarif { rules: set }),
    }
}

/// Print the diagnosis: in `format` on stdout, or, with `output`, in `format` to that file and
/// as the table on stdout.
fn print_diagnosis(
    diagnosis: &Diagnosis,
    set: &RuleSet,
    format: ReportFormat,
    output: Option<&std::path::Path>,
) -> Result<(), DoctorError> {
    if let Some(path) = output {
        report::write_file(&*printer(format, set, false), diagnosis, path).map_err(|e| {
            DoctorError::Io {
                what: format!("writing the report to {}", path.display()),
                reason: e.to_string(),
            }
        })?;
    }
    let stdout = std::io::stdout();
    let format = if output.is_some() {
        ReportFormat::Table
    } else {
        format
    };
    let mut out = stdout.lock();
    printer(format, set, report::colour_wanted(stdout.is_terminal()))
        .render(diagnosis, &mut out)
        .and_then(|_| out.flush())
        .map_err(|e| DoctorError::Io {
            what: "writing the report".into(),
            reason: e.to_string(),
        })
}

fn list_rules(set: &RuleSet, format: Format) {
    match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = set
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "title": r.title, "severity": r.severity.as_str(),
                        "fix_safety": r.fix.as_ref().map(|f| f.safety.as_str()),
                        "effect": r.effect, "source": r.source.path,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).expect("rules serialise")
            );
        }
        Format::Table => {
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
                .set_header(["id", "severity", "fix", "title"]);
            for r in set.iter() {
                t.add_row([
                    r.id.clone(),
                    r.severity.as_str().to_string(),
                    r.fix
                        .as_ref()
                        .map(|f| f.safety.as_str().to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.title.clone(),
                ]);
            }
            println!("{t}");
            println!("{} rules", set.len());
        }
    }
}

fn explain(set: &RuleSet, id: &str) -> Result<i32, DoctorError> {
    let Some(r) = set.get(id) else {
        let mut near: Vec<&str> = set
            .iter()
            .map(|r| r.id.as_str())
            .filter(|other| other.contains(id) || id.contains(*other))
            .collect();
        near.truncate(5);
        eprintln!(
            "no rule {id:?}{}; `analylit-doctor rules list` shows them all",
            if near.is_empty() {
                String::new()
            } else {
                format!(" (did you mean {}?)", near.join(", "))
            }
        );
        return Ok(2);
    };
    println!("{} — {}", r.id, r.title);
    println!("severity: {}", r.severity.as_str());
    println!("\n{}\n", r.explanation.trim());
    println!("symptoms:");
    for s in &r.symptoms {
        let req = if s.required() { " (required)" } else { "" };
        match s {
            rules::Symptom::Logs { regex, .. } => println!("  log    /{}/{req}", regex.as_str()),
            rules::Symptom::Health { regex, .. } => {
                println!("  health /{}/{req}", regex.as_str())
            }
            rules::Symptom::State { predicate, .. } => println!("  state  {predicate:?}{req}"),
        }
    }
    if let Some(f) = &r.fix {
        println!("\nfix ({}): {}", f.safety.as_str(), f.title.as_str());
        for (i, step) in f.steps.iter().enumerate() {
            println!(
                "  {}. {}",
                i + 1,
                step.render(&Default::default(), "<service>")
            );
        }
    }
    if !r.references.is_empty() {
        println!("\nreferences:");
        for reference in &r.references {
            println!("  {reference}");
        }
    }
    println!("\nrule file: {}", r.source.path);
    Ok(0)
}
