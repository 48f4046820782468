//! The bundles captured from the lab stacks (`CAPTURE_BUNDLES=1 cargo test --test lab`), with no
//! Docker: every stack has one, none holds a secret, `check --from` names the stack's catalogue
//! id first, and the rule files' own `[[test]]` cases pass (`rules test`).
mod support;

use serde_json::Value;
use std::path::Path;
use support::bundle::{assert_no_secret, bundles_dir, entries, first_cause};
use support::child::Ran;
use support::doctor::Doctor;
use support::scenario::{Scenario, stacks_dir};

/// No engine: a bundle must be diagnosed without one.
fn doctor(args: &[&str], dir: &Path) -> Ran {
    Doctor::new().args(args).in_dir(dir).offline().run()
}

fn stack_ids() -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(stacks_dir())
        .expect("fixtures/stacks")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn every_lab_stack_has_a_bundle() {
    let missing: Vec<String> = stack_ids()
        .into_iter()
        .filter(|id| !bundles_dir().join(format!("{id}.tar.gz")).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "no bundle for {missing:?}: capture them with `CAPTURE_BUNDLES=1 cargo test --test lab`"
    );
}

/// No secret in any byte, and the manifest names where each was (the stack's compose file says
/// which the stack holds).
#[test]
fn no_bundle_holds_a_secret_and_the_manifest_names_them() {
    for id in stack_ids() {
        let path = bundles_dir().join(format!("{id}.tar.gz"));
        if !path.is_file() {
            continue;
        }
        assert_no_secret(&path);
        let manifest: Value = entries(&path)
            .into_iter()
            .find(|(name, _)| name == "manifest.json")
            .map(|(_, bytes)| serde_json::from_slice(&bytes).expect("manifest.json"))
            .unwrap_or_else(|| panic!("{id}: the bundle has no manifest.json"));
        let compose = std::fs::read_to_string(stacks_dir().join(&id).join("docker-compose.yml"))
            .expect("the stack's compose file");
        let redacted: Vec<&str> = manifest["redacted"]
            .as_array()
            .expect("redacted: a list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for name in ["POSTGRES_PASSWORD", "--requirepass"] {
            // A value the compose file sets (an unset `${VAR}` leaves nothing to mask).
            if compose
                .lines()
                .any(|l| l.contains(name) && !l.contains("${"))
            {
                assert!(
                    redacted.contains(&name),
                    "{id}: the manifest does not name {name}: {redacted:?}"
                );
            }
        }
    }
}

/// Offline, each bundle gives its stack's catalogue id on the faulty service first, like the live
/// check that captured it did.
#[test]
fn check_from_names_each_stacks_root_cause() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for id in stack_ids() {
        let path = bundles_dir().join(format!("{id}.tar.gz"));
        if !path.is_file() {
            continue;
        }
        let scenario = Scenario::load(&id);
        let out = doctor(
            &[
                "check",
                "--from",
                path.to_str().expect("utf-8"),
                "--format",
                "json",
            ],
            root,
        );
        let stdout = &out.stdout;
        let report: Value = serde_json::from_str(stdout)
            .unwrap_or_else(|e| panic!("{id}: not JSON ({e}):\n{stdout}\n{}", out.stderr));
        let want = scenario
            .service
            .as_ref()
            .map(|service| (scenario.class().to_owned(), service.clone()));
        let causes = scenario.causes();
        let is_cause = |report: &Value, (class, service): &(String, String)| {
            report["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|f| {
                    f["id"] == class.as_str()
                        && f["service"] == service.as_str()
                        && f["severity"] != "info"
                })
        };
        if scenario.also.is_empty() {
            assert_eq!(first_cause(&report), want, "{id}: check --from\n{stdout}");
        } else {
            // A grouped stack: every cause is reported, the first is one of them.
            let first = first_cause(&report).expect("a cause");
            assert!(causes.contains(&first), "{id}: first {first:?}\n{stdout}");
            for c in &causes {
                assert!(is_cause(&report, c), "{id}: {c:?} not reported\n{stdout}");
            }
        }
        let primary = report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| {
                want.as_ref().is_some_and(|(class, service)| {
                    f["id"] == class.as_str() && f["service"] == service.as_str()
                })
            })
            .cloned()
            .unwrap_or(Value::Null);
        // The probe that confirmed it live is replayed from the bundle, and says so.
        if let Some(kind) = &scenario.confirmed_by {
            let replayed = primary["probes"].as_array().into_iter().flatten().any(|p| {
                p["kind"] == kind.as_str()
                    && p["outcome"] == "confirmed"
                    && p["facts"].as_array().is_some_and(|facts| {
                        facts
                            .iter()
                            .any(|f| f.as_str().is_some_and(|f| f.starts_with("(replayed")))
                    })
            });
            assert!(
                replayed,
                "{id}: the first finding is not confirmed by a replayed `{kind}` probe:\n{stdout}"
            );
        }
        assert_eq!(
            out.code,
            if want.is_some() { 1 } else { 0 },
            "{id}: exit code"
        );
        let captured: Value = entries(&path)
            .into_iter()
            .find(|(name, _)| name == "diagnosis.json")
            .map(|(_, bytes)| serde_json::from_slice(&bytes).expect("diagnosis.json"))
            .unwrap_or_else(|| panic!("{id}: the bundle has no diagnosis.json"));
        if scenario.also.is_empty() {
            assert_eq!(
                first_cause(&captured),
                want,
                "{id}: the diagnosis recorded at capture time"
            );
        } else {
            for c in &causes {
                assert!(
                    is_cause(&captured, c),
                    "{id}: {c:?} not in the recorded diagnosis"
                );
            }
        }
    }
}

/// `check --from` replays the probe results a bundle recorded: a bundle recorded by an older
/// version of a probe than this build's replays stale answers, and must be recaptured
/// (`CAPTURE_BUNDLES=1 cargo test --test lab -- <stack>`). Two ways a bundle goes stale:
/// - a kind it holds results of is at a newer version now;
/// - a rule that finds something in it — in the recorded diagnosis, or in this build's
///   diagnosis of its snapshot — probes with a kind that changed since the capture: replay has
///   no answer of the current probe for it, whether or not the old one answered.
///
/// A bundle's manifest records every kind's version at capture; a bundle written before versions
/// were recorded counts as version 1 of every kind, and a kind its manifest does not list did not
/// exist when it was captured.
#[test]
fn no_bundle_replays_an_older_probe_than_this_builds() {
    let rules = analylit_doctor::rules::load_embedded().expect("the embedded rules load");
    let mut stale = Vec::new();
    let mut checked = 0;
    let mut paths: Vec<_> = std::fs::read_dir(bundles_dir())
        .expect("fixtures/bundles")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bundle = analylit_doctor::bundle::read_file(&path)
            .unwrap_or_else(|e| panic!("{name}: {}", e.reason));
        let manifest = &bundle.manifest;
        // Kind → why it matters to this bundle.
        let mut kinds: std::collections::BTreeMap<String, String> = Default::default();
        for r in &bundle.probes {
            kinds
                .entry(r.result.kind.clone())
                .or_insert_with(|| "it holds results of it".into());
        }
        let mut ids = std::collections::BTreeSet::new();
        if let Some(d) = &bundle.diagnosis {
            rule_ids_in(&d["findings"], &mut ids);
        }
        let now = analylit_doctor::engine::diagnose(&bundle.snapshot, &rules);
        rule_ids_of(&now.findings, &mut ids);
        for id in &ids {
            let Some(rule) = rules.get(id) else { continue };
            for spec in &rule.probes {
                kinds
                    .entry(spec.kind().to_owned())
                    .or_insert_with(|| format!("rule {id} probes with it"));
            }
        }
        for (kind, why) in kinds {
            checked += 1;
            let Some(now) = analylit_doctor::probes::version(&kind) else {
                stale.push(format!(
                    "{name}: a `{kind}` probe this build does not know ({why})"
                ));
                continue;
            };
            let recorded = if manifest.probe_versions.is_empty() {
                Some(1)
            } else {
                manifest.probe_versions.get(&kind).copied()
            };
            match recorded {
                Some(v) if v >= now => {}
                Some(v) => stale.push(format!(
                    "{name}: `{kind}` captured at version {v}, the probe is at {now} ({why})"
                )),
                None => stale.push(format!(
                    "{name}: `{kind}` did not exist when it was captured ({why})"
                )),
            }
        }
    }
    assert!(checked > 0, "no bundle involves a probe");
    assert!(
        stale.is_empty(),
        "bundles to recapture (`CAPTURE_BUNDLES=1 cargo test --test lab -- <stack>`):\n{}",
        stale.join("\n")
    );
}

/// The rule ids of recorded findings (JSON), effects included: a finding's `rule` is its file.
fn rule_ids_in(findings: &Value, ids: &mut std::collections::BTreeSet<String>) {
    for f in findings.as_array().into_iter().flatten() {
        if let Some(rule) = f["rule"].as_str()
            && let Some(stem) = Path::new(rule).file_stem()
        {
            ids.insert(stem.to_string_lossy().into_owned());
        }
        rule_ids_in(&f["effects"], ids);
    }
}

fn rule_ids_of(
    findings: &[analylit_doctor::model::Finding],
    ids: &mut std::collections::BTreeSet<String>,
) {
    for f in findings {
        if let Some(stem) = Path::new(&f.rule).file_stem() {
            ids.insert(stem.to_string_lossy().into_owned());
        }
        rule_ids_of(&f.effects, ids);
    }
}

#[test]
fn a_damaged_bundle_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cut.tar.gz");
    let whole = std::fs::read(bundles_dir().join("healthy.tar.gz")).expect("healthy bundle");
    std::fs::write(&path, &whole[..whole.len() / 2]).expect("write");
    let out = doctor(
        &["check", "--from", path.to_str().expect("utf-8")],
        dir.path(),
    );
    assert_eq!(out.code, 2);
    let stderr = &out.stderr;
    assert!(stderr.contains("cannot read the bundle"), "{stderr}");
    assert!(stderr.contains("analylit-doctor snapshot"), "{stderr}");
}

/// `rules test` is part of the suite: every embedded rule passes a `match` and a `no-match`
/// case of its own file.
#[test]
fn every_rule_passes_its_own_test_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = doctor(&["rules", "test", "--format", "json"], root);
    let outcomes: Vec<Value> = serde_json::from_str(&out.stdout).expect("rules test --format json");
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o["passed"] != true)
        .map(|o| format!("{} {} {}: {}", o["rule"], o["at"], o["expect"], o["detail"]))
        .collect();
    assert!(
        failed.is_empty(),
        "failing rule tests:\n{}",
        failed.join("\n")
    );
    assert_eq!(out.code, 0);
    let rules = analylit_doctor::rules::load_embedded().expect("rules");
    for rule in rules.iter() {
        for expect in ["match", "no-match"] {
            assert!(
                outcomes
                    .iter()
                    .any(|o| o["rule"] == rule.id.as_str() && o["expect"] == expect),
                "{}: no passing `{expect}` case",
                rule.id
            );
        }
    }
}

#[test]
fn a_rule_without_a_negative_case_fails_rules_test() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/redis-noauth.toml"),
    )
    .expect("rule file");
    // Keep the rule and its first test only (a `match` on its bundle, path made absolute).
    let cut = text.find("\n[[test]]").expect("the rule has tests");
    let rest = &text[cut..];
    let second = rest[1..].find("\n[[test]]").map_or(rest.len(), |i| i + 1);
    let first_test = rest[..second].replace(
        "../fixtures/bundles/",
        &format!("{}/", bundles_dir().display()),
    );
    assert!(first_test.contains("expect = \"match\""), "{first_test}");
    std::fs::write(
        dir.path().join("redis-noauth.toml"),
        format!("{}{first_test}", &text[..cut]),
    )
    .expect("write");
    let out = doctor(
        &[
            "rules",
            "test",
            "--rules",
            dir.path().to_str().expect("utf-8"),
        ],
        dir.path(),
    );
    let stdout = &out.stdout;
    assert_eq!(out.code, 1, "{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(
        stdout.contains("no `expect = \"no-match\"` test"),
        "{stdout}"
    );
    assert!(stdout.contains("1 failed"), "{stdout}");
}

/// A bundle is for diagnosing: commands that act on the stack refuse it, whatever they are given.
#[test]
fn commands_that_act_on_the_stack_refuse_a_bundle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let healthy = bundles_dir().join("healthy.tar.gz");
    let healthy = healthy.to_str().expect("utf-8");
    for args in [
        vec!["fix", "--from", healthy],
        vec!["wait", "--from", healthy],
        vec!["check", "--from", healthy, "--fix"],
    ] {
        let out = doctor(&args, dir.path());
        let stderr = &out.stderr;
        assert_eq!(out.code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("needs the live stack"),
            "{args:?}: {stderr}"
        );
    }
}
