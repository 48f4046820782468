//! The timeline: what each container did across the run, in time.
//!
//! A startup cascade is a story in time — Redis came up, `migrate` exited 1, web stayed in
//! `Created` — and the order is often the diagnosis. The engine keeps no history of a container
//! beyond a bounded event buffer, so the story is pieced together from every dated thing the
//! snapshot holds: inspect's `Created`, `StartedAt` and `FinishedAt` (the current run), the
//! engine's events (earlier runs' starts and ends, OOM kills, signals, turns of the health
//! check), the health log (the last five checks) and the log lines' own timestamps. Where the
//! record is thin the timeline shows less rather than guess: a run whose start nothing dated
//! begins at its first log line and says so; an earlier run the engine forgot is not drawn.
//!
//! Each container's first error line is the earliest log line a finding cites as evidence: the
//! doctor's own reading of what went wrong first, not a keyword search.
//!
//! Times are offsets in seconds from the first dated moment, so the same snapshot always gives
//! the same picture (no clock is read). Every text taken from the snapshot is redacted here,
//! before any printer sees it.
use crate::engine::{Diagnosis, Evidence};
use crate::probes::docker::rfc3339_secs;
use crate::redact::Redactor;
use crate::rules::Severity;
use crate::stack::snapshot::{ContainerSnapshot, StackSnapshot};

/// Lanes of dated moments, one per container.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The first dated moment, as the data spells it (RFC 3339): offsets count from here.
    pub origin: String,
    /// Seconds from the origin to the end of the picture (the collection, or the last moment).
    pub span: f64,
    /// When the snapshot was taken, as an offset (absent when its stamp does not parse).
    pub collected: Option<f64>,
    pub lanes: Vec<Lane>,
}

/// One container's runs and moments.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub service: String,
    pub container: String,
    /// Its state when collected, in a few words (`exited 1`, `running, unhealthy`).
    pub status: String,
    pub runs: Vec<Run>,
    /// In time order.
    pub moments: Vec<Moment>,
}

/// A stretch of time the container's process was running.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub from: f64,
    pub to: f64,
    /// Still running when the snapshot was taken.
    pub open: bool,
    /// Nothing dated its start: it begins at its first log line.
    pub inferred: bool,
}

/// Something that happened to a container at a point in time.
#[derive(Debug, Clone, PartialEq)]
pub struct Moment {
    pub at: f64,
    pub kind: Kind,
    /// One line, redacted: the exit code, the signal, the health output, the error line.
    pub detail: String,
}

/// What happened; the order breaks ties between moments of the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Created,
    Started,
    Restarted,
    HealthPassed,
    HealthFailed,
    Healthy,
    Unhealthy,
    FirstError,
    /// The first error line of a container whose findings are all `info` (handled, resolved,
    /// ruled out, or another service's doing seen from here).
    FirstNote,
    Killed,
    Oom,
    Exited,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Created => "created",
            Kind::Started => "started",
            Kind::Restarted => "restarted",
            Kind::HealthPassed => "health check passed",
            Kind::HealthFailed => "health check failed",
            Kind::Healthy => "healthy",
            Kind::Unhealthy => "unhealthy",
            Kind::FirstError => "first error",
            Kind::FirstNote => "first error (info)",
            Kind::Killed => "killed",
            Kind::Oom => "OOM-killed",
            Kind::Exited => "exited",
        }
    }

    /// A CSS class / id fragment.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Created => "created",
            Kind::Started => "started",
            Kind::Restarted => "restarted",
            Kind::HealthPassed => "health-pass",
            Kind::HealthFailed => "health-fail",
            Kind::Healthy => "healthy",
            Kind::Unhealthy => "unhealthy",
            Kind::FirstError => "first-error",
            Kind::FirstNote => "first-note",
            Kind::Killed => "killed",
            Kind::Oom => "oom",
            Kind::Exited => "exited",
        }
    }

    /// Whether a summary of the run lists it (single health checks are drawn, not listed).
    pub fn listed(self) -> bool {
        self != Kind::HealthPassed
    }
}

/// One line of the key moments list: consecutive repeats folded into a count.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMoment<'a> {
    pub lane: &'a Lane,
    pub moment: &'a Moment,
    /// How many same moments in a row this line stands for (≥ 1).
    pub times: usize,
}

impl Timeline {
    /// The timeline of `snapshot`, first error lines taken from `diagnosis`; `None` when nothing
    /// in the snapshot is dated (logs pasted without timestamps, a hand-made diagnosis).
    pub fn of(
        snapshot: &StackSnapshot,
        diagnosis: &Diagnosis,
        redactor: &Redactor,
    ) -> Option<Self> {
        let raw: Vec<RawLane> = snapshot
            .containers
            .iter()
            .map(|c| raw_lane(c, diagnosis, redactor))
            .collect();
        let times = raw.iter().flat_map(|l| {
            l.moments
                .iter()
                .map(|m| m.at)
                .chain(l.runs.iter().flat_map(|r| [Some(r.from), r.to]).flatten())
        });
        let (first, last) = times.fold(None, |acc: Option<(f64, f64)>, t| {
            Some(acc.map_or((t, t), |(a, b)| (a.min(t), b.max(t))))
        })?;
        let collected = secs(&snapshot.collected_at).filter(|&c| c >= first);
        let end = collected.map_or(last, |c| c.max(last));
        let origin_ts = raw
            .iter()
            .flat_map(|l| l.stamps.iter())
            .find(|(t, _)| *t == first)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        let at = |t: f64| round_ms(t - first);
        let lanes = raw
            .into_iter()
            .map(|l| Lane {
                service: l.service,
                container: l.container,
                status: l.status,
                runs: l
                    .runs
                    .iter()
                    .map(|r| Run {
                        from: at(r.from),
                        to: at(r.to.unwrap_or(end)),
                        open: r.to.is_none(),
                        inferred: r.inferred,
                    })
                    .collect(),
                moments: l
                    .moments
                    .into_iter()
                    .map(|m| Moment { at: at(m.at), ..m })
                    .collect(),
            })
            .collect();
        Some(Timeline {
            origin: origin_ts,
            span: at(end),
            collected: collected.map(at),
            lanes,
        })
    }

    /// Every listed moment of every lane in time order (lanes in snapshot order at the same
    /// instant), runs of the same moment with the same detail folded into one line.
    pub fn key_moments(&self) -> Vec<KeyMoment<'_>> {
        let mut per_lane: Vec<KeyMoment<'_>> = Vec::new();
        for lane in &self.lanes {
            let mut last: Option<usize> = None;
            for m in lane.moments.iter().filter(|m| m.kind.listed()) {
                if let Some(i) = last
                    && per_lane[i].moment.kind == m.kind
                    && per_lane[i].moment.detail == m.detail
                {
                    per_lane[i].times += 1;
                    continue;
                }
                per_lane.push(KeyMoment {
                    lane,
                    moment: m,
                    times: 1,
                });
                last = Some(per_lane.len() - 1);
            }
        }
        // A stable sort keeps lanes in snapshot order at the same instant.
        per_lane.sort_by(|a, b| a.moment.at.total_cmp(&b.moment.at));
        per_lane
    }
}

/// `+12.3s` (or `+2m05s` past two minutes): an offset as people read it.
pub fn offset(secs: f64) -> String {
    if secs < 120.0 {
        format!("+{secs:.1}s")
    } else {
        let whole = secs.round() as u64;
        format!("+{}m{:02}s", whole / 60, whole % 60)
    }
}

/// A lane before its times become offsets: absolute seconds, open runs without an end.
struct RawLane {
    service: String,
    container: String,
    status: String,
    runs: Vec<RawRun>,
    moments: Vec<Moment>,
    /// The stamps the times came from, to name the origin as the data spells it.
    stamps: Vec<(f64, String)>,
}

struct RawRun {
    from: f64,
    to: Option<f64>,
    inferred: bool,
}

/// Seconds since the epoch of an engine stamp; `None` for Docker's zero time and anything else
/// that does not parse.
fn secs(ts: &str) -> Option<f64> {
    if ts.is_empty() || ts.starts_with("0001-") {
        return None;
    }
    rfc3339_secs(ts)
}

/// Milliseconds are all a picture needs; rounding keeps float noise out of the output.
fn round_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// Events carry whole seconds, inspect carries nanoseconds: the same instant seen twice is within
/// this many seconds.
const SAME_INSTANT: f64 = 1.5;

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() < SAME_INSTANT
}

/// The most a detail line keeps: the full line is in the findings.
const DETAIL_CHARS: usize = 240;

fn one_line(text: &str, redactor: &Redactor) -> String {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let line = redactor.text(first.trim());
    match line.char_indices().nth(DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

fn raw_lane(c: &ContainerSnapshot, d: &Diagnosis, redactor: &Redactor) -> RawLane {
    let mut moments = Vec::new();
    let mut stamps = Vec::new();
    let mut dated = |ts: &str| {
        let t = secs(ts)?;
        stamps.push((t, ts.to_owned()));
        Some(t)
    };
    let events: Vec<(f64, &crate::stack::snapshot::ContainerEvent)> = c
        .events
        .iter()
        .filter_map(|e| Some((dated(&e.time)?, e)))
        .collect();
    let at_event = |action: &str| -> Vec<f64> {
        events
            .iter()
            .filter(|(_, e)| e.action == action)
            .map(|(t, _)| *t)
            .collect()
    };

    if let Some(t) = dated(&c.created).or_else(|| at_event("create").first().copied()) {
        moments.push(Moment {
            at: t,
            kind: Kind::Created,
            detail: String::new(),
        });
    }

    // Starts: the events', and the current run's from inspect (more precise than its event).
    let started_at = dated(&c.state.started_at);
    let mut starts = at_event("start");
    if let Some(s) = started_at {
        starts.retain(|t| !near(*t, s));
        starts.push(s);
    }

    // Exits: `die` events with their codes, and the current run's end from inspect.
    let mut exits: Vec<(f64, Option<i64>)> = events
        .iter()
        .filter(|(_, e)| e.action == "die")
        .map(|(t, e)| (*t, e.exit_code))
        .collect();
    let finished_at = dated(&c.state.finished_at);
    if let Some(f) = finished_at {
        let current_ended = started_at.is_some_and(|s| f >= s);
        let code = current_ended.then_some(c.state.exit_code);
        match exits.iter_mut().find(|(t, _)| near(*t, f)) {
            Some(e) => {
                e.0 = f;
                e.1 = e.1.or(code);
            }
            // A previous run's end no event recorded still ended a run.
            None => exits.push((f, code)),
        }
    }

    // Runs: each start opens one, each exit closes it. A run that ended with no start on record
    // began, as far as anyone can tell, at its first log line after the previous boundary.
    let mut bounds: Vec<(f64, Option<Option<i64>>)> = starts
        .iter()
        .map(|&t| (t, None))
        .chain(exits.iter().map(|&(t, code)| (t, Some(code))))
        .collect();
    // Exits before starts at the same instant: a restart ends a run, then begins one.
    bounds.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.is_some().cmp(&a.1.is_some())));
    let log_times: Vec<f64> = c
        .logs
        .lines
        .iter()
        .filter_map(|l| l.ts.as_deref().and_then(secs))
        .collect();
    let mut runs: Vec<RawRun> = Vec::new();
    let mut open: Option<(f64, bool)> = None;
    let mut previous = f64::NEG_INFINITY;
    fn begin(runs: &[RawRun], moments: &mut Vec<Moment>, t: f64, inferred: bool) {
        let kind = if runs.is_empty() {
            Kind::Started
        } else {
            Kind::Restarted
        };
        moments.push(Moment {
            at: t,
            kind,
            detail: if inferred {
                "(its first log line: nothing dated the start)".into()
            } else {
                String::new()
            },
        });
    }
    for (t, exit) in bounds {
        match exit {
            None => {
                if let Some((from, inferred)) = open.take() {
                    runs.push(RawRun {
                        from,
                        to: Some(t),
                        inferred,
                    });
                }
                begin(&runs, &mut moments, t, false);
                open = Some((t, false));
            }
            Some(code) => {
                let from = open.take().or_else(|| {
                    log_times
                        .iter()
                        .copied()
                        .find(|&l| l > previous && l <= t)
                        .map(|l| {
                            begin(&runs, &mut moments, l, true);
                            (l, true)
                        })
                });
                if let Some((from, inferred)) = from {
                    runs.push(RawRun {
                        from,
                        to: Some(t),
                        inferred,
                    });
                }
                moments.push(Moment {
                    at: t,
                    kind: Kind::Exited,
                    detail: match code {
                        Some(code) => format!("exit {code}"),
                        None => "exit code not recorded".into(),
                    },
                });
            }
        }
        previous = t;
    }
    if let Some((from, inferred)) = open {
        runs.push(RawRun {
            from,
            to: None,
            inferred,
        });
    }

    let ooms = at_event("oom");
    for &t in &ooms {
        moments.push(Moment {
            at: t,
            kind: Kind::Oom,
            detail: "killed by the kernel: out of memory".into(),
        });
    }
    if c.state.oom_killed
        && let Some(f) = finished_at
        && !ooms.iter().any(|&t| near(t, f))
    {
        moments.push(Moment {
            at: f,
            kind: Kind::Oom,
            detail: "killed by the kernel: out of memory".into(),
        });
    }
    for (t, e) in events.iter().filter(|(_, e)| e.action == "kill") {
        moments.push(Moment {
            at: *t,
            kind: Kind::Killed,
            detail: e
                .signal
                .as_deref()
                .map(|s| format!("signal {s}"))
                .unwrap_or_default(),
        });
    }

    health_moments(c, &events, &mut dated, redactor, &mut moments);

    if let Some((t, text, minor)) = first_error(c, d, redactor, &mut dated) {
        moments.push(Moment {
            at: t,
            kind: if minor {
                Kind::FirstNote
            } else {
                Kind::FirstError
            },
            detail: one_line(&text, redactor),
        });
    }

    moments.sort_by(|a, b| a.at.total_cmp(&b.at).then(a.kind.cmp(&b.kind)));
    RawLane {
        service: c.service.clone(),
        container: c.name.clone(),
        status: status(c),
        runs,
        moments,
        stamps,
    }
}

/// Each health check as a tick, and the turns to healthy or unhealthy: from the engine's
/// `health_status` events when it sent them, else read off the health log where it shows them
/// (a pass after a failure; the failure that made the streak reach `retries`).
fn health_moments(
    c: &ContainerSnapshot,
    events: &[(f64, &crate::stack::snapshot::ContainerEvent)],
    dated: &mut impl FnMut(&str) -> Option<f64>,
    redactor: &Redactor,
    moments: &mut Vec<Moment>,
) {
    let Some(h) = &c.health else { return };
    let checks: Vec<(f64, &crate::stack::snapshot::HealthResult)> = h
        .log
        .iter()
        .filter_map(|r| Some((dated(&r.start)?, r)))
        .collect();
    for (t, r) in &checks {
        let passed = r.exit_code == 0;
        moments.push(Moment {
            at: *t,
            kind: if passed {
                Kind::HealthPassed
            } else {
                Kind::HealthFailed
            },
            detail: if passed {
                String::new()
            } else {
                let out = one_line(&r.output, redactor);
                if out.is_empty() {
                    format!("exit {}", r.exit_code)
                } else {
                    format!("exit {}: {out}", r.exit_code)
                }
            },
        });
    }
    let turns: Vec<(f64, Kind)> = events
        .iter()
        .filter_map(|(t, e)| {
            match e
                .action
                .strip_prefix("health_status")?
                .trim_start_matches(':')
                .trim()
            {
                "healthy" => Some((*t, Kind::Healthy)),
                "unhealthy" => Some((*t, Kind::Unhealthy)),
                _ => None,
            }
        })
        .collect();
    if !turns.is_empty() {
        for (t, kind) in turns {
            moments.push(Moment {
                at: t,
                kind,
                detail: String::new(),
            });
        }
        return;
    }
    match h.status.as_str() {
        "healthy" => {
            let last_fail = checks.iter().rposition(|(_, r)| r.exit_code != 0);
            if let Some(i) = last_fail
                && let Some((t, _)) = checks.get(i + 1)
            {
                moments.push(Moment {
                    at: *t,
                    kind: Kind::Healthy,
                    detail: String::new(),
                });
            }
        }
        "unhealthy" => {
            let retries = c
                .healthcheck
                .as_ref()
                .map(|hc| hc.retries)
                .filter(|&r| r > 0)
                .unwrap_or(3);
            // The streak reached `retries` this many checks before the last one.
            let at = checks.len() as i64 - 1 - (h.failing_streak - retries);
            if h.failing_streak >= retries
                && let Ok(at) = usize::try_from(at)
                && let Some((t, _)) = checks.get(at)
            {
                moments.push(Moment {
                    at: *t,
                    kind: Kind::Unhealthy,
                    detail: format!("{retries} failed checks in a row"),
                });
            }
        }
        _ => {}
    }
}

/// The earliest dated log line of the container that says what a finding on it cites, preferring
/// findings above `info` (a ruled-out look-alike's line is a first error only when nothing else
/// is). A finding cites a sample of the lines that matched (the first run's may not be among
/// them), so the cited line is looked up in the tail: the first line that reads the same once
/// numbers (pids, stamps, addresses) are set aside.
fn first_error(
    c: &ContainerSnapshot,
    d: &Diagnosis,
    redactor: &Redactor,
    dated: &mut impl FnMut(&str) -> Option<f64>,
) -> Option<(f64, String, bool)> {
    let all = d.all_findings();
    let cited: Vec<(bool, &str, &str)> = all
        .iter()
        .filter(|f| f.service == c.service)
        .flat_map(|f| {
            let minor = f.severity <= Severity::Info;
            f.evidence.iter().filter_map(move |e| match e {
                Evidence::Log {
                    container,
                    ts: Some(ts),
                    text,
                    ..
                } if container == &c.name => Some((minor, ts.as_str(), text.as_str())),
                _ => None,
            })
        })
        .collect();
    if cited.is_empty() {
        return None;
    }
    let tail: Vec<(&str, String)> = c
        .logs
        .lines
        .iter()
        .filter_map(|l| Some((l.ts.as_deref()?, shape(&redactor.text(&l.text)))))
        .collect();
    let mut best: Option<(bool, f64, String, String)> = None;
    for (minor, ts, text) in cited {
        let wanted = shape(text);
        let (ts, line) = tail
            .iter()
            .find(|(_, s)| *s == wanted)
            .map_or((ts, text.to_owned()), |(t, _)| (*t, text.to_owned()));
        let Some(t) = dated(ts) else { continue };
        let better = match &best {
            None => true,
            Some((b_minor, b_t, _, _)) => (minor, t) < (*b_minor, *b_t),
        };
        if better {
            best = Some((minor, t, ts.to_owned(), line));
        }
    }
    let (minor, t, ts, cited_text) = best?;
    // The line as the tail has it at that time (its own numbers), else the cited one.
    let own = c
        .logs
        .lines
        .iter()
        .find(|l| {
            l.ts.as_deref() == Some(ts.as_str())
                && shape(&redactor.text(&l.text)) == shape(&cited_text)
        })
        .map_or(cited_text, |l| l.text.clone());
    Some((t, own, minor))
}

/// A line with its numbers set aside: runs of digits read as one `0`.
fn shape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for ch in text.trim().chars() {
        if ch.is_ascii_digit() {
            if !in_number {
                out.push('0');
            }
            in_number = true;
        } else {
            out.push(ch);
            in_number = false;
        }
    }
    out
}

/// The container's state when collected, in a few words.
fn status(c: &ContainerSnapshot) -> String {
    let mut words = match c.state.status.as_str() {
        "created" => "created, never started".to_owned(),
        "exited" | "dead" => format!("{} {}", c.state.status, c.state.exit_code),
        other => other.to_owned(),
    };
    if c.state.status != "created"
        && let Some(h) = &c.health
    {
        words.push_str(&format!(", {}", h.status));
    }
    if c.restart_count > 0 {
        words.push_str(&format!(
            ", {} restart{}",
            c.restart_count,
            if c.restart_count == 1 { "" } else { "s" }
        ));
    }
    if c.oom_killed_recently() {
        words.push_str(", OOM-killed");
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Finding;
    use crate::stack::snapshot::testing::{container, exited, stack};
    use crate::stack::snapshot::{ContainerEvent, Health, HealthResult, LogLine, Stream};

    fn event(time: &str, action: &str, exit_code: Option<i64>) -> ContainerEvent {
        ContainerEvent {
            time: time.into(),
            action: action.into(),
            exit_code,
            signal: None,
        }
    }

    fn line(ts: &str, text: &str) -> LogLine {
        LogLine {
            ts: Some(ts.into()),
            stream: Stream::Stderr,
            text: text.into(),
        }
    }

    fn empty(project: &str) -> Diagnosis {
        Diagnosis {
            input: None,
            project: project.into(),
            services: vec![],
            findings: vec![],
        }
    }

    fn kinds(lane: &Lane) -> Vec<(f64, Kind)> {
        lane.moments.iter().map(|m| (m.at, m.kind)).collect()
    }

    #[test]
    fn a_restart_loop_is_runs_between_starts_and_exits() {
        let mut web = container("web");
        web.created = "2026-11-21T10:00:00.000Z".into();
        web.state.started_at = "2026-11-21T10:00:09.500Z".into();
        web.state.finished_at = "2026-11-21T10:00:08.200Z".into();
        web.restart_count = 2;
        // An older bundle: no start events, the earlier runs dated by their logs.
        web.events = vec![
            event("2026-11-21T10:00:03Z", "die", Some(1)),
            event("2026-11-21T10:00:08Z", "die", Some(3)),
        ];
        web.logs.lines = vec![
            line("2026-11-21T10:00:01.000Z", "booting"),
            line("2026-11-21T10:00:06.000Z", "booting again"),
            line("2026-11-21T10:00:10.000Z", "and again"),
        ];
        let mut snap = stack(vec![web]);
        snap.collected_at = "2026-11-21T10:00:12Z".into();
        let t = Timeline::of(&snap, &empty("lab"), &Redactor::default()).expect("dated");
        assert_eq!(t.origin, "2026-11-21T10:00:00.000Z");
        assert_eq!(t.span, 12.0);
        let lane = &t.lanes[0];
        assert_eq!(
            kinds(lane),
            vec![
                (0.0, Kind::Created),
                (1.0, Kind::Started),
                (3.0, Kind::Exited),
                (6.0, Kind::Restarted),
                (8.2, Kind::Exited),
                (9.5, Kind::Restarted),
            ]
        );
        assert_eq!(
            lane.moments[4].detail, "exit 3",
            "FinishedAt takes the die event's code"
        );
        let runs: Vec<(f64, f64, bool, bool)> = lane
            .runs
            .iter()
            .map(|r| (r.from, r.to, r.open, r.inferred))
            .collect();
        assert_eq!(
            runs,
            vec![
                (1.0, 3.0, false, true),
                (6.0, 8.2, false, true),
                (9.5, 12.0, true, false)
            ]
        );
        assert_eq!(lane.status, "running, 2 restarts");
    }

    #[test]
    fn a_container_that_never_started_is_only_created() {
        let mut web = container("web");
        web.state.status = "created".into();
        web.state.running = false;
        web.state.started_at = "0001-01-01T00:00:00Z".into();
        web.state.finished_at = "0001-01-01T00:00:00Z".into();
        web.created = "2026-11-21T10:00:02Z".into();
        let mut db = container("db");
        db.state.started_at = "2026-11-21T10:00:01Z".into();
        let snap = stack(vec![db, web]);
        let t = Timeline::of(&snap, &empty("lab"), &Redactor::default()).expect("dated");
        assert_eq!(t.lanes[1].runs, vec![]);
        assert_eq!(kinds(&t.lanes[1]), vec![(1.0, Kind::Created)]);
        assert_eq!(t.lanes[1].status, "created, never started");
        assert_eq!(t.lanes[0].runs[0].to, t.span, "db runs to the collection");
    }

    #[test]
    fn health_turns_exit_codes_oom_and_the_first_error_are_marked_and_redacted() {
        let mut web = exited(container("web"), 137, false);
        web.state.oom_killed = true;
        web.state.started_at = "2026-11-21T10:00:00Z".into();
        web.state.finished_at = "2026-11-21T10:00:20Z".into();
        let result = |s: &str, code: i64, out: &str| HealthResult {
            start: s.into(),
            end: s.into(),
            exit_code: code,
            output: out.into(),
        };
        web.health = Some(Health {
            status: "unhealthy".into(),
            failing_streak: 4,
            log: vec![
                result("2026-11-21T10:00:05Z", 0, ""),
                result(
                    "2026-11-21T10:00:08Z",
                    1,
                    "curl: (7) http://u:hunter2@web:5000 refused",
                ),
                result("2026-11-21T10:00:11Z", 1, "again"),
                result("2026-11-21T10:00:14Z", 1, "again"),
                result("2026-11-21T10:00:17Z", 1, "again"),
            ],
        });
        let mut d = empty("lab");
        let mut f = Finding::bare("oom-killed", "web");
        f.evidence = vec![
            Evidence::Log {
                container: "web_1".into(),
                ts: Some("2026-11-21T10:00:09Z".into()),
                text: "later".into(),
                occurrences: 1,
                first_ts: None,
                more: 0,
            },
            Evidence::Log {
                container: "web_1".into(),
                ts: Some("2026-11-21T10:00:07Z".into()),
                text: "MemoryError".into(),
                occurrences: 1,
                first_ts: None,
                more: 0,
            },
        ];
        d.findings.push(f);
        // The finding cites a later line; the same message, other numbers, came first.
        web.logs.lines = vec![
            line("2026-11-21T10:00:06Z", "[pid 12] MemoryError at 0x12"),
            line("2026-11-21T10:00:07Z", "[pid 31] MemoryError at 0x34"),
        ];
        d.findings[0].evidence[1] = Evidence::Log {
            container: "web_1".into(),
            ts: Some("2026-11-21T10:00:07Z".into()),
            text: "[pid 31] MemoryError at 0x34".into(),
            occurrences: 2,
            first_ts: None,
            more: 0,
        };
        let snap = stack(vec![web]);
        let t = Timeline::of(&snap, &d, &Redactor::default()).expect("dated");
        let lane = &t.lanes[0];
        assert_eq!(
            kinds(lane),
            vec![
                (0.0, Kind::Started),
                (5.0, Kind::HealthPassed),
                (6.0, Kind::FirstError),
                (8.0, Kind::HealthFailed),
                (11.0, Kind::HealthFailed),
                (14.0, Kind::HealthFailed),
                (14.0, Kind::Unhealthy),
                (17.0, Kind::HealthFailed),
                (20.0, Kind::Oom),
                (20.0, Kind::Exited),
            ]
        );
        assert_eq!(lane.moments[2].detail, "[pid 12] MemoryError at 0x12");
        assert_eq!(
            lane.moments[3].detail,
            "exit 1: curl: (7) http://u:***@web:5000 refused"
        );
        assert_eq!(lane.moments[9].detail, "exit 137");
        let listed: Vec<(Kind, usize)> = t
            .key_moments()
            .iter()
            .map(|k| (k.moment.kind, k.times))
            .collect();
        assert!(
            listed.contains(&(Kind::HealthFailed, 2)),
            "repeats fold: {listed:?}"
        );
    }

    #[test]
    fn nothing_dated_is_no_timeline() {
        let mut web = container("web");
        web.state.started_at = "0001-01-01T00:00:00Z".into();
        let snap = stack(vec![web]);
        assert_eq!(
            Timeline::of(&snap, &empty("lab"), &Redactor::default()),
            None
        );
    }

    #[test]
    fn offsets_read_like_durations() {
        assert_eq!(offset(0.0), "+0.0s");
        assert_eq!(offset(12.34), "+12.3s");
        assert_eq!(offset(125.0), "+2m05s");
    }
}
