//! No secret in any output, with no Docker: every lab bundle (and the stack whose only copy of
//! a password is its health check, `fixtures/secrets/`) through every command that reads it, in
//! every format, and every lab stack's project on disk through `preflight` (its report, and its
//! plans and diffs with `--fix --dry-run`). The secrets each stack holds are read from its compose
//! file and `.env` here, independently of the tool's redactor: a value whose key says secret, a
//! `--requirepass` / `-a` / `-u user:pw` argument, a URL's password.
mod support;

use support::doctor::Doctor;

use std::path::{Path, PathBuf};
use support::bundle::{LAB_SECRETS, bundles_dir, entries};

const FORMATS: [&str; 7] = [
    "table", "json", "junit", "github", "sarif", "html", "markdown",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The password of `fixtures/secrets/healthcheck-only`, written nowhere but its health check.
const HEALTHCHECK_ONLY: &str = "Hc-Only-Secret-3d7e";

/// The secrets a stack's compose file and `.env` hold, read without the tool.
fn stack_secrets(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = LAB_SECRETS.iter().map(|s| s.to_string()).collect();
    let secret_key = |k: &str| {
        let k = k.to_ascii_lowercase();
        ["pass", "secret", "token", "api_key", "apikey"]
            .iter()
            .any(|w| k.contains(w))
    };
    for file in ["docker-compose.yml", ".env"] {
        let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim().trim_start_matches("- ");
            if line.starts_with('#') {
                continue;
            }
            for sep in [": ", "="] {
                if let Some((k, v)) = line.split_once(sep)
                    && secret_key(k)
                    && !k.contains(' ')
                {
                    let v = v.trim().trim_matches(['"', '\'']);
                    if !v.is_empty() && !v.starts_with('$') {
                        out.push(v.to_owned());
                    }
                }
            }
            let words: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || matches!(c, '"' | ',' | '[' | ']'))
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                if matches!(pair[0], "--requirepass" | "-a" | "--password") {
                    out.push(pair[1].to_owned());
                }
                if pair[0] == "-u"
                    && !pair[1].contains("://")
                    && let Some((_, pw)) = pair[1].split_once(':')
                {
                    out.push(pw.to_owned());
                }
            }
            for (i, _) in line.match_indices("://") {
                let rest = &line[i + 3..];
                let authority = rest.split(['/', ' ', '"']).next().unwrap_or_default();
                if let Some((userinfo, _)) = authority.rsplit_once('@')
                    && let Some((_, pw)) = userinfo.split_once(':')
                    && !pw.is_empty()
                {
                    out.push(pw.to_owned());
                }
            }
        }
    }
    out.retain(|s| s.len() >= 4 && s != "***");
    out.sort();
    out.dedup();
    out
}

fn doctor(args: &[&str]) -> (i32, String) {
    let ran = Doctor::new()
        .args(args)
        .in_dir(root())
        .offline()
        .env("CI", "true")
        .run();
    (ran.code, format!("{}{}", ran.stdout, ran.stderr))
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{what}: the secret {s:?} is in the output:\n{text}"
        );
    }
}

/// Every bundle, with the folder its stack's files are in.
fn bundles() -> Vec<(PathBuf, PathBuf)> {
    let mut out: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(bundles_dir())
        .expect("fixtures/bundles")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .map(|p| {
            let id = p
                .file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".tar.gz")
                .to_owned();
            (p, root().join("fixtures/stacks").join(id))
        })
        .collect();
    out.push((
        root().join("fixtures/secrets/healthcheck-only.tar.gz"),
        root().join("fixtures/secrets/healthcheck-only"),
    ));
    out.sort();
    out
}

/// Run `jobs` on two threads (the machine has two cores), each job's failure message kept.
fn in_parallel<T: Sync>(jobs: &[T], run: impl Fn(&T) -> Result<(), String> + Sync) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(job) = jobs.get(i) else { break };
                    if let Err(e) =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(job)))
                            .unwrap_or_else(|p| {
                                Err(p
                                    .downcast_ref::<String>()
                                    .cloned()
                                    .unwrap_or_else(|| "panicked".into()))
                            })
                    {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_stacks_secrets_are_read_from_their_files() {
    let redis = stack_secrets(&root().join("fixtures/stacks/redis-noauth"));
    assert!(
        redis.iter().any(|s| s == "Lab-Redis-Secret-5e1d"),
        "{redis:?}"
    );
    let only = stack_secrets(&root().join("fixtures/secrets/healthcheck-only"));
    assert!(only.iter().any(|s| s == HEALTHCHECK_ONLY), "{only:?}");
}

/// The health-check-only bundle was captured from a real stack by the tool, and it is the
/// check that makes the report: the secret must have had a way to leak.
#[test]
fn the_health_check_only_bundle_quotes_its_check() {
    let path = root().join("fixtures/secrets/healthcheck-only.tar.gz");
    let all = entries(&path);
    let snapshot = &all
        .iter()
        .find(|(n, _)| n == "snapshot.json")
        .expect("snapshot.json")
        .1;
    let text = String::from_utf8_lossy(snapshot);
    assert!(
        text.contains("redis-cli --no-auth-warning -a *** -p 6380"),
        "{text}"
    );
    let (code, out) = doctor(&[
        "check",
        "--from",
        path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("\"healthcheck-port-mismatch\""), "{out}");
}

#[test]
fn no_bundle_and_no_command_reading_one_shows_a_secret() {
    let mut jobs = Vec::new();
    for (bundle, stack) in bundles() {
        for format in FORMATS {
            jobs.push((bundle.clone(), stack.clone(), format));
        }
    }
    let out_dir = tempfile::tempdir().expect("tempdir");
    in_parallel(&jobs, |(bundle, stack, format)| {
        let secrets = {
            let mut s = stack_secrets(stack);
            s.push(HEALTHCHECK_ONLY.to_owned());
            s
        };
        let name = bundle.display().to_string();
        if *format == "table" {
            for (entry, bytes) in entries(bundle) {
                assert_clean(
                    &format!("{name}: {entry}"),
                    &String::from_utf8_lossy(&bytes),
                    &secrets,
                );
            }
        }
        let (code, out) = doctor(&["check", "--from", &name, "--format", format]);
        if code == 2 {
            return Err(format!("{name} --format {format}: exit 2\n{out}"));
        }
        assert_clean(
            &format!("check --from {name} --format {format}"),
            &out,
            &secrets,
        );
        // The same report written to a file (the table goes to the terminal): once per bundle,
        // in the format that holds the most (the page draws on the snapshot too).
        if *format != "html" {
            return Ok(());
        }
        let file = out_dir.path().join(format!(
            "{}.{format}",
            bundle.file_name().unwrap().to_string_lossy()
        ));
        let (_, table) = doctor(&[
            "check",
            "--from",
            &name,
            "--format",
            format,
            "--output",
            file.to_str().unwrap(),
        ]);
        assert_clean(&format!("{name} --output (table)"), &table, &secrets);
        let written = std::fs::read_to_string(&file).map_err(|e| format!("{name}: {e}"))?;
        assert_clean(&format!("{name} --output {format}"), &written, &secrets);
        Ok(())
    });
}

/// `preflight` reads the project on disk, secrets and all: its reports, plans and diffs (the
/// compose hunk a `depends_on` fix shows holds the `DATABASE_URL` line) show none.
#[test]
fn preflight_shows_no_secret_of_any_lab_stack() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/stacks"))
        .expect("fixtures/stacks")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.push(root().join("fixtures/secrets/healthcheck-only"));
    dirs.sort();
    let mut jobs = Vec::new();
    for dir in &dirs {
        // The bundles above take every format through every printer; here, what preflight adds:
        // its own input (the files), a report of each kind, and the plans with their diffs.
        for format in ["table", "json", "html", "fix"] {
            jobs.push((dir.clone(), format));
        }
    }
    let diffs_seen = std::sync::atomic::AtomicUsize::new(0);
    in_parallel(&jobs, |(dir, format)| {
        let secrets = stack_secrets(dir);
        let compose = dir.join("docker-compose.yml");
        let compose = compose.to_str().unwrap();
        let args: Vec<&str> = if *format == "fix" {
            vec![
                "preflight",
                "--offline",
                "-f",
                compose,
                "--fix",
                "--dry-run",
            ]
        } else {
            vec!["preflight", "--offline", "-f", compose, "--format", format]
        };
        let (code, out) = doctor(&args);
        if code == 2 {
            return Err(format!("{args:?}: exit 2\n{out}"));
        }
        if out.contains("\n+") || out.contains("@@") {
            diffs_seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        assert_clean(&format!("{args:?}"), &out, &secrets);
        Ok(())
    });
    assert!(
        diffs_seen.into_inner() > 0,
        "no preflight --fix --dry-run showed a diff: the plans were not scanned"
    );
}
