//! Diagnosing from pasted logs: a `docker compose logs` transcript, or one log file per service,
//! turned into a [`StackSnapshot`] that holds logs and nothing else.
//!
//! People paste logs into tickets; the stack that printed them is gone or out of reach. The rules
//! match log lines, so most failure classes can be named from the text alone. Everything the text
//! does not say stays unknown: the containers' state is `unknown` (not running, not crashed, no
//! exit code), there is no health, no environment, no mounts. Probes that need the live stack say
//! so themselves.
//!
//! A transcript interleaves containers behind a prefix: compose v1 prints `web_1  | `, compose v2
//! `web-1  | ` (older v2 releases `project-web-1  | `: pass the project to strip it). With
//! `--timestamps` each line starts with the engine's stamp, after the prefix. Colour codes are
//! stripped, `Attaching to …` headers skipped, and a line without a prefix continues the previous
//! container (a terminal wrapped it). Lines go through the same [`LogAssembler`] as a live
//! collection, so the same bounds hold: the most recent lines per container, lines cut at
//! [`super::logs::MAX_LINE_BYTES`], bytes that are not UTF-8 replaced.
use super::collect::LogLimits;
use super::logs::LogAssembler;
use super::snapshot::{
    ContainerSnapshot, ContainerState, LogLine, LogTail, SNAPSHOT_VERSION, StackSnapshot, Stream,
};
use regex::Regex;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::LazyLock;

/// At most this much of a pasted file is read (its end: the most recent lines).
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// The state of a container known only from its logs: nothing is claimed. `started_at` is the
/// engine's "never" so no exit code is read into it (see [`ContainerSnapshot::telling_exit_code`]).
pub const UNKNOWN_STATUS: &str = "unknown";

static ANSI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("ANSI pattern"));
/// `web_1  | text`, `web-1 | text`, `project-web-1  |` (an empty line). The container number is
/// required: a bare `word | word` is too common inside log text to be read as a prefix.
static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z0-9][A-Za-z0-9_.-]*[-_][0-9]+) *\|(?: (.*)|)$").expect("prefix pattern")
});
/// `docker compose up` output pasted as logs: compose's own status lines, not a container's.
static COMPOSE_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:Attaching to |[A-Za-z0-9][A-Za-z0-9_.-]* exited with code -?[0-9]+$|Gracefully stopping|Aborting on container exit)")
        .expect("status pattern")
});
/// `…-1`, `…_12`: a container name's service and number.
static NUMBERED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(.+?)[-_]([0-9]+)$").expect("number pattern"));

/// Split a compose logs transcript into each container's lines, keyed by the container name as
/// printed (`web_1`, `web-2`): replicas stay apart. Bounded like a live collection.
pub fn split(text: &str) -> BTreeMap<String, Vec<LogLine>> {
    split_within(text, &LogLimits::default())
}

/// [`split`], keeping at most `limits.lines` lines and `limits.bytes` bytes per container.
pub fn split_within(text: &str, limits: &LogLimits) -> BTreeMap<String, Vec<LogLine>> {
    let mut per: BTreeMap<String, (LogAssembler, Option<String>)> = BTreeMap::new();
    let mut current: Option<String> = None;
    for raw in text.lines() {
        let line = ANSI.replace_all(raw, "");
        let line = line.trim_end_matches('\r');
        if let Some(caps) = PREFIX.captures(line) {
            let name = caps[1].to_owned();
            let rest = caps.get(2).map_or("", |m| m.as_str());
            let (asm, last_ts) = per
                .entry(name.clone())
                .or_insert_with(|| (LogAssembler::new(limits.lines, limits.bytes), None));
            if let Some(ts) = stamp_of(rest) {
                *last_ts = Some(ts.to_owned());
            }
            push_line(asm, rest);
            current = Some(name);
        } else if COMPOSE_STATUS.is_match(line) {
            // Compose's own lines (the header, `web_1 exited with code 3`): no container printed them.
        } else if let Some((asm, last_ts)) = current.as_ref().and_then(|n| per.get_mut(n)) {
            // A wrapped line: it keeps its container's latest stamp so the order holds.
            match last_ts {
                Some(ts) if stamp_of(line).is_none() => push_line(asm, &format!("{ts} {line}")),
                _ => push_line(asm, line),
            }
        }
    }
    per.into_iter()
        .map(|(name, (asm, _))| (name, asm.finish().lines))
        .collect()
}

/// One service's (or container's) pasted log file, bounded by `limits` like [`split_within`].
pub fn lines_of(text: &str, limits: &LogLimits) -> Vec<LogLine> {
    let mut asm = LogAssembler::new(limits.lines, limits.bytes);
    for raw in text.lines() {
        push_line(&mut asm, &ANSI.replace_all(raw, ""));
    }
    asm.finish().lines
}

fn push_line(asm: &mut LogAssembler, text: &str) {
    asm.push(Stream::Stdout, text.as_bytes());
    asm.push(Stream::Stdout, b"\n");
}

/// The leading engine stamp of a line, when it has one.
fn stamp_of(text: &str) -> Option<&str> {
    let head = text.split(' ').next()?;
    let b = head.as_bytes();
    (b.len() >= 20 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T')
        .then_some(head)
}

/// Read at most [`MAX_INPUT_BYTES`] of `r`, keeping the end; bytes that are not UTF-8 are
/// replaced. Returns the text and whether the start was dropped.
pub fn read_bounded(mut r: impl Read) -> std::io::Result<(String, bool)> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 1 << 20];
    let mut dropped = false;
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 2 * MAX_INPUT_BYTES {
            buf.drain(..buf.len() - MAX_INPUT_BYTES);
            dropped = true;
        }
    }
    if buf.len() > MAX_INPUT_BYTES {
        buf.drain(..buf.len() - MAX_INPUT_BYTES);
        dropped = true;
    }
    if dropped {
        // The cut may have landed mid-line: drop the partial first line.
        let nl = buf.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
        buf.drain(..nl);
    }
    Ok((String::from_utf8_lossy(&buf).into_owned(), dropped))
}

/// `web_1` → (`web`, 1); `project-web-1` with project `project` → (`web`, 1); `web` → (`web`, -).
fn service_of(name: &str, project: &str) -> (String, Option<u32>) {
    let name = [format!("{project}-"), format!("{project}_")]
        .iter()
        .find_map(|p| {
            name.strip_prefix(p.as_str())
                .filter(|rest| !rest.is_empty())
        })
        .unwrap_or(name);
    match NUMBERED.captures(name) {
        Some(caps) => (caps[1].to_owned(), caps[2].parse().ok()),
        None => (name.to_owned(), None),
    }
}

/// A snapshot holding only logs, one container per key (`web`, `web_1`, `web-2`, `project-web-1`).
/// Nothing else is claimed: see the module comment.
pub fn snapshot_from_logs(
    project: &str,
    per_service: BTreeMap<String, Vec<LogLine>>,
) -> StackSnapshot {
    let mut containers: Vec<ContainerSnapshot> = per_service
        .into_iter()
        .map(|(name, lines)| {
            let (service, number) = service_of(&name, project);
            ContainerSnapshot {
                id: name.clone(),
                name,
                service,
                number,
                state: ContainerState {
                    status: UNKNOWN_STATUS.into(),
                    started_at: "0001-01-01T00:00:00Z".into(),
                    finished_at: "0001-01-01T00:00:00Z".into(),
                    ..Default::default()
                },
                logs: LogTail {
                    truncated: false,
                    lines,
                },
                ..Default::default()
            }
        })
        .collect();
    containers.sort_by(|a, b| (&a.service, a.number).cmp(&(&b.service, b.number)));
    StackSnapshot {
        snapshot_version: SNAPSHOT_VERSION,
        project: project.to_owned(),
        compose_file: None,
        collected_at: String::new(),
        engine_version: None,
        containers,
        compose: None,
        compose_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[LogLine]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn v1_and_v2_prefixes_colours_and_wrapped_lines() {
        let t = "Attaching to p_web_1, p_web_2\n\
                 \x1b[36mweb_1  |\x1b[0m first\n\
                 web-2  | other\n\
                 continued\n\
                 web_1  |\n\
                 web_1  | last | with a bar\n\
                 p_web_1 exited with code 3\n";
        let per = split(t);
        assert_eq!(per.keys().collect::<Vec<_>>(), ["web-2", "web_1"]);
        assert_eq!(texts(&per["web_1"]), ["first", "", "last | with a bar"]);
        assert_eq!(texts(&per["web-2"]), ["other", "continued"]);
    }

    #[test]
    fn stamps_are_parsed_and_wrapped_lines_keep_their_place() {
        let t = "web_1  | 2026-11-21T10:00:00.000000001Z one\n\
                 wrapped\n\
                 web_1  | 2026-11-21T10:00:00.000000002Z two\n";
        let lines = &split(t)["web_1"];
        assert_eq!(texts(lines), ["one", "wrapped", "two"]);
        assert_eq!(
            lines[0].ts.as_deref(),
            Some("2026-11-21T10:00:00.000000001Z")
        );
    }

    #[test]
    fn lines_are_bounded_like_a_live_collection() {
        let mut t = String::new();
        for i in 0..3000 {
            t.push_str(&format!("db_1 | line {i}\n"));
        }
        t.push_str(&format!("db_1 | {}\n", "x".repeat(100_000)));
        let lines = &split(&t)["db_1"];
        assert_eq!(lines.len(), LogLimits::default().lines);
        assert!(lines.last().unwrap().text.ends_with("[line cut]"));
    }

    #[test]
    fn containers_know_their_service_and_nothing_else() {
        let per = BTreeMap::from([
            ("p-web-2".to_owned(), lines_of("a", &LogLimits::default())),
            ("web_1".to_owned(), lines_of("b", &LogLimits::default())),
            ("flower".to_owned(), lines_of("c", &LogLimits::default())),
        ]);
        let s = snapshot_from_logs("p", per);
        let got: Vec<(&str, Option<u32>)> = s
            .containers
            .iter()
            .map(|c| (c.service.as_str(), c.number))
            .collect();
        assert_eq!(got, [("flower", None), ("web", Some(1)), ("web", Some(2))]);
        let c = &s.containers[0];
        assert!(!crate::engine::unclassified::is_failing(c));
        assert!(!c.state.running);
        assert_eq!(c.telling_exit_code(), None);
        assert_eq!(crate::engine::matcher::facts(c).status, UNKNOWN_STATUS);
    }

    #[test]
    fn reading_keeps_the_end_and_replaces_bad_bytes() {
        let mut data = vec![b'a'; MAX_INPUT_BYTES + 10];
        data.extend_from_slice(b"\ncaf\xe9 end\n");
        let (text, dropped) = read_bounded(&data[..]).unwrap();
        assert!(dropped);
        assert_eq!(text, "caf\u{fffd} end\n");
    }
}
