//! `check --logs`: a diagnosis from pasted logs, no Docker.
use super::*;

/// `check --logs`: diagnose pasted logs. No Docker connection is made; probes that need the live
/// stack come back unknown and say so.
pub(super) fn check_logs(args: &CheckArgs) -> Result<i32, DoctorError> {
    use crate::stack::transcript;
    use std::collections::BTreeMap;
    let set = rules::load_with_overrides(args.stack.rules.as_deref())?;
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
        lines: args.stack.tail,
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
    let project = args.stack.project_name.clone().unwrap_or_default();
    let snapshot = transcript::snapshot_from_logs(&project, per);
    if snapshot.containers.is_empty() {
        return Err(logs_usage(
            "no log lines found (a transcript needs `service_1 | ` prefixes; \
             use SERVICE=FILE for a single service's log)",
        ));
    }
    let diagnosis = engine::diagnose(&snapshot, &set);
    let mut diagnosis = runtime()?.block_on(engine::confirm::confirm(
        diagnosis,
        &snapshot,
        &set,
        Probing::Live(None),
    ));
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
