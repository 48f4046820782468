//! `docker inspect` JSON: the whole array, one container's object, or the parts people trim it
//! to (`.State`, `.State.Health`), read into the same facts a live collection takes from the
//! Engine API — state, health log, restart count, configuration, memory limit, mounts.
//!
//! Fields are read by name from a `serde_json::Value` rather than into bollard's typed models:
//! a paste is partial (a `State` without its container, a `Health` without its `State`), may have
//! been retyped, and must not be refused whole because one enum value is new. Keys are matched
//! exactly first, then ignoring case (`docker inspect -f '{{json .State}}'` and a YAML-minded
//! retyping differ there). The environment is kept raw, like a live collection's: the redactor
//! learns its secrets from it before anything is shown.
use super::facts::{Config, Facts, Rank, Subject, tell};
use crate::stack::snapshot::{EnvVar, Health, HealthResult, HealthcheckConfig, Mount};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// What one JSON value held: each container (its subject index) and the parts of inspect it had.
pub type Parts = Vec<(usize, BTreeSet<&'static str>)>;

/// Read `v` when it is inspect output or a part of it; `None` when it is some other JSON (a JSON
/// log line, another tool's output). `nameless` is who a part without `Id`/`Name` is about.
pub fn read(v: &Value, nameless: &Subject, facts: &mut Facts) -> Option<Parts> {
    let mut out = Parts::new();
    match v {
        Value::Array(items) => {
            for item in items {
                if let Value::Object(o) = item
                    && let Some(p) = read_object(o, nameless, facts)
                {
                    out.push(p);
                }
            }
        }
        Value::Object(o) => out.extend(read_object(o, nameless, facts)),
        _ => {}
    }
    (!out.is_empty()).then_some(out)
}

fn read_object(
    o: &Map<String, Value>,
    nameless: &Subject,
    facts: &mut Facts,
) -> Option<(usize, BTreeSet<&'static str>)> {
    let container = [
        "Id",
        "State",
        "Config",
        "HostConfig",
        "RestartCount",
        "Mounts",
    ]
    .iter()
    .any(|k| get(o, k).is_some())
        || get(o, "Name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.starts_with('/'));
    let state_alone = is_state(o);
    let health_alone = !state_alone && is_health(o);
    if !container && !state_alone && !health_alone {
        return None;
    }
    let config = get(o, "Config").and_then(Value::as_object);
    let service = config
        .and_then(|c| get(c, "Labels"))
        .and_then(Value::as_object)
        .and_then(|l| l.get("com.docker.compose.service"))
        .and_then(Value::as_str);
    let id = str_of(o, "Id");
    let name = str_of(o, "Name");
    let subject = if id.is_some() || name.is_some() {
        Subject {
            id: id.map(String::from),
            ..Default::default()
        }
        .with_name(name)
        .with_service(service)
    } else if service.is_some() {
        Subject::default().with_service(service)
    } else {
        nameless.clone()
    };
    let (index, p) = facts.of(&subject)?;
    let mut parts = BTreeSet::new();
    let rank = Rank::Inspect;

    let state = if state_alone {
        Some(o)
    } else {
        get(o, "State").and_then(Value::as_object)
    };
    let health = if health_alone {
        Some(o)
    } else {
        state
            .and_then(|s| get(s, "Health"))
            .and_then(Value::as_object)
    };
    if let Some(s) = state {
        parts.insert("State");
        if let Some(v) = str_of(s, "Status") {
            tell(&mut p.status, rank, v.to_lowercase());
        }
        if let Some(v) = bool_of(s, "Running") {
            tell(&mut p.running, rank, v);
        }
        if let Some(v) = bool_of(s, "Restarting") {
            tell(&mut p.restarting, rank, v);
        }
        if let Some(v) = bool_of(s, "OOMKilled") {
            tell(&mut p.oom_killed, rank, v);
        }
        if let Some(v) = int_of(s, "ExitCode") {
            tell(&mut p.exit_code, rank, v);
        }
        if let Some(v) = str_of(s, "Error") {
            tell(&mut p.error, rank, v.to_owned());
        }
        if let Some(v) = str_of(s, "StartedAt") {
            tell(&mut p.started_at, rank, v.to_owned());
        }
        if let Some(v) = str_of(s, "FinishedAt") {
            tell(&mut p.finished_at, rank, v.to_owned());
        }
    }
    if let Some(h) = health {
        parts.insert("Health");
        tell(&mut p.health, rank, health_of(h));
    }
    if let Some(n) = int_of(o, "RestartCount") {
        parts.insert("RestartCount");
        tell(&mut p.restart_count, rank, n);
    }
    let mut cfg = Config::default();
    if let Some(c) = config {
        parts.insert("Config");
        cfg.image = str_of(c, "Image").map(String::from);
        cfg.env = get(c, "Env").map(|e| {
            strings(e)
                .into_iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => EnvVar {
                        name: k.to_owned(),
                        value: v.to_owned(),
                    },
                    None => EnvVar {
                        name: kv,
                        value: String::new(),
                    },
                })
                .collect()
        });
        cfg.cmd = get(c, "Cmd").map(strings);
        cfg.entrypoint = get(c, "Entrypoint").map(strings);
        cfg.working_dir = str_of(c, "WorkingDir").map(String::from);
        cfg.user = str_of(c, "User").map(String::from);
        cfg.healthcheck =
            get(c, "Healthcheck")
                .and_then(Value::as_object)
                .map(|h| HealthcheckConfig {
                    test: get(h, "Test").map(strings).unwrap_or_default(),
                    interval_ns: int_of(h, "Interval").unwrap_or(0),
                    timeout_ns: int_of(h, "Timeout").unwrap_or(0),
                    start_period_ns: int_of(h, "StartPeriod").unwrap_or(0),
                    retries: int_of(h, "Retries").unwrap_or(0),
                });
        if let Some(labels) = get(c, "Labels").and_then(Value::as_object) {
            cfg.labels = labels
                .iter()
                .filter(|(k, _)| k.starts_with("com.docker.compose."))
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect();
        }
    } else if let Some(image) = str_of(o, "Image").filter(|i| !i.starts_with("sha256:")) {
        cfg.image = Some(image.to_owned());
    }
    if let Some(h) = get(o, "HostConfig").and_then(Value::as_object) {
        parts.insert("HostConfig");
        cfg.memory_limit = int_of(h, "Memory");
        cfg.restart_policy = get(h, "RestartPolicy")
            .and_then(Value::as_object)
            .and_then(|r| str_of(r, "Name"))
            .map(String::from);
    }
    if let Some(Value::Array(mounts)) = get(o, "Mounts") {
        parts.insert("Mounts");
        cfg.mounts = Some(
            mounts
                .iter()
                .filter_map(Value::as_object)
                .map(|m| {
                    let kind = str_of(m, "Type").unwrap_or_default().to_owned();
                    let source = if kind == "volume" {
                        str_of(m, "Name")
                    } else {
                        str_of(m, "Source")
                    };
                    Mount {
                        source: source.unwrap_or_default().to_owned(),
                        destination: str_of(m, "Destination").unwrap_or_default().to_owned(),
                        rw: bool_of(m, "RW").unwrap_or(true),
                        kind,
                    }
                })
                .collect(),
        );
    }
    p.config.merge(cfg);
    if let Some(n) = name {
        facts.know_name(n);
    }
    Some((index, parts))
}

/// `.State` on its own: a status and one of the fields only a state has.
fn is_state(o: &Map<String, Value>) -> bool {
    get(o, "Status").is_some_and(Value::is_string)
        && [
            "ExitCode",
            "Running",
            "OOMKilled",
            "Restarting",
            "StartedAt",
        ]
        .iter()
        .any(|k| get(o, k).is_some())
}

/// `.State.Health` on its own.
fn is_health(o: &Map<String, Value>) -> bool {
    get(o, "FailingStreak").is_some()
        || (get(o, "Status").is_some() && get(o, "Log").is_some_and(Value::is_array))
}

fn health_of(h: &Map<String, Value>) -> Health {
    Health {
        status: str_of(h, "Status").unwrap_or_default().to_lowercase(),
        failing_streak: int_of(h, "FailingStreak").unwrap_or(0),
        log: get(h, "Log")
            .and_then(Value::as_array)
            .map(|log| {
                log.iter()
                    .filter_map(Value::as_object)
                    .map(|r| HealthResult {
                        start: str_of(r, "Start").unwrap_or_default().to_owned(),
                        end: str_of(r, "End").unwrap_or_default().to_owned(),
                        exit_code: int_of(r, "ExitCode").unwrap_or(0),
                        output: str_of(r, "Output").unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// `o[key]`, else the first key equal to it ignoring case.
pub(super) fn get<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

pub(super) fn str_of<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    get(o, key).and_then(Value::as_str)
}

fn bool_of(o: &Map<String, Value>, key: &str) -> Option<bool> {
    match get(o, key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn int_of(o: &Map<String, Value>, key: &str) -> Option<i64> {
    match get(o, key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A list of strings (`["a", "b"]`), or one string (an entrypoint written as a shell line).
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::collect::LogLimits;
    use serde_json::json;

    fn one(v: Value, nameless: &Subject) -> (Facts, Option<Parts>) {
        let mut f = Facts::new(LogLimits::default());
        let parts = read(&v, nameless, &mut f);
        (f, parts)
    }

    #[test]
    fn a_whole_container_gives_state_health_and_config() {
        let v = json!([{
            "Id": "3f2a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718",
            "Name": "/analylit_worker",
            "RestartCount": 3,
            "State": {"Status": "restarting", "Running": true, "Restarting": true,
                      "OOMKilled": true, "ExitCode": 137, "Error": "",
                      "StartedAt": "2026-11-21T06:55:25.44Z", "FinishedAt": "2026-11-21T06:55:24.67Z"},
            "Config": {"Image": "analylit/worker", "Env": ["DATABASE_PASSWORD=s3cret-pw", "PATH=/usr/bin"],
                       "Cmd": ["python3", "worker.py"], "Entrypoint": null,
                       "Labels": {"com.docker.compose.service": "worker", "maintainer": "x"}},
            "HostConfig": {"Memory": 67108864, "RestartPolicy": {"Name": "on-failure"}},
            "Mounts": [{"Type": "volume", "Name": "data", "Source": "/var/lib/docker/volumes/data/_data",
                        "Destination": "/data", "RW": false}]
        }]);
        let (f, parts) = one(v, &Subject::fallback("app"));
        let parts = parts.expect("inspect");
        assert_eq!(
            parts[0].1.iter().copied().collect::<Vec<_>>(),
            ["Config", "HostConfig", "Mounts", "RestartCount", "State"]
        );
        let r = f.resolve("");
        let c = &r.containers[0];
        assert_eq!(
            (c.service.as_str(), c.name.as_str()),
            ("worker", "analylit_worker")
        );
        assert!(c.state.oom_killed && c.state.restarting);
        assert_eq!(
            (c.state.exit_code, c.restart_count, c.memory_limit),
            (137, 3, 64 << 20)
        );
        assert_eq!(c.env[0].value, "s3cret-pw");
        assert_eq!(c.mounts[0].source, "data");
        assert!(!c.mounts[0].rw);
        assert_eq!(c.labels.len(), 1);
    }

    #[test]
    fn a_trimmed_state_or_health_belongs_to_whoever_the_paste_says() {
        let state = json!({"Status": "exited", "Running": false, "ExitCode": 3,
                           "StartedAt": "2026-11-21T06:55:25Z",
                           "Health": {"Status": "unhealthy", "FailingStreak": 4,
                                      "Log": [{"Start": "s", "End": "e", "ExitCode": 1, "Output": "curl: (7) x\n"}]}});
        let (f, parts) = one(state, &Subject::service("web"));
        assert_eq!(parts.unwrap()[0].1, BTreeSet::from(["Health", "State"]));
        let c = &f.resolve("").containers[0];
        assert_eq!(c.service, "web");
        assert_eq!(c.telling_exit_code(), Some(3));
        let h = c.health.as_ref().unwrap();
        assert_eq!((h.status.as_str(), h.failing_streak), ("unhealthy", 4));
        assert_eq!(h.log[0].output, "curl: (7) x\n");

        let health = json!({"Status": "unhealthy", "FailingStreak": 2, "Log": []});
        let (_, parts) = one(health, &Subject::fallback("app"));
        assert_eq!(parts.unwrap()[0].1, BTreeSet::from(["Health"]));
    }

    #[test]
    fn other_json_is_not_inspect() {
        for v in [
            json!({"level": "error", "msg": "boom", "status": 500}),
            json!({"Status": "ok"}),
            json!([1, 2, 3]),
            json!({"services": {"web": {"image": "x"}}}),
        ] {
            assert!(one(v.clone(), &Subject::fallback("app")).1.is_none(), "{v}");
        }
    }
}
