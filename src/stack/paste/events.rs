//! `docker events` lines: what ended each run of a container (`die` with its exit code, `oom`,
//! `kill` with its signal), its restarts and its health turns — the same events a live
//! collection reads from the engine, so a restart loop caught mid-run still tells its last exit
//! code.
//!
//! The CLI prints `<time> <type> <action> <id> (<key>=<value>, …)`; the action may hold spaces
//! (`health_status: unhealthy`, `exec_start: sh -c …`), and the attributes include the
//! container's name and compose labels, which name the container for the rest of the paste.
//! `--format '{{json .}}'` prints one JSON object per event instead: [`read_json`] takes those.
use super::facts::{Facts, Rank, Subject};
use super::inspect::{get, str_of};
use crate::stack::snapshot::ContainerEvent;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::LazyLock;

static EVENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\S*) (?P<type>container|network|volume|image|daemon|plugin|service|node|secret|config) (?P<action>.+?) (?P<id>[0-9a-f]{64}|[0-9a-f]{12}|\S+) \((?P<attrs>.*)\)$",
    )
    .expect("event pattern")
});
/// Where each `key=` of the attributes starts.
static ATTR_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|, )([A-Za-z0-9_.\-/]+)=").expect("attribute pattern"));

/// Read one `docker events` line. `Some(subject index)` when it was one (`None` inside for an
/// event about something other than a container, or past the subject bound).
pub fn read(line: &str, facts: &mut Facts) -> Option<Option<usize>> {
    if !line.starts_with(|c: char| c.is_ascii_digit())
        || !line.contains(" (")
        || !line.ends_with(')')
    {
        return None;
    }
    let caps = EVENT.captures(line)?;
    if &caps["type"] != "container" {
        return Some(None);
    }
    let attrs = attributes(&caps["attrs"]);
    Some(apply(
        &caps["time"],
        &caps["action"],
        &caps["id"],
        &attrs,
        facts,
    ))
}

/// An event printed by `docker events --format '{{json .}}'`; `None` when `o` is not one.
pub fn read_json(o: &Map<String, Value>, facts: &mut Facts) -> Option<Option<usize>> {
    let action = str_of(o, "Action").or_else(|| str_of(o, "status"))?;
    let kind = str_of(o, "Type")?;
    let actor = get(o, "Actor").and_then(Value::as_object)?;
    if kind != "container" {
        return Some(None);
    }
    let id = str_of(actor, "ID").or_else(|| str_of(o, "id"))?;
    let attrs: BTreeMap<String, String> = get(actor, "Attributes")
        .and_then(Value::as_object)
        .map(|a| {
            a.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let time = get(o, "timeNano")
        .and_then(Value::as_i64)
        .map(|ns| crate::stack::collect::rfc3339(ns / 1_000_000_000))
        .or_else(|| {
            get(o, "time")
                .and_then(Value::as_i64)
                .map(crate::stack::collect::rfc3339)
        })
        .unwrap_or_default();
    Some(apply(&time, action, id, &attrs, facts))
}

fn apply(
    time: &str,
    action: &str,
    id: &str,
    attrs: &BTreeMap<String, String>,
    facts: &mut Facts,
) -> Option<usize> {
    let subject = Subject::id(id)
        .with_name(attrs.get("name").map(String::as_str))
        .with_service(attrs.get("com.docker.compose.service").map(String::as_str));
    let (index, p) = facts.of(&subject)?;
    // Second precision, like a live collection's events.
    let time = match time.split_once('.') {
        Some((secs, rest)) => {
            let zone = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{secs}{zone}")
        }
        None => time.to_owned(),
    };
    if let Some(status) = action.strip_prefix("health_status:") {
        p.health_status(Rank::Events, status.trim());
    } else {
        let name = action.split(':').next().unwrap_or(action);
        p.event(ContainerEvent {
            time,
            action: name.to_owned(),
            exit_code: attrs.get("exitCode").and_then(|c| c.parse().ok()),
            signal: attrs.get("signal").cloned(),
        });
    }
    if let Some(name) = attrs.get("name") {
        facts.know_name(name);
    }
    Some(index)
}

/// `exitCode=3, image=x, name=web` → map. A value runs to the next `, key=`.
fn attributes(text: &str) -> BTreeMap<String, String> {
    let keys: Vec<(usize, usize, &str)> = ATTR_KEY
        .captures_iter(text)
        .map(|c| {
            let whole = c.get(0).expect("match");
            (whole.start(), whole.end(), c.get(1).expect("key").as_str())
        })
        .collect();
    keys.iter()
        .enumerate()
        .map(|(i, (_, value_start, key))| {
            let end = keys.get(i + 1).map_or(text.len(), |next| next.0);
            (key.to_string(), text[*value_start..end].to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::collect::LogLimits;

    const ID: &str = "38b840705aa2b209212aae99ca2a71f92dcdeaea90ed76bc3f34b004c1cc5c36";

    fn line(action: &str, extra: &str) -> String {
        format!(
            "2026-12-06T04:06:21.123456789Z container {action} {ID} ({extra}com.docker.compose.service=worker, image=lab/app:4.1, name=oom-killed_worker_1)"
        )
    }

    #[test]
    fn a_restart_loop_in_events() {
        let mut f = Facts::new(LogLimits::default());
        for l in [
            line("start", ""),
            line("oom", ""),
            line("die", "exitCode=137, "),
            line("start", ""),
            line(
                "exec_start: sh -c curl -f http://localhost/ (x)",
                "execID=1, ",
            ),
            line("health_status: unhealthy", ""),
            line("kill", "signal=9, "),
        ] {
            assert!(read(&l, &mut f).is_some(), "{l}");
        }
        let c = &f.resolve("").containers[0];
        assert_eq!(
            (c.service.as_str(), c.name.as_str()),
            ("worker", "oom-killed_worker_1")
        );
        assert_eq!(c.restart_count, 1);
        assert!(c.oom_killed_recently());
        assert_eq!(c.telling_exit_code(), Some(137));
        assert_eq!(c.health.as_ref().unwrap().status, "unhealthy");
        let actions: Vec<&str> = c.events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["oom", "die", "kill"]);
        assert_eq!(c.events[2].signal.as_deref(), Some("9"));
        assert_eq!(c.events[1].time, "2026-12-06T04:06:21Z");
    }

    #[test]
    fn other_lines_are_not_events() {
        let mut f = Facts::new(LogLimits::default());
        for l in [
            "2026-12-06T04:06:21Z INFO container started (pid 1)",
            "web_1 | 2026-12-06T04:06:21.1Z container die 38b8 (exitCode=1)",
            "container die (exitCode=1)",
        ] {
            assert!(read(l, &mut f).is_none(), "{l}");
        }
        let net = "2026-12-06T04:06:09.1Z network connect 0b1c2d3e4f5a (container=38b8, name=p_default, type=bridge)";
        assert_eq!(read(net, &mut f), Some(None));
    }

    #[test]
    fn attributes_split_at_keys_not_at_commas() {
        let a =
            attributes("exitCode=3, com.docker.compose.project.config_files=a.yml,b.yml, name=web");
        assert_eq!(a["com.docker.compose.project.config_files"], "a.yml,b.yml");
        assert_eq!(a["name"], "web");
    }
}
