//! What an image will hold, read from its Dockerfile and build context before it is built.
//!
//! The live probes read the image: `/home/appuser/app/backend/server_v4_complete.py`, the
//! entrypoint script's bytes and mode, gunicorn's config file. Before the build those are files
//! of the build context, and the Dockerfile says where each lands: `WORKDIR /home/appuser/app`
//! then `COPY . .` puts `backend/server_v4_complete.py` at
//! `/home/appuser/app/backend/server_v4_complete.py`. An [`ImageView`] is that mapping — image
//! path → file on disk — with what else the Dockerfile decides: the working directory, the
//! entrypoint and command, the environment, the user, the health check, and the image's Python.
//!
//! It follows what the builder does that matters here: `.dockerignore`, `COPY`/`ADD` of files,
//! directories and wildcards (relative destinations against `WORKDIR`), `--chmod`, `COPY --from`
//! an earlier stage, and base images built from the same project (another compose service that
//! builds that image name, or a mapping the caller gives). From `RUN` lines it reads only what is
//! plain: `chmod` of a copied file, `\r` stripped with `sed`/`tr`/`dos2unix`, packages installed
//! or purged with `apt-get`/`apk`/`dnf`, and the files `rm` deletes. Anything else a `RUN` does
//! is not guessed.
//!
//! Bounded: the context walk stops at [`MAX_ENTRIES`] entries and [`MAX_DEPTH`] levels, base
//! images at [`MAX_BASES`] levels.
use super::dockerfile::{self, Copy, Dockerfile, Kind};
use crate::probes::python::PyVersion;
pub use crate::stack::context::{DockerIgnore, Listing, MAX_DEPTH, MAX_ENTRIES, clean, list_files};
use crate::stack::context::{clean_rel, glob_regex, has_glob};
use regex::Regex;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// How many base images built from the project are followed.
pub const MAX_BASES: usize = 4;

/// A Dockerfile and the context it is built from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BuildSource {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub args: Vec<(String, Option<String>)>,
    pub target: Option<String>,
}

/// Where one file of the image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSource {
    pub host: PathBuf,
    /// The mode the image gives it, when the Dockerfile sets one (`COPY --chmod`, `RUN chmod`);
    /// `None`: the build context's own mode.
    pub mode: Option<u32>,
    /// The instruction that put it there: `Dockerfile:4 COPY . .`, or `bind mount ./:/app`.
    pub via: String,
    /// A `RUN` that strips `\r` from it, when one does.
    pub cr_stripped: Option<String>,
    /// Mounted from the host at run time (a compose bind mount), not copied at build.
    pub bind: bool,
}

/// A program a `RUN` installs or removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageChange {
    pub program: String,
    pub installed: bool,
    /// `Dockerfile:3`.
    pub at: String,
}

/// What the image will be, as far as its sources tell.
#[derive(Debug, Clone, Default)]
pub struct ImageView {
    /// Image path → its source on disk.
    pub files: BTreeMap<String, FileSource>,
    pub workdir: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub user: Option<String>,
    /// `HEALTHCHECK`, as a compose-style test.
    pub healthcheck: Option<Vec<String>>,
    /// The image at the bottom that is not built from the project (`python:3.11-slim`), with
    /// where it is named.
    pub base_image: Option<(String, String)>,
    /// The image's Python, and where that was read.
    pub python: Option<(PyVersion, String)>,
    /// Programs installed or removed by `RUN`, in order.
    pub packages: Vec<PackageChange>,
    /// What could not be followed (`COPY --from=other/image`), for the report's facts.
    pub notes: Vec<String>,
}

impl ImageView {
    /// The file at `path` in the image.
    pub fn file(&self, path: &str) -> Option<&FileSource> {
        self.files.get(path)
    }

    /// Files under directory `dir` (absolute image path).
    pub fn under<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a String, &'a FileSource)> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.files
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
    }

    /// Whether a directory exists at `path` (some file lies under it).
    fn is_dir(&self, path: &str) -> bool {
        self.under(path).next().is_some()
    }

    /// A compose bind mount `host` → `target`: the host's files hide the image's under `target`.
    pub fn bind(&mut self, host: &Path, target: &str, spec: &str) {
        let target = clean(target);
        if host.is_file() {
            self.files.insert(
                target,
                FileSource {
                    host: host.to_path_buf(),
                    mode: None,
                    via: format!("bind mount {spec}"),
                    cr_stripped: None,
                    bind: true,
                },
            );
            return;
        }
        let hidden: Vec<String> = self.under(&target).map(|(k, _)| k.clone()).collect();
        for k in hidden {
            self.files.remove(&k);
        }
        let listing = list_files(host, &DockerIgnore::default());
        for (rel, abs) in listing.files {
            self.files.insert(
                join(&target, &rel),
                FileSource {
                    host: abs,
                    mode: None,
                    via: format!("bind mount {spec}"),
                    cr_stripped: None,
                    bind: true,
                },
            );
        }
    }
}

/// How a base image name maps to sources on disk.
pub type Bases<'a> = &'a dyn Fn(&str) -> Option<BuildSource>;

/// What an image that is not built from the project says about itself (`docker image
/// inspect`'s `Config`), when the engine has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BaseConfig {
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub workdir: Option<String>,
    pub env: Vec<(String, String)>,
    pub user: Option<String>,
    pub healthcheck: Option<Vec<String>>,
}

/// The configurations of outside images the caller knows (by image name).
pub type Configs<'a> = &'a dyn Fn(&str) -> Option<BaseConfig>;

impl ImageView {
    /// The view of an outside image: no files known, its configuration when known.
    pub fn outside(image: &str, named_at: &str, config: Option<BaseConfig>) -> ImageView {
        let c = config.unwrap_or_default();
        ImageView {
            base_image: Some((image.to_owned(), named_at.to_owned())),
            workdir: c
                .workdir
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "/".into()),
            entrypoint: c.entrypoint,
            cmd: c.cmd,
            env: c.env,
            user: c.user.filter(|u| !u.is_empty()),
            healthcheck: c.healthcheck,
            ..ImageView::default()
        }
    }
}

/// Why an image's view cannot be built from its Dockerfile.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ViewError {
    #[error("{}: more than {max} bytes, more than a Dockerfile can sensibly be", path.display())]
    TooLarge { path: PathBuf, max: usize },
    #[error("{}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },
    #[error("{}: no FROM line", .0.display())]
    NoFrom(PathBuf),
    #[error("{}: no stage named `{target}` (build.target)", dockerfile.display())]
    NoStage { dockerfile: PathBuf, target: String },
}

/// Build the view of `source`'s image. `bases` resolves `FROM` images built from the project;
/// `configs` gives what outside base images say about themselves.
pub fn view(
    source: &BuildSource,
    bases: Bases<'_>,
    configs: Configs<'_>,
) -> Result<ImageView, ViewError> {
    view_at(source, bases, configs, 0)
}

fn view_at(
    source: &BuildSource,
    bases: Bases<'_>,
    configs: Configs<'_>,
    depth: usize,
) -> Result<ImageView, ViewError> {
    let text = read_dockerfile(&source.dockerfile)?;
    let d = dockerfile::parse(&text, &source.args);
    if d.stages.is_empty() {
        return Err(ViewError::NoFrom(source.dockerfile.clone()));
    }
    let ignore = DockerIgnore::for_build(&source.context, &source.dockerfile);
    let context = list_files(&source.context, &ignore);
    let name = display_name(&source.dockerfile);
    let mut stages: Vec<ImageView> = Vec::new();
    let last = match &source.target {
        Some(t) => d
            .stage(t)
            .map(|(i, _)| i)
            .ok_or_else(|| ViewError::NoStage {
                dockerfile: source.dockerfile.clone(),
                target: t.clone(),
            })?,
        None => d.stages.len() - 1,
    };
    for (i, stage) in d.stages.iter().enumerate().take(last + 1) {
        let from_at = format!("{name}:{}", stage.from_line);
        let mut v = match d.stage(&stage.from).filter(|(j, _)| *j < i) {
            Some((j, _)) => stages[j].clone(),
            None => match (depth < MAX_BASES).then(|| bases(&stage.from)).flatten() {
                Some(base) => {
                    let mut v = view_at(&base, bases, configs, depth + 1)?;
                    v.notes.push(format!(
                        "{from_at}: FROM {} is built from {}",
                        stage.from,
                        base.dockerfile.display()
                    ));
                    v
                }
                None => ImageView::outside(&stage.from, &from_at, configs(&stage.from)),
            },
        };
        apply(&mut v, &d, stage, &stages, &context, &name);
        if v.python.is_none() {
            v.python = python_of(&v, &text);
        }
        stages.push(v);
    }
    let mut v = stages.swap_remove(last);
    if context.truncated {
        v.notes.push(format!(
            "the build context {} has more than {MAX_ENTRIES} entries: the rest was not read",
            source.context.display()
        ));
    }
    Ok(v)
}

fn read_dockerfile(path: &Path) -> Result<String, ViewError> {
    crate::capped::lossy(path, dockerfile::MAX_BYTES).map_err(|e| match e.kind() {
        std::io::ErrorKind::FileTooLarge => ViewError::TooLarge {
            path: path.to_path_buf(),
            max: dockerfile::MAX_BYTES,
        },
        _ => ViewError::Unreadable {
            path: path.to_path_buf(),
            source: std::sync::Arc::new(e),
        },
    })
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

/// Apply one stage's instructions to `v`.
fn apply(
    v: &mut ImageView,
    d: &Dockerfile,
    stage: &dockerfile::Stage,
    done: &[ImageView],
    context: &Listing,
    name: &str,
) {
    // A CMD this stage sets survives its ENTRYPOINT; an inherited one does not.
    let mut cmd_set = false;
    for ins in &stage.instructions {
        let at = format!("{name}:{}", ins.line);
        match &ins.kind {
            Kind::Workdir(w) => v.workdir = join(&v.workdir, w),
            Kind::Env(pairs) => {
                for (k, val) in pairs {
                    v.env.retain(|(ek, _)| ek != k);
                    v.env.push((k.clone(), val.clone()));
                }
            }
            Kind::Arg(..) | Kind::Other(_) => {}
            Kind::User(u) => v.user = Some(u.clone()),
            Kind::Entrypoint(c) => {
                v.entrypoint = Some(c.argv());
                if !cmd_set {
                    v.cmd = None;
                }
            }
            Kind::Cmd(c) => {
                v.cmd = Some(c.argv());
                cmd_set = true;
            }
            Kind::Healthcheck(t) => v.healthcheck = Some(t.clone()),
            Kind::Copy(c) => copy(v, c, d, done, context, &at),
            Kind::Run(text) => run(v, text, &at),
        }
    }
}

fn copy(
    v: &mut ImageView,
    c: &Copy,
    d: &Dockerfile,
    done: &[ImageView],
    context: &Listing,
    at: &str,
) {
    let dest = join(&v.workdir, &c.dest);
    let dest_is_dir = c.dest.ends_with('/')
        || c.dest == "."
        || c.sources.len() > 1
        || c.sources.iter().any(|s| has_glob(s));
    let via = format!(
        "{at} {} {} {}",
        if c.add { "ADD" } else { "COPY" },
        c.sources.join(" "),
        c.dest
    );
    // (relative path under the source, file) pairs of each source.
    let put = |v: &mut ImageView, target: String, host: PathBuf, mode: Option<u32>| {
        v.files.insert(
            target,
            FileSource {
                host,
                mode: c.chmod.or(mode),
                via: via.clone(),
                cr_stripped: None,
                bind: false,
            },
        );
    };
    for src in &c.sources {
        if src.contains("://") {
            continue;
        }
        if let Some(from) = &c.from {
            let Some((j, _)) = d.stage(from).filter(|(j, _)| *j < done.len()) else {
                v.notes.push(format!(
                    "{at}: COPY --from={from}: files of another image are not read"
                ));
                continue;
            };
            let from_view = &done[j];
            let src_path = clean(&join(&from_view.workdir, src));
            if let Some(f) = from_view.files.get(&src_path) {
                let target = if dest_is_dir || v.is_dir(&dest) {
                    join(&dest, base_name(&src_path))
                } else {
                    dest.clone()
                };
                put(v, target, f.host.clone(), f.mode);
            } else {
                let prefix = format!("{}/", src_path.trim_end_matches('/'));
                let items: Vec<(String, PathBuf, Option<u32>)> = from_view
                    .files
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, f)| (k[prefix.len()..].to_owned(), f.host.clone(), f.mode))
                    .collect();
                for (rel, host, mode) in items {
                    put(v, join(&dest, &rel), host, mode);
                }
            }
            continue;
        }
        let pattern = clean_rel(src);
        if has_glob(&pattern) {
            let re = glob_regex(&pattern);
            let depth = pattern.split('/').count();
            for (rel, host) in &context.files {
                let parts: Vec<&str> = rel.split('/').collect();
                if parts.len() < depth {
                    continue;
                }
                let head = parts[..depth].join("/");
                if !re.is_match(&head) {
                    continue;
                }
                let tail = parts[depth - 1..].join("/");
                put(v, join(&dest, &tail), host.clone(), None);
            }
            continue;
        }
        if pattern.is_empty() {
            for (rel, host) in &context.files {
                put(v, join(&dest, rel), host.clone(), None);
            }
            continue;
        }
        if let Some(host) = context.files.get(&pattern) {
            let target = if dest_is_dir || v.is_dir(&dest) {
                join(&dest, base_name(&pattern))
            } else {
                dest.clone()
            };
            put(v, target, host.clone(), None);
            continue;
        }
        let prefix = format!("{pattern}/");
        for (rel, host) in context.files.range(prefix.clone()..) {
            if !rel.starts_with(&prefix) {
                break;
            }
            put(v, join(&dest, &rel[prefix.len()..]), host.clone(), None);
        }
    }
}

static CHMOD_MODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[0-7]{3,4}|[ugoa]*[+=][rwxXst]+)$").expect("chmod mode regex")
});

/// The view's files a path (or glob, or directory) names.
fn matching(v: &ImageView, target: &str) -> Vec<String> {
    let re = has_glob(target).then(|| glob_regex(target));
    v.files
        .keys()
        .filter(|k| match &re {
            Some(re) => re.is_match(k),
            None => *k == target || k.starts_with(&format!("{target}/")),
        })
        .cloned()
        .collect()
}
static PACKAGES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:apt-get|apt|aptitude)\s+(?:-\S+\s+)*(?P<apt>install|purge|remove|autoremove)\b(?P<apt_pkgs>[^&;|]*)|apk\s+(?:-\S+\s+)*(?P<apk>add|del)\b(?P<apk_pkgs>[^&;|]*)|(?:dnf|yum|microdnf)\s+(?:-\S+\s+)*(?P<rpm>install|remove|erase)\b(?P<rpm_pkgs>[^&;|]*)",
    )
    .expect("package regex")
});
static CR_STRIP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"dos2unix|sed\s[^&;|]*\\r|tr\s+-d\s+['"]?\\r"#).expect("cr regex")
});

/// What a `RUN` line plainly does to the files and programs of the image.
fn run(v: &mut ImageView, text: &str, at: &str) {
    // Modes a command gives to a path the view does not hold (a fixed-up copy in /tmp), for the
    // `mv`/`cp`/`install` that puts it in place.
    let mut pending: BTreeMap<String, u32> = BTreeMap::new();
    for command in text.split("&&").flat_map(|c| c.split([';', '\n', '|'])) {
        let words: Vec<&str> = command.split_whitespace().collect();
        match words.first().copied() {
            Some("chmod") => {
                let mut args = words[1..].iter().filter(|w| !w.starts_with('-'));
                let Some(mode) = args.next().filter(|m| CHMOD_MODE.is_match(m)) else {
                    continue;
                };
                for path in args {
                    let target = clean(&join(&v.workdir, path));
                    let hits = matching(v, &target);
                    if hits.is_empty() {
                        let before = pending.get(&target).copied();
                        pending.insert(target, apply_mode(before, mode));
                    }
                    for k in hits {
                        if let Some(f) = v.files.get_mut(&k) {
                            f.mode = Some(apply_mode(f.mode, mode));
                        }
                    }
                }
            }
            Some("mv" | "cp") => {
                let args: Vec<&str> = words[1..]
                    .iter()
                    .copied()
                    .filter(|w| !w.starts_with('-'))
                    .collect();
                if let [src, dst] = args.as_slice() {
                    let src = clean(&join(&v.workdir, src));
                    let dst = clean(&join(&v.workdir, dst));
                    if let (Some(mode), Some(f)) = (pending.get(&src), v.files.get_mut(&dst)) {
                        f.mode = Some(*mode);
                    }
                }
            }
            Some("rm") => {
                // `rm -f a/*.sql`, `rm -rf dir`: the files go (a directory only with -r).
                let recursive = words[1..]
                    .iter()
                    .any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains(['r', 'R']))
                    || words.contains(&"--recursive");
                for path in words[1..].iter().filter(|w| !w.starts_with('-')) {
                    let target = clean(&join(&v.workdir, path));
                    for k in matching(v, &target) {
                        if recursive || k == target || has_glob(&target) {
                            v.files.remove(&k);
                        }
                    }
                }
            }
            Some("install") => {
                let mode = words
                    .iter()
                    .position(|w| *w == "-m")
                    .and_then(|i| words.get(i + 1))
                    .and_then(|m| u32::from_str_radix(m, 8).ok());
                let dst = words.last().map(|d| clean(&join(&v.workdir, d)));
                if let (Some(mode), Some(dst)) = (mode, dst)
                    && let Some(f) = v.files.get_mut(&dst)
                {
                    f.mode = Some(mode);
                }
            }
            _ => {}
        }
    }
    if CR_STRIP.is_match(text) {
        for word in text.split(|c: char| c.is_whitespace() || ";&|<>'\"".contains(c)) {
            if word.is_empty() || word.starts_with('-') {
                continue;
            }
            let target = clean(&join(&v.workdir, word));
            let re = has_glob(&target).then(|| glob_regex(&target));
            for (k, f) in v.files.iter_mut() {
                let hit = match &re {
                    Some(re) => re.is_match(k),
                    None => *k == target,
                };
                if hit {
                    f.cr_stripped = Some(at.to_owned());
                }
            }
        }
    }
    for m in PACKAGES.captures_iter(text) {
        let (verb, pkgs) = ["apt", "apk", "rpm"]
            .iter()
            .find_map(|k| Some((m.name(k)?.as_str(), m.name(&format!("{k}_pkgs"))?.as_str())))
            .unwrap_or(("", ""));
        let installed = matches!(verb, "install" | "add");
        for pkg in pkgs.split_whitespace() {
            if pkg.starts_with('-') || pkg.starts_with('>') || pkg.contains('/') {
                continue;
            }
            let pkg = pkg.split(['=', ':']).next().unwrap_or(pkg);
            for program in programs_of(pkg) {
                v.packages.push(PackageChange {
                    program,
                    installed,
                    at: at.to_owned(),
                });
            }
        }
    }
}

/// The programs a distribution package provides that health checks call.
fn programs_of(pkg: &str) -> Vec<String> {
    match pkg {
        p if p.starts_with("netcat") => vec!["nc".into(), "netcat".into()],
        "postgresql-client" | "postgresql" => vec!["pg_isready".into(), "psql".into()],
        p if p.starts_with("postgresql-client-") || p.starts_with("postgresql-1") => {
            vec!["pg_isready".into(), "psql".into()]
        }
        "redis-tools" | "redis" | "redis-server" => vec!["redis-cli".into()],
        "procps" | "procps-ng" => vec!["ps".into(), "pgrep".into()],
        "iputils-ping" => vec!["ping".into()],
        p => vec![p.to_owned()],
    }
}

fn apply_mode(current: Option<u32>, spec: &str) -> u32 {
    if let Ok(m) = u32::from_str_radix(spec, 8) {
        return m;
    }
    let base = current.unwrap_or(0o644);
    let (who, rest) = spec.split_at(spec.find(['+', '=', '-']).unwrap_or(0));
    let who_mask = if who.is_empty() || who.contains('a') {
        0o777
    } else {
        (if who.contains('u') { 0o700 } else { 0 })
            | (if who.contains('g') { 0o070 } else { 0 })
            | (if who.contains('o') { 0o007 } else { 0 })
    };
    let bits = rest.chars().skip(1).fold(0, |acc, c| {
        acc | match c {
            'r' => 0o444,
            'w' => 0o222,
            'x' | 'X' => 0o111,
            _ => 0,
        }
    }) & who_mask;
    match rest.chars().next() {
        Some('+') => base | bits,
        Some('=') => (base & !who_mask) | bits,
        _ => base,
    }
}

/// Debian and Ubuntu releases and the Python 3 their `python3` package installs.
const DISTRO_PYTHON: &[(&str, u32)] = &[
    ("buster", 7),
    ("bullseye", 9),
    ("bookworm", 11),
    ("trixie", 13),
    ("focal", 8),
    ("20.04", 8),
    ("jammy", 10),
    ("22.04", 10),
    ("noble", 12),
    ("24.04", 12),
];

static PYTHON_DIR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"python(3\.\d+)\b").expect("python regex"));

/// The image's Python: `PYTHON_VERSION` in its environment, a `python3.X` the Dockerfile names
/// (`/usr/local/lib/python3.11/site-packages`), the tag of a `python` base image, else the
/// Debian or Ubuntu release a base image is named after.
fn python_of(v: &ImageView, dockerfile_text: &str) -> Option<(PyVersion, String)> {
    if let Some((_, val)) = v.env.iter().rev().find(|(k, _)| k == "PYTHON_VERSION")
        && let Some(p) = PyVersion::parse(val)
    {
        return Some((p, format!("PYTHON_VERSION={val}")));
    }
    if let Some((base, at)) = &v.base_image {
        let (repo, tag) = split_image(base);
        let last = repo.rsplit('/').next().unwrap_or(repo);
        if last == "python"
            && let Some(p) = PyVersion::parse(tag)
        {
            return Some((p, format!("the base image {base} ({at})")));
        }
        if let Some(m) = PYTHON_DIR.captures(tag)
            && let Some(p) = PyVersion::parse(&m[1])
        {
            return Some((p, format!("the base image {base} ({at})")));
        }
    }
    for line in dockerfile_text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(m) = PYTHON_DIR.captures(line)
            && let Some(p) = PyVersion::parse(&m[1])
        {
            return Some((p, format!("`{}` in the Dockerfile", &m[0])));
        }
    }
    let (base, at) = v.base_image.as_ref()?;
    let (repo, tag) = split_image(base);
    DISTRO_PYTHON.iter().find_map(|(release, minor)| {
        let named = tag.split(['-', '_', '.']).any(|w| w == *release)
            || tag == *release
            || tag.starts_with(&format!("{release}-"))
            || repo.rsplit('/').next().is_some_and(|r| r == *release);
        named.then(|| {
            (
                PyVersion::new(3, *minor),
                format!("the python3 of {release}, the release the base image {base} is named after ({at})"),
            )
        })
    })
}

/// `repo[:tag][@digest]` → (repo, tag); `latest` when no tag.
pub fn split_image(image: &str) -> (&str, &str) {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (no_digest, "latest"),
    }
}

/// `path` against directory `base` (an absolute `path` stands alone), cleaned.
pub fn join(base: &str, path: &str) -> String {
    if path.starts_with('/') {
        clean(path)
    } else {
        clean(&format!("{base}/{path}"))
    }
}

fn base_name(p: &str) -> &str {
    p.trim_end_matches('/').rsplit('/').next().unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn src(dir: &Path) -> BuildSource {
        BuildSource {
            dockerfile: dir.join("Dockerfile"),
            context: dir.to_path_buf(),
            args: vec![],
            target: None,
        }
    }

    fn no_bases(_: &str) -> Option<BuildSource> {
        None
    }

    fn no_configs(_: &str) -> Option<BaseConfig> {
        None
    }

    #[test]
    fn workdir_and_copy_dot_dot_map_the_context_under_the_workdir() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "Dockerfile",
            "FROM python:3.11-slim\nWORKDIR /home/appuser/app\nCOPY . .\nCOPY --chmod=755 entrypoint.sh /usr/local/bin/\nENTRYPOINT [\"./entrypoint.sh\"]\nCMD [\"gunicorn\", \"backend.server_v4_complete:app\"]\n",
        );
        write(d, "backend/server_v4_complete.py", "app = 1\n");
        write(d, "entrypoint.sh", "#!/bin/sh\nexec \"$@\"\n");
        write(d, "tests/test_x.py", "");
        write(d, ".dockerignore", "tests\n**/__pycache__\n");
        write(d, "backend/__pycache__/x.pyc", "");
        let v = view(&src(d), &no_bases, &no_configs).unwrap();
        let f = v
            .file("/home/appuser/app/backend/server_v4_complete.py")
            .expect("mapped");
        assert_eq!(f.host, d.join("backend/server_v4_complete.py"));
        assert_eq!(f.via, "Dockerfile:3 COPY . .");
        assert!(v.file("/home/appuser/app/tests/test_x.py").is_none());
        assert!(
            v.file("/home/appuser/app/backend/__pycache__/x.pyc")
                .is_none()
        );
        assert_eq!(
            v.file("/usr/local/bin/entrypoint.sh").unwrap().mode,
            Some(0o755)
        );
        assert_eq!(v.workdir, "/home/appuser/app");
        assert_eq!(
            v.entrypoint.as_deref(),
            Some(&["./entrypoint.sh".to_owned()][..])
        );
        assert_eq!(
            v.python.as_ref().map(|(p, _)| p.to_string()).as_deref(),
            Some("3.11")
        );
    }

    #[test]
    fn a_base_built_from_the_project_then_an_overlay() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "base/Dockerfile",
            "FROM debian:bookworm-slim\nENV FLASK_APP=server\nWORKDIR /app\nCOPY . /app/\nRUN chmod 755 /app/entrypoint.sh\nCMD [\"./entrypoint.sh\"]\n",
        );
        write(d, "base/entrypoint.sh", "#!/bin/sh\n");
        write(d, "base/server.py", "x = 1\n");
        write(
            d,
            "stack/Dockerfile",
            "FROM lab/app:1\nCOPY app/ /app/\nRUN apt-get purge -y -q curl >/dev/null && sed -i 's/\\r$//' /app/entrypoint.sh\n",
        );
        write(d, "stack/app/server.py", "x = 2\n");
        write(d, "stack/app/entrypoint.sh", "#!/bin/sh\r\n");
        let base_dir = d.join("base");
        let bases = |name: &str| {
            (name == "lab/app:1").then(|| BuildSource {
                dockerfile: base_dir.join("Dockerfile"),
                context: base_dir.clone(),
                args: vec![],
                target: None,
            })
        };
        let v = view(&src(&d.join("stack")), &bases, &no_configs).unwrap();
        assert_eq!(
            v.file("/app/server.py").unwrap().host,
            d.join("stack/app/server.py")
        );
        let ep = v.file("/app/entrypoint.sh").unwrap();
        assert_eq!(ep.host, d.join("stack/app/entrypoint.sh"));
        assert_eq!(
            ep.mode, None,
            "the overlay's COPY brings the context's mode"
        );
        assert_eq!(ep.cr_stripped.as_deref(), Some("Dockerfile:3"));
        assert_eq!(v.workdir, "/app");
        assert_eq!(v.cmd.as_deref(), Some(&["./entrypoint.sh".to_owned()][..]));
        assert_eq!(v.env, [("FLASK_APP".to_owned(), "server".to_owned())]);
        assert_eq!(
            v.packages,
            [PackageChange {
                program: "curl".into(),
                installed: false,
                at: "Dockerfile:3".into()
            }]
        );
        let (py, from) = v.python.clone().unwrap();
        assert_eq!(py.to_string(), "3.11");
        assert!(from.contains("bookworm"), "{from}");
    }

    #[test]
    fn multi_stage_copy_from_and_globs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "Dockerfile",
            "FROM python:3.12 AS build\nWORKDIR /src\nCOPY *.py ./\nCOPY pkg pkg\nFROM python:3.12-slim\nCOPY --from=build /src /app\nRUN chmod +x /app/run.py\n",
        );
        write(d, "run.py", "");
        write(d, "lib.py", "");
        write(d, "pkg/mod.py", "");
        write(d, "README.md", "");
        let v = view(&src(d), &no_bases, &no_configs).unwrap();
        let names: Vec<&String> = v.files.keys().collect();
        assert_eq!(names, ["/app/lib.py", "/app/pkg/mod.py", "/app/run.py"]);
        assert_eq!(v.file("/app/run.py").unwrap().mode, Some(0o755));
    }

    #[test]
    fn rm_deletes_files_a_folder_only_when_recursive() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "Dockerfile",
            "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN rm -f migrations/*.sql && rm docs\nRUN rm -rf cache\n",
        );
        for f in [
            "migrations/0001.sql",
            "migrations/env.py",
            "docs/a.md",
            "cache/x",
            "app.py",
        ] {
            write(d, f, "");
        }
        let v = view(&src(d), &no_bases, &no_configs).unwrap();
        let names: Vec<&String> = v.files.keys().collect();
        assert_eq!(
            names,
            [
                "/app/Dockerfile",
                "/app/app.py",
                "/app/docs/a.md",
                "/app/migrations/env.py"
            ]
        );
    }

    #[test]
    fn binds_hide_the_images_folder() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "Dockerfile",
            "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN chmod +x entrypoint.sh\n",
        );
        write(d, "entrypoint.sh", "#!/bin/sh\n");
        let mut v = view(&src(d), &no_bases, &no_configs).unwrap();
        assert_eq!(v.file("/app/entrypoint.sh").unwrap().mode, Some(0o755));
        v.bind(d, "/app", ".:/app");
        let f = v.file("/app/entrypoint.sh").unwrap();
        assert!(f.bind && f.mode.is_none(), "{f:?}");
    }

    #[test]
    fn a_fixed_up_copy_moved_into_place_brings_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(
            d,
            "Dockerfile",
            "FROM python:3.11\nWORKDIR /app\nCOPY . .\nRUN tr -d '\\r' < scripts/entrypoint.sh > /tmp/e.sh && \\\n    chmod +x /tmp/e.sh && \\\n    mv /tmp/e.sh scripts/entrypoint.sh\nRUN install -m 0750 tools/run.sh /app/tools/run.sh\n",
        );
        write(d, "scripts/entrypoint.sh", "#!/bin/sh\r\n");
        write(d, "tools/run.sh", "#!/bin/sh\n");
        let v = view(&src(d), &no_bases, &no_configs).unwrap();
        let e = v.file("/app/scripts/entrypoint.sh").unwrap();
        assert_eq!(e.mode, Some(0o755));
        assert_eq!(e.cr_stripped.as_deref(), Some("Dockerfile:4"));
        assert_eq!(v.file("/app/tools/run.sh").unwrap().mode, Some(0o750));
    }

    #[test]
    fn modes_and_dockerignore() {
        assert_eq!(apply_mode(Some(0o644), "+x"), 0o755);
        assert_eq!(apply_mode(Some(0o644), "u+x"), 0o744);
        assert_eq!(apply_mode(None, "0700"), 0o700);
        let ig = DockerIgnore::parse("*.md\n!README.md\nbuild/\n**/*.pyc\n");
        assert!(ig.excludes("notes.md"));
        assert!(!ig.excludes("README.md"));
        assert!(ig.excludes("build/x"));
        assert!(ig.excludes("a/b/c.pyc"));
        assert!(!ig.excludes("a/b/c.py"));
        assert_eq!(split_image("python:3.11-slim"), ("python", "3.11-slim"));
        assert_eq!(
            split_image("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
    }
}
