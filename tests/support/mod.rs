//! Test support: the reproduction lab (one compose stack at a time) and its scenarios.
#![allow(dead_code)]

pub mod bundle;
pub mod child;
pub mod lab;
pub mod scenario;

/// A Docker test that skips (no engine answers, `CI` unset) says so where a person sees it, past
/// the test harness's output capture (which would hide it behind an `ok`), with the number of
/// Docker tests this test binary skipped so far — its last such line is the binary's count, at
/// the end of its run — and appends itself to `target/docker-skips.log`, the whole run's tally
/// (`wc -l target/docker-skips.log`; removed by nothing, so clear it before a run to count one).
pub fn record_skip(test: &str, why: &str) {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SKIPPED: AtomicUsize = AtomicUsize::new(0);
    let n = SKIPPED.fetch_add(1, Ordering::SeqCst) + 1;
    let binary = std::env::args()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let binary = binary.rsplit_once('-').map_or(binary.as_str(), |(b, _)| b);
    let line = format!(
        "SKIP {test}: {why} (set CI to make this a failure) — {n} Docker test(s) of {binary} \
         skipped so far\n"
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    let log = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/docker-skips.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(f, "{binary} {test}");
    }
}
