//! The command line: parse, run one command, map the outcome to an exit code.
use crate::engine::{self, Diagnosis};
use crate::error::DoctorError;
use crate::report::{self, Report};
use crate::rules::{self, RuleSet};
use crate::stack::{collect, connect, project};
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
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Inspect the running compose project and report root causes with their evidence.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
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
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
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

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
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

fn check(args: CheckArgs) -> Result<i32, DoctorError> {
    let progress = Progress::new(args.quiet || args.format != Format::Table);
    progress.phase("loading rules");
    let set = rules::load_with_overrides(args.rules.as_deref())?;
    let inputs =
        project::ProjectInputs::from_process(args.project_name.clone(), args.files.clone());
    let choice = project::choose(&inputs).ok_or(DoctorError::NoProject)?;
    let endpoint = connect::resolve_endpoint(&connect::EndpointEnv::from_process())?;

    let rt = runtime()?;
    let (snapshot, docker) = rt.block_on(async {
        progress.phase("connecting to the Docker engine");
        let docker = connect::connect(&endpoint, Duration::from_secs(args.connect_timeout)).await?;
        progress.phase(&format!("collecting project {}", choice.name));
        let limits = collect::LogLimits {
            lines: args.tail,
            ..Default::default()
        };
        let snapshot = collect::collect(
            &docker,
            &choice.name,
            choice
                .compose_file
                .as_ref()
                .map(|p| p.display().to_string()),
            limits,
        )
        .await?;
        if snapshot.containers.is_empty() {
            let known = collect::known_projects(&docker).await;
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
        Ok((snapshot, docker))
    })?;
    progress.phase("matching rules");
    let diagnosis = engine::diagnose(&snapshot, &set);
    progress.phase("running probes");
    let mut diagnosis = rt.block_on(engine::confirm::confirm(
        diagnosis,
        &snapshot,
        &set,
        Some(&docker),
    ));
    engine::chain::chain(&mut diagnosis.findings, &snapshot, &set);
    progress.done();
    print_diagnosis(&diagnosis, args.format)?;
    Ok(if diagnosis.has_problems() { 1 } else { 0 })
}

fn print_diagnosis(diagnosis: &Diagnosis, format: Format) -> Result<(), DoctorError> {
    let stdout = std::io::stdout();
    let printer: Box<dyn Report> = match format {
        Format::Json => Box::new(report::Json),
        Format::Table => Box::new(report::Table {
            colour: report::colour_wanted(stdout.is_terminal()),
            width: None,
        }),
    };
    let mut out = stdout.lock();
    printer
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
