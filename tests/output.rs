//! What users see, as snapshots a reviewer reads in the diff: `check --from` of every captured
//! bundle in every machine and human format, `explain` of every class and the list of them, and
//! `rules list`. A change to any output shows here, line by line.
//!
//! Each snapshot is also held to what its format promises (the table ends on its verdict, JSON
//! and SARIF parse, JUnit is well-formed XML, GitHub lines are workflow commands), and none holds
//! a lab secret.
mod support;

use support::bundle::{LAB_SECRETS, bundles_dir};
use support::doctor::Doctor;

/// The doctor with no engine reachable, run from the repository root; (exit code, stdout).
fn doctor(args: &[&str]) -> (i32, String) {
    let ran = Doctor::new().args(args).offline().run();
    for secret in LAB_SECRETS {
        assert!(!ran.stdout.contains(secret), "{args:?} prints a secret");
    }
    (ran.code, ran.stdout)
}

fn bundles() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(bundles_dir())
        .expect("fixtures/bundles")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".tar.gz").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// The checks each format's output must pass whatever the bundle.
fn well_formed(format: &str, out: &str, what: &str) {
    match format {
        "table" => {
            let last = out.lines().last().unwrap_or_default();
            assert!(
                last.starts_with("✓ no problems found") || last.starts_with("✗ "),
                "{what}: the verdict is not last: {last:?}"
            );
        }
        "json" | "sarif" => {
            serde_json::from_str::<serde_json::Value>(out)
                .unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
        }
        "junit" => {
            roxmltree::Document::parse(out).unwrap_or_else(|e| panic!("{what}: not XML: {e}"));
        }
        "github" => {
            for line in out.lines() {
                assert!(
                    line.starts_with("::error")
                        || line.starts_with("::warning")
                        || line.starts_with("::notice"),
                    "{what}: not a workflow command: {line:?}"
                );
            }
        }
        other => panic!("no check for {other}"),
    }
}

#[test]
fn check_from_every_bundle_in_every_format() {
    let names = bundles();
    assert!(names.len() >= 20, "only {} bundles", names.len());
    for b in &names {
        let path = format!("fixtures/bundles/{b}.tar.gz");
        for format in ["table", "json", "sarif", "junit", "github"] {
            let (code, out) = doctor(&["check", "--from", &path, "--format", format]);
            let what = format!("{b} as {format}");
            assert!(matches!(code, 0 | 1), "{what}: exit {code}");
            well_formed(format, &out, &what);
            insta::assert_snapshot!(format!("check_from_{b}.{format}"), out);
        }
    }
}

#[test]
fn explain_every_class_and_the_list() {
    let (code, list) = doctor(&["explain"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("explain", list);
    let (code, json) = doctor(&["rules", "list", "--format", "json"]);
    assert_eq!(code, 0);
    let rules: serde_json::Value = serde_json::from_str(&json).expect("rules list json");
    let ids: Vec<&str> = rules
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert!(ids.len() >= 50, "{ids:?}");
    for id in ids {
        assert!(list.contains(id), "explain's list lacks {id}");
        let (code, text) = doctor(&["explain", id]);
        assert_eq!(code, 0, "explain {id}");
        assert!(text.contains(id), "explain {id} does not name it");
        insta::assert_snapshot!(format!("explain_{id}"), text);
    }
}

#[test]
fn rules_list() {
    let (code, table) = doctor(&["rules", "list"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("rules_list", table);
}
