//! The `docker` probe: what the container's own inspect data and image say.
//!
//! - `health-tool-missing`: a health check such as `curl -f http://… || exit 1` fails with
//!   `curl: not found` in a slim image, and the `|| exit 1` hides the telling exit code 127.
//!   The probe looks the program up in the image's `PATH` directories through the archive
//!   endpoint (works whether or not the container runs; never execs).
//! - `memory-limit-hit`: `OOMKilled` together with the memory limit that was hit.
//! - `start-period-short`: the time from the container's start to its first passing health check,
//!   against the grace the health check gives (`start_period + interval × retries`).
use super::{Ctx, Outcome, ProbeResult, archive};
use crate::rules::Expectation;
use crate::rules::{DockerExpectation, ProbeSpec};
use crate::stack::snapshot::ContainerSnapshot;
use std::time::Duration;

/// The program a health check runs first, when it is a plain command name (`curl`, `wget`,
/// `pg_isready`): from `CMD` form, or the first word of a `CMD-SHELL` command.
pub fn health_program(test: &[String]) -> Option<String> {
    let (form, args) = test.split_first()?;
    let first = match form.as_str() {
        "CMD" => args.first()?.clone(),
        "CMD-SHELL" => args
            .join(" ")
            .split_whitespace()
            .find(|w| !w.contains('='))?
            .to_owned(),
        _ => return None,
    };
    let name = first.rsplit('/').next().unwrap_or(&first);
    let shell_word = |c: char| c.is_ascii_alphanumeric() || "._-+".contains(c);
    (!name.is_empty() && name.chars().all(shell_word)).then(|| first.clone())
}

/// The grace a health check gives before it may turn unhealthy.
fn grace(c: &ContainerSnapshot) -> Option<Duration> {
    let hc = c.healthcheck.as_ref()?;
    let ns = |v: i64, default: u64| if v > 0 { v as u64 } else { default };
    let interval = ns(hc.interval_ns, 30_000_000_000);
    let retries = if hc.retries > 0 { hc.retries as u64 } else { 3 };
    let start = ns(hc.start_period_ns, 0);
    Some(Duration::from_nanos(start + interval * retries))
}

/// Seconds between two RFC 3339 stamps of the engine (same offset).
fn seconds_between(from: &str, to: &str) -> Option<f64> {
    Some(rfc3339_secs(to)? - rfc3339_secs(from)?)
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.frac]Z` (the engine's UTC stamps).
pub(crate) fn rfc3339_secs(ts: &str) -> Option<f64> {
    let (date, time) = ts.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.trim_end_matches('Z');
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let frac: f64 = format!("0.{}", frac.trim_end_matches(|c: char| !c.is_ascii_digit()))
        .parse()
        .unwrap_or(0.0);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss) as f64 + frac)
}

/// Judge every `docker` spec for `ctx.container`.
pub async fn probe(expects: &[DockerExpectation], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let specs: Vec<ProbeSpec> = expects.iter().map(|e| e.spec()).collect();
    let mut out = Vec::new();
    for (spec, expect) in specs.iter().zip(expects) {
        out.push(match expect {
            DockerExpectation::HealthToolMissing => tool_missing(spec, ctx).await,
            DockerExpectation::MemoryLimitHit => memory_limit(spec, ctx.container),
            DockerExpectation::StartPeriodShort => start_period(spec, ctx.container),
            DockerExpectation::KilledAfterGrace => killed_after_grace(spec, ctx.container),
            DockerExpectation::GpuRuntimeMissing => {
                let reservation = match &ctx.snapshot.compose {
                    Some(m) => Ok(m
                        .service(&ctx.container.service)
                        .and_then(|s| s.gpu_reservation)
                        .map(|pos| (m.file.display().to_string(), pos.line))),
                    None => Err("no compose file to read the service's reservations from".into()),
                };
                let runtimes = match ctx.docker() {
                    Ok(d) => engine_runtimes(d, ctx.opts.timeout).await,
                    Err(why) => Err(why.to_string()),
                };
                gpu_runtime(spec, &ctx.container.service, reservation, runtimes)
            }
        });
    }
    out
}

/// The runtimes the engine is configured with (`runc`, `nvidia`, …), from `docker info`.
pub async fn engine_runtimes(
    docker: &bollard::Docker,
    timeout: Duration,
) -> Result<Vec<String>, String> {
    match tokio::time::timeout(timeout, docker.info()).await {
        Ok(Ok(info)) => {
            let mut names: Vec<String> = info.runtimes.unwrap_or_default().into_keys().collect();
            names.sort();
            Ok(names)
        }
        Ok(Err(e)) => Err(format!(
            "the engine's info: {}",
            crate::stack::connect::error_chain(&e)
        )),
        Err(_) => Err(format!("the engine's info: no answer within {timeout:?}")),
    }
}

/// A GPU reservation (`file`, line; `Err` when there is no compose model to read) against the engine's runtimes: without an `nvidia` runtime
/// the engine cannot create the container (`could not select device driver "nvidia" with
/// capabilities: [[gpu]]`). Pure: pre-flight asks the same question before `up`.
pub fn gpu_runtime(
    spec: &ProbeSpec,
    service: &str,
    reservation: Result<Option<(String, u32)>, String>,
    runtimes: Result<Vec<String>, String>,
) -> ProbeResult {
    let (file, line) = match reservation {
        Err(why) => return ProbeResult::unknown(spec, why, &[]),
        Ok(None) => {
            return ProbeResult::new(
                spec,
                Outcome::RuledOut,
                format!("{service} reserves no GPU"),
                &[],
            );
        }
        Ok(Some(at)) => at,
    };
    let name = std::path::Path::new(&file)
        .file_name()
        .map_or(file.clone(), |n| n.to_string_lossy().into_owned());
    let mut facts = vec![format!(
        "{name}:{line}: {service} reserves NVIDIA GPUs (deploy.resources.reservations.devices)"
    )];
    match runtimes {
        Err(why) => ProbeResult::unknown(spec, why, &facts),
        Ok(list) => {
            facts.push(format!("the engine's runtimes: {}", list.join(", ")));
            if list.iter().any(|r| r.contains("nvidia")) {
                ProbeResult::new(
                    spec,
                    Outcome::RuledOut,
                    "the engine has the NVIDIA runtime".into(),
                    &facts,
                )
            } else {
                ProbeResult::new(
                    spec,
                    Outcome::Confirmed,
                    format!(
                        "{service} reserves NVIDIA GPUs ({name}:{line}), and the engine has no NVIDIA runtime: the container cannot be created"
                    ),
                    &facts,
                )
                .with("compose_line", line.to_string())
            }
        }
    }
}

async fn tool_missing(spec: &ProbeSpec, ctx: &Ctx<'_>) -> ProbeResult {
    let c = ctx.container;
    let Some(hc) = &c.healthcheck else {
        return ProbeResult::unknown(spec, format!("{} has no health check", c.name), &[]);
    };
    let Some(program) = health_program(&hc.test) else {
        return ProbeResult::unknown(
            spec,
            "the health check does not start with a plain program name".into(),
            &[],
        );
    };
    let docker = match ctx.docker() {
        Ok(d) => d,
        Err(why) => return ProbeResult::unknown(spec, why.to_string(), &[]),
    };
    let path = c
        .env
        .iter()
        .find(|v| v.name == "PATH")
        .map(|v| v.value.as_str());
    let facts = vec![format!(
        "health check runs `{program}`; PATH = {}",
        path.unwrap_or("(image default)")
    )];
    match archive::which(docker, &c.id, &program, path, ctx.opts.timeout).await {
        Ok(None) => {
            let mut r = ProbeResult::new(
                spec,
                Outcome::Confirmed,
                format!("`{program}` is in no PATH directory of {}'s image", c.name),
                &facts,
            )
            .with("program", program.clone())
            .with("compose_key", "healthcheck");
            let env = ctx.env();
            if let Ok(url) = super::http::health_url(&hc.test, &env) {
                r = r.with("url", url.url);
            }
            r
        }
        Ok(Some(found)) => ProbeResult::new(
            spec,
            Outcome::RuledOut,
            format!("`{program}` is there: {found}"),
            &facts,
        ),
        Err(e) => ProbeResult::unknown(spec, e.to_string(), &facts),
    }
}

/// What ended the container's last exit 137, from the engine's events of that run: `docker stop`
/// sends the stop signal (a `kill` event with signal 15), waits the grace period, then sends
/// SIGKILL (a `kill` event with signal 9) — the pair is the class. A SIGKILL alone is `docker
/// kill` (no grace involved), and an `oom` event is the kernel's verdict instead.
fn killed_after_grace(spec: &ProbeSpec, c: &ContainerSnapshot) -> ProbeResult {
    let mut facts = Vec::new();
    // PID 1 a shell that runs the server as its child: the signal stops at the shell.
    if let [sh, flag, script, ..] = c.entrypoint.iter().chain(&c.command).collect::<Vec<_>>()[..]
        && sh
            .rsplit('/')
            .next()
            .is_some_and(|n| n == "sh" || n == "bash")
        && flag == "-c"
        && !script.trim_start().starts_with("exec ")
    {
        facts.push(format!(
            "{} runs under `{} -c` without `exec`: the shell is PID 1 and does not pass SIGTERM on",
            c.service, sh
        ));
    }
    let Some(died) = c
        .events
        .iter()
        .rposition(|e| e.action == "die" && e.exit_code == Some(137))
    else {
        return ProbeResult::unknown(
            spec,
            "no engine event of an exit 137 (the engine keeps events for a while only; pasted \
             output has none)"
                .into(),
            &facts,
        );
    };
    // That run's events: from its start (or the first kept) to its death.
    let from = c.events[..died]
        .iter()
        .rposition(|e| e.action == "start")
        .map_or(0, |i| i + 1);
    let run = &c.events[from..died];
    let signals: Vec<&str> = run
        .iter()
        .filter(|e| e.action == "kill")
        .filter_map(|e| e.signal.as_deref())
        .collect();
    facts.push(format!(
        "events of the run that exited 137: {}",
        run.iter()
            .chain(std::iter::once(&c.events[died]))
            .map(|e| match (&e.signal, e.exit_code) {
                (Some(s), _) => format!("{} {s}", e.action),
                (None, Some(code)) => format!("{} {code}", e.action),
                _ => e.action.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let verdict = |o: Outcome, s: String, facts: &[String]| ProbeResult::new(spec, o, s, facts);
    if run.iter().any(|e| e.action == "oom") {
        return verdict(
            Outcome::RuledOut,
            "the kernel's OOM killer ended that run, not the stop grace period".into(),
            &facts,
        );
    }
    let is = |s: &str, names: &[&str]| names.contains(&s.trim_start_matches("SIG"));
    let term = run.iter().position(|e| {
        e.action == "kill" && e.signal.as_deref().is_some_and(|s| !is(s, &["9", "KILL"]))
    });
    let kill = run.iter().rposition(|e| {
        e.action == "kill" && e.signal.as_deref().is_some_and(|s| is(s, &["9", "KILL"]))
    });
    match (term, kill) {
        (Some(t), Some(k)) if t < k => {
            let waited = seconds_between(&run[t].time, &run[k].time)
                .map(|s| format!(" {s:.0} s later"))
                .unwrap_or_default();
            verdict(
                Outcome::Confirmed,
                format!(
                    "the engine sent signal {} to stop it, then SIGKILL{waited}: it did not stop \
                     within its grace period",
                    run[t].signal.as_deref().unwrap_or("15")
                ),
                &facts,
            )
        }
        (None, Some(_)) => verdict(
            Outcome::RuledOut,
            "the engine sent SIGKILL with no stop signal before it (`docker kill`): no grace \
             period was involved"
                .into(),
            &facts,
        ),
        _ if signals.is_empty() => ProbeResult::unknown(
            spec,
            "the engine sent no signal before the exit 137: SIGKILL came from inside the \
             container or the kernel"
                .into(),
            &facts,
        ),
        _ => ProbeResult::unknown(
            spec,
            format!(
                "the engine's signals ({}) do not end in a SIGKILL",
                signals.join(", ")
            ),
            &facts,
        ),
    }
}

fn memory_limit(spec: &ProbeSpec, c: &ContainerSnapshot) -> ProbeResult {
    let mib = c.memory_limit as f64 / (1024.0 * 1024.0);
    // Pasted output may not tell the exit code or the limit (see `ContainerSnapshot`).
    let code = match c.telling_exit_code() {
        _ if c.state.status == crate::stack::paste::UNKNOWN_STATUS => "unknown".to_owned(),
        Some(code) => code.to_string(),
        None => c.state.exit_code.to_string(),
    };
    let facts = vec![format!(
        "OOMKilled = {}, exit code {code}, memory limit {}",
        c.oom_killed_recently(),
        match c.memory_limit {
            0 => "none".to_owned(),
            l if l < 0 => "unknown".to_owned(),
            _ => format!("{mib:.0} MiB"),
        }
    )];
    if c.state.status == crate::stack::paste::UNKNOWN_STATUS {
        // Pasted logs say nothing of the kernel's verdict: neither way.
        return ProbeResult::unknown(spec, "the state is unknown (logs only)".into(), &[]);
    }
    if !c.oom_killed_recently() {
        return ProbeResult::new(
            spec,
            Outcome::RuledOut,
            "the kernel did not OOM-kill the container's main process".into(),
            &facts,
        );
    }
    if c.memory_limit > 0 {
        ProbeResult::new(
            spec,
            Outcome::Confirmed,
            format!("killed by the kernel at its {mib:.0} MiB memory limit"),
            &facts,
        )
    } else if c.memory_limit < 0 {
        ProbeResult::unknown(
            spec,
            "the pasted output does not tell the memory limit".into(),
            &facts,
        )
    } else {
        ProbeResult::new(
            spec,
            Outcome::Confirmed,
            "OOM-killed with no limit of its own: the host ran out of memory".into(),
            &facts,
        )
    }
}

fn start_period(spec: &ProbeSpec, c: &ContainerSnapshot) -> ProbeResult {
    let (Some(health), Some(grace)) = (&c.health, grace(c)) else {
        return ProbeResult::unknown(spec, format!("{} has no health check", c.name), &[]);
    };
    let mut facts = vec![format!(
        "grace before unhealthy: start_period + interval × retries = {:.0}s",
        grace.as_secs_f64()
    )];
    // The first passing result that follows a failing one (or opens the log) marks when the
    // service came up.
    let first_pass = health
        .log
        .iter()
        .enumerate()
        .find(|(i, r)| r.exit_code == 0 && (*i == 0 || health.log[i - 1].exit_code != 0))
        .map(|(i, r)| (i, r.start.clone()));
    let Some((at, passed)) = first_pass else {
        return ProbeResult::new(
            spec,
            Outcome::RuledOut,
            format!("{} has not passed a health check yet", c.name),
            &facts,
        );
    };
    let Some(boot) = seconds_between(&c.state.started_at, &passed) else {
        return ProbeResult::unknown(spec, "cannot read the engine's timestamps".into(), &facts);
    };
    facts.push(format!(
        "started {}, first passing check {passed} ({boot:.0}s later)",
        c.state.started_at
    ));
    if at == 0 && boot > grace.as_secs_f64() {
        // The log keeps 5 results: a passing one first may follow older failures we cannot see.
        facts.push("older results have rotated out of the health log".into());
    }
    if boot > grace.as_secs_f64() {
        ProbeResult::new(
            spec,
            Outcome::Confirmed,
            format!(
                "{} needed {boot:.0}s to pass its health check, more than the {:.0}s grace",
                c.name,
                grace.as_secs_f64()
            ),
            &facts,
        )
        .with("boot_secs", format!("{}", boot.ceil() as u64))
        .with("compose_key", "healthcheck")
    } else {
        ProbeResult::new(
            spec,
            Outcome::RuledOut,
            format!(
                "{} passed its health check within the grace ({boot:.0}s)",
                c.name
            ),
            &facts,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::snapshot::ContainerEvent;
    use crate::stack::snapshot::testing::container;

    fn ev(
        time: &str,
        action: &str,
        signal: Option<&str>,
        exit_code: Option<i64>,
    ) -> ContainerEvent {
        ContainerEvent {
            time: format!("2026-12-06T08:10:{time}Z"),
            action: action.into(),
            exit_code,
            signal: signal.map(str::to_owned),
        }
    }

    fn judged(events: Vec<ContainerEvent>) -> ProbeResult {
        let mut c = container("exporter");
        c.command = ["sh", "-c", "python3 -m http.server 9100; echo stopped"]
            .map(str::to_owned)
            .to_vec();
        c.state.exit_code = 137;
        c.events = events;
        let spec = ProbeSpec::Docker {
            expect: DockerExpectation::KilledAfterGrace,
        };
        killed_after_grace(&spec, &c)
    }

    #[test]
    fn a_stop_signal_then_sigkill_is_the_grace_period_running_out() {
        let r = judged(vec![
            ev("00", "start", None, None),
            ev("01", "kill", Some("15"), None),
            ev("11", "kill", Some("9"), None),
            ev("11", "die", None, Some(137)),
        ]);
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert!(r.summary.contains("10 s later"), "{}", r.summary);
        assert!(
            r.facts.iter().any(|f| f.contains("without `exec`")),
            "{r:?}"
        );
        // Only the run that exited 137 counts: an earlier run's stop does not.
        let r = judged(vec![
            ev("00", "kill", Some("15"), None),
            ev("01", "die", None, Some(0)),
            ev("02", "start", None, None),
            ev("03", "kill", Some("9"), None),
            ev("03", "die", None, Some(137)),
        ]);
        assert_eq!(r.outcome, Outcome::RuledOut, "docker kill: {r:?}");
    }

    #[test]
    fn oom_or_no_events_is_not_the_grace_period() {
        let r = judged(vec![
            ev("01", "kill", Some("15"), None),
            ev("02", "oom", None, None),
            ev("02", "kill", Some("9"), None),
            ev("02", "die", None, Some(137)),
        ]);
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
        let r = judged(vec![]);
        assert!(matches!(r.outcome, Outcome::Unknown(_)), "{r:?}");
        let r = judged(vec![ev("02", "die", None, Some(137))]);
        assert!(matches!(r.outcome, Outcome::Unknown(_)), "{r:?}");
    }

    #[test]
    fn the_program_a_health_check_runs() {
        let t = |v: &[&str]| health_program(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            t(&["CMD-SHELL", "curl -fsS http://localhost:5001/ || exit 1"]).as_deref(),
            Some("curl")
        );
        assert_eq!(
            t(&["CMD", "pg_isready", "-U", "x"]).as_deref(),
            Some("pg_isready")
        );
        assert_eq!(
            t(&["CMD", "/usr/bin/wget", "-q"]).as_deref(),
            Some("/usr/bin/wget")
        );
        assert_eq!(t(&["NONE"]), None);
    }

    #[test]
    fn engine_timestamps_to_seconds() {
        let a = rfc3339_secs("2026-11-21T10:00:00.5Z").unwrap();
        let b = rfc3339_secs("2026-11-21T10:00:12.25Z").unwrap();
        assert!((b - a - 11.75).abs() < 1e-6);
        assert_eq!(rfc3339_secs("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            rfc3339_secs("0001-01-01T00:00:00Z").map(|s| s < 0.0),
            Some(true)
        );
    }
}
