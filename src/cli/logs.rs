//! `check --logs`: a diagnosis from pasted output, no Docker.
use super::*;
use crate::stack::paste::Paste;

/// `check --logs`: read every input (whole, in bounded memory), recognise and split what each
/// holds, diagnose the snapshot that makes. No Docker connection is made; probes that need the live stack come back
/// unknown and say so.
pub(super) fn check_logs(args: &CheckArgs) -> Result<i32, DoctorError> {
    let set = rules::load_with_overrides(args.stack.rules.as_deref())?;
    let limits = collect::LogLimits {
        lines: args.stack.tail,
        ..Default::default()
    };
    let mut pasted = Paste::new(limits);
    // Lines a rule matches are kept from before each container's tail.
    pasted.keep(std::sync::Arc::new(engine::matcher::LineFilter::new(&set)));
    for spec in &args.logs {
        let (service, source) = match spec.split_once('=') {
            Some((service, source)) if !service.is_empty() && !source.is_empty() => {
                (Some(service), source)
            }
            Some(_) => {
                return Err(logs_usage(&format!(
                    "{spec:?}: expected SERVICE=FILE, SERVICE=-, FILE or -"
                )));
            }
            None => (None, spec.as_str()),
        };
        let name = if source == "-" { "stdin" } else { source };
        let io = |source: std::io::Error| DoctorError::Io {
            what: format!("reading --logs {name}"),
            source,
        };
        let read = if source == "-" {
            pasted.read(name, service, std::io::stdin())
        } else {
            pasted.read(name, service, std::fs::File::open(source).map_err(io)?)
        };
        read.map_err(io)?.map_err(|e| DoctorError::Paste {
            input: e.input,
            reason: e.reason,
        })?;
    }
    let project = args.stack.project_name.clone().unwrap_or_default();
    let pasted = pasted.finish(&project);
    let snapshot = &pasted.snapshot;
    // Where the compose project is on disk, the source probes answer from its files.
    let tree = super::preflight::working_tree(&args.stack);
    let probing = match &tree {
        Some(tree) => Probing::Offline { replay: &[], tree },
        None => Probing::Live(None),
    };
    let (mut diagnosis, _) = runtime()?.block_on(engine::run(
        snapshot,
        &set,
        probing,
        &crate::probes::Options::default(),
    ));
    diagnosis.told_by(&pasted);
    diagnosis.project = if project.is_empty() {
        "(from logs)".to_owned()
    } else {
        format!("{project} (from logs)")
    };
    // The paste's own snapshot: its times make the HTML timeline, its secrets the redactor.
    let context = crate::report::Context {
        snapshot: Some(snapshot),
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
    Ok(if diagnosis.has_problems() { 1 } else { 0 })
}

fn logs_usage(reason: &str) -> DoctorError {
    DoctorError::Usage {
        what: "--logs".into(),
        reason: reason.into(),
    }
}
