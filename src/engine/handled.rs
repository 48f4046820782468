//! Handled errors: what an application logs as handled, on a service that stays up, is not a
//! failure.
//!
//! Applications log errors they recover from: an initialisation that tolerates a concurrent
//! worker (`INFO … ignore exception … Probably concurrent`), a cache host that is optional
//! (`DEBUG … could not translate host name … (ignored)`), a traceback kept at `INFO` for the
//! record. The rules' patterns cannot tell those lines from the same text in a crash, and should
//! not have to: every rule would need its own exceptions. The engine decides once, for every
//! rule, from two facts:
//!
//! - **the line's level**, when its format carries one (Python logging, gunicorn, Celery,
//!   Tornado/Flower, uvicorn, Redis, logfmt and JSON lines), or an explicit `(ignored)` /
//!   `ignoring exception` in it. A traceback inherits the level of the record it belongs to: the
//!   lines that continue a record (indented frames, `Traceback …`, the exception line, psycopg's
//!   `DETAIL:`) carry none of their own;
//! - **the service's state**: running (or unknown, for pasted logs), no restarts, not unhealthy,
//!   no worker dying. A service that crashes, restarts or fails its health check gets no benefit
//!   of the doubt, whatever the level says: the same text then still fires.
//!
//! A rule that fires only thanks to such lines becomes `info` (kept, so nothing is hidden).
use crate::stack::snapshot::{ContainerSnapshot, LogLine, Stream};
use regex::Regex;
use std::sync::LazyLock;

/// A log record's level, in the order of gravity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
}

impl Level {
    /// `INFO`, `info`, `I` (Tornado), `*` (Redis): the level a token names.
    fn parse(token: &str) -> Option<Level> {
        Some(match token.to_ascii_uppercase().as_str() {
            "DEBUG" | "D" | "." | "VERBOSE" | "-" => Level::Debug,
            "INFO" | "I" => Level::Info,
            "NOTICE" | "*" => Level::Notice,
            "WARNING" | "WARN" | "W" | "#" => Level::Warning,
            "ERROR" | "E" => Level::Error,
            "CRITICAL" | "FATAL" | "PANIC" | "C" => Level::Critical,
            _ => return None,
        })
    }
}

/// Record headers that carry a level, each with the level as its first group.
static HEADERS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // gunicorn: `[2024-05-01 10:00:00 +0000] [1] [INFO] …`
        r"^\[[^\]]{10,40}\] \[\d+\] \[([A-Z]+)\]",
        // Celery: `[2024-05-01 10:00:00,000: ERROR/MainProcess] …`
        r"^\[\d{4}-\d\d-\d\d [\d:,.]+: ([A-Z]+)/[^\]]*\]",
        // Tornado (Flower): `[I 240501 10:00:00 events:191] …`
        r"^\[([DIWEC]) \d{6} \d\d:\d\d:\d\d ",
        // Python's basicConfig, uvicorn: `INFO:socketio:…`, `INFO:     Started server`
        r"^(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL):",
        // A timestamp, at most two tokens (logger, pid, thread), then the level:
        // `2024-05-01 10:00:00,000 INFO analylit: …`, `… - analylit - INFO - …`,
        // Flask's `[2024-05-01 10:00:00,000] INFO in server: …`, PostgreSQL's `… UTC [60] ERROR:`
        // (a zone name is one of the tokens: the first level word after the stamp wins).
        r"^\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d(?::?\d\d)?)?\]?(?:(?:\s*[-|:,]\s*|\s+)[^\s]+){0,2}?(?:\s*[-|:,]\s*|\s+)\[?(DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|CRITICAL|FATAL)\b",
        // Redis: `1:M 01 May 2024 10:00:00.000 * …` (`.` debug, `-` verbose, `*` notice, `#` warning)
        r"^\d+:[XCSM] \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d+ ([.\-*#]) ",
        // logfmt (Compose v2 without a terminal, Go services): `level=info`
        r"(?i)\blevel=(debug|info|notice|warn|warning|error|critical|fatal)\b",
        // JSON lines: `"level": "info"`, `"levelname": "INFO"`
        r#"(?i)"(?:level|levelname|severity)"\s*:\s*"(debug|info|notice|warn|warning|error|critical|fatal)""#,
    ]
    .iter()
    .map(|p| Regex::new(p).expect("level header pattern"))
    .collect()
});

/// Lines that continue the record above them rather than start one: a traceback's lines, the
/// exception line, and what psycopg and SQLAlchemy append to a message.
static CONTINUATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:\s|$)",
        r"|^Traceback \(most recent call last\):",
        r"|^During handling of the above exception|^The above exception was the direct cause",
        r"|^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Warning|Exit|Interrupt|Violation|error)(?::|$)",
        r"|^(?:DETAIL|HINT|CONTEXT|LINE \d+):",
        r"|^\[(?:SQL|parameters): |^\(Background on this error at: ",
    ))
    .expect("continuation pattern")
});

/// The application's own word that it handled the error: `(ignored)`, `ignoring exception`,
/// `exception ignored` (French `ignorée` too: the apps this tool meets log in French), and
/// Python's `Exception ignored in: …` for errors it could not raise.
static IGNORED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\(ignor(?:ed|ing|é|ée|és|ées)\)",
        r"|\bignor(?:e|ed|ing)\b[^.;]{0,40}?\b(?:exceptions?|errors?|failures?)\b",
        r"|\b(?:exceptions?|errors?) ignored\b",
        r"|^Exception ignored in\b",
    ))
    .expect("ignored pattern")
});

/// The level a line's own header carries, if its format has one.
pub fn level_of(text: &str) -> Option<Level> {
    HEADERS
        .iter()
        .find_map(|re| re.captures(text))
        .and_then(|caps| Level::parse(&caps[1]))
}

/// Whether a record at `level` (if known) and with or without the app's "ignored" is handled:
/// logged at DEBUG/INFO, or said to be ignored below ERROR.
fn handled(level: Option<Level>, ignored: bool) -> bool {
    match level {
        Some(l) if l <= Level::Info => true,
        Some(l) => ignored && l < Level::Error,
        None => ignored,
    }
}

/// For each line, whether the application logged it as handled (level and words only; the
/// service's state is [`stays_up`]'s). A line continuing a record takes the record's verdict,
/// within its own stream.
pub fn logged_as_handled(lines: &[LogLine]) -> Vec<bool> {
    // The open record of each stream: its level and whether it says "ignored".
    let mut open: [Option<(Option<Level>, bool)>; 3] = [None; 3];
    lines
        .iter()
        .map(|l| {
            let slot = match l.stream {
                Stream::Stdout => 0,
                Stream::Stderr => 1,
                Stream::Console => 2,
            };
            let text = l.text.as_str();
            let record = match level_of(text) {
                Some(level) => Some((Some(level), IGNORED.is_match(text))),
                None if IGNORED.is_match(text) => Some((None, true)),
                None if CONTINUATION.is_match(text) => open[slot],
                None => None,
            };
            open[slot] = record;
            record.is_some_and(|(level, ignored)| handled(level, ignored))
        })
        .collect()
}

/// Whether a container stays up: running (or of unknown state, known only from pasted logs),
/// never restarted, not unhealthy, and nothing in it failing (see
/// [`super::unclassified::is_failing`]: no gunicorn worker dying either).
pub fn stays_up(c: &ContainerSnapshot) -> bool {
    let up = matches!(
        c.state.status.as_str(),
        "running" | crate::stack::paste::UNKNOWN_STATUS
    );
    up && !c.state.restarting
        && c.restart_count == 0
        && c.health.as_ref().is_none_or(|h| h.status != "unhealthy")
        && !super::unclassified::is_failing(c)
}

/// For each of `c`'s log lines, whether it is a handled error that is no problem: logged as
/// handled, by a container that stays up. All `false` otherwise.
pub fn handled_lines(c: &ContainerSnapshot) -> Vec<bool> {
    if stays_up(c) {
        logged_as_handled(&c.logs.lines)
    } else {
        vec![false; c.logs.lines.len()]
    }
}

/// Whether one line alone (its own header, no record it continues) is a handled error that is
/// no problem in a container that stays up (`up`, see [`stays_up`]): for lines only counted,
/// whose neighbours are gone.
pub fn handled_alone(up: bool, line: &LogLine) -> bool {
    up && logged_as_handled(std::slice::from_ref(line))[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::snapshot::testing::{container, exited};
    use crate::stack::snapshot::{Health, LogTail};

    fn lines(text: &str) -> Vec<LogLine> {
        text.lines()
            .map(|t| LogLine {
                ts: None,
                stream: Stream::Stdout,
                text: t.to_owned(),
            })
            .collect()
    }

    #[test]
    fn levels_of_the_formats_met_in_these_stacks() {
        let cases = [
            (
                "[2024-05-01 10:00:00 +0000] [1] [INFO] Booting worker with pid: 9",
                Some(Level::Info),
            ),
            (
                "[2024-05-01 10:00:01 +0000] [1] [ERROR] Worker (pid:9) was sent SIGSEGV!",
                Some(Level::Error),
            ),
            (
                "[2024-05-01 10:00:00,000: WARNING/MainProcess] consumer: Cannot connect",
                Some(Level::Warning),
            ),
            (
                "[I 240501 10:00:00 mixins:225] Connected to redis://redis:6379/0",
                Some(Level::Info),
            ),
            (
                "[E 240501 10:00:00 events:191] Failed to capture events",
                Some(Level::Error),
            ),
            (
                "ERROR:socketio:Cannot publish to redis... retrying",
                Some(Level::Error),
            ),
            ("INFO:     Started server process [1]", Some(Level::Info)),
            (
                "2024-05-01 10:00:00,000 INFO analylit: ignore exception",
                Some(Level::Info),
            ),
            (
                "2024-05-01 10:00:00,000 - analylit - DEBUG - retrying",
                Some(Level::Debug),
            ),
            (
                "[2024-05-01 10:00:00,000] WARNING in server: slow",
                Some(Level::Warning),
            ),
            (
                "2024-05-01T10:00:00.123Z [INFO] worker ready",
                Some(Level::Info),
            ),
            (
                "2024-05-01 10:00:00.000 UTC [60] ERROR:  relation \"x\" does not exist",
                Some(Level::Error),
            ),
            (
                "1:M 01 May 2024 10:00:00.000 # Background saving error",
                Some(Level::Warning),
            ),
            (
                "1:M 01 May 2024 10:00:00.000 * Ready to accept connections",
                Some(Level::Notice),
            ),
            (
                r#"time="2024-05-01T10:00:00Z" level=warning msg="The \"X\" variable is not set.""#,
                Some(Level::Warning),
            ),
            (
                r#"{"levelname": "INFO", "message": "ignored"}"#,
                Some(Level::Info),
            ),
            // The record's level, not one quoted in its message.
            (
                "2024-05-01 10:00:00,000 INFO app: ERROR:socketio:Cannot publish to redis",
                Some(Level::Info),
            ),
            (
                "2024-05-01 10:00:00.000 CEST [60] FATAL:  the database system is starting up",
                Some(Level::Critical),
            ),
            (
                "2024-05-01 10:00:00.000 +03 [60] ERROR:  deadlock detected",
                Some(Level::Error),
            ),
            // No level of their own.
            (
                "2024-05-01 10:00:00.000 UTC [1] LOG:  database system is ready",
                None,
            ),
            (
                "06:50:29 Worker rq:worker:ca69: started, version 1.13.0",
                None,
            ),
            (
                "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) INFO",
                None,
            ),
            ("Traceback (most recent call last):", None),
        ];
        for (line, want) in cases {
            assert_eq!(level_of(line), want, "{line}");
        }
    }

    #[test]
    fn a_traceback_takes_the_level_of_its_record() {
        let log = lines(concat!(
            "2024-05-01 10:00:00,000 INFO analylit: ignore exception during init (Probably concurrent)\n",
            "Traceback (most recent call last):\n",
            "  File \"/app/server.py\", line 12, in init\n",
            "    db.create_all()\n",
            "sqlalchemy.exc.IntegrityError: (psycopg2.errors.UniqueViolation) duplicate key\n",
            "DETAIL:  Key (typname, typnamespace)=(projects, 2200) already exists.\n",
            "\n",
            "[2024-05-01 10:00:01 +0000] [1] [ERROR] Exception in worker process\n",
            "Traceback (most recent call last):\n",
            "NameError: name 'init_db' is not defined\n",
            "some unrelated raw line\n",
            "ValueError: printed on its own\n",
        ));
        let got = logged_as_handled(&log);
        assert_eq!(
            got,
            [
                true, true, true, true, true, true, true, // the INFO record
                false, false, false, // the ERROR record
                false, false, // no record: no level
            ]
        );
    }

    #[test]
    fn the_apps_own_ignored_counts_below_error() {
        let log = lines(concat!(
            "could not translate host name \"cache\" to address: Name or service not known (ignored)\n",
            "2024-05-01 10:00:00,000 WARNING app: cache lookup failed, ignoring the error\n",
            "2024-05-01 10:00:00,000 ERROR app: Erreur pendant l'initialisation (ignorée) : duplicate key\n",
            "Exception ignored in: <function Connection.__del__ at 0x7f>\n",
            "2024-05-01 10:00:00,000 WARNING app: could not translate host name \"cache\"\n",
        ));
        assert_eq!(logged_as_handled(&log), [true, true, false, true, false]);
    }

    #[test]
    fn continuation_stays_in_its_stream() {
        let mut log =
            lines("2024-05-01 10:00:00,000 INFO app: fine\nTraceback (most recent call last):");
        log[1].stream = Stream::Stderr;
        assert_eq!(logged_as_handled(&log), [true, false]);
    }

    #[test]
    fn only_a_service_that_stays_up_gets_the_benefit_of_the_doubt() {
        let with = |c: crate::stack::snapshot::ContainerSnapshot| {
            let mut c = c;
            c.logs = LogTail {
                lines: lines("2024-05-01 10:00:00,000 INFO app: ignore exception"),
                truncated: false,
                elided: 0,
                counted: vec![],
            };
            c
        };
        assert_eq!(handled_lines(&with(container("web"))), [true]);

        let mut restarted = with(container("web"));
        restarted.restart_count = 2;
        assert_eq!(handled_lines(&restarted), [false]);

        assert_eq!(
            handled_lines(&with(exited(container("web"), 1, true))),
            [false]
        );

        let mut sick = with(container("web"));
        sick.health = Some(Health {
            status: "unhealthy".into(),
            failing_streak: 3,
            log: vec![],
        });
        assert_eq!(handled_lines(&sick), [false]);

        let mut dying = with(container("web"));
        dying.logs.lines.extend(lines(
            "[2024-05-01 10:00:01 +0000] [1] [ERROR] Worker (pid:9) was sent SIGSEGV!",
        ));
        assert_eq!(handled_lines(&dying), [false, false]);
    }
}
