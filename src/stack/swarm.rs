//! The Swarm backend: a `docker stack deploy` stack read through the manager's API — its
//! services (desired against running replicas, rolling update state, placement constraints,
//! reservations, secrets, configs, published ports) and their tasks (state, error, node).
//!
//! A task's container is a container: the latest task of each slot becomes one
//! [`ContainerSnapshot`] of its service, read exactly like a compose container (inspect, log
//! tail, events) when this engine runs it, so every rule and probe works unchanged. A task that
//! never got a container here (rejected for a missing image, pending for want of a node, or
//! running on another node) becomes a container made from its spec, not started, with the
//! task's error in [`SwarmTask`]. The slot's earlier tasks count as its restarts, as Swarm's
//! restart policy replaces a task rather than restarting its container.
use super::collect::{self, LogLimits, engine_err, read_logs, recent_events};
use super::snapshot::*;
use crate::error::DoctorError;
use bollard::Docker;
use bollard::models::{Service, Task};
use bollard::query_parameters::{ListServicesOptions, ListTasksOptions};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The label `docker stack deploy` puts on a stack's services, tasks' containers, networks,
/// secrets and configs.
pub const STACK_LABEL: &str = "com.docker.stack.namespace";

/// How many earlier task errors of a slot are kept.
const EARLIER_KEPT: usize = 5;
/// How many of a slot's earlier containers have their log and events read with the current one.
const EARLIER_CONTAINERS_READ: usize = 2;
/// Carries a container's earlier containers' ids from the reads to the events (removed after).
const PREVIOUS_LABEL: &str = "analylit-doctor.previous-containers";

/// An enum of bollard's as the engine spells it (`rollback_completed`).
fn word<T: Serialize>(v: &Option<T>) -> String {
    v.as_ref()
        .and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Whether this engine is a swarm manager (a worker cannot list services).
pub async fn is_manager(docker: &Docker) -> bool {
    match docker.info().await {
        Ok(info) => info
            .swarm
            .and_then(|s| s.control_available)
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// The stack's services, by the stack label.
pub async fn services(
    docker: &Docker,
    stack: &str,
) -> Result<Vec<Service>, bollard::errors::Error> {
    let opts = ListServicesOptions {
        filters: Some(HashMap::from([(
            "label".to_owned(),
            vec![format!("{STACK_LABEL}={stack}")],
        )])),
        status: Some(true),
    };
    docker.list_services(Some(opts)).await
}

/// Stacks with services on this engine (for "did you mean" help and auto-detection).
pub async fn known_stacks(docker: &Docker) -> Vec<String> {
    if !is_manager(docker).await {
        return vec![];
    }
    let Ok(list) = docker.list_services(None::<ListServicesOptions>).await else {
        return vec![];
    };
    let mut names: Vec<String> = list
        .iter()
        .filter_map(|s| s.spec.as_ref()?.labels.as_ref()?.get(STACK_LABEL).cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The tasks of the stack's services.
pub async fn tasks(docker: &Docker, stack: &str) -> Result<Vec<Task>, bollard::errors::Error> {
    let opts = ListTasksOptions {
        filters: Some(HashMap::from([(
            "label".to_owned(),
            vec![format!("{STACK_LABEL}={stack}")],
        )])),
    };
    docker.list_tasks(Some(opts)).await
}

/// A service's facts.
pub fn service_facts(s: &Service, stack: &str) -> SwarmService {
    let spec = s.spec.clone().unwrap_or_default();
    let full_name = spec.name.clone().unwrap_or_default();
    let name = short_name(&full_name, stack);
    let template = spec.task_template.clone().unwrap_or_default();
    let container = template.container_spec.clone().unwrap_or_default();
    let mode = spec.mode.clone().unwrap_or_default();
    let (mode_name, replicas) = if let Some(r) = &mode.replicated {
        ("replicated", r.replicas.unwrap_or(1).max(0) as u64)
    } else if mode.global.is_some() {
        ("global", 0)
    } else if mode.replicated_job.is_some() {
        ("replicated-job", 0)
    } else {
        ("global-job", 0)
    };
    let status = s.service_status.clone().unwrap_or_default();
    let update = s.update_status.clone().unwrap_or_default();
    let reservations = template
        .resources
        .as_ref()
        .and_then(|r| r.reservations.clone())
        .unwrap_or_default();
    let ports = s
        .endpoint
        .as_ref()
        .and_then(|e| e.ports.clone())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            format!(
                "{}:{}/{} ({})",
                p.published_port.unwrap_or(0),
                p.target_port.unwrap_or(0),
                word(&p.protocol),
                word(&p.publish_mode)
            )
        })
        .collect();
    SwarmService {
        name,
        full_name,
        image: strip_digest(&container.image.clone().unwrap_or_default()),
        mode: mode_name.into(),
        desired: status.desired_tasks.unwrap_or(replicas),
        running: status.running_tasks.unwrap_or(0),
        update_state: word(&update.state),
        update_message: update.message.unwrap_or_default(),
        constraints: template
            .placement
            .and_then(|p| p.constraints)
            .unwrap_or_default(),
        reserved_nano_cpus: reservations.nano_cpus.unwrap_or(0),
        reserved_memory: reservations.memory_bytes.unwrap_or(0),
        secrets: container
            .secrets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|s| s.secret_name)
            .collect(),
        configs: container
            .configs
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.config_name)
            .collect(),
        ports,
    }
}

/// `lab_web` → `web` for stack `lab`.
pub fn short_name(full: &str, stack: &str) -> String {
    full.strip_prefix(stack)
        .and_then(|rest| rest.strip_prefix('_'))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(full)
        .to_string()
}

/// `image:tag@sha256:…` → `image:tag` (stack deploy pins the digest when it can resolve one).
fn strip_digest(image: &str) -> String {
    image.split('@').next().unwrap_or(image).to_string()
}

/// A task in a passing state on its way to running (no container yet, or one not started).
fn in_transit(t: &Task) -> bool {
    let status = t.status.clone().unwrap_or_default();
    matches!(
        word(&status.state).as_str(),
        "new" | "allocated" | "assigned" | "accepted" | "preparing" | "ready" | "starting"
    ) || (word(&status.state) == "pending" && status.err.as_deref().unwrap_or("").is_empty())
}

/// The task that tells what happens in a slot, and the earlier ones: the latest, unless it is a
/// replacement still on its way after one that failed (Swarm replaces a failed task at once;
/// the failed one holds the error and the container).
fn telling(list: &[Task]) -> Option<(&Task, Vec<&Task>)> {
    let first = list.first()?;
    let pick = if in_transit(first) {
        list.iter()
            .position(|t| !task_error(t).is_empty())
            .unwrap_or(0)
    } else {
        0
    };
    let earlier = list.iter().skip(pick + 1).collect();
    Some((&list[pick], earlier))
}

/// The tasks of one service, grouped by slot (by node for global services), newest first.
fn slots(tasks: &[Task], service_id: &str) -> BTreeMap<String, Vec<Task>> {
    let mut out: BTreeMap<String, Vec<Task>> = BTreeMap::new();
    for t in tasks
        .iter()
        .filter(|t| t.service_id.as_deref() == Some(service_id))
    {
        let key = match t.slot {
            Some(n) => format!("{n:06}"),
            None => t.node_id.clone().unwrap_or_default(),
        };
        out.entry(key).or_default().push(t.clone());
    }
    for list in out.values_mut() {
        list.sort_by_key(|t| std::cmp::Reverse(created(t)));
    }
    out
}

fn created(t: &Task) -> String {
    t.created_at
        .clone()
        .map(|d| d.to_string())
        .unwrap_or_default()
}

fn task_error(t: &Task) -> String {
    let status = t.status.clone().unwrap_or_default();
    status.err.unwrap_or_default()
}

/// The task's facts, with the slot's earlier errors and the service's counts.
pub fn task_facts(t: &Task, earlier: &[Task], service: &SwarmService) -> SwarmTask {
    let status = t.status.clone().unwrap_or_default();
    let mut earlier_errors: Vec<String> = earlier
        .iter()
        .map(task_error)
        .filter(|e| !e.is_empty())
        .collect();
    earlier_errors.truncate(EARLIER_KEPT);
    SwarmTask {
        id: t.id.clone().unwrap_or_default(),
        state: word(&status.state),
        desired_state: word(&t.desired_state),
        message: status.message.unwrap_or_default(),
        error: status.err.unwrap_or_default(),
        node: t.node_id.clone().unwrap_or_default(),
        timestamp: status.timestamp.map(|d| d.to_string()).unwrap_or_default(),
        container_here: false,
        earlier_errors,
        service_running: service.running,
        service_desired: service.desired,
        update_state: service.update_state.clone(),
        placement: placement_words(service),
    }
}

/// `node.labels.tier == db`, `reserves 64 CPUs`, `reserves 512 MiB`.
fn placement_words(s: &SwarmService) -> Vec<String> {
    let mut out: Vec<String> = s
        .constraints
        .iter()
        .map(|c| format!("constraint {c}"))
        .collect();
    if s.reserved_nano_cpus > 0 {
        out.push(format!(
            "reserves {} CPUs",
            s.reserved_nano_cpus as f64 / 1e9
        ));
    }
    if s.reserved_memory > 0 {
        out.push(format!(
            "reserves {} MiB",
            s.reserved_memory / (1024 * 1024)
        ));
    }
    out
}

/// A container made from a task's spec: what would run, not started, for a task this engine
/// has no container of.
pub fn container_from_spec(t: &Task, service: &SwarmService, stack: &str) -> ContainerSnapshot {
    let spec = t.spec.clone().unwrap_or_default();
    let cs = spec.container_spec.unwrap_or_default();
    let id = t.id.clone().unwrap_or_default();
    let slot = t.slot.map(|n| n.to_string()).unwrap_or_else(|| {
        t.node_id
            .clone()
            .unwrap_or_default()
            .chars()
            .take(12)
            .collect()
    });
    let status = t.status.clone().unwrap_or_default();
    let exit_code = status
        .container_status
        .as_ref()
        .and_then(|c| c.exit_code)
        .unwrap_or(0);
    let mut labels: BTreeMap<String, String> = cs
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k.starts_with("com.docker.stack.") || k.starts_with("com.docker.swarm."))
        .collect();
    labels.insert(STACK_LABEL.into(), stack.into());
    labels.insert(
        "com.docker.swarm.service.name".into(),
        service.full_name.clone(),
    );
    labels.insert("com.docker.swarm.task.id".into(), id.clone());
    let env = cs
        .env
        .unwrap_or_default()
        .into_iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => EnvVar {
                name: k.into(),
                value: v.into(),
            },
            None => EnvVar {
                name: kv,
                value: String::new(),
            },
        })
        .collect();
    let healthcheck = cs.health_check.map(|h| HealthcheckConfig {
        test: h.test.unwrap_or_default(),
        interval_ns: h.interval.unwrap_or(0),
        timeout_ns: h.timeout.unwrap_or(0),
        start_period_ns: h.start_period.unwrap_or(0),
        retries: h.retries.unwrap_or(0),
    });
    ContainerSnapshot {
        id: id.clone(),
        name: format!("{}.{slot}.{id}", service.full_name),
        service: service.name.clone(),
        number: t.slot.and_then(|n| u32::try_from(n).ok()),
        image: strip_digest(&cs.image.unwrap_or_default()),
        state: ContainerState {
            status: "created".into(),
            running: false,
            restarting: false,
            oom_killed: false,
            exit_code,
            error: String::new(),
            // Never started: no exit code tells anything (see `telling_exit_code`).
            started_at: "0001-01-01T00:00:00Z".into(),
            finished_at: "0001-01-01T00:00:00Z".into(),
        },
        created: created(t),
        healthcheck,
        entrypoint: cs.command.unwrap_or_default(),
        command: cs.args.unwrap_or_default(),
        working_dir: cs.dir.unwrap_or_default(),
        user: cs.user.unwrap_or_default(),
        env,
        restart_policy: "swarm".into(),
        labels,
        ..Default::default()
    }
}

/// Read the stack into a snapshot.
pub async fn collect(
    docker: &Docker,
    stack: &str,
    compose_file: Option<String>,
    limits: LogLimits,
    remote_engine: bool,
) -> Result<StackSnapshot, DoctorError> {
    let services = services(docker, stack)
        .await
        .map_err(engine_err("listing the stack's services"))?;
    let tasks = tasks(docker, stack)
        .await
        .map_err(engine_err("listing the stack's tasks"))?;
    let engine_version = docker.version().await.ok().and_then(|v| v.version);
    let here: std::collections::HashSet<String> =
        collect::list_labelled(docker, vec![format!("{STACK_LABEL}={stack}")])
            .await
            .map_err(engine_err("listing containers"))?
            .into_iter()
            .filter_map(|c| c.id)
            .collect();

    let mut facts: Vec<SwarmService> = Vec::new();
    let mut jobs = Vec::new();
    for s in &services {
        let service = service_facts(s, stack);
        let id = s.id.clone().unwrap_or_default();
        for (_, list) in slots(&tasks, &id) {
            let Some((latest, earlier)) = telling(&list) else {
                continue;
            };
            // A slot whose service was scaled down: not running, and not meant to.
            if word(&latest.desired_state) == "remove" {
                continue;
            }
            let earlier: Vec<Task> = earlier.into_iter().cloned().collect();
            let mut task = task_facts(latest, &earlier, &service);
            let failures = failed_tasks(earlier.iter());
            let container_id = latest
                .status
                .as_ref()
                .and_then(|s| s.container_status.as_ref())
                .and_then(|c| c.container_id.clone())
                .filter(|c| here.contains(c));
            task.container_here = container_id.is_some();
            // The slot's earlier containers on this engine, newest first: under compose one
            // container keeps its log and events across restarts; under Swarm each restart is a
            // new container, so the slot's recent ones are read as one.
            let previous: Vec<String> = earlier
                .iter()
                .filter_map(|t| {
                    t.status
                        .as_ref()?
                        .container_status
                        .as_ref()?
                        .container_id
                        .clone()
                })
                .filter(|c| here.contains(c) && Some(c) != container_id.as_ref())
                .take(EARLIER_CONTAINERS_READ)
                .collect();
            let fallback = container_from_spec(latest, &service, stack);
            let docker = docker.clone();
            jobs.push(async move {
                let mut c = match container_id {
                    Some(cid) => match docker.inspect_container(&cid, None).await {
                        Ok(i) => {
                            let mut logs = LogTail::default();
                            for id in previous.iter().rev() {
                                let older = read_logs(&docker, id, limits).await;
                                logs.truncated |= older.truncated;
                                logs.lines.extend(older.lines);
                            }
                            let current = read_logs(&docker, &cid, limits).await;
                            logs.truncated |= current.truncated;
                            logs.lines.extend(current.lines);
                            if logs.lines.len() > limits.lines {
                                let cut = logs.lines.len() - limits.lines;
                                logs.lines.drain(..cut);
                                logs.truncated = true;
                            }
                            collect::container_snapshot(i, logs)
                        }
                        Err(_) => fallback.clone(),
                    },
                    None => fallback.clone(),
                };
                for id in previous {
                    c.labels
                        .entry(PREVIOUS_LABEL.into())
                        .and_modify(|v| {
                            v.push(',');
                            v.push_str(&id);
                        })
                        .or_insert(id);
                }
                c.service = fallback.service.clone();
                c.number = fallback.number;
                c.restart_count += failures;
                if c.id != fallback.id {
                    c.labels
                        .entry("com.docker.swarm.task.id".into())
                        .or_insert_with(|| task.id.clone());
                } else {
                    task.container_here = false;
                }
                c.task = Some(task);
                c
            });
        }
        facts.push(service);
    }
    let mut containers: Vec<ContainerSnapshot> = futures_util::future::join_all(jobs).await;
    containers.sort_by(|a, b| (&a.service, a.number).cmp(&(&b.service, b.number)));
    let mut events = recent_events(docker, &format!("{STACK_LABEL}={stack}")).await;
    for c in &mut containers {
        let mut list = events.remove(&c.id).unwrap_or_default();
        // What ended the slot's earlier runs (`die`, `oom`), as a restarted container's own.
        if let Some(previous) = c.labels.remove(PREVIOUS_LABEL) {
            for id in previous.split(',') {
                list.extend(events.remove(id).unwrap_or_default());
            }
        }
        list.sort_by(|a, b| a.time.cmp(&b.time));
        c.events = list;
    }
    facts.sort_by(|a, b| a.name.cmp(&b.name));

    let (compose, compose_error) = match &compose_file {
        Some(file) => match super::compose::load(std::path::Path::new(file)) {
            Ok(model) => (Some(model), None),
            Err(e) => (None, Some(e.to_string())),
        },
        None => (None, None),
    };
    Ok(StackSnapshot {
        snapshot_version: SNAPSHOT_VERSION,
        project: stack.to_string(),
        compose_file,
        collected_at: collect::now_rfc3339(),
        engine_version,
        containers,
        compose,
        compose_error,
        backend: Backend {
            kind: BackendKind::Swarm,
            remote_engine,
            services: facts,
        },
    })
}

/// Where each service of the stack stands, for `wait`: each slot's latest task, through its
/// container when this engine has it. A task the manager rejected, or one still pending with an
/// error (no suitable node), will not come up by itself; a paused or rolled-back update is down.
pub async fn look(
    docker: &Docker,
    stack: &str,
) -> Result<BTreeMap<String, Vec<super::wait::Seen>>, super::connect::EngineError> {
    use super::connect::EngineError;
    use super::wait::Seen;
    let services = services(docker, stack).await.map_err(EngineError)?;
    let tasks = tasks(docker, stack).await.map_err(EngineError)?;
    let mut out: BTreeMap<String, Vec<Seen>> = BTreeMap::new();
    for s in &services {
        let service = service_facts(s, stack);
        let seen = out.entry(service.name.clone()).or_default();
        if matches!(
            service.update_state.as_str(),
            "paused" | "rollback_paused" | "rollback_completed"
        ) {
            seen.push(Seen {
                status: "dead".into(),
                exit_code: 1,
                restart_policy: format!("update {}", service.update_state),
                ..Default::default()
            });
        }
        for (_, list) in slots(&tasks, s.id.as_deref().unwrap_or_default()) {
            let Some((latest, earlier)) = telling(&list) else {
                continue;
            };
            if word(&latest.desired_state) == "remove" {
                continue;
            }
            let status = latest.status.clone().unwrap_or_default();
            let state = word(&status.state);
            let failures = failed_tasks(earlier.iter().map(|t| &**t));
            let container = status
                .container_status
                .as_ref()
                .and_then(|c| c.container_id.clone());
            let mut one = match (state.as_str(), container) {
                ("running", Some(id)) => match docker.inspect_container(&id, None).await {
                    Ok(i) => Seen::from_inspect(&i),
                    Err(_) => continue,
                },
                ("running", None) => Seen {
                    status: "running".into(),
                    running: true,
                    ..Default::default()
                },
                ("failed" | "rejected" | "orphaned", _) => Seen {
                    status: "dead".into(),
                    exit_code: status
                        .container_status
                        .and_then(|c| c.exit_code)
                        .filter(|c| *c != 0)
                        .unwrap_or(1),
                    ..Default::default()
                },
                ("complete", _) => Seen {
                    status: "exited".into(),
                    ..Default::default()
                },
                // Pending with an error: the scheduler found no node; it retries, but nothing
                // changes without a change to the service or the nodes.
                ("pending", _) if status.err.as_deref().is_some_and(|e| !e.is_empty()) => Seen {
                    status: "dead".into(),
                    exit_code: 1,
                    ..Default::default()
                },
                (other, _) => Seen {
                    status: other.to_string(),
                    ..Default::default()
                },
            };
            one.restarts += failures;
            // Replaced tasks are Swarm's restarts: a slot that failed twice is a restart loop.
            if failures >= 2 && one.health.as_deref() != Some("healthy") {
                one.restarting = true;
            }
            seen.push(one);
        }
    }
    Ok(out)
}

/// How many of `tasks` failed or were rejected: a slot's earlier tries, its restarts.
fn failed_tasks<'a>(tasks: impl Iterator<Item = &'a Task>) -> i64 {
    tasks
        .filter(|t| {
            matches!(
                word(&t.status.as_ref().and_then(|s| s.state)).as_str(),
                "failed" | "rejected"
            )
        })
        .count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_lose_the_stack_prefix_only() {
        assert_eq!(short_name("lab_web", "lab"), "web");
        assert_eq!(short_name("lab_flower_ui", "lab"), "flower_ui");
        assert_eq!(short_name("other_web", "lab"), "other_web");
        assert_eq!(short_name("lab_", "lab"), "lab_");
        assert_eq!(strip_digest("app:4.1@sha256:abc"), "app:4.1");
    }

    #[test]
    fn a_slots_latest_task_speaks_and_earlier_ones_are_its_restarts() {
        let task = |id: &str, at: &str, state: &str, err: &str| -> Task {
            serde_json::from_value(serde_json::json!({
                "ID": id, "ServiceID": "svc", "Slot": 1, "CreatedAt": at,
                "DesiredState": "running",
                "Status": {"State": state, "Err": err, "Message": "started"}
            }))
            .unwrap()
        };
        let tasks = vec![
            task(
                "a",
                "2026-01-01T00:00:01Z",
                "failed",
                "task: non-zero exit (1)",
            ),
            task("c", "2026-01-01T00:00:03Z", "running", ""),
            task(
                "b",
                "2026-01-01T00:00:02Z",
                "failed",
                "task: non-zero exit (3)",
            ),
        ];
        let slots = slots(&tasks, "svc");
        let list = &slots["000001"];
        assert_eq!(list[0].id.as_deref(), Some("c"));
        let service = SwarmService {
            name: "web".into(),
            full_name: "lab_web".into(),
            desired: 1,
            running: 1,
            ..Default::default()
        };
        let t = task_facts(&list[0], &list[1..], &service);
        assert_eq!(t.state, "running");
        assert_eq!(
            t.earlier_errors,
            ["task: non-zero exit (3)", "task: non-zero exit (1)"]
        );
        let c = container_from_spec(&list[0], &service, "lab");
        assert_eq!((c.service.as_str(), c.number), ("web", Some(1)));
        assert_eq!(c.telling_exit_code(), None, "never started");
    }
}
