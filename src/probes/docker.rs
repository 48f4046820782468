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
pub async fn probe(specs: &[ProbeSpec], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let mut out = Vec::new();
    for spec in specs {
        let ProbeSpec::Docker { expect } = spec else {
            unreachable!("docker specs only")
        };
        out.push(match expect {
            DockerExpectation::HealthToolMissing => tool_missing(spec, ctx).await,
            DockerExpectation::MemoryLimitHit => memory_limit(spec, ctx.container),
            DockerExpectation::StartPeriodShort => start_period(spec, ctx.container),
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
                    Err(why) => Err(why),
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
        Err(why) => return ProbeResult::unknown(spec, why, &[]),
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
