//! One service's settings, from its marked mapping to a typed [`ComposeService`].
//!
//! Each setting takes every form compose v1 and v2 take (short and long `depends_on`, list and
//! mapping `environment`, string and list `command`, short and long `volumes`, …). A value of
//! the wrong shape, or a duration or size compose would refuse, is an error at the key or the
//! value, naming the setting; settings the doctor does not use are skipped unread. Error
//! messages quote durations, sizes and conditions but never environment values or commands.
use super::tree::{Kind, Node, Style, with_article};
use super::values::{parse_bool, parse_bytes, parse_duration, split_words};
use super::{
    ComposeService, Condition, Dependency, EnvEntry, Fail, Healthcheck, Pos, VolumeKind,
    VolumeMount,
};
use std::collections::BTreeMap;
use std::time::Duration;

type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(crate) fn service(
    name: &str,
    pos: Pos,
    node: &Node,
    vars: Vars<'_>,
) -> Result<ComposeService, Fail> {
    let mut svc = ComposeService {
        name: name.to_string(),
        pos,
        ..ComposeService::default()
    };
    let entries = match &node.kind {
        Kind::Null => return Ok(svc),
        Kind::Map(entries) => entries,
        _ => {
            return Err(Fail::at(
                pos,
                format!(
                    "service `{name}` must be a mapping of settings, found {}",
                    with_article(node.kind_name())
                ),
            ));
        }
    };
    let mut tmpfs_mounts = Vec::new();
    let mut deploy_memory = None;
    for e in entries {
        svc.key_pos.insert(e.key.clone(), e.key_pos);
        let (v, at) = (&e.value, e.key_pos);
        match e.key.as_str() {
            "image" => svc.image = text(v, "image", at)?,
            "build" => {
                svc.build = build(v, at)?;
                if let Kind::Map(_) = &v.kind {
                    if let Some(d) = v.get("dockerfile") {
                        svc.dockerfile = text(&d.value, "build.dockerfile", d.key_pos)?;
                    }
                    if let Some(a) = v.get("args") {
                        svc.build_args = build_args(&a.value, a.key_pos)?;
                    }
                }
            }
            "working_dir" => svc.working_dir = text(v, "working_dir", at)?,
            "profiles" => {
                svc.profiles = text_items(v, "profiles", at)?
                    .into_iter()
                    .map(|(t, _)| t)
                    .collect()
            }
            "container_name" => svc.container_name = text(v, "container_name", at)?,
            "depends_on" => svc.depends_on = depends_on(v, at)?,
            "healthcheck" => svc.healthcheck = healthcheck(v, at)?,
            "user" => svc.user = text(v, "user", at)?,
            "entrypoint" => svc.entrypoint = command(v, "entrypoint", at)?,
            "command" => svc.command = command(v, "command", at)?,
            "environment" => svc.environment = environment(v, at, vars)?,
            "env_file" => svc.env_file = env_files(v, at)?,
            "volumes" => svc.volumes = volumes(v, at)?,
            "tmpfs" => tmpfs_mounts = tmpfs(v, at)?,
            "ports" => svc.ports = ports(v, at)?,
            "restart" => svc.restart = text(v, "restart", at)?,
            "mem_limit" => svc.mem_limit = bytes(v, "mem_limit", at)?,
            "deploy" => {
                deploy_memory = deploy_mem(v)?;
                svc.gpu_reservation = gpu_reservation(v);
            }
            "stop_grace_period" => {
                svc.stop_grace_period = duration(v, "stop_grace_period", at)?;
            }
            "networks" => (svc.networks, svc.aliases) = networks(v, at)?,
            _ => {}
        }
    }
    svc.mem_limit = svc.mem_limit.or(deploy_memory);
    svc.volumes.extend(tmpfs_mounts);
    Ok(svc)
}

fn shape_error(key: &str, want: &str, node: &Node, at: Pos) -> Fail {
    Fail::at(
        at,
        format!(
            "`{key}` must be {want}, found {}",
            with_article(node.kind_name())
        ),
    )
}

/// A text setting: `None` when null, the interpolated text of a scalar, an error otherwise.
pub(crate) fn text(node: &Node, key: &str, at: Pos) -> Result<Option<String>, Fail> {
    match &node.kind {
        Kind::Null => Ok(None),
        Kind::Scalar(s) => Ok(Some(s.value.clone())),
        _ => Err(shape_error(key, "text", node, at)),
    }
}

/// The items of a list setting, each required to be text.
fn text_items<'n>(node: &'n Node, key: &str, at: Pos) -> Result<Vec<(String, &'n Node)>, Fail> {
    match &node.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Seq(items) => items
            .iter()
            .map(|item| match &item.kind {
                Kind::Scalar(s) => Ok((s.value.clone(), item)),
                _ => Err(shape_error(
                    &format!("each item of `{key}`"),
                    "text",
                    item,
                    item.pos,
                )),
            })
            .collect(),
        _ => Err(shape_error(key, "a list", node, at)),
    }
}

fn build(node: &Node, at: Pos) -> Result<Option<String>, Fail> {
    match &node.kind {
        Kind::Map(_) => match node.get("context") {
            Some(e) => Ok(text(&e.value, "build.context", e.key_pos)?.or(Some(".".into()))),
            None => Ok(Some(".".into())),
        },
        _ => text(node, "build", at),
    }
}

fn depends_on(node: &Node, at: Pos) -> Result<Vec<Dependency>, Fail> {
    match &node.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Seq(_) => Ok(text_items(node, "depends_on", at)?
            .into_iter()
            .map(|(service, item)| Dependency {
                service,
                condition: Condition::Started,
                pos: item.pos,
                long_form: false,
                condition_pos: None,
            })
            .collect()),
        Kind::Map(entries) => entries
            .iter()
            .map(|e| {
                let (condition, condition_pos) = match &e.value.kind {
                    Kind::Null => (Condition::Started, None),
                    Kind::Map(_) => match e.value.get("condition") {
                        None => (Condition::Started, None),
                        Some(c) => (condition(&c.value, c.key_pos)?, Some(c.key_pos)),
                    },
                    _ => {
                        return Err(shape_error(
                            &format!("depends_on.{}", e.key),
                            "a mapping (`condition: service_healthy`)",
                            &e.value,
                            e.key_pos,
                        ));
                    }
                };
                Ok(Dependency {
                    service: e.key.clone(),
                    condition,
                    pos: e.key_pos,
                    long_form: true,
                    condition_pos,
                })
            })
            .collect(),
        Kind::Scalar(_) => Err(shape_error(
            "depends_on",
            "a list of services or a mapping",
            node,
            at,
        )),
    }
}

fn condition(node: &Node, at: Pos) -> Result<Condition, Fail> {
    let value = text(node, "condition", at)?.unwrap_or_default();
    match value.as_str() {
        "service_started" => Ok(Condition::Started),
        "service_healthy" => Ok(Condition::Healthy),
        "service_completed_successfully" => Ok(Condition::CompletedSuccessfully),
        other => Err(Fail::at(
            value_pos(node, at),
            format!(
                "`condition` must be service_started, service_healthy or \
                 service_completed_successfully, found `{other}`"
            ),
        )),
    }
}

/// Where a value's text is, falling back to its key for nulls and collections.
fn value_pos(node: &Node, key_at: Pos) -> Pos {
    match node.kind {
        Kind::Scalar(_) => node.pos,
        _ => key_at,
    }
}

fn healthcheck(node: &Node, at: Pos) -> Result<Option<Healthcheck>, Fail> {
    let entries = match &node.kind {
        Kind::Null => return Ok(None),
        Kind::Map(entries) => entries,
        _ => return Err(shape_error("healthcheck", "a mapping", node, at)),
    };
    let mut hc = Healthcheck {
        pos: at,
        key_pos: BTreeMap::new(),
        ..Healthcheck::default()
    };
    for e in entries {
        hc.key_pos.insert(e.key.clone(), e.key_pos);
        let (v, at) = (&e.value, e.key_pos);
        match e.key.as_str() {
            "test" => {
                hc.test = match &v.kind {
                    Kind::Scalar(s) => vec!["CMD-SHELL".into(), s.value.clone()],
                    _ => text_items(v, "healthcheck.test", at)?
                        .into_iter()
                        .map(|(t, _)| t)
                        .collect(),
                }
            }
            "interval" => hc.interval = duration(v, "interval", at)?,
            "timeout" => hc.timeout = duration(v, "timeout", at)?,
            "start_period" => hc.start_period = duration(v, "start_period", at)?,
            "start_interval" => hc.start_interval = duration(v, "start_interval", at)?,
            "retries" => {
                hc.retries = match text(v, "retries", at)? {
                    None => None,
                    Some(n) => Some(n.trim().parse::<u32>().map_err(|_| {
                        Fail::at(
                            value_pos(v, at),
                            format!("`retries: {n}` is not a whole number of tries"),
                        )
                    })?),
                }
            }
            "disable" => hc.disable = boolean(v, "disable", at)?.unwrap_or(false),
            _ => {}
        }
    }
    if hc.test.first().is_some_and(|t| t == "NONE") {
        hc.disable = true;
    }
    Ok(Some(hc))
}

fn duration(node: &Node, key: &str, at: Pos) -> Result<Option<Duration>, Fail> {
    let Some(value) = text(node, key, at)? else {
        return Ok(None);
    };
    match parse_duration(&value) {
        Some(d) => Ok(Some(d)),
        None => Err(Fail::at(
            value_pos(node, at),
            format!(
                "`{key}: {value}` is not a duration: compose wants a number with a unit \
                 (`10s`, `1m30s`, `500ms`)"
            ),
        )),
    }
}

fn bytes(node: &Node, key: &str, at: Pos) -> Result<Option<u64>, Fail> {
    let Some(value) = text(node, key, at)? else {
        return Ok(None);
    };
    match parse_bytes(&value) {
        Some(n) => Ok(Some(n)),
        None => Err(Fail::at(
            value_pos(node, at),
            format!(
                "`{key}: {value}` is not a size: compose wants a number with an optional unit \
                 (`512m`, `1g`)"
            ),
        )),
    }
}

fn boolean(node: &Node, key: &str, at: Pos) -> Result<Option<bool>, Fail> {
    let Some(value) = text(node, key, at)? else {
        return Ok(None);
    };
    parse_bool(&value).map(Some).ok_or_else(|| {
        Fail::at(
            value_pos(node, at),
            format!("`{key}: {value}` is not true or false"),
        )
    })
}

fn command(node: &Node, key: &str, at: Pos) -> Result<Option<Vec<String>>, Fail> {
    match &node.kind {
        Kind::Null => Ok(None),
        Kind::Scalar(s) => split_words(&s.value).map(Some).ok_or_else(|| {
            Fail::at(
                node.pos,
                format!("`{key}` leaves a quote open (compose splits it like a shell would)"),
            )
        }),
        _ => Ok(Some(
            text_items(node, key, at)?
                .into_iter()
                .map(|(t, _)| t)
                .collect(),
        )),
    }
}

fn environment(node: &Node, at: Pos, vars: Vars<'_>) -> Result<Vec<EnvEntry>, Fail> {
    match &node.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Seq(_) => text_items(node, "environment", at)?
            .into_iter()
            .map(|(value, item)| env_item(&value, item, vars))
            .collect(),
        Kind::Map(entries) => entries
            .iter()
            .map(|e| match &e.value.kind {
                Kind::Null => Ok(EnvEntry {
                    key: e.key.clone(),
                    value: vars(&e.key),
                    raw: None,
                    pos: e.key_pos,
                    value_pos: None,
                }),
                Kind::Scalar(s) => Ok(EnvEntry {
                    key: e.key.clone(),
                    value: Some(s.value.clone()),
                    raw: Some(s.text.clone()),
                    pos: e.key_pos,
                    value_pos: Some(e.value.pos),
                }),
                _ => Err(shape_error(
                    &format!("environment.{}", e.key),
                    "text",
                    &e.value,
                    e.key_pos,
                )),
            })
            .collect(),
        Kind::Scalar(_) => Err(shape_error(
            "environment",
            "a list (`- KEY=value`) or a mapping (`KEY: value`)",
            node,
            at,
        )),
    }
}

/// `KEY=value` (value may be empty) or `KEY` alone (taken from the shell or `.env`).
fn env_item(value: &str, item: &Node, vars: Vars<'_>) -> Result<EnvEntry, Fail> {
    let Some(scalar) = item.scalar() else {
        return Err(shape_error("environment item", "text", item, item.pos));
    };
    let (key, value, raw) = match (value.split_once('='), scalar.text.split_once('=')) {
        (Some((key, value)), Some((raw_key, raw))) => {
            (key.trim(), Some(value.to_string()), Some((raw_key, raw)))
        }
        _ => (value.trim(), None, None),
    };
    if key.is_empty() {
        return Err(Fail::at(
            item.pos,
            "an `environment` entry needs a name before `=`",
        ));
    }
    // The value's column is known when the item is on one line and was not unescaped.
    let value_pos = raw.and_then(|(raw_key, _)| {
        let one_line = !scalar.text.contains('\n');
        let quote = match scalar.style {
            Style::Plain => Some(0),
            Style::Quoted if !scalar.text.contains(['\\', '\'', '"']) => Some(1),
            _ => None,
        };
        let shift = quote? + raw_key.chars().count() as u32 + 1;
        one_line.then_some(Pos {
            line: item.pos.line,
            col: item.pos.col + shift,
        })
    });
    Ok(EnvEntry {
        key: key.to_string(),
        value: value.clone().or_else(|| vars(key)),
        raw: raw.map(|(_, r)| r.to_string()),
        pos: item.pos,
        value_pos,
    })
}

fn env_files(node: &Node, at: Pos) -> Result<Vec<String>, Fail> {
    match &node.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Scalar(s) => Ok(vec![s.value.clone()]),
        Kind::Seq(items) => items
            .iter()
            .map(|item| match &item.kind {
                Kind::Scalar(s) => Ok(s.value.clone()),
                // v2 long form: `- path: ./x.env` with `required: false`.
                Kind::Map(_) => match item.get("path") {
                    Some(p) => Ok(text(&p.value, "env_file.path", p.key_pos)?.unwrap_or_default()),
                    None => Err(Fail::at(item.pos, "an `env_file` entry needs a `path`")),
                },
                _ => Err(shape_error(
                    "each item of `env_file`",
                    "text",
                    item,
                    item.pos,
                )),
            })
            .collect(),
        Kind::Map(_) => Err(shape_error("env_file", "a path or a list", node, at)),
    }
}

fn volumes(node: &Node, at: Pos) -> Result<Vec<VolumeMount>, Fail> {
    let items = match &node.kind {
        Kind::Null => return Ok(Vec::new()),
        Kind::Seq(items) => items,
        _ => return Err(shape_error("volumes", "a list", node, at)),
    };
    items
        .iter()
        .map(|item| match &item.kind {
            Kind::Scalar(s) => short_volume(&s.value, item.pos),
            Kind::Map(_) => long_volume(item),
            _ => Err(shape_error(
                "each item of `volumes`",
                "text or a mapping",
                item,
                item.pos,
            )),
        })
        .collect()
}

/// `target`, `source:target` or `source:target:mode`.
fn short_volume(spec: &str, pos: Pos) -> Result<VolumeMount, Fail> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, ""),
        [source, target] => (Some(*source), *target, ""),
        [source, target, mode] => (Some(*source), *target, *mode),
        _ => {
            return Err(Fail::at(
                pos,
                format!(
                    "the volume `{spec}` has {} `:`-separated parts; compose wants \
                     `source:target[:mode]`",
                    parts.len()
                ),
            ));
        }
    };
    let flags: Vec<String> = mode
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    let kind = match source {
        Some(s) if is_host_path(s) => VolumeKind::Bind,
        _ => VolumeKind::Volume,
    };
    Ok(VolumeMount {
        source: source.map(str::to_string),
        target: target.to_string(),
        read_only: flags.iter().any(|f| f == "ro"),
        kind,
        flags,
        pos,
    })
}

/// How compose tells a host path from a volume name in the short form.
fn is_host_path(source: &str) -> bool {
    source.starts_with(['/', '.', '~'])
}

fn long_volume(item: &Node) -> Result<VolumeMount, Fail> {
    let field = |key: &str| -> Result<Option<String>, Fail> {
        match item.get(key) {
            None => Ok(None),
            Some(e) => text(&e.value, &format!("volumes.{key}"), e.key_pos),
        }
    };
    let kind = match field("type")?.as_deref() {
        None | Some("volume") => VolumeKind::Volume,
        Some("bind") => VolumeKind::Bind,
        Some("tmpfs") => VolumeKind::Tmpfs,
        Some(_) => VolumeKind::Other,
    };
    let Some(target) = field("target")? else {
        return Err(Fail::at(
            item.pos,
            "a long-form volume needs a `target` (the path inside the container)",
        ));
    };
    let read_only = match item.get("read_only") {
        Some(e) => boolean(&e.value, "read_only", e.key_pos)?.unwrap_or(false),
        None => false,
    };
    let mut flags = Vec::new();
    if read_only {
        flags.push("ro".to_string());
    }
    let nested = |section: &str, key: &str| item.get(section).and_then(|s| s.value.get(key));
    if let Some(e) = nested("volume", "nocopy")
        && boolean(&e.value, "volume.nocopy", e.key_pos)? == Some(true)
    {
        flags.push("nocopy".to_string());
    }
    if let Some(e) = nested("bind", "selinux") {
        flags.extend(text(&e.value, "bind.selinux", e.key_pos)?);
    }
    Ok(VolumeMount {
        source: field("source")?,
        target,
        read_only,
        kind,
        flags,
        pos: item.pos,
    })
}

/// `tmpfs: /run` or a list of `path[:options]`.
fn tmpfs(node: &Node, at: Pos) -> Result<Vec<VolumeMount>, Fail> {
    let items = match &node.kind {
        Kind::Scalar(s) => vec![(s.value.clone(), node)],
        _ => text_items(node, "tmpfs", at)?,
    };
    Ok(items
        .into_iter()
        .map(|(spec, item)| {
            let (target, options) = spec.split_once(':').unwrap_or((&spec, ""));
            VolumeMount {
                source: None,
                target: target.to_string(),
                read_only: false,
                kind: VolumeKind::Tmpfs,
                flags: options
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(str::to_string)
                    .collect(),
                pos: item.pos,
            }
        })
        .collect())
}

fn ports(node: &Node, at: Pos) -> Result<Vec<String>, Fail> {
    let items = match &node.kind {
        Kind::Null => return Ok(Vec::new()),
        Kind::Seq(items) => items,
        _ => return Err(shape_error("ports", "a list", node, at)),
    };
    items
        .iter()
        .map(|item| match &item.kind {
            Kind::Scalar(s) => Ok(s.value.clone()),
            Kind::Map(_) => {
                let field = |key: &str| -> Result<String, Fail> {
                    Ok(match item.get(key) {
                        None => None,
                        Some(e) => text(&e.value, &format!("ports.{key}"), e.key_pos)?,
                    }
                    .unwrap_or_default())
                };
                let (target, published) = (field("target")?, field("published")?);
                let (host_ip, protocol) = (field("host_ip")?, field("protocol")?);
                let mut port = match (host_ip.is_empty(), published.is_empty()) {
                    (false, _) => format!("{host_ip}:{published}:{target}"),
                    (true, false) => format!("{published}:{target}"),
                    (true, true) => target,
                };
                if !protocol.is_empty() && protocol != "tcp" {
                    port = format!("{port}/{protocol}");
                }
                Ok(port)
            }
            _ => Err(shape_error(
                "each item of `ports`",
                "text or a mapping",
                item,
                item.pos,
            )),
        })
        .collect()
}

/// Network names and the aliases given on any of them.
fn networks(node: &Node, at: Pos) -> Result<(Vec<String>, Vec<String>), Fail> {
    match &node.kind {
        Kind::Null => Ok((Vec::new(), Vec::new())),
        Kind::Seq(_) => Ok((
            text_items(node, "networks", at)?
                .into_iter()
                .map(|(n, _)| n)
                .collect(),
            Vec::new(),
        )),
        Kind::Map(entries) => {
            let mut aliases = Vec::new();
            for e in entries {
                if let Some(a) = e.value.get("aliases") {
                    let key = format!("networks.{}.aliases", e.key);
                    aliases.extend(
                        text_items(&a.value, &key, a.key_pos)?
                            .into_iter()
                            .map(|(t, _)| t),
                    );
                }
            }
            Ok((entries.iter().map(|e| e.key.clone()).collect(), aliases))
        }
        Kind::Scalar(_) => Err(shape_error("networks", "a list or a mapping", node, at)),
    }
}

/// `deploy.resources.limits.memory`, honoured by v2 (and v1 with `--compatibility`).
/// `build.args`: `- NAME=value` / `- NAME` items, or a `NAME: value` mapping.
fn build_args(node: &Node, at: Pos) -> Result<Vec<(String, Option<String>)>, Fail> {
    match &node.kind {
        Kind::Null => Ok(Vec::new()),
        Kind::Seq(_) => Ok(text_items(node, "build.args", at)?
            .into_iter()
            .map(|(t, _)| match t.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (t, None),
            })
            .collect()),
        Kind::Map(entries) => entries
            .iter()
            .map(|e| Ok((e.key.clone(), text(&e.value, "build.args", e.key_pos)?)))
            .collect(),
        Kind::Scalar(_) => Err(shape_error("build.args", "a list or a mapping", node, at)),
    }
}

/// Where `deploy.resources.reservations.devices` asks for an NVIDIA GPU.
fn gpu_reservation(deploy: &Node) -> Option<Pos> {
    let devices = deploy
        .get("resources")
        .and_then(|r| r.value.get("reservations"))
        .and_then(|r| r.value.get("devices"))?;
    let Kind::Seq(items) = &devices.value.kind else {
        return None;
    };
    items.iter().find_map(|item| {
        let driver = item
            .get("driver")
            .and_then(|d| d.value.scalar().map(|s| s.value.to_ascii_lowercase()));
        let gpu_capability = item
            .get("capabilities")
            .is_some_and(|c| match &c.value.kind {
                Kind::Seq(caps) => caps.iter().any(|cap| match &cap.kind {
                    Kind::Scalar(s) => s.value == "gpu",
                    Kind::Seq(inner) => inner
                        .iter()
                        .any(|i| i.scalar().is_some_and(|s| s.value == "gpu")),
                    _ => false,
                }),
                _ => false,
            });
        (driver.as_deref() == Some("nvidia") || gpu_capability).then_some(item.pos)
    })
}

fn deploy_mem(deploy: &Node) -> Result<Option<u64>, Fail> {
    let memory = deploy
        .get("resources")
        .and_then(|r| r.value.get("limits"))
        .and_then(|l| l.value.get("memory"));
    match memory {
        None => Ok(None),
        Some(e) => bytes(&e.value, "memory", e.key_pos),
    }
}
