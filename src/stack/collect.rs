//! Collection: list the project's containers by their compose labels, inspect each, and fetch
//! their log tails concurrently — all through the Engine API, never the compose CLI.
use super::compose;
use super::logs::LogAssembler;
use super::snapshot::*;
use crate::error::DoctorError;
use crate::stack::connect::error_chain;
use bollard::Docker;
use bollard::query_parameters::{ListContainersOptionsBuilder, LogsOptionsBuilder};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
/// Labels of the doctor's own helper containers (fix helpers, probe relays): one cleanup finds
/// them all, and the collector never takes them for the project's.
pub const HELPER_LABEL: &str = "analylit-doctor.helper";
pub const HELPER_PROJECT_LABEL: &str = "analylit-doctor.project";

/// Bounds on what is read from each container's log.
#[derive(Debug, Clone, Copy)]
pub struct LogLimits {
    pub lines: usize,
    pub bytes: usize,
    /// A log that keeps streaming past this is cut, not waited for.
    pub timeout: Duration,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            lines: 2000,
            bytes: 4 * 1024 * 1024,
            timeout: Duration::from_secs(10),
        }
    }
}

pub(crate) fn engine_err(doing: &str) -> impl Fn(bollard::errors::Error) -> DoctorError + '_ {
    move |e| DoctorError::Engine {
        doing: doing.to_string(),
        reason: error_chain(&e),
    }
}

/// Every container (running or not) that carries all of `labels` (`key=value`): the one way the
/// doctor finds a project's, a service's or its own helper containers.
pub async fn list_labelled(
    docker: &Docker,
    labels: Vec<String>,
) -> Result<Vec<bollard::models::ContainerSummary>, bollard::errors::Error> {
    let filters: HashMap<&str, Vec<String>> = HashMap::from([("label", labels)]);
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    docker.list_containers(Some(opts)).await
}

/// Compose projects that have containers on this engine (for "did you mean" help).
pub async fn known_projects(docker: &Docker) -> Vec<String> {
    let opts = ListContainersOptionsBuilder::default().all(true).build();
    let Ok(list) = docker.list_containers(Some(opts)).await else {
        return vec![];
    };
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|c| c.labels.as_ref()?.get(PROJECT_LABEL).cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

pub async fn collect(
    docker: &Docker,
    project: &str,
    compose_file: Option<String>,
    limits: LogLimits,
) -> Result<StackSnapshot, DoctorError> {
    let list = list_labelled(docker, vec![format!("{PROJECT_LABEL}={project}")])
        .await
        .map_err(engine_err("listing containers"))?;
    let engine_version = docker.version().await.ok().and_then(|v| v.version);

    // Inspect and read logs of every container at once; a container removed in between is
    // skipped, not fatal.
    let tasks = list.iter().filter_map(|c| c.id.clone()).map(|id| {
        let docker = docker.clone();
        async move {
            // Not capped in bytes: bollard collects the answer whole and offers no limit. This
            // is the one reader left so, on purpose — the engine is the party the doctor trusts
            // (it talks to it as root anyway), and an inspect holds only what the engine itself
            // stored for the container (its config, env, labels, the last five health results).
            // Log tails, events and archive reads, whose size the containers decide, are capped.
            let inspect = match docker.inspect_container(&id, None).await {
                Ok(i) => i,
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => return Ok(None),
                Err(e) => return Err(engine_err("inspecting a container")(e)),
            };
            let logs = read_logs(&docker, &id, limits).await;
            Ok(Some(container_snapshot(inspect, logs)))
        }
    });
    let mut containers: Vec<ContainerSnapshot> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    containers.sort_by(|a, b| (&a.service, a.number).cmp(&(&b.service, b.number)));
    let mut events = recent_events(docker, &format!("{PROJECT_LABEL}={project}")).await;
    for c in &mut containers {
        c.events = events.remove(&c.id).unwrap_or_default();
    }

    // The compose file: the one the project was found from, else the one compose recorded on the
    // containers (`com.docker.compose.project.config_files`, when it exists on this host).
    let compose_file = compose_file.or_else(|| {
        containers
            .iter()
            .filter_map(|c| c.labels.get("com.docker.compose.project.config_files"))
            .filter_map(|files| files.split(',').next())
            .find(|f| std::path::Path::new(f).is_file())
            .map(String::from)
    });
    let (compose, compose_error) = match &compose_file {
        Some(file) => match compose::load(std::path::Path::new(file)) {
            Ok(model) => (Some(model), None),
            Err(e) => (None, Some(e.to_string())),
        },
        None => (None, None),
    };

    Ok(StackSnapshot {
        snapshot_version: SNAPSHOT_VERSION,
        project: project.to_string(),
        compose_file,
        collected_at: now_rfc3339(),
        engine_version,
        containers,
        compose,
        compose_error,
        backend: Default::default(),
    })
}

/// How far back the engine's event buffer is read, and how many events are kept per container
/// (a restart loop makes two per run: `start` and `die`).
const EVENTS_WINDOW_SECS: i64 = 3600;
const EVENTS_KEPT: usize = 40;

/// The project's recent lifecycle events, by container id, oldest first. A container caught
/// between two crashes of a restart loop is `running` with a clean state; `die`, `oom` and `kill`
/// keep what ended its previous runs (exit codes, OOM kills), and `create`, `start` and
/// `health_status` date each run and each turn of its health for the report's timeline. Best
/// effort: the engine keeps a bounded buffer of past events, and a failure or a slow answer here
/// only leaves the lists empty.
pub(crate) async fn recent_events(
    docker: &Docker,
    label: &str,
) -> HashMap<String, Vec<ContainerEvent>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let filters: HashMap<String, Vec<String>> = HashMap::from([
        ("type".to_owned(), vec!["container".to_owned()]),
        ("label".to_owned(), vec![label.to_owned()]),
        (
            "event".to_owned(),
            // `health_status` matches its `health_status: healthy` forms (the engine's own rule).
            ["create", "start", "die", "oom", "kill", "health_status"]
                .map(str::to_owned)
                .to_vec(),
        ),
    ]);
    let opts = bollard::query_parameters::EventsOptions {
        since: Some((now - EVENTS_WINDOW_SECS).to_string()),
        until: Some(now.to_string()),
        filters: Some(filters),
    };
    let mut out: HashMap<String, Vec<ContainerEvent>> = HashMap::new();
    let read = async {
        let mut stream = docker.events(Some(opts));
        while let Some(Ok(e)) = stream.next().await {
            let (Some(actor), Some(action)) = (e.actor, e.action) else {
                continue;
            };
            let Some(id) = actor.id else { continue };
            let attrs = actor.attributes.unwrap_or_default();
            let list = out.entry(id).or_default();
            list.push(ContainerEvent {
                // Nanoseconds when the engine gives them: the timeline orders a health turn
                // against log lines within the same second.
                time: match (e.time_nano, e.time) {
                    (Some(nanos), _) => rfc3339_nanos(nanos),
                    (None, Some(secs)) => rfc3339(secs),
                    (None, None) => String::new(),
                },
                action,
                exit_code: attrs.get("exitCode").and_then(|c| c.parse().ok()),
                signal: attrs.get("signal").cloned(),
            });
            if list.len() > EVENTS_KEPT {
                list.remove(0);
            }
        }
    };
    // `until` makes the engine end the stream; the timeout covers an engine that does not.
    let _ = tokio::time::timeout(Duration::from_secs(3), read).await;
    out
}

pub(crate) async fn read_logs(docker: &Docker, id: &str, limits: LogLimits) -> LogTail {
    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .tail(&limits.lines.to_string())
        .build();
    let mut stream = docker.logs(id, Some(opts));
    let mut asm = LogAssembler::new(limits.lines, limits.bytes);
    let read = async {
        while let Some(frame) = stream.next().await {
            match frame {
                Ok(bollard::container::LogOutput::StdOut { message }) => {
                    asm.push(Stream::Stdout, &message)
                }
                Ok(bollard::container::LogOutput::StdErr { message }) => {
                    asm.push(Stream::Stderr, &message)
                }
                Ok(bollard::container::LogOutput::Console { message }) => {
                    asm.push(Stream::Console, &message)
                }
                Ok(bollard::container::LogOutput::StdIn { .. }) => {}
                Err(_) => break, // the container went away mid-read: keep what we have
            }
        }
    };
    let complete = tokio::time::timeout(limits.timeout, read).await.is_ok();
    let mut tail = asm.finish();
    tail.truncated |= !complete;
    tail
}

fn s(v: Option<String>) -> String {
    v.unwrap_or_default()
}

pub(crate) fn container_snapshot(
    i: bollard::models::ContainerInspectResponse,
    logs: LogTail,
) -> ContainerSnapshot {
    let config = i.config.unwrap_or_default();
    let labels: BTreeMap<String, String> = config
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("com.docker.compose.")
                || k.starts_with("com.docker.swarm.")
                || k.starts_with("com.docker.stack.")
        })
        .collect();
    let st = i.state.unwrap_or_default();
    let health = st.health.map(|h| Health {
        status: h.status.map(|s| s.to_string()).unwrap_or_default(),
        failing_streak: h.failing_streak.unwrap_or(0),
        log: h
            .log
            .unwrap_or_default()
            .into_iter()
            .map(|r| HealthResult {
                start: r.start.map(|d| d.to_string()).unwrap_or_default(),
                end: r.end.map(|d| d.to_string()).unwrap_or_default(),
                exit_code: r.exit_code.unwrap_or(0),
                output: s(r.output),
            })
            .collect(),
    });
    let healthcheck = config.healthcheck.map(|h| HealthcheckConfig {
        test: h.test.unwrap_or_default(),
        interval_ns: h.interval.unwrap_or(0),
        timeout_ns: h.timeout.unwrap_or(0),
        start_period_ns: h.start_period.unwrap_or(0),
        retries: h.retries.unwrap_or(0),
    });
    let env = config
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => EnvVar {
                name: k.to_string(),
                value: v.to_string(),
            },
            None => EnvVar {
                name: kv,
                value: String::new(),
            },
        })
        .collect();
    let mounts = i
        .mounts
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            let kind = m.typ.map(|t| t.to_string()).unwrap_or_default();
            Mount {
                source: if kind == "volume" {
                    m.name.unwrap_or_default()
                } else {
                    s(m.source)
                },
                kind,
                destination: s(m.destination),
                rw: m.rw.unwrap_or(true),
            }
        })
        .collect();
    let settings = i.network_settings.unwrap_or_default();
    let mut networks: Vec<NetworkAttachment> = settings
        .networks
        .unwrap_or_default()
        .into_iter()
        .map(|(name, n)| {
            let mut aliases: Vec<String> = n
                .aliases
                .unwrap_or_default()
                .into_iter()
                .chain(n.dns_names.unwrap_or_default())
                .collect();
            aliases.sort();
            aliases.dedup();
            NetworkAttachment {
                name,
                ip: s(n.ip_address),
                aliases,
            }
        })
        .collect();
    networks.sort_by(|a, b| a.name.cmp(&b.name));
    let mut ports: Vec<PortBinding> = settings
        .ports
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(port, binds)| {
            binds
                .unwrap_or_default()
                .into_iter()
                .map(move |b| PortBinding {
                    container_port: port.clone(),
                    host_ip: s(b.host_ip),
                    host_port: s(b.host_port),
                })
        })
        .collect();
    ports.sort_by(|a, b| (&a.container_port, &a.host_ip).cmp(&(&b.container_port, &b.host_ip)));
    let host = i.host_config.unwrap_or_default();
    ContainerSnapshot {
        id: s(i.id),
        name: s(i.name).trim_start_matches('/').to_string(),
        service: labels
            .get("com.docker.compose.service")
            .cloned()
            .unwrap_or_default(),
        number: labels
            .get("com.docker.compose.container-number")
            .and_then(|n| n.parse().ok()),
        image: s(config.image),
        state: ContainerState {
            status: st.status.map(|s| s.to_string()).unwrap_or_default(),
            running: st.running.unwrap_or(false),
            restarting: st.restarting.unwrap_or(false),
            oom_killed: st.oom_killed.unwrap_or(false),
            exit_code: st.exit_code.unwrap_or(0),
            error: s(st.error),
            started_at: s(st.started_at),
            finished_at: s(st.finished_at),
        },
        restart_count: i.restart_count.unwrap_or(0),
        created: s(i.created),
        health,
        healthcheck,
        entrypoint: config.entrypoint.unwrap_or_default(),
        command: config.cmd.unwrap_or_default(),
        working_dir: s(config.working_dir),
        user: s(config.user),
        env,
        mounts,
        ports,
        networks,
        restart_policy: host
            .restart_policy
            .and_then(|r| r.name)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        memory_limit: host.memory.unwrap_or(0),
        labels,
        logs,
        events: vec![],
        task: None,
    }
}

/// UTC now as RFC 3339 (seconds), without a date crate.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

/// `nanos` since the epoch as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
fn rfc3339_nanos(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let whole = rfc3339(secs);
    format!("{}.{frac:09}Z", whole.trim_end_matches('Z'))
}

/// `secs` since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_keep_their_nanoseconds() {
        assert_eq!(
            rfc3339_nanos(1_763_708_400_012_345_678),
            "2025-11-21T07:00:00.012345678Z"
        );
        assert_eq!(rfc3339(1_763_708_400), "2025-11-21T07:00:00Z");
        let parsed = crate::probes::docker::rfc3339_secs(&rfc3339_nanos(1_763_708_400_500_000_000));
        assert_eq!(parsed, Some(1_763_708_400.5));
    }
}
