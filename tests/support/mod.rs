//! Test support: the reproduction lab (one compose stack at a time) and its scenarios.
#![allow(dead_code)]

pub mod bundle;
pub mod child;
pub mod code_fix;
pub mod doctor;
pub mod lab;
pub mod scenario;

/// The folder where the Docker tests skipped by one `cargo test` run are tallied: one file per
/// test binary, one line per skip. A run is cargo's process: every test binary of one `cargo
/// test` is a child of the same cargo, so its parent's pid names the run (no reset step is
/// needed, and two runs do not mix). `tests/zz_skips.rs`, the last test binary cargo runs,
/// prints the run's total.
pub fn skips_dir_of_this_run() -> std::path::PathBuf {
    skips_root().join(run_id())
}

/// Where every run's tally folder is.
pub fn skips_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("docker-skips")
}

fn run_id() -> String {
    #[cfg(unix)]
    let id = std::os::unix::process::parent_id();
    #[cfg(not(unix))]
    let id = 0u32;
    id.to_string()
}

/// A Docker test that skips (no engine answers, `CI` unset) says so where a person sees it, past
/// the test harness's output capture (which would hide it behind an `ok`), with the number of
/// Docker tests this test binary skipped so far, and adds itself to the run's tally
/// ([`skips_dir_of_this_run`]), whose total is printed at the end of the run.
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
    let dir = skips_dir_of_this_run();
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(binary))
    {
        let _ = writeln!(f, "{test}");
    }
}
