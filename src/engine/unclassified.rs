//! When no rule explains a failing service, the doctor still owes an answer: the service's
//! state, the last Python exception with its file:line, the last gunicorn `Reason:` line, the
//! last FATAL line, and how its gunicorn workers died — the lines a person would scroll for.
//!
//! A service can fail without its container ever stopping: gunicorn's master stays up and
//! replaces every worker that dies, so the state says `running` while nothing serves. The
//! master's own lines are the only trace (`Worker (pid:9) was sent SIGSEGV!` in gunicorn 21+,
//! `Worker with pid 9 was terminated due to signal 11` in 20.x): [`worker_deaths`] counts them,
//! and such a service is failing like one that exits.
use crate::model::Evidence;
use crate::stack::snapshot::{ContainerSnapshot, LogLine};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

pub const ID: &str = "unclassified-failure";

static EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt|error|Warning)(?::\s.*)?$")
        .expect("exception pattern")
});
/// Any exception's line (`celery.exceptions.NotRegistered: 'tasks.ping'`), told apart from other
/// text by where it stands: right after a traceback's indented lines.
static RAISED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?::\s.*)?$").expect("raised pattern")
});
static FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*File "([^"]+)", line (\d+)"#).expect("frame pattern"));
static LAST_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Reason: .*|\bFATAL\b.*|\bPANIC\b.*|\[CRITICAL\].*").expect("last-words pattern")
});
/// gunicorn's master on a worker that ended: 21+ `Worker (pid:9) was sent SIGSEGV!` (`code 132`
/// when the signal number has no name: a core dump adds 128) or `… exited with code 1`; 20.x
/// `Worker with pid 9 was terminated due to signal 11`.
static WORKER_DEATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"Worker \(pid:(?P<pid>\d+)\) (?:was sent (?:(?P<name>SIG[A-Z0-9]+)|code (?P<code>\d+))!",
        r"|exited with code (?P<exit>\d+))",
        r"|Worker with pid (?P<pid20>\d+) was terminated due to signal (?P<num>\d+)",
    ))
    .expect("worker death pattern")
});
/// The master starting, or beginning an orderly stop (after which its workers end on purpose).
static MASTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<start>Starting gunicorn \d)|(?P<stop>Handling signal: (?:term|int|quit))")
        .expect("master pattern")
});
/// gunicorn's master gave up (`HaltServer`): the container exits with that code.
static HALTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[INFO\] Reason: (?:Worker failed to boot|App failed to load)").expect("halt")
});

/// Signals that end a worker on purpose (a stop, a reload, a scale-down), not a crash.
const ORDERLY: [&str; 7] = [
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH",
];

/// The name of signal `n` (Linux numbering), for the common ones.
fn signal_name(n: u32) -> Option<&'static str> {
    Some(match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        28 => "SIGWINCH",
        31 => "SIGSYS",
        _ => return None,
    })
}

/// How the workers of a gunicorn master died, outside orderly stops.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerDeaths<'a> {
    /// Workers that died (distinct pids).
    pub count: usize,
    /// How they died (`SIGSEGV`, `SIGILL, core dumped`, `exit code 1`) → how many.
    pub how: BTreeMap<String, usize>,
    /// The most recent death line.
    pub last: &'a LogLine,
}

impl WorkerDeaths<'_> {
    /// `3 gunicorn workers died (SIGILL, core dumped ×3)`.
    pub fn describe(&self) -> String {
        let how: Vec<String> = self
            .how
            .iter()
            .map(|(h, n)| {
                if *n > 1 {
                    format!("{h} ×{n}")
                } else {
                    h.clone()
                }
            })
            .collect();
        let workers = if self.count == 1 { "worker" } else { "workers" };
        format!(
            "{} gunicorn {workers} died ({})",
            self.count,
            how.join("; ")
        )
    }
}

/// The deaths of `c`'s gunicorn workers that were no orderly stop, if any.
pub fn worker_deaths(c: &ContainerSnapshot) -> Option<WorkerDeaths<'_>> {
    let mut stopping = false;
    let mut pids = BTreeSet::new();
    let mut how: BTreeMap<String, usize> = BTreeMap::new();
    let mut last = None;
    for l in &c.logs.lines {
        // Cheap filter first: this runs for every ranking and chaining question.
        if !l.text.contains("orker") && !l.text.contains("gunicorn") && !l.text.contains("signal") {
            continue;
        }
        if let Some(m) = MASTER.captures(&l.text) {
            stopping = m.name("stop").is_some();
            continue;
        }
        let Some(d) = WORKER_DEATH.captures(&l.text) else {
            continue;
        };
        if stopping {
            continue;
        }
        let what = if let Some(name) = d.name("name") {
            name.as_str().to_owned()
        } else if let Some(code) = d.name("code").and_then(|m| m.as_str().parse::<u32>().ok()) {
            // A status whose signal has no name in Python: 128 + n is signal n with a core dump.
            match code.checked_sub(128).and_then(signal_name) {
                Some(name) => format!("{name}, core dumped"),
                None => format!("code {code}"),
            }
        } else if let Some(exit) = d.name("exit") {
            format!("exit code {}", exit.as_str())
        } else if let Some(num) = d.name("num").and_then(|m| m.as_str().parse::<u32>().ok()) {
            signal_name(num).map_or_else(|| format!("signal {num}"), str::to_owned)
        } else {
            continue;
        };
        if ORDERLY.contains(&what.as_str()) {
            continue;
        }
        let pid = d.name("pid").or(d.name("pid20")).map_or("", |m| m.as_str());
        // gunicorn 23 says `exited with code 1` twice per worker: count each worker once.
        if pids.insert(pid.to_owned()) {
            *how.entry(what).or_default() += 1;
        }
        last = Some(l);
    }
    Some(WorkerDeaths {
        count: pids.len(),
        how,
        last: last?,
    })
}

/// Whether a container is failing: unhealthy, restarting, exited non-zero, dead, or running while
/// its gunicorn workers die. Known only from pasted logs, a gunicorn master that gave up
/// (`Reason: Worker failed to boot.`) has exited too.
pub fn is_failing(c: &ContainerSnapshot) -> bool {
    let unhealthy = c.health.as_ref().is_some_and(|h| h.status == "unhealthy");
    let crashed = matches!(c.state.status.as_str(), "exited" | "dead") && c.state.exit_code != 0;
    let halted = c.state.status == crate::stack::paste::UNKNOWN_STATUS
        && c.logs.lines.iter().any(|l| HALTED.is_match(&l.text));
    unhealthy
        || crashed
        || c.state.restarting
        || c.state.status == "restarting"
        || halted
        || worker_deaths(c).is_some()
}

/// The decisive lines of a failing container, most telling first, and a one-line summary.
pub fn evidence(c: &ContainerSnapshot) -> (String, Vec<Evidence>) {
    let lines = &c.logs.lines;
    // Exceptions the app logged as handled (at INFO, or "ignored") are not why it fails.
    let handled = super::handled::logged_as_handled(lines);
    let mut out = Vec::new();
    let mut cause = None;

    let is_exception = |i: usize| {
        let text = lines[i].text.trim_end();
        EXCEPTION.is_match(text)
            || (RAISED.is_match(text)
                && i > 0
                && lines[i - 1].text.starts_with(char::is_whitespace)
                && lines[i.saturating_sub(40)..i]
                    .iter()
                    .any(|l| FRAME.is_match(&l.text)))
    };
    if let Some(i) = (0..lines.len()).rposition(|i| !handled[i] && is_exception(i)) {
        let exc = &lines[i];
        // The innermost frame in the application's own code says more than one inside a
        // library (where the exception is usually raised); the innermost one otherwise.
        let frames: Vec<&LogLine> = lines[i.saturating_sub(200)..i]
            .iter()
            .rev()
            .take_while(|l| !l.text.starts_with("Traceback (most recent call last)"))
            .filter(|l| FRAME.is_match(&l.text))
            .collect();
        let library = |l: &&LogLine| {
            [
                "site-packages/",
                "dist-packages/",
                "/lib/python3",
                "<frozen ",
            ]
            .iter()
            .any(|p| l.text.contains(p))
        };
        let frame = frames
            .iter()
            .find(|l| !library(l))
            .or(frames.first())
            .copied();
        let at = frame
            .and_then(|l| FRAME.captures(&l.text))
            .map(|caps| format!("{}:{}", &caps[1], &caps[2]));
        cause = Some(match &at {
            Some(at) => format!("{} (at {at})", exc.text.trim()),
            None => exc.text.trim().to_string(),
        });
        out.push(log(c, exc, 1));
        if let Some(frame_line) = frame {
            out.push(log(c, frame_line, 1));
        }
    }
    if let Some(l) = lines.iter().rev().find(|l| LAST_WORDS.is_match(&l.text)) {
        cause.get_or_insert_with(|| l.text.trim().to_string());
        out.push(log(c, l, 1));
    }
    let deaths = worker_deaths(c);
    if let Some(d) = &deaths {
        out.push(log(c, d.last, d.count));
    }
    if let Some(h) = &c.health
        && let Some(last) = h.log.last()
    {
        let text = last.output.trim();
        if !text.is_empty() {
            let line = text.lines().last().unwrap_or(text);
            out.push(Evidence::Health {
                container: c.name.clone(),
                exit_code: last.exit_code,
                text: line.to_string(),
            });
            if deaths.is_none() {
                cause.get_or_insert_with(|| format!("health check fails: {line}"));
            }
        }
    }
    out.extend(state_evidence(c));
    let summary = match (deaths, cause) {
        (Some(d), Some(cause)) => format!("{}; last error: {cause}", d.describe()),
        (Some(d), None) if c.state.running => format!(
            "{} while the master stays up; the log names no other cause",
            d.describe()
        ),
        (Some(d), None) => format!("{}; the log names no other cause", d.describe()),
        (None, Some(cause)) => cause,
        (None, None) => format!(
            "{} is {} (exit code {}) and its log names no cause",
            c.service,
            state_word(c),
            c.state.exit_code
        ),
    };
    (summary, out)
}

fn log(c: &ContainerSnapshot, l: &LogLine, occurrences: usize) -> Evidence {
    Evidence::Log {
        container: c.name.clone(),
        ts: l.ts.clone(),
        text: l.text.clone(),
        occurrences,
        first_ts: None,
        more: 0,
    }
}

pub fn state_word(c: &ContainerSnapshot) -> String {
    match &c.health {
        Some(h) if c.state.status == "running" => format!("running ({})", h.status),
        _ => c.state.status.clone(),
    }
}

/// The state fields that show a container is failing.
pub fn state_evidence(c: &ContainerSnapshot) -> Vec<Evidence> {
    let mut out = vec![Evidence::State {
        container: c.name.clone(),
        field: "status".into(),
        value: state_word(c),
    }];
    let mut field = |f: &str, v: String| {
        out.push(Evidence::State {
            container: c.name.clone(),
            field: f.into(),
            value: v,
        })
    };
    match c.telling_exit_code() {
        Some(code) if code != 0 && c.state.running && c.state.exit_code == 0 => {
            // Running again after a crash: the code comes from the last `die` event.
            field("exit_code", format!("{code} (last run)"));
        }
        _ if c.state.exit_code != 0 => field("exit_code", c.state.exit_code.to_string()),
        _ => {}
    }
    if c.restart_count > 0 {
        field("restarts", c.restart_count.to_string());
    }
    if c.state.oom_killed {
        field("oom_killed", "true".into());
    } else if c.oom_killed_recently() {
        field(
            "oom_killed",
            "true (last run, from the engine's events)".into(),
        );
    }
    if !c.state.error.is_empty() {
        field("error", c.state.error.clone());
    }
    // A Swarm task: what `docker service ps` and `docker service ls` show.
    if let Some(t) = &c.task {
        field(
            "task",
            format!("{} (desired {}) {}", t.state, t.desired_state, t.id),
        );
        if !t.error.is_empty() && t.error != c.state.error {
            field("task error", t.error.clone());
        }
        field(
            "replicas",
            format!("{}/{}", t.service_running, t.service_desired),
        );
        if !t.update_state.is_empty() {
            field("update", t.update_state.clone());
        }
        if !t.placement.is_empty() && t.state == "pending" {
            field("placement", t.placement.join(", "));
        }
        if let Some(e) = t.earlier_errors.first().filter(|e| **e != t.error) {
            field("earlier task error", e.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::snapshot::testing::{container, exited};
    use crate::stack::snapshot::{LogTail, Stream};

    /// `c` with these log lines (one per line of `text`).
    fn logging(mut c: ContainerSnapshot, text: &str) -> ContainerSnapshot {
        c.logs = LogTail {
            lines: text
                .lines()
                .map(|t| LogLine {
                    ts: None,
                    stream: Stream::Stderr,
                    text: t.to_owned(),
                })
                .collect(),
            truncated: false,
            elided: 0,
            counted: vec![],
        };
        c
    }

    #[test]
    fn worker_deaths_in_the_wordings_of_gunicorn_20_to_23() {
        // gunicorn 21-23 (`Worker (pid:N) was sent …!`), 20.x (`Worker with pid N was
        // terminated due to signal N`); hand-written from gunicorn's arbiter.py of each version.
        let web = logging(
            container("web"),
            "[2024-05-01 10:00:00 +0000] [1] [INFO] Starting gunicorn 23.0.0\n\
             [2024-05-01 10:00:01 +0000] [1] [ERROR] Worker (pid:12) was sent code 132!\n\
             [2024-05-01 10:00:01 +0000] [1] [ERROR] Worker (pid:13) was sent SIGSEGV!\n\
             [2024-05-01 10:00:02 +0000] [1] [ERROR] Worker (pid:9) was sent SIGKILL! Perhaps out of memory?\n\
             [2024-05-01 10:00:02 +0000] [1] [WARNING] Worker with pid 14 was terminated due to signal 11\n\
             [2024-05-01 10:00:03 +0000] [1] [ERROR] Worker (pid:15) exited with code 1\n\
             [2024-05-01 10:00:03 +0000] [1] [ERROR] Worker (pid:15) exited with code 1.",
        );
        let d = worker_deaths(&web).expect("deaths");
        assert_eq!(d.count, 5, "{d:?}");
        assert_eq!(d.how["SIGILL, core dumped"], 1);
        assert_eq!(d.how["SIGSEGV"], 2);
        assert_eq!(d.how["SIGKILL"], 1);
        assert_eq!(d.how["exit code 1"], 1, "one worker, said twice");
        assert!(d.last.text.ends_with("exited with code 1."));
        assert!(is_failing(&web), "running, but its workers die");
    }

    #[test]
    fn orderly_stops_are_no_deaths() {
        let stopped = logging(
            container("web"),
            "[2024-05-01 10:00:00 +0000] [1] [ERROR] Worker (pid:9) was sent SIGTERM!\n\
             [2024-05-01 10:00:00 +0000] [1] [WARNING] Worker with pid 10 was terminated due to signal 15\n\
             [2024-05-01 10:00:00 +0000] [1] [INFO] Handling signal: term\n\
             [2024-05-01 10:00:30 +0000] [1] [ERROR] Worker (pid:11) was sent SIGKILL! Perhaps out of memory?\n\
             [2024-05-01 10:00:30 +0000] [1] [INFO] Shutting down: Master",
        );
        assert_eq!(worker_deaths(&stopped), None);
        assert!(!is_failing(&stopped));

        // A new master after the stop counts again.
        let restarted = logging(
            container("web"),
            "[2024-05-01 10:00:00 +0000] [1] [INFO] Handling signal: term\n\
             [2024-05-01 10:01:00 +0000] [1] [INFO] Starting gunicorn 20.1.0\n\
             [2024-05-01 10:01:01 +0000] [1] [WARNING] Worker with pid 9 was terminated due to signal 4",
        );
        assert_eq!(worker_deaths(&restarted).expect("death").how["SIGILL"], 1);
    }

    #[test]
    fn a_pasted_log_whose_master_gave_up_is_failing() {
        let mut pasted = logging(
            container("web"),
            "[2024-05-01 10:00:01 +0000] [1] [INFO] Reason: Worker failed to boot.",
        );
        pasted.state.status = crate::stack::paste::UNKNOWN_STATUS.into();
        pasted.state.running = false;
        assert!(is_failing(&pasted));
        pasted.logs.lines.clear();
        assert!(!is_failing(&pasted));
    }

    #[test]
    fn evidence_names_the_unhandled_exception_at_the_apps_frame_and_the_deaths() {
        let web = logging(
            container("web"),
            "2024-05-01 10:00:00,000 INFO app: ignore exception (Probably concurrent)\n\
             Traceback (most recent call last):\n  \
               File \"/app/init.py\", line 3, in init\n\
             KeyError: 'seen'\n\
             [2024-05-01 10:00:01 +0000] [9] [ERROR] Exception in worker process\n\
             Traceback (most recent call last):\n  \
               File \"/app/server.py\", line 12, in create_app\n    \
                 load()\n  \
               File \"/usr/local/lib/python3.11/site-packages/lib/core.py\", line 40, in load\n    \
                 raise NotReady(name)\n\
             lib.errors.NotReady: 'projects'\n\
             [2024-05-01 10:00:01 +0000] [1] [ERROR] Worker (pid:9) was sent SIGSEGV!\n\
             [2024-05-01 10:00:02 +0000] [1] [ERROR] Worker (pid:10) was sent SIGSEGV!",
        );
        let (summary, evidence) = evidence(&web);
        assert_eq!(
            summary,
            "2 gunicorn workers died (SIGSEGV ×2); last error: lib.errors.NotReady: 'projects' \
             (at /app/server.py:12)"
        );
        let texts: Vec<String> = evidence.iter().map(Evidence::text).collect();
        assert_eq!(texts[0], "lib.errors.NotReady: 'projects'");
        assert!(texts[1].contains("/app/server.py\", line 12"), "{texts:?}");
        assert!(
            evidence.iter().any(|e| matches!(e,
                Evidence::Log { text, occurrences: 2, .. } if text.ends_with("(pid:10) was sent SIGSEGV!"))),
            "{evidence:?}"
        );
        assert!(
            !texts.iter().any(|t| t.contains("KeyError")),
            "handled: {texts:?}"
        );
    }

    #[test]
    fn a_crash_without_words_still_says_what_state_shows() {
        let web = exited(container("web"), 139, false);
        let (summary, evidence) = evidence(&web);
        assert_eq!(
            summary,
            "web is exited (exit code 139) and its log names no cause"
        );
        assert!(evidence.iter().any(|e| e.text() == "exit_code = 139"));
    }
}
