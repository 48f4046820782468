//! `fix --yes --unsafe-fixes` on the lab's seven code-failure stacks: the doctor patches the
//! project's own source (the stack's copy in a temp dir, never fixtures/), rebuilds and recreates
//! the service, verifies it; then every service is healthy, the health URL answers 200 (asked
//! inside the network, from the web container itself), the project file holds exactly the
//! expected diff, the backup holds the original bytes, and `restore` brings them back. One stack
//! starts with two code faults and is fixed in two rounds.
//!
//! One bring-up per stack, under the machine lock (tests/support/lab.rs); run with
//! `cargo test --locked --test fix_code -- --test-threads 1`.
mod support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::lab::{Lab, docker_or_skip, run_bounded};

fn doctor(lab: &Lab, args: &[&str]) -> (i32, String, String) {
    doctor_with(lab, args, &[])
}

fn doctor_with(lab: &Lab, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_analylit-doctor"))
            .args(args)
            .envs(env.iter().copied())
            .args(["-q", "-p", &lab.project])
            .current_dir(&lab.dir)
            .stdin(std::process::Stdio::null()),
        Duration::from_secs(900),
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The changed lines of a unified diff (`-old`, `+new`), headers left out.
fn changed(old: &str, new: &str) -> Vec<String> {
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
fn health_status(lab: &Lab) -> String {
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

fn assert_all_healthy(lab: &Lab, id: &str) {
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

/// The one backup folder, its manifest.
fn backup(lab: &Lab, id: &str) -> Vec<(std::path::PathBuf, Value)> {
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
fn backed_up(dir: &Path, manifest: &Value, file: &Path) -> Option<Vec<u8>> {
    let entry = manifest["entries"].as_array()?.iter().find(|e| {
        e["kind"] == "host-file" && Path::new(e["path"].as_str().unwrap_or_default()) == file
    })?;
    std::fs::read(dir.join(entry["stored"].as_str()?)).ok()
}

/// One stack: fix, check the outcome, restore.
fn fix_code(id: &str, file: &str, diff: &[&str]) {
    fix_code_with(id, file, diff, &[], false);
}

/// With `no_rebuild_first`, `fix --no-rebuild` runs first: it stops after the patch (the project
/// file patched and backed up, the running container left as it was, exit 1: not verified), and
/// `restore` undoes it; then the full fix.
fn fix_code_with(
    id: &str,
    file: &str,
    diff: &[&str],
    env: &[(&str, &str)],
    no_rebuild_first: bool,
) {
    if !docker_or_skip(id) {
        return;
    }
    let lab = Lab::up(id);
    let path = lab.dir.join(file);
    let before = std::fs::read(&path).expect("project file");
    if no_rebuild_first {
        let web = lab.container_of("web");
        let (code, out, err) = doctor(&lab, &["fix", "--yes", "--unsafe-fixes", "--no-rebuild"]);
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
        let backups = backup(&lab, id);
        assert_eq!(backups[0].1["state"], "applied", "{id}: {}", backups[0].1);
        let backup_id = backups[0]
            .0
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let (code, out, err) = doctor(&lab, &["restore", &backup_id]);
        assert_eq!(code, 0, "{id}: restore\n{out}\n{err}");
        assert_eq!(std::fs::read(&path).expect("file"), before, "{id}: restore");
        std::fs::remove_dir_all(lab.dir.join(".analylit-doctor")).expect("remove backups");
    }
    let (code, out, err) = doctor_with(&lab, &["fix", "--yes", "--unsafe-fixes"], env);
    assert_eq!(code, 0, "{id}: fix --yes --unsafe-fixes\n{out}\n{err}");
    assert!(
        out.contains(&format!("{id} no longer fires")),
        "{id}: {out}"
    );
    assert!(
        !out.contains("Lab-Pg-Secret") && !err.contains("Lab-Pg-Secret"),
        "{id}: a secret in the fix's output:\n{out}\n{err}"
    );
    let after = std::fs::read_to_string(&path).expect("project file");
    let old = String::from_utf8(before.clone()).expect("utf-8");
    assert_eq!(changed(&old, &after), diff, "{id}: the patch");
    assert_all_healthy(&lab, id);
    assert_eq!(health_status(&lab), "200", "{id}: the health URL");
    let backups = backup(&lab, id);
    assert_eq!(backups.len(), 1, "{id}: one backup");
    let (dir, manifest) = &backups[0];
    assert_eq!(manifest["state"], "verified", "{id}: {manifest}");
    assert_eq!(
        backed_up(dir, manifest, &path).as_deref(),
        Some(&before[..]),
        "{id}: the backup does not hold the original: {manifest}"
    );
    let backup_id = dir
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let (code, out, err) = doctor(&lab, &["restore", &backup_id]);
    assert_eq!(code, 0, "{id}: restore\n{out}\n{err}");
    assert_eq!(std::fs::read(&path).expect("file"), before, "{id}: restore");
}

#[test]
fn name_not_defined() {
    fix_code(
        "name-not-defined",
        "app/server_v4_complete.py",
        &[
            "-from utils.database import Session, has_default_data, seed_default_data",
            "+from utils.database import Session, has_default_data, init_db, seed_default_data",
        ],
    );
}

#[test]
fn import_name_missing() {
    fix_code(
        "import-name-missing",
        "app/utils/database.py",
        &["+Session = ScopedSession"],
    );
}

#[test]
fn route_not_decorated() {
    fix_code(
        "route-not-decorated",
        "app/api/health.py",
        &["+@health_bp.route(\"/health\")"],
    );
}

#[test]
fn blueprint_prefix_mismatch() {
    fix_code(
        "blueprint-prefix-mismatch",
        "app/api/settings.py",
        &[
            "-@settings_bp.route(\"/api/settings/profiles\")",
            "+@settings_bp.route(\"/settings/profiles\")",
        ],
    );
}

#[test]
fn gunicorn_worker_reinit() {
    fix_code(
        "gunicorn-worker-reinit",
        "app/server_v4_complete.py",
        &["-        app_globals.initialize_app()"],
    );
}

#[test]
fn engine_used_before_init() {
    fix_code(
        "engine-used-before-init",
        "app/api/settings.py",
        &[
            "-from utils.database import engine",
            "+from utils.database import get_engine",
            "-    with engine.begin() as conn:",
            "+    with get_engine().begin() as conn:",
        ],
    );
}

/// Also `--no-rebuild` first, then the full fix.
#[test]
fn wsgi_app_not_found() {
    fix_code_with(
        "wsgi-app-not-found",
        "app/entrypoint.sh",
        &[
            "-exec gunicorn -w 3 -b 0.0.0.0:5001 --access-logfile - server_v4_complete:application",
            "+exec gunicorn -w 3 -b 0.0.0.0:5001 --access-logfile - server_v4_complete:app",
        ],
        &[],
        true,
    );
}

/// With no compose CLI on the PATH (neither `docker-compose` nor `docker compose`), the Engine
/// API builds the image from the patched context and recreates the container.
#[test]
fn without_a_compose_cli_the_engine_rebuilds() {
    let empty = tempfile::tempdir().expect("temp dir");
    let path = empty.path().display().to_string();
    fix_code_with(
        "route-not-decorated",
        "app/api/health.py",
        &["+@health_bp.route(\"/health\")"],
        &[("PATH", &path)],
        false,
    );
}

/// name-not-defined with blueprint-prefix-mismatch's settings.py laid over it: the import fails
/// first, so the prefix only shows once the app imports. Two rounds, two backups.
#[test]
fn two_faults_in_two_rounds() {
    let id = "name-not-defined";
    if !docker_or_skip(id) {
        return;
    }
    let second =
        support::scenario::stacks_dir().join("blueprint-prefix-mismatch/app/api/settings.py");
    let lab = Lab::up_with(id, |dir| {
        std::fs::create_dir_all(dir.join("app/api")).expect("dir");
        std::fs::copy(&second, dir.join("app/api/settings.py")).expect("copy");
    });
    let server = lab.dir.join("app/server_v4_complete.py");
    let settings = lab.dir.join("app/api/settings.py");
    let (server_before, settings_before) = (
        std::fs::read(&server).expect("file"),
        std::fs::read(&settings).expect("file"),
    );
    let (code, out, err) = doctor(&lab, &["fix", "--yes", "--unsafe-fixes"]);
    assert_eq!(code, 0, "two faults: fix\n{out}\n{err}");
    let round2 = out
        .find("Round 2")
        .unwrap_or_else(|| panic!("no second round:\n{out}"));
    assert!(
        out[..round2].contains("name-not-defined no longer fires"),
        "round 1 fixes the import:\n{out}"
    );
    assert!(
        out[round2..].contains("blueprint-prefix-mismatch no longer fires"),
        "round 2 fixes the prefix:\n{out}"
    );
    assert_ne!(std::fs::read(&server).expect("file"), server_before);
    assert_ne!(std::fs::read(&settings).expect("file"), settings_before);
    assert_all_healthy(&lab, id);
    assert_eq!(health_status(&lab), "200", "two faults: the health URL");
    let backups = backup(&lab, id);
    assert_eq!(backups.len(), 2, "two faults: one backup per round");
    assert_eq!(
        backed_up(&backups[0].0, &backups[0].1, &server).as_deref(),
        Some(&server_before[..])
    );
    assert_eq!(
        backed_up(&backups[1].0, &backups[1].1, &settings).as_deref(),
        Some(&settings_before[..])
    );
}
