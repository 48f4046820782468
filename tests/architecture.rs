//! The modules form layers, and every `crate::` path in non-test code points down (or within its
//! own module): data flows one way. A new arrow upwards fails here, with its file and line.
//!
//! Read from the source text: comments and `#[cfg(test)]` modules are not code that ships, so
//! they may reach anywhere.
use regex::Regex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Lowest first. A module may use the modules before it, never those after it.
const LAYERS: &[&str] = &[
    "digest",    // sha256 as hex
    "capped",    // reading files with a total cap
    "catalogue", // the failure classes
    "rules",     // rule files: parse, validate
    "error",     // the tool's errors (rules' among them)
    "stack",     // collect: engine, compose, pastes → snapshot; the stack's graph
    "redact",    // secrets learned from a snapshot, masked in text
    "model",     // findings, evidence, probe results
    "probes",    // questions to the stack
    "engine",    // match, confirm, chain, rank → diagnosis
    "report",    // printers
    "bundle",    // snapshot + probe results + report on disk
    "fix",       // plans, backups, edits, patches
    "preflight", // the project on disk before a start
    "ruletest",  // `rules test`
    "cli",       // the commands
];

/// Known arrows upwards, each with why it is still there (none today). An entry that no longer
/// occurs fails too, so the list only shrinks.
const ALLOWED: &[(&str, &str, &str)] = &[];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file that ships: without comments, and cut at its `#[cfg(test)]` module (the
/// tests module comes last in this codebase's files; a `tests.rs` file is all test).
fn shipped_code(path: &Path, text: &str) -> Vec<(usize, String)> {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((n, line)) = lines.next() {
        let code = line.split("//").next().unwrap_or_default();
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|(_, next)| next.trim_start().starts_with("mod "))
        {
            break;
        }
        out.push((n + 1, code.to_owned()));
    }
    out
}

/// `(from, to, where)` for every `crate::<module>` path outside its own module.
fn arrows() -> Vec<(String, String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let single = Regex::new(r"crate::([a-z_]+)").unwrap();
    let group = Regex::new(r"crate::\{([^}]*)").unwrap();
    let mut out = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let from = first.trim_end_matches(".rs").to_owned();
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, code) in shipped_code(&path, &text) {
            let mut targets: Vec<String> = single
                .captures_iter(&code)
                .map(|c| c[1].to_owned())
                .collect();
            for g in group.captures_iter(&code) {
                targets.extend(
                    g[1].split(',')
                        .filter_map(|item| item.trim().split("::").next())
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned),
                );
            }
            for to in targets {
                if to != from {
                    out.push((from.clone(), to, format!("src/{}:{n}", rel.display())));
                }
            }
        }
    }
    out
}

#[test]
fn every_module_is_in_a_layer() {
    let mut modules: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned()
            })
            .filter(|m| m != "lib" && m != "main")
            .collect();
    modules.sort();
    let missing: Vec<&String> = modules.iter().filter(|m| layer(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "modules in no layer of LAYERS: {missing:?}"
    );
}

#[test]
fn every_arrow_points_down() {
    let mut upwards: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (from, to, at) in arrows() {
        let (Some(f), Some(t)) = (layer(&from), layer(&to)) else {
            continue; // std-like paths (`crate::outln`): macros at the crate root
        };
        if t > f {
            upwards.entry((from, to)).or_default().push(at);
        }
    }
    let mut unexpected = Vec::new();
    for ((from, to), places) in &upwards {
        if !ALLOWED.iter().any(|(f, t, _)| f == from && t == to) {
            unexpected.push(format!("{from} → {to}: {}", places.join(", ")));
        }
    }
    assert!(
        unexpected.is_empty(),
        "arrows upwards (a lower layer using a higher one):\n  {}",
        unexpected.join("\n  ")
    );
    let stale: Vec<String> = ALLOWED
        .iter()
        .filter(|(f, t, _)| !upwards.contains_key(&(f.to_string(), t.to_string())))
        .map(|(f, t, _)| format!("{f} → {t}"))
        .collect();
    assert!(
        stale.is_empty(),
        "allowed arrows that no longer occur (remove them from ALLOWED): {stale:?}"
    );
}
