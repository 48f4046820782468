//! The end of the run: how many Docker tests skipped, across every test binary.
//!
//! Each skipped Docker test adds a line to its binary's file in the run's tally folder
//! (`support::record_skip`). Cargo runs the test binaries one after another, integration tests
//! in name order after the library's and binaries' unit tests (benches and examples come later:
//! this crate has no bench target, and its examples use no Docker), so this one, named to sort
//! last, sees every skip of the run and prints the total past the harness's capture. Under `CI`
//! a Docker test fails instead of skipping, so a skip recorded there fails this test too.
mod support;

use std::collections::BTreeMap;
use std::io::Write;

#[test]
fn docker_tests_skipped_in_this_run() {
    let dir = support::skips_dir_of_this_run();
    let mut by_binary: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            by_binary.insert(
                e.file_name().to_string_lossy().into_owned(),
                text.lines().map(str::to_owned).collect(),
            );
        }
    }
    let total: usize = by_binary.values().map(Vec::len).sum();
    let line = if total == 0 {
        "Docker tests skipped in this run: 0\n".to_owned()
    } else {
        let each = by_binary
            .iter()
            .map(|(b, tests)| format!("{b} {}", tests.len()))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SKIPPED: {total} Docker test(s) in this run ({each}) — no Docker engine answered; \
             set CI to make them failures\n"
        )
    };
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    // The tally has been said: remove it, and any left by runs whose cargo is gone.
    let _ = std::fs::remove_dir_all(&dir);
    #[cfg(target_os = "linux")]
    if let Ok(runs) = std::fs::read_dir(support::skips_root()) {
        for run in runs.flatten() {
            let pid = run.file_name().to_string_lossy().into_owned();
            if !std::path::Path::new("/proc").join(&pid).exists() {
                let _ = std::fs::remove_dir_all(run.path());
            }
        }
    }
    assert!(
        total == 0 || std::env::var_os("CI").is_none(),
        "{total} Docker test(s) skipped under CI: {by_binary:?}"
    );
}
