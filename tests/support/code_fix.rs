//! A code fix on a lab stack: `fix --yes --unsafe-fixes` patches the project's own source (the
//! stack's copy in a temp dir, never fixtures/), rebuilds and recreates the service and verifies
//! it; then every service is healthy, the health URL answers 200 (asked inside the network, from
//! the web container itself), the project file holds exactly the expected diff, the backup holds
//! the original bytes, and `restore` brings them back.
//!
//! The lab runs it last on the stack it judged (`[code_fix]` in the stack's scenario.toml: one
//! bring-up per stack); tests/fix_code.rs on stacks of its own.
use super::doctor::Doctor;
use super::lab::{Lab, run_bounded};
use super::scenario::CodeFixSpec;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub fn doctor(lab: &Lab, args: &[&str]) -> (i32, String, String) {
    doctor_with(lab, args, &[])
}

pub fn doctor_with(lab: &Lab, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut doctor = Doctor::new()
        .in_dir(&lab.dir)
        .args(args)
        .args(["-q", "-p", &lab.project])
        .within(Duration::from_secs(900));
    for (key, value) in env {
        doctor = doctor.env(key, value);
    }
    let ran = doctor.run();
    (ran.code, ran.stdout, ran.stderr)
}

/// The changed lines of a unified diff (`-old`, `+new`), headers left out.
pub fn changed(old: &str, new: &str) -> Vec<String> {
    analylit_doctor::fix::diff::unified("f", old, new)
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .map(String::from)
        .collect()
}

/// The path the web service's health check requests.
fn health_path(lab: &Lab) -> String {
    let compose = std::fs::read_to_string(lab.dir.join("docker-compose.yml")).expect("compose");
    let re = regex::Regex::new(r"http://localhost:5001(/[^ ]*)").expect("regex");
    re.captures(&compose).expect("a health URL")[1].to_owned()
}

/// The HTTP status of the health URL, asked from inside web's container (the in-network path:
/// no container address from the host).
pub fn health_status(lab: &Lab) -> String {
    let id = lab.container_of("web");
    let url = format!("http://localhost:5001{}", health_path(lab));
    let out = run_bounded(
        Command::new("docker").args([
            "exec",
            &id,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-m",
            "5",
            "-w",
            "%{http_code}",
            &url,
        ]),
        Duration::from_secs(30),
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn assert_all_healthy(lab: &Lab, id: &str) {
    for (service, v) in lab.services() {
        let status = v.state_field("status");
        let health = v.state_field("health");
        assert_eq!(status, "running", "{id}: {service} is {status}\n{}", v.logs);
        assert!(
            health.is_empty() || health == "healthy",
            "{id}: {service} is {health}\n{}",
            v.logs
        );
    }
}

/// The backup folders, each with its manifest, oldest first.
pub fn backups(lab: &Lab, id: &str) -> Vec<(PathBuf, Value)> {
    let root = lab.dir.join(".analylit-doctor/backups");
    let mut out: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{id}: no backups in {}: {e}", root.display()))
        .flatten()
        .map(|d| {
            let m: Value = serde_json::from_str(
                &std::fs::read_to_string(d.path().join("manifest.json")).expect("manifest"),
            )
            .expect("manifest json");
            (d.path(), m)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The bytes the backup holds for the project file `file`.
pub fn backed_up(dir: &Path, manifest: &Value, file: &Path) -> Option<Vec<u8>> {
    let entry = manifest["entries"].as_array()?.iter().find(|e| {
        e["kind"] == "host-file" && Path::new(e["path"].as_str().unwrap_or_default()) == file
    })?;
    std::fs::read(dir.join(entry["stored"].as_str()?)).ok()
}

fn backup_id(dir: &Path) -> String {
    dir.file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned()
}

/// The code fix the scenario describes, on a stack that shows its fault: fix, check the
/// outcome, restore.
///
/// With `no_rebuild_first`, `fix --no-rebuild` runs first: it stops after the patch (the project
/// file patched and backed up, the running container left as it was, exit 1: not verified), and
/// `restore` undoes it; then the full fix. With `without_compose_cli`, the doctor runs with an
/// empty `PATH` (neither `docker-compose` nor `docker compose`): the Engine API builds the image
/// from the patched context and recreates the container.
pub fn assert_code_fix(lab: &Lab, spec: &CodeFixSpec) {
    let id = &lab.scenario.id;
    let path = lab.dir.join(&spec.file);
    let before = std::fs::read(&path).expect("project file");
    // Whatever an earlier fix step of the lab left (a verified compose fix has its own backup).
    let _ = std::fs::remove_dir_all(lab.dir.join(".analylit-doctor"));
    if spec.no_rebuild_first {
        let web = lab.container_of("web");
        let (code, out, err) = doctor(lab, &["fix", "--yes", "--unsafe-fixes", "--no-rebuild"]);
        assert_eq!(code, 1, "{id}: --no-rebuild is not verified\n{out}\n{err}");
        assert!(
            out.contains("patched, not rebuilt (--no-rebuild)"),
            "{id}: {out}"
        );
        assert_ne!(
            std::fs::read(&path).expect("file"),
            before,
            "{id}: not patched"
        );
        assert_eq!(
            lab.container_of("web"),
            web,
            "{id}: --no-rebuild recreated web"
        );
        let all = backups(lab, id);
        assert_eq!(all[0].1["state"], "applied", "{id}: {}", all[0].1);
        let (code, out, err) = doctor(lab, &["restore", &backup_id(&all[0].0)]);
        assert_eq!(code, 0, "{id}: restore\n{out}\n{err}");
        assert_eq!(std::fs::read(&path).expect("file"), before, "{id}: restore");
        std::fs::remove_dir_all(lab.dir.join(".analylit-doctor")).expect("remove backups");
    }
    let empty = tempfile::tempdir().expect("temp dir");
    let empty_path = empty.path().display().to_string();
    let env: Vec<(&str, &str)> = if spec.without_compose_cli {
        vec![("PATH", empty_path.as_str())]
    } else {
        Vec::new()
    };
    let (code, out, err) = doctor_with(lab, &["fix", "--yes", "--unsafe-fixes"], &env);
    assert_eq!(code, 0, "{id}: fix --yes --unsafe-fixes\n{out}\n{err}");
    assert!(
        out.contains(&format!("{} no longer fires", lab.scenario.class())),
        "{id}: {out}"
    );
    for secret in super::bundle::LAB_SECRETS {
        assert!(
            !out.contains(secret) && !err.contains(secret),
            "{id}: a secret in the fix's output:\n{out}\n{err}"
        );
    }
    let after = std::fs::read_to_string(&path).expect("project file");
    let old = String::from_utf8(before.clone()).expect("utf-8");
    assert_eq!(changed(&old, &after), spec.diff, "{id}: the patch");
    assert_all_healthy(lab, id);
    assert_eq!(health_status(lab), "200", "{id}: the health URL");
    let all = backups(lab, id);
    assert_eq!(all.len(), 1, "{id}: one backup");
    let (dir, manifest) = &all[0];
    assert_eq!(manifest["state"], "verified", "{id}: {manifest}");
    assert_eq!(
        backed_up(dir, manifest, &path).as_deref(),
        Some(&before[..]),
        "{id}: the backup does not hold the original: {manifest}"
    );
    let (code, out, err) = doctor(lab, &["restore", &backup_id(dir)]);
    assert_eq!(code, 0, "{id}: restore\n{out}\n{err}");
    assert_eq!(std::fs::read(&path).expect("file"), before, "{id}: restore");
}
