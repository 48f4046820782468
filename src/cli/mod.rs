//! The command line: parse, run one command, map the outcome to an exit code.
use crate::catalogue;
use crate::engine::{self, Diagnosis};
use crate::error::DoctorError;
use crate::probes::{self, Probing};
use crate::report::{self, Report};
use crate::rules::{self, RuleSet};
use crate::stack::snapshot::StackSnapshot;

/// `println!` for what the command prints on stdout: a reader that went away (`| head`) ends the
/// program quietly, as a pipe's writer should, instead of a panic.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::cli::stdout_failed(e);
        }
    }};
}

/// Writing stdout failed: a closed pipe ends the program with success (the reader has what it
/// wanted); anything else is an error.
pub(crate) fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: writing to stdout: {e}");
    std::process::exit(2);
}

mod bundle;
mod fix;
mod logs;
mod preflight;
mod wait;
use crate::stack::{collect, connect, project, swarm};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
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
    /// Also mask the values of this variable, in every service and in the compose file, in
    /// everything printed or written (reports, plans, diffs, bundles). Repeatable. Variables
    /// whose names say secret (PASSWORD, SECRET, TOKEN, API_KEY, AUTH, …), passwords in URLs,
    /// `--requirepass`-style arguments, `redis-cli -a`, `curl -u user:pw` and `Authorization:`
    /// headers are always masked.
    #[arg(long, value_name = "NAME", global = true)]
    pub redact: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Inspect the running compose project and report root causes with their evidence.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Before `docker compose up`: read the compose project on disk (compose files, `.env`,
    /// Dockerfiles, entrypoint scripts, gunicorn's config, the Python each service runs) and
    /// report what will fail at startup, with file:line, under the ids `check` uses. `--fix`
    /// applies the fixes that need no running stack (line ends, execute bit, compose edits).
    #[command(after_help = EXIT_CODES)]
    Preflight(preflight::PreflightArgs),
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
    /// Capture the stack for later: a .tar.gz holding its snapshot (inspect data, health logs,
    /// log tails, compose model), the probes' results and the diagnosis, every secret redacted.
    /// `check --from FILE` diagnoses it again, anywhere, without Docker.
    Snapshot(SnapshotArgs),
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
    /// Explain one failure class: what it is, its symptoms, its fix; without an id, list the
    /// classes by catalogue section.
    Explain {
        /// A rule id, e.g. gunicorn-worker-reinit.
        id: Option<String>,
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
    /// Run the `[[test]]` cases of the rule files and print a pass/fail table: the embedded rules
    /// (run from the project's root, where their bundles are), or those of --rules DIR. Every
    /// rule needs a `match` and a `no-match` case. Exit 1 when a case fails.
    Test {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Test the rule files of DIR (bundle paths are relative to each file's folder).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
}

/// Which stack, and how to read it.
#[derive(Args, Debug)]
pub struct StackArgs {
    /// Compose project name (default: COMPOSE_PROJECT_NAME, else the compose file's directory).
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Compose file (default: COMPOSE_FILE, else compose.yaml / docker-compose.yml here or above).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A Swarm stack (`docker stack deploy … NAME`) instead of a compose project: its services,
    /// their tasks and the tasks' containers. Found without it too when the project name names
    /// a stack and no compose project has containers.
    #[arg(long = "stack", value_name = "NAME", conflicts_with = "project_name")]
    pub stack: Option<String>,
    /// Extra rule files: every *.toml in DIR is added; the same id overrides the embedded rule.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Bound on reaching the engine, in seconds.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub connect_timeout: u64,
    /// Log lines read per container (the most recent ones).
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub tail: usize,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Report format: a table for people; html (one self-contained page: causal graph, timeline,
    /// findings) or markdown (the same for a job summary or a ticket, with a Mermaid graph) to
    /// share; json, junit, github (workflow commands) or sarif for machines. Nothing else is
    /// written to stdout for any but the table.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the --format report to FILE; the table still goes to the terminal.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Diagnose from pasted output, without Docker: FILE, - (stdin), or SERVICE=FILE for a plain
    /// log of one service. Recognises and splits, in any mix: compose logs transcripts, compose
    /// up output (the daemon's errors), docker inspect JSON (whole, State or Health), docker
    /// events, kernel OOM-killer lines, compose/docker ps tables, plain logs. Repeatable.
    #[arg(long = "logs", value_name = "SPEC", conflicts_with = "from")]
    pub logs: Vec<String>,
    /// Diagnose a bundle written by `analylit-doctor snapshot`, without Docker: the probes' results
    /// are replayed from it.
    #[arg(long, value_name = "BUNDLE")]
    pub from: Option<PathBuf>,
    #[command(flatten)]
    pub fix: FixFlags,
}

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Where to write the bundle (.tar.gz).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
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
    /// Stop after patching the project's source: no rebuild, no restart, no verification (for
    /// people who deploy another way).
    #[arg(long)]
    pub no_rebuild: bool,
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
    /// One self-contained HTML page: the causal graph, a timeline per service, every finding
    /// with its evidence, probes and fix.
    Html,
    /// The HTML report's content as Markdown, with a Mermaid graph (a GitHub job summary, a PR
    /// comment, a ticket).
    Markdown,
}

impl ReportFormat {
    /// Whether the printer draws on more than the diagnosis (the snapshot's dates, the fixes'
    /// diffs): worth computing only for these.
    fn pictures(self) -> bool {
        matches!(self, ReportFormat::Html | ReportFormat::Markdown)
    }
}

pub fn run() -> i32 {
    let cli = Cli::parse();
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            // An error may quote what it failed on (a URL, a command's output): masked too.
            let text = format!("{:?}", miette::Report::new(e));
            eprintln!(
                "{}",
                crate::redact::Redactor::with_names(&[]).document(&text)
            );
            2
        }
    }
}

fn execute(cli: Cli) -> Result<i32, DoctorError> {
    crate::redact::set_redact_names(cli.redact.clone());
    match cli.command {
        Command::Check(args) => check(args),
        Command::Preflight(args) => preflight::preflight(args),
        Command::Snapshot(args) => bundle::snapshot(args),
        Command::Fix(mut args) => {
            args.fix.fix = true;
            fix::fix(args)
        }
        Command::Backups(args) => fix::backups(&args),
        Command::Wait { timeout, args } => wait::wait(args, Duration::from_secs(timeout)),
        Command::Restore { id, args } => fix::restore(args, &id),
        Command::Rules {
            command: RulesCommand::List { format, rules },
        } => {
            let set = rules::load_with_overrides(rules.as_deref())?;
            list_rules(&set, format);
            Ok(0)
        }
        Command::Rules {
            command: RulesCommand::Test { format, rules },
        } => rules_test(rules.as_deref(), format),
        Command::Explain { id, rules } => {
            let set = rules::load_with_overrides(rules.as_deref())?;
            match id {
                Some(id) => explain(&set, &id),
                None => explain_all(&set),
            }
        }
        Command::Man => {
            let page = clap_mangen::Man::new(Cli::command());
            let mut out = std::io::stdout().lock();
            page.render(&mut out)
                .and_then(|_| out.flush())
                .map_err(|source| DoctorError::Io {
                    what: "writing the man page".into(),
                    source,
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
        .map_err(|source| DoctorError::Io {
            what: "starting the async runtime".into(),
            source,
        })
}

/// What one live diagnosis needs, kept so a fix can diagnose again to verify itself.
struct Live {
    rt: tokio::runtime::Runtime,
    docker: bollard::Docker,
    set: RuleSet,
    choice: project::ProjectChoice,
    tail: usize,
    /// The stack is a Swarm stack named `choice.name`.
    swarm: bool,
    /// The engine is not this machine's own socket.
    remote: bool,
}

impl Live {
    fn connect(args: &StackArgs, progress: &Progress) -> Result<Live, DoctorError> {
        progress.phase("loading rules");
        let set = rules::load_with_overrides(args.rules.as_deref())?;
        let inputs =
            project::ProjectInputs::from_process(args.project_name.clone(), args.files.clone());
        let choice = match (&args.stack, project::choose(&inputs)) {
            (Some(stack), found) => project::ProjectChoice {
                name: stack.clone(),
                how: "--stack".into(),
                compose_file: found.and_then(|c| c.compose_file),
            },
            (None, found) => found.ok_or(DoctorError::NoProject)?,
        };
        let endpoint = connect::resolve_endpoint(&connect::EndpointEnv::from_process())?;
        let rt = runtime()?;
        progress.phase("connecting to the Docker engine");
        let docker = rt.block_on(connect::connect(
            &endpoint,
            Duration::from_secs(args.connect_timeout),
        ))?;
        // A project name that names a stack, with no compose container of that name: the stack.
        let swarm = args.stack.is_some()
            || rt.block_on(async {
                let compose = collect::list_labelled(
                    &docker,
                    vec![format!("{}={}", collect::PROJECT_LABEL, choice.name)],
                )
                .await
                .map(|l| l.is_empty())
                .unwrap_or(false);
                compose
                    && swarm::is_manager(&docker).await
                    && swarm::services(&docker, &choice.name)
                        .await
                        .is_ok_and(|s| !s.is_empty())
            });
        Ok(Live {
            rt,
            docker,
            set,
            choice,
            tail: args.tail,
            swarm,
            remote: endpoint.remote(),
        })
    }

    /// Collect, match, probe, chain.
    fn diagnose(&self, progress: &Progress) -> Result<(StackSnapshot, Diagnosis), DoctorError> {
        let (snapshot, diagnosis, _) = self.diagnose_recorded(progress)?;
        Ok((snapshot, diagnosis))
    }

    /// [`Live::diagnose`], with every probe result as run (for a bundle).
    fn diagnose_recorded(
        &self,
        progress: &Progress,
    ) -> Result<(StackSnapshot, Diagnosis, Vec<probes::Recorded>), DoctorError> {
        let choice = &self.choice;
        progress.phase(&format!("collecting project {}", choice.name));
        let snapshot = self.rt.block_on(async {
            let limits = collect::LogLimits {
                lines: self.tail,
                ..Default::default()
            };
            let compose_file = choice
                .compose_file
                .as_ref()
                .map(|p| p.display().to_string());
            if self.swarm {
                let snapshot = swarm::collect(
                    &self.docker,
                    &choice.name,
                    compose_file,
                    limits,
                    self.remote,
                )
                .await?;
                if snapshot.containers.is_empty() {
                    let known = swarm::known_stacks(&self.docker).await;
                    return Err(DoctorError::NoStack {
                        stack: choice.name.clone(),
                        known: if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        },
                    });
                }
                return Ok(snapshot);
            }
            let mut snapshot =
                collect::collect(&self.docker, &choice.name, compose_file, limits).await?;
            snapshot.backend.remote_engine = self.remote;
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
        progress.phase("matching rules and running probes");
        let (diagnosis, recorded) = self.rt.block_on(engine::run(
            &snapshot,
            &self.set,
            Probing::Live(Some(&self.docker)),
            &probes::Options::default(),
        ));
        Ok((snapshot, diagnosis, recorded))
    }
}

/// `--logs` and `--from` diagnose without the stack: commands that act on it refuse them.
fn needs_live_stack(args: &CheckArgs, command: &str) -> Result<(), DoctorError> {
    let offline = if !args.logs.is_empty() {
        "--logs"
    } else if args.from.is_some() {
        "--from"
    } else {
        return Ok(());
    };
    Err(DoctorError::Usage {
        what: offline.into(),
        reason: format!(
            "`{command}` needs the live stack; diagnose offline with `check {offline}`"
        ),
    })
}

fn check(args: CheckArgs) -> Result<i32, DoctorError> {
    if args.fix.fix {
        needs_live_stack(&args, "check --fix")?;
    }
    if !args.logs.is_empty() {
        return logs::check_logs(&args);
    }
    if let Some(path) = &args.from {
        return bundle::check_from(&args, path);
    }
    // A machine format on stdout gets nothing else there (the spinner is on stderr, but CI logs
    // interleave them); with --output, stdout is the table.
    let machine_stdout = args.format != ReportFormat::Table && args.output.is_none();
    let progress = Progress::new(args.stack.quiet || machine_stdout);
    let live = Live::connect(&args.stack, &progress)?;
    let (snapshot, diagnosis) = live.diagnose(&progress)?;
    progress.done();
    let diffs = if args.format.pictures() {
        fix::previews(&live, &snapshot, &diagnosis)
    } else {
        Vec::new()
    };
    let context = report::Context {
        snapshot: Some(&snapshot),
        diffs: &diffs,
        redactor: None,
    };
    print_report(
        &diagnosis,
        &context,
        &live.set,
        args.format,
        args.output.as_deref(),
    )?;
    if args.fix.fix {
        return fix::fix_session(&live, &args.fix, snapshot, diagnosis, machine_stdout);
    }
    Ok(if diagnosis.has_problems() { 1 } else { 0 })
}

/// The printer for a format; `terminal` (stdout is one) only matters to the table, for its
/// colour and width, `context` to html and markdown.
fn printer<'a>(
    format: ReportFormat,
    set: &'a RuleSet,
    terminal: bool,
    context: &report::Context<'a>,
) -> Box<dyn Report + 'a> {
    Box::new(report::Redacted {
        inner: bare_printer(format, set, terminal, context),
        redactor: context.redactor(),
    })
}

fn bare_printer<'a>(
    format: ReportFormat,
    set: &'a RuleSet,
    terminal: bool,
    context: &report::Context<'a>,
) -> Box<dyn Report + 'a> {
    match format {
        ReportFormat::Table => Box::new(report::Table {
            colour: report::colour_wanted(terminal),
            width: terminal.then(report::terminal_width).flatten(),
        }),
        ReportFormat::Json => Box::new(report::Json),
        ReportFormat::Junit => Box::new(report::Junit { rules: set }),
        ReportFormat::Github => Box::new(report::Github),
        ReportFormat::Sarif => Box::new(report::Sarif { rules: set }),
        ReportFormat::Html => Box::new(report::Html { context: *context }),
        ReportFormat::Markdown => Box::new(report::Markdown { context: *context }),
    }
}

/// Print the diagnosis: in `format` on stdout, or, with `output`, in `format` to that file and
/// as the table on stdout.
fn print_report(
    diagnosis: &Diagnosis,
    context: &report::Context<'_>,
    set: &RuleSet,
    format: ReportFormat,
    output: Option<&std::path::Path>,
) -> Result<(), DoctorError> {
    if let Some(path) = output {
        report::write_file(&*printer(format, set, false, context), diagnosis, path).map_err(
            |source| DoctorError::Io {
                what: format!("writing the report to {}", path.display()),
                source,
            },
        )?;
    }
    let stdout = std::io::stdout();
    let format = if output.is_some() {
        ReportFormat::Table
    } else {
        format
    };
    let mut out = stdout.lock();
    let written = printer(format, set, stdout.is_terminal(), context)
        .render(diagnosis, &mut out)
        .and_then(|_| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            stdout_failed(e);
        }
        return Err(DoctorError::Io {
            what: "writing the report".into(),
            source: e,
        });
    }
    Ok(())
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
            outln!(
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
            outln!("{t}");
            outln!("{} rules", set.len());
        }
    }
}

fn rules_test(dir: Option<&std::path::Path>, format: Format) -> Result<i32, DoctorError> {
    let set = rules::load_with_overrides(dir)?;
    // With a directory, its files are tested (the embedded rules still diagnose alongside).
    let outcomes = runtime()?.block_on(crate::ruletest::run(&set, |r| {
        dir.is_none() == r.source.embedded
    }));
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&outcomes).expect("outcomes serialise")
        ),
        Format::Table => {
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
                .set_header(["result", "rule", "case", "input", "expect", "detail"]);
            for o in &outcomes {
                t.add_row([
                    if o.passed { "pass" } else { "FAIL" }.to_owned(),
                    o.rule.clone(),
                    o.at.clone(),
                    o.input.clone(),
                    o.expect.to_owned(),
                    o.detail.clone(),
                ]);
            }
            outln!("{t}");
            let rules: std::collections::BTreeSet<&str> =
                outcomes.iter().map(|o| o.rule.as_str()).collect();
            outln!(
                "{} case(s) of {} rule(s): {} passed, {failed} failed",
                outcomes.len(),
                rules.len(),
                outcomes.len() - failed
            );
        }
    }
    Ok(if failed > 0 { 1 } else { 0 })
}

/// The rules a reader of `id` should know: those it folds (`confirms`), those that fold it, and
/// the other rules of its catalogue class — effects (`restart-loop`) left out.
fn related(set: &RuleSet, id: &str) -> Vec<String> {
    let Some(r) = set.get(id) else {
        return Vec::new();
    };
    let class = set.class_of(id).map(|(c, _)| c);
    let mut out: Vec<String> = Vec::new();
    let mut add = |other: &str| {
        let effect = set.get(other).is_some_and(|o| o.effect);
        if other != id && !effect && !out.iter().any(|o| o == other) {
            out.push(other.to_owned());
        }
    };
    for c in &r.confirms {
        add(c);
    }
    for other in set.iter() {
        if other.confirms.iter().any(|c| c == id)
            || (class.is_some() && set.class_of(&other.id).map(|(c, _)| c) == class)
        {
            add(&other.id);
        }
    }
    out
}

/// `explain` without an id: every rule, grouped by catalogue section, with its title.
fn explain_all(set: &RuleSet) -> Result<i32, DoctorError> {
    let mut sections: std::collections::BTreeMap<char, Vec<&rules::Rule>> = Default::default();
    for r in set.iter() {
        let section = set.class_of(&r.id).map_or('?', |(_, c)| c.section);
        sections.entry(section).or_default().push(r);
    }
    for (section, rules) in sections {
        outln!("{section}. {}", catalogue::section_title(section));
        for r in rules {
            outln!("  {:<36} {}", r.id, r.title);
        }
        outln!();
    }
    outln!("`analylit-doctor explain <id>` tells one class: symptoms, probes, fix.");
    Ok(0)
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
    outln!("{} — {}", r.id, r.title);
    outln!("severity: {}", r.severity.as_str());
    outln!("\n{}\n", r.explanation.trim());
    outln!("symptoms:");
    for s in &r.symptoms {
        let req = if s.required() { " (required)" } else { "" };
        match s {
            rules::Symptom::Logs { regex, .. } => outln!("  log    /{}/{req}", regex.as_str()),
            rules::Symptom::Health { regex, .. } => {
                outln!("  health /{}/{req}", regex.as_str())
            }
            rules::Symptom::State { predicate, .. } => outln!("  state  {predicate}{req}"),
        }
    }
    if let Some(f) = &r.fix {
        outln!("\nfix ({}): {}", f.safety.as_str(), f.title.as_str());
        for (i, step) in f.steps.iter().enumerate() {
            outln!("  {}. {}", i + 1, step.render_named());
        }
        if !f.actions.is_empty() {
            let actions: Vec<&str> = f.actions.iter().map(|a| a.name()).collect();
            outln!("  `analylit-doctor fix` does: {}", actions.join(" → "));
        }
    }
    if !r.probes.is_empty() {
        outln!("\nconfirmed by probes:");
        for p in &r.probes {
            outln!("  {p}");
        }
    }
    if let Some((class, entry)) = set.class_of(&r.id) {
        outln!(
            "\ncatalogue: section {} ({}), class {}",
            entry.section,
            catalogue::section_title(entry.section),
            class
        );
    }
    let related = related(set, &r.id);
    if !related.is_empty() {
        outln!("related classes:");
        for id in related {
            outln!("  analylit-doctor explain {id}");
        }
    }
    let references: Vec<&String> = r
        .references
        .iter()
        .filter(|reference| !reference.starts_with("FAILURES.md"))
        .collect();
    if !references.is_empty() {
        outln!("\nreferences:");
        for reference in references {
            outln!("  {reference}");
        }
    }
    outln!("\nrule file: {}", r.source.path);
    Ok(0)
}
