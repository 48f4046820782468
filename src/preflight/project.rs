//! The compose project on disk, as the snapshot `collect` would make of it once started.
//!
//! Everything after `collect` reads a [`StackSnapshot`]; pre-flight makes one from the working
//! tree so the same probes can judge it. Each service the active profiles start becomes one
//! container that has not run yet: its command is the compose file's `entrypoint`/`command`
//! over the image's `ENTRYPOINT`/`CMD` (a compose `entrypoint` drops the image's `CMD`, as the
//! engine does), its working directory, user, environment (`ENV`, then `env_file`, then
//! `environment`) and health check are what compose would give it, and its network names are
//! the service name, its `container_name` and its aliases. A service built by the project also
//! gets an [`ImageView`]: which file of the build context each image path is.
use super::PreflightError;
use super::image::{self, BaseConfig, BuildSource, ImageView};
use crate::stack::compose::{self, ComposeModel, ComposeService, VolumeKind};
use crate::stack::git::GitModes;
use crate::stack::snapshot::{
    ContainerSnapshot, ContainerState, EnvVar, HealthcheckConfig, Mount, NetworkAttachment,
    SNAPSHOT_VERSION, StackSnapshot,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The state a container that has not been created yet is shown with.
pub const NOT_STARTED: &str = "not started";

/// One service the active profiles start.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub container: ContainerSnapshot,
    /// How its image is built, when the project builds it (or a base mapping names it).
    pub build: Option<BuildSource>,
    /// What its image holds, when it could be read.
    pub view: Option<Arc<ImageView>>,
    /// Why the image could not be read, when it could not.
    pub view_error: Option<image::ViewError>,
}

/// The project: its compose model (the files merged), the services that start, the ones that
/// do not (and their profiles), and the git index modes of its repository.
pub struct Project {
    pub name: String,
    /// The compose files, first one first.
    pub files: Vec<PathBuf>,
    pub model: ComposeModel,
    /// For a key a later file overrides: (service, key) → that file.
    pub key_files: BTreeMap<(String, String), PathBuf>,
    pub services: Vec<Service>,
    pub inactive: Vec<(String, Vec<String>)>,
    pub git: GitModes,
}

impl Project {
    pub fn dir(&self) -> &Path {
        self.files[0].parent().unwrap_or(Path::new("."))
    }

    /// The snapshot the probes read: one not-started container per service, the compose model.
    pub fn snapshot(&self) -> StackSnapshot {
        StackSnapshot {
            snapshot_version: SNAPSHOT_VERSION,
            project: self.name.clone(),
            compose_file: Some(self.files[0].display().to_string()),
            collected_at: String::new(),
            engine_version: None,
            containers: self.services.iter().map(|s| s.container.clone()).collect(),
            compose: Some(self.model.clone()),
            compose_error: None,
            backend: Default::default(),
        }
    }

    /// The compose file that holds `service`'s `key` (an override file, or the first file).
    pub fn file_of(&self, service: &str, key: &str) -> &Path {
        self.key_files
            .get(&(service.to_owned(), key.to_owned()))
            .map_or(&self.files[0], |p| p)
    }
}

/// What [`load`] needs.
pub struct Load<'a> {
    pub files: &'a [PathBuf],
    pub project_name: Option<&'a str>,
    pub profiles: &'a [String],
    /// Variables of the shell (compose reads them before `.env`).
    pub shell: &'a dyn Fn(&str) -> Option<String>,
    /// Base images the caller knows the sources of (image name → sources).
    pub bases: &'a [(String, BuildSource)],
    /// What outside images say about themselves, when the engine has them.
    pub configs: &'a BTreeMap<String, BaseConfig>,
}

pub fn load(l: &Load<'_>) -> Result<Project, PreflightError> {
    let (first, rest) = l.files.split_first().ok_or(PreflightError::NoComposeFile)?;
    let mut model =
        compose::load_with(first, l.shell).map_err(|e| PreflightError::Compose(e.to_string()))?;
    let mut key_files = BTreeMap::new();
    for file in rest {
        let over = compose::load_with(file, l.shell)
            .map_err(|e| PreflightError::Compose(e.to_string()))?;
        merge(&mut model, over, file, &mut key_files);
    }
    let dir = first
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = l
        .project_name
        .map(crate::stack::project::normalize)
        .or_else(|| model.name.as_deref().map(crate::stack::project::normalize))
        .or_else(|| {
            dir.canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .map(|n| crate::stack::project::normalize(&n))
        })
        .unwrap_or_else(|| "project".into());
    // Images the project itself builds, by name: a `FROM` of one of them is read from source.
    let built: Vec<(String, BuildSource)> = model
        .services
        .iter()
        .filter_map(|s| Some((s.image.clone()?, build_source(&dir, s)?)))
        .collect();
    let bases = |image: &str| {
        built
            .iter()
            .chain(l.bases)
            .find(|(name, _)| name == image)
            .map(|(_, b)| b.clone())
    };
    let mut views: BTreeMap<BuildSource, Result<Arc<ImageView>, image::ViewError>> =
        BTreeMap::new();
    let mut services = Vec::new();
    let mut inactive = Vec::new();
    for s in &model.services {
        if !s.profiles.is_empty() && !s.profiles.iter().any(|p| l.profiles.contains(p)) {
            inactive.push((s.name.clone(), s.profiles.clone()));
            continue;
        }
        // Built here, or an image the caller maps to its sources.
        let build = build_source(&dir, s).or_else(|| s.image.as_deref().and_then(bases));
        let (view, view_error) = match &build {
            Some(b) => {
                let configs = |image: &str| l.configs.get(image).cloned();
                let v = views
                    .entry(b.clone())
                    .or_insert_with(|| image::view(b, &bases, &configs).map(Arc::new));
                match v {
                    Ok(v) => (Some(with_binds(v, s, &dir)), None),
                    Err(e) => (None, Some(e.clone())),
                }
            }
            // An outside image: only what it says about itself, when the engine said it.
            None => match s
                .image
                .as_deref()
                .and_then(|i| Some((i, l.configs.get(i)?)))
            {
                Some((image, config)) => (
                    Some(Arc::new(ImageView::outside(
                        image,
                        &format!("`image:` of {}", s.name),
                        Some(config.clone()),
                    ))),
                    None,
                ),
                None => (None, None),
            },
        };
        let container = container(&name, &dir, s, view.as_deref());
        services.push(Service {
            name: s.name.clone(),
            container,
            build,
            view,
            view_error,
        });
    }
    let git = GitModes::for_dir(&dir);
    Ok(Project {
        name,
        files: l.files.to_vec(),
        model,
        key_files,
        services,
        inactive,
        git,
    })
}

/// A later compose file over an earlier: each key it sets replaces the earlier value.
fn merge(
    model: &mut ComposeModel,
    over: ComposeModel,
    file: &Path,
    key_files: &mut BTreeMap<(String, String), PathBuf>,
) {
    model.unset_vars.extend(over.unset_vars);
    if over.name.is_some() {
        model.name = over.name;
    }
    for o in over.services {
        for key in o.key_pos.keys() {
            key_files.insert((o.name.clone(), key.clone()), file.to_path_buf());
        }
        let Some(base) = model.services.iter_mut().find(|s| s.name == o.name) else {
            model.services.push(o);
            continue;
        };
        let has = |k: &str| o.key_pos.contains_key(k);
        macro_rules! take {
            ($($key:literal => $field:ident),* $(,)?) => {
                $( if has($key) { base.$field = o.$field.clone(); } )*
            };
        }
        take!(
            "image" => image, "build" => build, "container_name" => container_name,
            "depends_on" => depends_on, "healthcheck" => healthcheck, "user" => user,
            "entrypoint" => entrypoint, "command" => command, "env_file" => env_file,
            "volumes" => volumes, "ports" => ports, "restart" => restart,
            "mem_limit" => mem_limit, "networks" => networks, "working_dir" => working_dir,
            "profiles" => profiles,
        );
        if has("build") {
            base.dockerfile = o.dockerfile.clone();
            base.build_args = o.build_args.clone();
        }
        if has("deploy") {
            base.gpu_reservation = o.gpu_reservation;
            base.mem_limit = o.mem_limit.or(base.mem_limit);
        }
        if has("environment") {
            for e in &o.environment {
                base.environment.retain(|b| b.key != e.key);
                base.environment.push(e.clone());
            }
        }
        base.aliases.extend(o.aliases.clone());
        for (k, p) in &o.key_pos {
            base.key_pos.insert(k.clone(), *p);
        }
    }
}

/// How compose builds `s`'s image: `build:` with its context, Dockerfile, args and target.
fn build_source(dir: &Path, s: &ComposeService) -> Option<BuildSource> {
    let context = s.build.as_ref()?;
    let context: PathBuf = dir.join(context).components().collect();
    let dockerfile = context.join(s.dockerfile.as_deref().unwrap_or("Dockerfile"));
    Some(BuildSource {
        dockerfile,
        context,
        args: s.build_args.clone(),
        target: None,
    })
}

/// The image view with the service's bind mounts laid over it.
fn with_binds(v: &Arc<ImageView>, s: &ComposeService, dir: &Path) -> Arc<ImageView> {
    let binds: Vec<_> = s
        .volumes
        .iter()
        .filter(|m| m.kind == VolumeKind::Bind)
        .collect();
    if binds.is_empty() {
        return Arc::clone(v);
    }
    let mut view = (**v).clone();
    for m in binds {
        let Some(src) = &m.source else { continue };
        let host = if let Some(home) = src.strip_prefix("~/") {
            std::env::var_os("HOME").map_or_else(|| dir.join(src), |h| Path::new(&h).join(home))
        } else {
            dir.join(src)
        };
        let host: PathBuf = host.components().collect();
        view.bind(&host, &m.target, &format!("{src}:{}", m.target));
    }
    Arc::new(view)
}

/// The container compose would create for `s`, not started.
fn container(
    project: &str,
    dir: &Path,
    s: &ComposeService,
    view: Option<&ImageView>,
) -> ContainerSnapshot {
    let image_entrypoint = view.and_then(|v| v.entrypoint.clone()).unwrap_or_default();
    let image_cmd = view.and_then(|v| v.cmd.clone()).unwrap_or_default();
    // A compose `entrypoint` replaces the image's and drops its CMD.
    let (entrypoint, command) = match (&s.entrypoint, &s.command) {
        (Some(e), Some(c)) => (e.clone(), c.clone()),
        (Some(e), None) => (e.clone(), vec![]),
        (None, Some(c)) => (image_entrypoint, c.clone()),
        (None, None) => (image_entrypoint, image_cmd),
    };
    let workdir = match (&s.working_dir, view) {
        (Some(w), Some(v)) => image::join(&v.workdir, w),
        (Some(w), None) => image::join("/", w),
        (None, Some(v)) => v.workdir.clone(),
        (None, None) => String::new(),
    };
    let mut env: Vec<EnvVar> = Vec::new();
    let mut set = |name: &str, value: &str| {
        env.retain(|v| v.name != name);
        env.push(EnvVar {
            name: name.to_owned(),
            value: value.to_owned(),
        });
    };
    for (k, v) in view.map(|v| v.env.as_slice()).unwrap_or_default() {
        set(k, v);
    }
    for f in &s.env_file {
        let path = dir.join(f);
        if let Ok(text) = crate::capped::text(&path, compose::MAX_FILE_BYTES as usize) {
            for (k, v) in compose::parse_dotenv(&text) {
                set(&k, &v);
            }
        }
    }
    for e in &s.environment {
        if let Some(v) = &e.value {
            set(&e.key, v);
        }
    }
    let healthcheck = match (&s.healthcheck, view.and_then(|v| v.healthcheck.clone())) {
        (Some(h), _) if h.disable => None,
        (Some(h), image) if !h.test.is_empty() || image.is_some() => {
            let test = if h.test.is_empty() {
                image.unwrap_or_default()
            } else {
                h.test.clone()
            };
            let ns = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_nanos() as i64);
            Some(HealthcheckConfig {
                test,
                interval_ns: ns(h.interval),
                timeout_ns: ns(h.timeout),
                start_period_ns: ns(h.start_period),
                retries: h.retries.map_or(0, i64::from),
            })
        }
        (None, Some(test)) if test.first().is_some_and(|t| t != "NONE") => {
            Some(HealthcheckConfig {
                test,
                interval_ns: 0,
                timeout_ns: 0,
                start_period_ns: 0,
                retries: 0,
            })
        }
        _ => None,
    };
    let name = s
        .container_name
        .clone()
        .unwrap_or_else(|| format!("{project}-{}-1", s.name));
    let mut aliases = vec![s.name.clone()];
    aliases.extend(s.container_name.clone());
    aliases.extend(s.aliases.iter().cloned());
    ContainerSnapshot {
        id: String::new(),
        name,
        service: s.name.clone(),
        number: Some(1),
        image: s
            .image
            .clone()
            .unwrap_or_else(|| format!("{project}-{}", s.name)),
        state: ContainerState {
            status: NOT_STARTED.into(),
            ..ContainerState::default()
        },
        healthcheck,
        entrypoint,
        command,
        working_dir: workdir,
        user: s
            .user
            .clone()
            .or_else(|| view.and_then(|v| v.user.clone()))
            .unwrap_or_default(),
        env,
        mounts: s
            .volumes
            .iter()
            .map(|m| Mount {
                kind: match m.kind {
                    VolumeKind::Volume => "volume",
                    VolumeKind::Bind => "bind",
                    VolumeKind::Tmpfs => "tmpfs",
                    VolumeKind::Other => "other",
                }
                .into(),
                source: m.source.clone().unwrap_or_default(),
                destination: m.target.clone(),
                rw: !m.read_only,
            })
            .collect(),
        networks: vec![NetworkAttachment {
            name: "default".into(),
            ip: String::new(),
            aliases,
        }],
        restart_policy: s.restart.clone().unwrap_or_default(),
        memory_limit: s.mem_limit.map_or(0, |m| m as i64),
        labels: [
            ("com.docker.compose.project".to_owned(), project.to_owned()),
            ("com.docker.compose.service".to_owned(), s.name.clone()),
        ]
        .into(),
        ..ContainerSnapshot::default()
    }
}
