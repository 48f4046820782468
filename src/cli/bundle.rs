//! `snapshot` writes a bundle of the live stack; `check --from` diagnoses one, no Docker.
use super::*;
use crate::bundle::{self as bundles, Capture};
use std::path::Path;

/// `snapshot -o FILE`: diagnose the live stack and keep what was seen, redacted.
pub(super) fn snapshot(args: SnapshotArgs) -> Result<i32, DoctorError> {
    let progress = Progress::new(args.stack.quiet);
    let live = Live::connect(&args.stack, &progress)?;
    let (snapshot, diagnosis, recorded) = live.diagnose_recorded(&progress)?;
    progress.phase("writing the bundle");
    let diffs = fix::previews(&live, &snapshot, &diagnosis);
    let manifest = bundles::write_file(
        &Capture {
            snapshot: &snapshot,
            probes: &recorded,
            diagnosis: &diagnosis,
            rules: &live.set,
            redact: &[],
            diffs: &diffs,
        },
        &args.output,
    )
    .map_err(|e| DoctorError::Io {
        what: format!("writing the bundle {}", args.output.display()),
        source: std::io::Error::other(e.reason),
    })?;
    progress.done();
    outln!(
        "wrote {}: project {}, {} container(s), {} probe result(s), {} finding(s) above info",
        args.output.display(),
        manifest.project,
        manifest.containers.len(),
        manifest.probes_recorded,
        diagnosis
            .findings
            .iter()
            .filter(|f| f.severity > rules::Severity::Info)
            .count(),
    );
    if manifest.redacted.is_empty() {
        outln!("redacted: nothing secret was found");
    } else {
        outln!("redacted: {}", manifest.redacted.join(", "));
    }
    outln!(
        "diagnose it anywhere, without Docker: analylit-doctor check --from {}",
        args.output.display()
    );
    Ok(0)
}

/// `check --from BUNDLE`: the same pipeline over a recorded snapshot, the probes replayed.
pub(super) fn check_from(args: &CheckArgs, path: &Path) -> Result<i32, DoctorError> {
    let set = rules::load_with_overrides(args.stack.rules.as_deref())?;
    let bundle = bundles::read_file(path).map_err(|e| DoctorError::Bundle {
        path: path.display().to_string(),
        reason: e.reason,
    })?;
    let machine_stdout = args.format != ReportFormat::Table && args.output.is_none();
    if bundle.manifest.rules.digest != set.digest() && !args.stack.quiet {
        eprintln!(
            "note: {} was captured with other rules ({} rules, analylit-doctor {}); probes of \
             rules it did not run are not re-runnable offline",
            path.display(),
            bundle.manifest.rules.count,
            bundle.manifest.tool_version
        );
    }
    // In the project's own folder (its compose project has the bundle's name), or with -f, the
    // working tree answers the static probes the bundle did not record.
    let tree = super::preflight::working_tree(&args.stack)
        .filter(|t| !args.stack.files.is_empty() || t.project_name() == bundle.manifest.project);
    let diagnosis = runtime()?.block_on(bundles::diagnose_with(
        &bundle,
        &set,
        tree.as_ref().map(|t| t as &dyn crate::probes::WorkingTree),
    ));
    if !machine_stdout && !args.stack.quiet {
        eprintln!(
            "diagnosing {} as captured at {} (project {})",
            path.display(),
            bundle.manifest.collected_at,
            bundle.manifest.project
        );
    }
    // The bundle's project files are not at hand: no diffs, but its snapshot dates the timeline.
    let context = report::Context {
        snapshot: Some(&bundle.snapshot),
        ..Default::default()
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
