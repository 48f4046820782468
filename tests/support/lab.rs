//! The lab runner: bring one stack up, wait (bounded) until its expected state settles, collect
//! what a person would look at with the docker CLI, and tear everything down on drop — volumes and
//! locally built images included — even when the test fails.
//!
//! The lab proves itself with the docker CLI, independently of the doctor's own collector, so a
//! bug in the collector cannot make a broken lab look right.
use super::scenario::{Evidence, Scenario, Settled, Source, stacks_dir};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One stack at a time on this 2-core machine: every lab test takes this lock.
static ONE_STACK: Mutex<()> = Mutex::new(());

/// One stack at a time across test binaries and concurrent `cargo test` runs too: held for the
/// life of a [`Lab`] (and by anything else in the tests that starts containers), released by the
/// kernel when the process dies.
pub struct MachineLock {
    _file: std::fs::File,
    _guard: MutexGuard<'static, ()>,
}

impl MachineLock {
    pub fn take() -> MachineLock {
        let guard = ONE_STACK.lock().unwrap_or_else(|p| p.into_inner());
        let path = std::env::temp_dir().join("analylit-doctor-lab.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        file.lock()
            .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
        MachineLock {
            _file: file,
            _guard: guard,
        }
    }
}

/// Whether a Docker engine answers. Without one a lab test skips — unless `CI` is set, where it
/// fails: CI must never go green by skipping the lab.
pub fn docker_or_skip(test: &str) -> bool {
    let ok = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{test}: no Docker engine answers, and CI requires the Docker tests");
        }
        super::record_skip(test, "no Docker engine answers");
    }
    ok
}

/// Build the lab images when they are missing or stale (cheap when they are up to date), once per
/// test binary, so `cargo test` alone works on a machine that has only a Docker engine.
fn ensure_images() {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let result = BUILT.get_or_init(|| {
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images/build.sh");
        let out = run_bounded(Command::new("bash").arg(&script), Duration::from_secs(1200));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("{} failed ({})", script.display(), out.status))
        }
    });
    if let Err(e) = result {
        panic!("lab images: {e}");
    }
}

/// `docker-compose` (v1) when present, else `docker compose` (v2).
fn compose_program() -> (String, Vec<String>) {
    let v1 = Command::new("docker-compose")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if v1 {
        ("docker-compose".into(), vec![])
    } else {
        ("docker".into(), vec!["compose".into()])
    }
}

/// Run a command with a deadline; kill it when the deadline passes.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    wait_bounded(child, limit)
}

/// Collect a spawned child's output (stdout and stderr piped), killing it after `limit`.
pub fn wait_bounded(mut child: std::process::Child, limit: Duration) -> Output {
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut b).ok();
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut b).ok();
        b
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            let status = child.wait().expect("wait after kill");
            eprintln!("killed after {limit:?}: pid {}", child.id());
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

impl Lab {
    /// The sha256 of `path` in `service`'s container (running or not) and its owner, read with
    /// `docker cp` (the archive endpoint, through the CLI: independent of the doctor).
    pub fn file_sum(&self, service: &str, path: &str) -> String {
        self.file_sum_if_present(service, path)
            .unwrap_or_else(|| panic!("docker cp {service}:{path}: no such file"))
    }

    /// [`Lab::file_sum`], or `None` when the file does not exist.
    pub fn file_sum_if_present(&self, service: &str, path: &str) -> Option<String> {
        let id = self.container_of(service);
        let out = run_bounded(
            Command::new("docker").args(["cp", &format!("{id}:{path}"), "-"]),
            Duration::from_secs(60),
        );
        if !out.status.success() {
            return None;
        }
        let mut archive = tar::Archive::new(&out.stdout[..]);
        let mut entry = archive
            .entries()
            .expect("tar")
            .next()
            .expect("one entry")
            .expect("entry");
        let (uid, gid) = (
            entry.header().uid().unwrap_or(0),
            entry.header().gid().unwrap_or(0),
        );
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).expect("read");
        let sum = analylit_doctor::digest::sha256(&bytes);
        Some(format!("{sum} {uid}:{gid}"))
    }

    /// The names of `service`'s containers (a `container_name:` as much as compose's own).
    pub fn container_names(&self, service: &str) -> Vec<String> {
        let out = run_bounded(
            Command::new("docker").args([
                "ps",
                "-a",
                "--filter",
                &format!("label=com.docker.compose.project={}", self.project),
                "--filter",
                &format!("label=com.docker.compose.service={service}"),
                "--format",
                "{{.Names}}",
            ]),
            Duration::from_secs(30),
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn container_of(&self, service: &str) -> String {
        let out = run_bounded(
            Command::new("docker").args([
                "ps",
                "-aq",
                "--filter",
                &format!("label=com.docker.compose.project={}", self.project),
                "--filter",
                &format!("label=com.docker.compose.service={service}"),
            ]),
            Duration::from_secs(30),
        );
        let id = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        assert!(!id.is_empty(), "no container of {service}");
        id
    }
}

/// What the docker CLI tells about one service's container.
#[derive(Debug, Clone)]
pub struct ServiceView {
    pub service: String,
    pub container_id: String,
    pub inspect: Value,
    pub logs: String,
}

impl ServiceView {
    pub fn state_field(&self, field: &str) -> String {
        let s = &self.inspect["State"];
        let v = match field {
            "status" => s["Status"].clone(),
            "exit_code" => s["ExitCode"].clone(),
            "restarts" => self.inspect["RestartCount"].clone(),
            "health" => s["Health"]["Status"].clone(),
            "oom_killed" => s["OOMKilled"].clone(),
            "error" => s["Error"].clone(),
            other => panic!("unknown state field {other:?}"),
        };
        match v {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    pub fn health_outputs(&self) -> String {
        self.inspect["State"]["Health"]["Log"]
            .as_array()
            .map(|log| {
                log.iter()
                    .filter_map(|r| r["Output"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    fn settled(&self, want: &Settled) -> bool {
        want.health
            .as_ref()
            .is_none_or(|h| self.state_field("health") == *h)
            && want
                .status
                .as_ref()
                .is_none_or(|st| st.contains(&self.state_field("status")))
            && want
                .restarts_at_least
                .is_none_or(|n| self.state_field("restarts").parse::<i64>().unwrap_or(0) >= n)
            && want
                .exit_code
                .is_none_or(|c| self.state_field("exit_code") == c.to_string())
            && want.logs.as_ref().is_none_or(|re| {
                regex::Regex::new(&format!("(?m){re}"))
                    .unwrap_or_else(|e| panic!("settled logs regex {re:?}: {e}"))
                    .is_match(&self.logs)
            })
    }
}

/// A running lab stack. Dropping it tears the stack down with its volumes and built images.
pub struct Lab {
    pub scenario: Scenario,
    pub dir: PathBuf,
    pub project: String,
    /// What `compose up` printed (stdout then stderr).
    pub up_output: String,
    pub settled_after: Duration,
    /// How long `up -d --build` itself took (images built, containers created and started).
    pub up_took: Duration,
    /// When the bring-up began (UTC, RFC 3339): images made since are this stack's.
    up_since: String,
    /// What the docker CLI showed at the moment the stack settled: evidence is judged on this,
    /// since a crash-looping container's state moves on right after.
    pub settled_views: BTreeMap<String, ServiceView>,
    compose: (String, Vec<String>),
    /// The stack's folder is copied here, so a fix that edits the project's files (a compose
    /// file, a script) never touches the repository. Declared after the lock: dropped first.
    _copy: tempfile::TempDir,
    _lock: MachineLock,
}

/// Copy `from` into `to` recursively, keeping permission bits (a script's missing execute bit is
/// part of some stacks).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create copy dir");
    for e in std::fs::read_dir(from).expect("read stack dir").flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy stack file");
        }
    }
}

impl Lab {
    /// Bring the stack `id` up and wait until its scenario's `settled` conditions hold.
    /// Panics (after tearing down) when they do not hold within the bound.
    pub fn up(id: &str) -> Lab {
        Lab::up_with(id, |_| {})
    }

    /// [`Lab::up`], with `prepare` run on the stack's copy before `up` (a second fault laid over
    /// the first).
    pub fn up_with(id: &str, prepare: impl FnOnce(&std::path::Path)) -> Lab {
        let lock = MachineLock::take();
        ensure_images();
        let scenario = Scenario::load(id);
        let copy = tempfile::Builder::new()
            .prefix("analylit-lab-")
            .tempdir()
            .expect("temp dir");
        let dir = copy.path().join(id);
        copy_tree(&stacks_dir().join(id), &dir);
        prepare(&dir);
        let mut lab = Lab {
            scenario,
            project: id.to_string(),
            dir,
            up_output: String::new(),
            settled_after: Duration::ZERO,
            up_took: Duration::ZERO,
            up_since: String::new(),
            settled_views: BTreeMap::new(),
            compose: compose_program(),
            _copy: copy,
            _lock: lock,
        };
        lab.down(); // leftovers from an interrupted run
        let started = Instant::now();
        lab.up_since = analylit_doctor::stack::collect::now_rfc3339();
        for args in lab.scenario.lab.prepare.clone() {
            let out = lab.compose(&args, Duration::from_secs(120));
            assert!(
                out.status.success(),
                "{id}: prepare step {args:?} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let out = lab.compose(&["up", "-d", "--build"], Duration::from_secs(240));
        lab.up_took = started.elapsed();
        lab.up_output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for args in lab.scenario.lab.after_up.clone() {
            let out = lab.compose(&args, Duration::from_secs(120));
            assert!(
                out.status.success(),
                "{id}: after_up step {args:?} failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        lab.wait_settled(started);
        lab
    }

    fn compose<S: AsRef<str>>(&self, args: &[S], limit: Duration) -> Output {
        let (prog, pre) = &self.compose;
        let mut cmd = Command::new(prog);
        cmd.args(pre)
            .args(["-p", &self.project])
            .args(args.iter().map(|a| a.as_ref()))
            .current_dir(&self.dir)
            .env("COMPOSE_DOCKER_CLI_BUILD", "0")
            .env("DOCKER_BUILDKIT", "0");
        run_bounded(&mut cmd, limit)
    }

    /// The doctor's helper containers for this project (its fixes remove them; a leftover is a
    /// bug, but must not leak out of the test run either).
    /// Volumes no container uses: the doctor's relays must not leave any behind (a database
    /// image declares `VOLUME`s, which every container made from it gets).
    pub fn dangling_volumes() -> Vec<String> {
        let out = run_bounded(
            Command::new("docker").args(["volume", "ls", "-q", "--filter", "dangling=true"]),
            Duration::from_secs(30),
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect()
    }

    pub fn helper_containers(&self) -> Vec<String> {
        let out = run_bounded(
            Command::new("docker").args([
                "ps",
                "-aq",
                "--filter",
                &format!("label=analylit-doctor.project={}", self.project),
            ]),
            Duration::from_secs(30),
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(String::from)
            .collect()
    }

    /// Removes the images a rebuild left untagged during this bring-up (a fix rebuilds a
    /// service's image and the first one loses its name, which `down --rmi local` no longer
    /// sees): dangling images created since the stack came up, while this test held the machine
    /// lock, so no other test's. Never a tagged image.
    fn remove_untagged_images(&self) {
        let out = run_bounded(
            Command::new("docker").args(["images", "-q", "--no-trunc", "-f", "dangling=true"]),
            Duration::from_secs(30),
        );
        let dangling: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        if dangling.is_empty() {
            return;
        }
        let out = run_bounded(
            Command::new("docker")
                .args(["image", "inspect", "--format", "{{.Id}} {{.Created}}"])
                .args(&dangling),
            Duration::from_secs(30),
        );
        // RFC 3339 stamps in UTC compare as text, to the second.
        let since = &self.up_since[..self.up_since.len().min(19)];
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some((id, created)) = line.split_once(' ') else {
                continue;
            };
            if created.get(..19).is_some_and(|c| c >= since) {
                run_bounded(
                    Command::new("docker").args(["rmi", id]),
                    Duration::from_secs(60),
                );
            }
        }
    }

    fn down(&self) {
        for id in self.helper_containers() {
            run_bounded(
                Command::new("docker").args(["rm", "-f", &id]),
                Duration::from_secs(30),
            );
        }
        let out = self.compose(
            &[
                "down",
                "-v",
                "--rmi",
                "local",
                "--remove-orphans",
                // The stack is thrown away: no grace period to wait out (a shell as PID 1
                // ignores SIGTERM).
                "-t",
                "0",
            ],
            Duration::from_secs(120),
        );
        if !out.status.success() {
            eprintln!(
                "{}: compose down failed:\n{}",
                self.project,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn wait_settled(&mut self, started: Instant) {
        let limit = Duration::from_secs(self.scenario.lab.settle_timeout_secs.min(120));
        let deadline = Instant::now() + limit;
        let mut polls = 0;
        loop {
            polls += 1;
            let views = self.services();
            let pending: Vec<&Settled> = self
                .scenario
                .lab
                .settled
                .iter()
                .filter(|want| !views.get(&want.service).is_some_and(|v| v.settled(want)))
                .collect();
            if pending.is_empty() {
                self.settled_after = started.elapsed();
                self.settled_views = views;
                eprintln!(
                    "{}: settled after {:.1}s ({polls} polls; `up -d --build` took {:.1}s)",
                    self.project,
                    self.settled_after.as_secs_f64(),
                    self.up_took.as_secs_f64()
                );
                return;
            }
            if Instant::now() > deadline || polls > 400 {
                let states: Vec<String> = views
                    .values()
                    .map(|v| {
                        format!(
                            "{} status={} health={} exit={} restarts={}\n--- logs ---\n{}",
                            v.service,
                            v.state_field("status"),
                            v.state_field("health"),
                            v.state_field("exit_code"),
                            v.state_field("restarts"),
                            tail(&v.logs, 30)
                        )
                    })
                    .collect();
                panic!(
                    "{}: not settled within {limit:?}; still waiting for {pending:?}\ncompose up said:\n{}\n{}",
                    self.project,
                    self.up_output,
                    states.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The project's containers by service, read through the docker CLI.
    pub fn services(&self) -> BTreeMap<String, ServiceView> {
        let label = format!("label=com.docker.compose.project={}", self.project);
        let ps = run_bounded(
            Command::new("docker").args(["ps", "-aq", "--no-trunc", "--filter", &label]),
            Duration::from_secs(30),
        );
        let ids: Vec<String> = String::from_utf8_lossy(&ps.stdout)
            .split_whitespace()
            .map(String::from)
            .collect();
        let mut out = BTreeMap::new();
        if ids.is_empty() {
            return out;
        }
        let inspect = run_bounded(
            Command::new("docker").arg("inspect").args(&ids),
            Duration::from_secs(30),
        );
        let all: Value = serde_json::from_slice(&inspect.stdout).unwrap_or(Value::Null);
        for c in all.as_array().into_iter().flatten() {
            let Some(service) = c["Config"]["Labels"]["com.docker.compose.service"].as_str() else {
                continue;
            };
            let id = c["Id"].as_str().unwrap_or_default().to_string();
            let logs = run_bounded(
                Command::new("docker").args(["logs", "--tail", "2000", &id]),
                Duration::from_secs(30),
            );
            let logs = format!(
                "{}{}",
                String::from_utf8_lossy(&logs.stdout),
                String::from_utf8_lossy(&logs.stderr)
            );
            out.insert(
                service.to_string(),
                ServiceView {
                    service: service.to_string(),
                    container_id: id,
                    inspect: c.clone(),
                    logs,
                },
            );
        }
        out
    }

    /// Assert that every piece of the scenario's decisive evidence really appears.
    pub fn assert_evidence(&self) {
        let mut missing = Vec::new();
        for ev in &self.scenario.evidence {
            if let Err(why) = self.check_evidence(&self.settled_views, ev) {
                missing.push(why);
            }
        }
        assert!(
            missing.is_empty(),
            "{}: scenario evidence missing:\n  {}",
            self.project,
            missing.join("\n  ")
        );
    }

    fn check_evidence(
        &self,
        views: &BTreeMap<String, ServiceView>,
        ev: &Evidence,
    ) -> Result<(), String> {
        let re =
            Regex::new(&ev.pattern).map_err(|e| format!("bad pattern {:?}: {e}", ev.pattern))?;
        let haystack = match ev.source {
            Source::Cli => self.up_output.clone(),
            _ => {
                let v = views
                    .get(&ev.service)
                    .ok_or_else(|| format!("no container for service {}", ev.service))?;
                match ev.source {
                    Source::Logs => v.logs.clone(),
                    Source::Health => v.health_outputs(),
                    Source::State => v.state_field(ev.field.as_deref().unwrap_or("status")),
                    Source::Cli => unreachable!(),
                }
            }
        };
        let n = haystack.lines().filter(|l| re.is_match(l)).count();
        if n >= ev.at_least {
            Ok(())
        } else {
            Err(format!(
                "{} {:?}{}: /{}/ matched {n} line(s), want ≥ {}; last lines:\n{}",
                ev.service,
                ev.source,
                ev.field
                    .as_deref()
                    .map(|f| format!(".{f}"))
                    .unwrap_or_default(),
                ev.pattern,
                ev.at_least,
                tail(&haystack, 15)
            ))
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.down();
        self.remove_untagged_images();
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
