//! `wait`: follow a starting project until every service is up, or until one clearly is not.
//!
//! A CI job runs `docker compose up -d` and then needs an honest answer, fast: every service
//! healthy (services without a health check: running; a one-shot service that exited 0: done), or
//! the diagnosis as soon as a service has exited, keeps restarting or turned unhealthy. The
//! engine's event stream wakes the loop (`start`, `die`, `health_status`, …); each wake-up
//! re-reads the containers, so a missed event costs at most one poll interval, never a hang.
use bollard::Docker;
use bollard::models::ContainerInspectResponse;
use std::collections::BTreeMap;

/// Where one service stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Still starting (no verdict yet).
    Starting(String),
    /// Up: healthy, or running without a health check, or a one-shot that exited 0.
    Up(String),
    /// Not going to come up by itself: exited non-zero, restarting, unhealthy.
    Down(String),
}

/// The state of one container, as far as waiting needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub status: String,
    /// `State.Running`.
    pub running: bool,
    pub exit_code: i64,
    pub restarting: bool,
    pub restarts: i64,
    /// `healthy` | `unhealthy` | `starting`; `None` without a health check.
    pub health: Option<String>,
    /// The last health result's exit code: an `unhealthy` whose latest check passed is on its
    /// way back (a stale verdict), not a fresh failure.
    pub last_check_passed: Option<bool>,
    pub restart_policy: String,
    /// `State.Error`: why the engine could not start it (`exec: "./entrypoint.sh": permission
    /// denied`).
    pub error: String,
}

impl Seen {
    /// The engine's `State.Running` (also true while a container is restarting).
    pub fn is_running(&self) -> bool {
        self.running
    }

    pub fn from_inspect(i: &ContainerInspectResponse) -> Seen {
        let s = i.state.clone().unwrap_or_default();
        let health = s.health.clone();
        Seen {
            status: s.status.map(|v| v.to_string()).unwrap_or_default(),
            running: s.running.unwrap_or(false),
            exit_code: s.exit_code.unwrap_or(0),
            restarting: s.restarting.unwrap_or(false),
            restarts: i.restart_count.unwrap_or(0),
            health: health
                .as_ref()
                .and_then(|h| h.status)
                .map(|v| v.to_string())
                .filter(|v| !v.is_empty() && v != "none"),
            last_check_passed: health
                .and_then(|h| h.log)
                .and_then(|log| log.last().and_then(|r| r.exit_code))
                .map(|code| code == 0),
            restart_policy: i
                .host_config
                .as_ref()
                .and_then(|h| h.restart_policy.as_ref())
                .and_then(|p| p.name)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            error: s.error.unwrap_or_default(),
        }
    }
}

/// The standing of a service from its containers (the worst one speaks for it).
pub fn standing(containers: &[Seen]) -> Standing {
    let mut worst = Standing::Up(String::new());
    for c in containers {
        let s = one(c);
        worst = match (&worst, s) {
            (Standing::Down(_), _) => worst,
            (_, down @ Standing::Down(_)) => down,
            (Standing::Starting(_), _) => worst,
            (_, other) => other,
        };
    }
    worst
}

fn one(c: &Seen) -> Standing {
    if c.restarting || c.status == "restarting" {
        return Standing::Down(format!(
            "restarting (exit {}, {} restarts)",
            c.exit_code, c.restarts
        ));
    }
    match c.status.as_str() {
        "exited" | "dead" if c.exit_code == 0 && c.restart_policy != "always" => {
            return Standing::Up("exited 0 (one-shot)".into());
        }
        "exited" | "dead" => return Standing::Down(format!("exited with {}", c.exit_code)),
        // A start the engine tried and failed leaves it `created` with the reason: it will not
        // start by itself (no restart policy retries a failed create).
        "created" if !c.error.is_empty() || c.exit_code != 0 => {
            return Standing::Down(format!("never started (exit {}): {}", c.exit_code, c.error));
        }
        "created" => return Standing::Starting("created, not started".into()),
        "running" => {}
        other => return Standing::Starting(other.to_owned()),
    }
    match (c.health.as_deref(), c.last_check_passed) {
        // Without a health check, a restart is the only sign a running service is not well.
        (None, _) if c.restarts > 0 => Standing::Down(format!(
            "running again after {} restart(s), last exit {}",
            c.restarts, c.exit_code
        )),
        (None, _) => Standing::Up("running".into()),
        (Some("healthy"), _) => Standing::Up("healthy".into()),
        // Unhealthy, but the latest check passed: it is coming back.
        (Some("unhealthy"), Some(true)) => Standing::Starting("recovering".into()),
        (Some("unhealthy"), _) => Standing::Down("unhealthy".into()),
        (Some(other), _) => Standing::Starting(other.to_owned()),
    }
}

/// The containers of `project`, inspected, by service.
pub async fn look(
    docker: &Docker,
    project: &str,
) -> Result<BTreeMap<String, Vec<Seen>>, super::connect::EngineError> {
    let list = super::collect::list_labelled(
        docker,
        vec![format!("{}={project}", super::collect::PROJECT_LABEL)],
    )
    .await
    .map_err(super::connect::EngineError)?;
    let mut out: BTreeMap<String, Vec<Seen>> = BTreeMap::new();
    for c in list {
        let labels = c.labels.unwrap_or_default();
        if labels
            .get("com.docker.compose.oneoff")
            .is_some_and(|v| v == "True")
        {
            continue;
        }
        let (Some(id), Some(service)) = (c.id, labels.get("com.docker.compose.service")) else {
            continue;
        };
        match docker.inspect_container(&id, None).await {
            Ok(i) => out
                .entry(service.clone())
                .or_default()
                .push(Seen::from_inspect(&i)),
            // Removed in between: the next look sees the replacement.
            Err(_) => continue,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(status: &str, health: Option<&str>) -> Seen {
        Seen {
            status: status.into(),
            health: health.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn a_failed_start_is_down_not_starting() {
        let failed = Seen {
            status: "created".into(),
            exit_code: 126,
            error: "exec: \"./entrypoint.sh\": permission denied".into(),
            ..Default::default()
        };
        assert!(
            matches!(standing(&[failed]), Standing::Down(how) if how.contains("permission denied"))
        );
        assert!(matches!(
            standing(&[seen("created", None)]),
            Standing::Starting(_)
        ));
    }

    #[test]
    fn standings() {
        assert_eq!(
            standing(&[seen("running", Some("healthy"))]),
            Standing::Up("healthy".into())
        );
        assert_eq!(
            standing(&[seen("running", None)]),
            Standing::Up("running".into())
        );
        assert!(matches!(
            standing(&[seen("running", Some("starting"))]),
            Standing::Starting(_)
        ));
        assert!(matches!(
            standing(&[seen("running", Some("unhealthy"))]),
            Standing::Down(_)
        ));
        let mut back = seen("running", Some("unhealthy"));
        back.last_check_passed = Some(true);
        assert!(
            matches!(standing(&[back]), Standing::Starting(_)),
            "a stale unhealthy"
        );
        let mut one_shot = seen("exited", None);
        one_shot.exit_code = 0;
        assert!(matches!(standing(&[one_shot]), Standing::Up(_)));
        let mut crashed = seen("exited", None);
        crashed.exit_code = 3;
        assert_eq!(standing(&[crashed]), Standing::Down("exited with 3".into()));
        let mut looping = seen("restarting", None);
        looping.restarting = true;
        assert!(matches!(standing(&[looping]), Standing::Down(_)));
        // The worst replica speaks for the service.
        let mut bad = seen("exited", None);
        bad.exit_code = 1;
        assert!(matches!(
            standing(&[seen("running", Some("healthy")), bad]),
            Standing::Down(_)
        ));
    }
}
