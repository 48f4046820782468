//! `wait`: follow a starting project ([`crate::stack::wait`]) and diagnose at once when a
//! service will not come up.
use super::*;
use std::collections::{BTreeMap, HashMap};

pub(super) fn wait(args: CheckArgs, timeout: Duration) -> Result<i32, DoctorError> {
    use crate::stack::wait::{Standing, look, standing};
    use futures_util::StreamExt;
    needs_live_stack(&args, "wait")?;
    let progress = Progress::new(args.stack.quiet || args.format != ReportFormat::Table);
    let live = Live::connect(&args.stack, &progress)?;
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
                vec![if live.swarm {
                    format!("{}={project}", crate::stack::swarm::STACK_LABEL)
                } else {
                    format!("com.docker.compose.project={project}")
                }],
            ),
        ]);
        let opts = bollard::query_parameters::EventsOptions {
            since: None,
            until: None,
            filters: Some(filters),
        };
        let mut events = live.docker.events(Some(opts));
        loop {
            let looked = if live.swarm {
                crate::stack::swarm::look(&live.docker, &project).await
            } else {
                look(&live.docker, &project).await
            };
            let services = match looked {
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
                    outln!("{service:<20} {how:<22} after {:.1}s", after.as_secs_f64());
                }
                outln!("✓ every service of {project} is up");
            }
            if !matches!(args.format, ReportFormat::Table | ReportFormat::Json)
                || (args.output.is_some() && args.format != ReportFormat::Table)
            {
                // JUnit, GitHub, SARIF, HTML, Markdown (or any file report): the checked rules,
                // all passing.
                let (snapshot, diagnosis) = live.diagnose(&Progress(None))?;
                print_with_pictures(&live, &args, &snapshot, &diagnosis)?;
                return Ok(if diagnosis.has_problems() { 1 } else { 0 });
            }
            if args.format == ReportFormat::Json {
                let rows: Vec<serde_json::Value> = up_after
                    .iter()
                    .map(|(s, (after, how))| {
                        serde_json::json!({"service": s, "state": how, "after_secs": after.as_secs_f64()})
                    })
                    .collect();
                outln!(
                    "{}",
                    serde_json::json!({"project": project, "verdict": "up", "services": rows})
                );
            }
            Ok(0)
        }
        Some(why) => {
            eprintln!("{why}: diagnosing");
            let (snapshot, diagnosis) = live.diagnose(&progress)?;
            progress.done();
            print_with_pictures(&live, &args, &snapshot, &diagnosis)?;
            Ok(1)
        }
    }
}

/// Print the report with what html and markdown draw on: the snapshot and the fixes' diffs.
fn print_with_pictures(
    live: &Live,
    args: &CheckArgs,
    snapshot: &crate::stack::snapshot::StackSnapshot,
    diagnosis: &Diagnosis,
) -> Result<(), DoctorError> {
    let diffs = if args.format.pictures() {
        super::fix::previews(live, snapshot, diagnosis)
    } else {
        Vec::new()
    };
    let context = report::Context {
        snapshot: Some(snapshot),
        diffs: &diffs,
        redactor: None,
    };
    print_report(
        diagnosis,
        &context,
        &live.set,
        args.format,
        args.output.as_deref(),
    )
}
