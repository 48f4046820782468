//! The compose model: what the compose file says, with the line and column of every value.
//!
//! The engine shows what compose created (containers and their `com.docker.compose.*` labels),
//! but some causes live only in the file: a `depends_on` that waits for `service_started`
//! rather than `service_healthy`, a health check's `start_period`, `user:`, volume flags, an
//! environment value built from an unset `${VAR}`. Fixes later edit the file minimally and
//! SARIF points at lines, so every key and value keeps where it was written ([`Pos`]).
//!
//! Both compose v1 (1.29, file versions 2.x and 3.x) and v2 (the Compose Specification, no
//! `version:`) files parse; compose itself is never run. The stages:
//! 1. `tree` reads YAML into a marked tree, resolving anchors, aliases and `<<` merges;
//! 2. `interpolate` expands `${VARS}` in the sections compose interpolates, recording each
//!    unset variable used without a default ([`UnsetVar`]);
//! 3. `service` reads each service into a typed [`ComposeService`];
//!
//! and `values` holds the small value languages (durations, sizes, command strings), `dotenv`
//! the `.env` reader used by [`load`].
//!
//! What is out of scope: override files (`docker-compose.override.yml`, several `-f`),
//! `extends:` and `include:`; profiles are read (`profiles:`) but not applied here. The model
//! is plain data and keeps secrets as written;
//! redaction happens when something is shown, and error messages never quote environment
//! values.
mod dotenv;
mod interpolate;
mod service;
mod tree;
mod values;

#[cfg(test)]
mod tests;

pub use values::{parse_bytes, parse_duration};

/// Parse the text of an `.env` (or `env_file:`) file into `(key, value)` pairs, in file order.
pub fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    dotenv::parse(text)
}

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tree::{Kind, Node};

/// The largest compose or `.env` file read. Real ones are a few KiB.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The top-level sections compose interpolates (v1 and v2 agree; `x-*` extensions are
/// interpolated where they are used, through their aliases).
const INTERPOLATED: [&str; 6] = [
    "name", "services", "volumes", "networks", "secrets", "configs",
];

/// A place in the compose file. Both 1-based; the column counts characters.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComposeModel {
    pub file: PathBuf,
    /// The top-level `version:` (v1 file formats, ignored by v2), as written.
    pub version: Option<String>,
    /// The top-level `name:` (Compose Specification), interpolated.
    pub name: Option<String>,
    /// In file order.
    pub services: Vec<ComposeService>,
    /// Every `${VAR}` / `$VAR` used without a default while unset, once per place.
    pub unset_vars: Vec<UnsetVar>,
}

impl ComposeModel {
    pub fn service(&self, name: &str) -> Option<&ComposeService> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// One service. Strings are interpolated; the positions are where the text is written (for a
/// value merged from an anchor, at the anchor).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ComposeService {
    pub name: String,
    /// Where the service's name is written under `services:`.
    pub pos: Pos,
    /// Where each key of the service is written (`image`, `depends_on`, `user`, …).
    pub key_pos: BTreeMap<String, Pos>,
    pub image: Option<String>,
    /// The build context (`build: .` or `build: {context: .}`; `.` when the long form has none).
    pub build: Option<String>,
    pub container_name: Option<String>,
    pub depends_on: Vec<Dependency>,
    pub healthcheck: Option<Healthcheck>,
    /// As written (`"1000:1000"`, `"app"`); `user: 1000` gives `"1000"`.
    pub user: Option<String>,
    /// A string form is split into words the way compose splits it.
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    /// List (`- KEY=value`) and mapping (`KEY: value`) forms, in file order.
    pub environment: Vec<EnvEntry>,
    pub env_file: Vec<String>,
    /// `volumes:` entries (short and long form), then `tmpfs:` entries.
    pub volumes: Vec<VolumeMount>,
    /// Short form as written; the long form rendered as `[host_ip:][published:]target[/proto]`.
    pub ports: Vec<String>,
    pub restart: Option<String>,
    /// Bytes, from `mem_limit` or else `deploy.resources.limits.memory`.
    pub mem_limit: Option<u64>,
    pub stop_grace_period: Option<Duration>,
    /// Network names (list form, or the keys of the mapping form).
    pub networks: Vec<String>,
    /// `aliases` from every network of the mapping form.
    pub aliases: Vec<String>,
    /// `working_dir`, as written (interpolated).
    #[serde(default)]
    pub working_dir: Option<String>,
    /// `profiles`: the service starts only when one of them is active.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// `build.dockerfile` (relative to the context), when the long form names one.
    #[serde(default)]
    pub dockerfile: Option<String>,
    /// `build.args` (list or mapping form); a name without a value has `None`.
    #[serde(default)]
    pub build_args: Vec<(String, Option<String>)>,
    /// Where a device reservation asks for NVIDIA GPUs (`deploy.resources.reservations.devices`
    /// with `driver: nvidia` or `capabilities: [gpu]`), when one does.
    #[serde(default)]
    pub gpu_reservation: Option<Pos>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    pub service: String,
    pub condition: Condition,
    /// Where the dependency's service name is written.
    pub pos: Pos,
    /// The mapping form (`db: {condition: …}`), which is the only one that can name a condition.
    pub long_form: bool,
    /// Where the `condition:` key is written, when there is one.
    pub condition_pos: Option<Pos>,
}

/// What compose waits for before starting the dependent service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// `service_started`, and what the short form means: the container was started, nothing
    /// more (a database may still be initialising).
    Started,
    /// `service_healthy`: the dependency's health check passed.
    Healthy,
    /// `service_completed_successfully`: the dependency ran to exit code 0.
    CompletedSuccessfully,
}

impl Condition {
    /// The compose spelling (`service_healthy`).
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Healthcheck {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]` (what a string test becomes) or `["NONE"]`; empty
    /// when the service only tunes the image's own check.
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    /// Compose v2 / Engine 25+ only.
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
    /// `disable: true`, or a test of `["NONE"]`.
    pub disable: bool,
    /// Where the `healthcheck` key is written.
    pub pos: Pos,
    /// Where each key inside it is written (`test`, `interval`, `start_period`, …).
    pub key_pos: BTreeMap<String, Pos>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvEntry {
    pub key: String,
    /// After interpolation; for a key without a value (`- KEY`, `KEY:`), what compose would
    /// pass: the variable from the shell or `.env`, `None` when neither sets it (compose then
    /// leaves it out of the container).
    pub value: Option<String>,
    /// The value as written, before interpolation; `None` when the file gives no value.
    pub raw: Option<String>,
    /// The list item, or the key of the mapping form.
    pub pos: Pos,
    /// Where the value's text starts, when the file gives one on the same line.
    pub value_pos: Option<Pos>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeMount {
    /// Volume name or host path as written (interpolated); `None` for an anonymous volume or a
    /// tmpfs.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub kind: VolumeKind,
    /// Mode flags: the short form's third part split at commas (`ro`, `z`, `nocopy`, …); for
    /// the long form `ro`, `nocopy` and the selinux label; for tmpfs its options.
    pub flags: Vec<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeKind {
    /// A named or anonymous volume.
    Volume,
    /// A host path (`./data`, `/srv/x`, `~/x`).
    Bind,
    Tmpfs,
    /// Any other long-form `type:` (`npipe`, `cluster`, `image`).
    Other,
}

/// A variable used without a default while unset: compose substitutes `""` and warns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsetVar {
    pub name: String,
    /// Where the `$` is written when it can be found on the line, else where the value starts.
    pub pos: Pos,
}

/// The compose file cannot be read or is not a compose file compose would accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeError {
    pub file: PathBuf,
    pub pos: Option<Pos>,
    pub message: String,
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(pos) => write!(f, "{}:{pos}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ComposeError {}

/// A problem found before the file name is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub pos: Option<Pos>,
    pub message: String,
}

impl Fail {
    pub(crate) fn at(pos: Pos, message: impl Into<String>) -> Self {
        Fail {
            pos: Some(pos),
            message: message.into(),
        }
    }
}

/// Parse compose file text; `vars` gives the values for `${VARS}` (see [`load`] for compose's
/// order of sources).
pub fn parse(
    file: &Path,
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<ComposeModel, ComposeError> {
    parse_text(text, vars)
        .map_err(|fail| ComposeError {
            file: file.to_path_buf(),
            pos: fail.pos,
            message: fail.message,
        })
        .map(|parsed| ComposeModel {
            file: file.to_path_buf(),
            version: parsed.version,
            name: parsed.name,
            services: parsed.services,
            unset_vars: parsed.unset_vars,
        })
}

/// Read `file`, interpolate from the process environment then the `.env` beside it (compose's
/// order: the shell wins).
pub fn load(file: &Path) -> Result<ComposeModel, ComposeError> {
    load_with(file, &|name| {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    })
}

/// [`load`] with the shell's variables given: for tests (which cannot set the process
/// environment safely) and for callers that resolve variables themselves.
pub fn load_with(
    file: &Path,
    shell: &dyn Fn(&str) -> Option<String>,
) -> Result<ComposeModel, ComposeError> {
    let text = read_bounded(file)?.ok_or_else(|| ComposeError {
        file: file.to_path_buf(),
        pos: None,
        message: "no such file".into(),
    })?;
    let dotenv_path = file.parent().unwrap_or(Path::new("")).join(".env");
    let dotenv = read_bounded(&dotenv_path)?
        .map(|t| dotenv::parse(&t))
        .unwrap_or_default();
    let vars = |name: &str| {
        shell(name).or_else(|| {
            dotenv
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    };
    parse(file, &text, &vars)
}

/// The file's text, `None` when it does not exist.
fn read_bounded(file: &Path) -> Result<Option<String>, ComposeError> {
    let fail = |message: String| ComposeError {
        file: file.to_path_buf(),
        pos: None,
        message,
    };
    let meta = match std::fs::metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(format!("cannot read it: {e}"))),
    };
    if !meta.is_file() {
        return Err(fail("is not a regular file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(format!(
            "is {} bytes, more than the {MAX_FILE_BYTES} a compose file can sensibly be",
            meta.len()
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| fail(format!("cannot read it: {e}")))?;
    String::from_utf8(bytes).map(Some).map_err(|e| {
        fail(format!(
            "is not UTF-8 text (byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

struct Parsed {
    version: Option<String>,
    name: Option<String>,
    services: Vec<ComposeService>,
    unset_vars: Vec<UnsetVar>,
}

fn parse_text(text: &str, vars: &dyn Fn(&str) -> Option<String>) -> Result<Parsed, Fail> {
    let Some(mut root) = tree::parse(text)? else {
        return Err(Fail {
            pos: None,
            message: "the file is empty: a compose file needs a `services:` mapping".into(),
        });
    };
    let root_pos = root.pos;
    let Kind::Map(entries) = &mut root.kind else {
        return Err(Fail::at(
            root_pos,
            format!(
                "the file must be a mapping (`services:`, `volumes:`, …), found {}",
                tree::with_article(root.kind_name())
            ),
        ));
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut unset = Vec::new();
    for entry in entries.iter_mut() {
        if INTERPOLATED.contains(&entry.key.as_str()) {
            interpolate_node(&mut entry.value, vars, &lines, &mut unset)?;
        }
    }
    let scalar = |key: &str| -> Result<Option<String>, Fail> {
        match root.get(key) {
            None => Ok(None),
            Some(e) => service::text(&e.value, key, e.key_pos),
        }
    };
    let version = scalar("version")?;
    let name = scalar("name")?;
    let Some(services_entry) = root.get("services") else {
        return Err(Fail {
            pos: None,
            message: "there is no `services:` key (a version 1 file, with services at the top \
                      level, is not supported)"
                .into(),
        });
    };
    let services = match &services_entry.value.kind {
        Kind::Null => Vec::new(),
        Kind::Map(entries) => entries
            .iter()
            .map(|e| service::service(&e.key, e.key_pos, &e.value, vars))
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(Fail::at(
                services_entry.key_pos,
                format!(
                    "`services` must be a mapping of service names to their settings \
                     (`web:` then indented keys), found {}",
                    tree::with_article(services_entry.value.kind_name())
                ),
            ));
        }
    };
    Ok(Parsed {
        version,
        name,
        services,
        unset_vars: unset,
    })
}

/// Interpolate every scalar under `node` (not keys), recording unset variables by position.
fn interpolate_node(
    node: &mut Node,
    vars: &dyn Fn(&str) -> Option<String>,
    lines: &[&str],
    unset_vars: &mut Vec<UnsetVar>,
) -> Result<(), Fail> {
    let pos = node.pos;
    match &mut node.kind {
        Kind::Null => Ok(()),
        Kind::Seq(items) => items
            .iter_mut()
            .try_for_each(|n| interpolate_node(n, vars, lines, unset_vars)),
        Kind::Map(entries) => entries
            .iter_mut()
            .try_for_each(|e| interpolate_node(&mut e.value, vars, lines, unset_vars)),
        Kind::Scalar(scalar) => {
            if !scalar.text.contains('$') {
                return Ok(());
            }
            let mut unset = Vec::new();
            let place = |offset: usize, needle: &str| {
                locate(lines, pos, scalar.style, &scalar.text, offset, needle)
            };
            scalar.value = interpolate::interpolate(&scalar.text, vars, &mut unset)
                .map_err(|r| Fail::at(place(r.offset, &r.needle), r.message))?;
            for u in unset {
                let var = UnsetVar {
                    pos: place(u.offset, &u.needle),
                    name: u.name,
                };
                // An alias repeats the anchored text: report each place once.
                if !unset_vars.contains(&var) {
                    unset_vars.push(var);
                }
            }
            Ok(())
        }
    }
}

/// Where the `$` at `offset` in a scalar's text is written in the file. The text is unescaped
/// and, unless literal, folded, so offsets do not map one to one: find the same occurrence of
/// `needle` on the scalar's line (or the line the literal block puts it on, or a few lines
/// further for a folded or multi-line value), else fall back to where the scalar starts.
fn locate(
    lines: &[&str],
    start: Pos,
    style: tree::Style,
    text: &str,
    offset: usize,
    needle: &str,
) -> Pos {
    let before = &text[..offset.min(text.len())];
    let nth = before.matches(needle).count();
    let (first_line, from_col) = if style == tree::Style::Literal {
        let delta = before.matches('\n').count() as u32;
        let col = if delta == 0 { start.col } else { 1 };
        (start.line + delta, col)
    } else {
        (start.line, start.col)
    };
    const LOOK_AHEAD: u32 = 20;
    let mut skip = if style == tree::Style::Literal {
        before
            .rsplit('\n')
            .next()
            .unwrap_or("")
            .matches(needle)
            .count()
    } else {
        nth
    };
    for line_no in first_line..first_line.saturating_add(LOOK_AHEAD) {
        let Some(line) = lines.get(line_no.saturating_sub(1) as usize) else {
            break;
        };
        let col_from = if line_no == first_line { from_col } else { 1 };
        let byte_from = line
            .char_indices()
            .nth(col_from.saturating_sub(1) as usize)
            .map_or(line.len(), |(i, _)| i);
        for (i, _) in line[byte_from..].match_indices(needle) {
            if skip == 0 {
                let col = line[..byte_from + i].chars().count() as u32 + 1;
                return Pos { line: line_no, col };
            }
            skip -= 1;
        }
        if style == tree::Style::Literal {
            break;
        }
    }
    start
}
