//! Apply a plan: back up, change, verify, roll back — through the Engine API.
//!
//! Files in a service's container (and the volumes mounted in it) are read through the archive
//! endpoint and written back with it; a rename or a chown runs in a one-off helper container from
//! the service's image with the service's volumes (`--volumes-from`), no network, removed
//! afterwards: it works while the service is stopped, where `exec` cannot. Every step that changes
//! data is preceded by a backup ([`super::backup`]); the manifest records each step as it
//! completes, so an interrupted run leaves the original either in place or in the backup.
use super::backup::{Backup, BackupError, Entry};
use super::plan::{Plan, Step};
use crate::digest::sha256;
use crate::rules::FixAction;
use crate::stack::archive;
use crate::stack::collect::{PROJECT_LABEL, SERVICE_LABEL, list_labelled};
use crate::stack::snapshot::StackSnapshot;
use crate::stack::wait::Seen;
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::stack::collect::{HELPER_LABEL, HELPER_PROJECT_LABEL};

/// Remove helper containers of `project` that a killed run left behind (they are removed at the
/// end of every step, so any that exists and does not run is stale). Best effort.
pub async fn remove_stale_helpers(docker: &Docker, project: &str) {
    let labels = vec![
        format!("{HELPER_LABEL}=true"),
        format!("{HELPER_PROJECT_LABEL}={project}"),
    ];
    for c in list_labelled(docker, labels).await.unwrap_or_default() {
        if c.state.as_ref().is_some_and(|s| s.to_string() == "running") {
            continue;
        }
        if let Some(id) = c.id {
            let rm = RemoveContainerOptionsBuilder::default().force(true).build();
            let _ = docker.remove_container(&id, Some(rm)).await;
        }
    }
}

/// The largest file a backup copies out of a container.
pub const MAX_BACKUP_BYTES: usize = 256 * 1024 * 1024;

/// The largest project file the doctor reads to edit or patch (a compose file, `.env`, a
/// Dockerfile, a Python module): all are far smaller, and an edit holds the whole text twice.
pub const MAX_EDIT_BYTES: usize = 16 * 1024 * 1024;
/// How long a service may take to stop, start, or become healthy again.
pub const SERVICE_WAIT: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error("{0}")]
    Engine(String),
    #[error("{0}")]
    Step(String),
}

/// Why a service did not come back healthy after a fix.
#[derive(Debug, thiserror::Error)]
pub enum NotHealthy {
    /// It showed a verdict while the applier waited (`settle_on_failure`): unhealthy, an exit,
    /// a restart.
    #[error("{why} ({after_secs}s after the fix)")]
    Failed { why: String, after_secs: u64 },
    /// Not stable and healthy before the wait's end; `last` is how it stood.
    #[error("not healthy within {wait_secs}s: {last}")]
    TimedOut { wait_secs: u64, last: String },
    /// The engine could not tell.
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

fn engine(what: &str) -> impl Fn(bollard::errors::Error) -> ApplyError + '_ {
    move |e| {
        ApplyError::Engine(format!(
            "{what}: {}",
            crate::stack::connect::error_chain(&e)
        ))
    }
}

/// What applying needs to know about the live stack.
pub struct Applier<'a> {
    pub docker: &'a Docker,
    pub snapshot: &'a StackSnapshot,
    /// The compose file, for `recreate` and host-file edits.
    pub compose_file: Option<PathBuf>,
    /// `<compose dir>/.analylit-doctor/backups`.
    pub backup_root: PathBuf,
}

/// One container of a service, as the engine lists it now.
struct Target {
    id: String,
    name: String,
    /// The image id, for helper containers.
    image: String,
}

impl Applier<'_> {
    /// The service's containers as they are now: a `recreate` replaces them, so the snapshot's
    /// ids go stale during a fix.
    async fn containers(&self, service: &str) -> Result<Vec<Target>, ApplyError> {
        let list = list_labelled(
            self.docker,
            vec![
                format!("{PROJECT_LABEL}={}", self.snapshot.project),
                format!("{SERVICE_LABEL}={service}"),
            ],
        )
        .await
        .map_err(engine("listing the service's containers"))?;
        Ok(list
            .into_iter()
            .filter(|c| {
                c.labels
                    .as_ref()
                    .and_then(|l| l.get("com.docker.compose.oneoff"))
                    .is_none_or(|v| v != "True")
            })
            .filter_map(|c| {
                Some(Target {
                    id: c.id?,
                    name: c
                        .names
                        .and_then(|n| n.first().cloned())
                        .unwrap_or_default()
                        .trim_start_matches('/')
                        .to_owned(),
                    image: c.image_id.or(c.image).unwrap_or_default(),
                })
            })
            .collect())
    }

    async fn first(&self, service: &str) -> Result<Target, ApplyError> {
        self.containers(service)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ApplyError::Step(format!("no container of {service}")))
    }

    /// Run every step of `plan`, backing up first; the backup is returned in its final state
    /// (`applying` until the caller verifies).
    pub async fn apply(
        &self,
        plan: &Plan,
        id: String,
        created: &str,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Backup, ApplyError> {
        let mut backup = Backup::create(
            &self.backup_root,
            id,
            &plan.finding,
            &plan.service,
            &self.snapshot.project,
            created,
        )?;
        // Back up everything the plan will change before the first change.
        for step in &plan.steps {
            if let Some(path) = &step.path
                && step.changes_data
            {
                self.back_up(&mut backup, &plan.service, &step.action, path)
                    .await?;
            }
        }
        for step in &plan.steps {
            progress(&step.describe);
            self.run(&mut backup, plan, step).await?;
            backup.step_done(&step.describe)?;
        }
        Ok(backup)
    }

    async fn back_up(
        &self,
        backup: &mut Backup,
        service: &str,
        action: &FixAction,
        path: &str,
    ) -> Result<(), ApplyError> {
        let c = self.first(service).await?;
        let entry = archive::read(
            self.docker,
            &c.id,
            path,
            MAX_BACKUP_BYTES,
            Duration::from_secs(60),
        )
        .await
        .map_err(|e| ApplyError::Step(format!("backing up {path}: {e}")))?;
        match (entry, action) {
            (archive::Entry::File { .. } | archive::Entry::Dir { .. }, FixAction::Chown { .. })
            | (archive::Entry::Dir { .. }, _) => {
                let (uid, gid, mode) =
                    match archive::read(self.docker, &c.id, path, 0, Duration::from_secs(10)).await
                    {
                        Ok(archive::Entry::File { uid, gid, mode, .. })
                        | Ok(archive::Entry::Dir { uid, gid, mode, .. }) => (uid, gid, mode),
                        _ => {
                            return Err(ApplyError::Step(format!("{path}: cannot read its owner")));
                        }
                    };
                backup.record(Entry::Owner {
                    service: service.into(),
                    path: path.into(),
                    uid,
                    gid,
                    mode,
                })?;
            }
            (
                archive::Entry::File {
                    size,
                    head,
                    mode,
                    uid,
                    gid,
                    ..
                },
                _,
            ) => {
                if head.len() as u64 != size {
                    return Err(ApplyError::Step(format!(
                        "{path} is {size} bytes, more than a backup copies ({MAX_BACKUP_BYTES}): \
                         back it up by hand first"
                    )));
                }
                let stored = backup.store(&head)?;
                backup.record(Entry::ContainerFile {
                    service: service.into(),
                    path: path.into(),
                    stored,
                    sha256: sha256(&head),
                    size,
                    mode,
                    uid,
                    gid,
                })?;
            }
            (other, _) => {
                return Err(ApplyError::Step(format!(
                    "{} is not a regular file: not backed up, not changed",
                    other.path()
                )));
            }
        }
        Ok(())
    }

    async fn run(&self, backup: &mut Backup, plan: &Plan, step: &Step) -> Result<(), ApplyError> {
        let service = plan.service.as_str();
        match &step.action {
            FixAction::Stop => self.stop(service).await,
            FixAction::Start => self.start(service).await,
            FixAction::Backup { .. } => {
                let path = step.path.as_deref().unwrap_or_default();
                let saved = backup
                    .manifest
                    .entries
                    .iter()
                    .any(|e| matches!(e, Entry::ContainerFile { path: p, .. } if p == path));
                if saved {
                    return Ok(());
                }
                self.back_up(backup, service, &step.action, path).await
            }
            FixAction::MoveAside { .. } => {
                let path = step.path.as_deref().unwrap_or_default();
                let aside = format!("{path}.broken-{}", backup.manifest.id);
                self.helper(service, &["mv", "--", path, &aside]).await
            }
            FixAction::Chown { .. } => {
                let path = step.path.as_deref().unwrap_or_default();
                let uid = plan.data.get("uid").cloned().unwrap_or_default();
                let gid = plan.data.get("gid").cloned().unwrap_or_else(|| uid.clone());
                self.helper(service, &["chown", &format!("{uid}:{gid}"), "--", path])
                    .await
            }
            FixAction::Recreate { build } => match &plan.patch {
                Some(p) if !p.services.is_empty() => self.recreate_all(&p.services, true).await,
                _ => self.recreate(service, *build).await,
            },
            FixAction::PatchSource => {
                let services = plan
                    .patch
                    .as_ref()
                    .map(|p| p.services.clone())
                    .unwrap_or_default();
                backup.manifest.rebuild = if services.is_empty() {
                    vec![service.to_owned()]
                } else {
                    services
                };
                self.host().apply_patch(backup, plan)
            }
            FixAction::LfLineEnds { .. }
            | FixAction::ExecBit { .. }
            | FixAction::DependsOnHealthy
            | FixAction::RaiseStartPeriod
            | FixAction::PythonHealthcheck => self.host().apply_step(backup, plan, step),
        }
    }

    /// The project files of this stack, for the steps that edit them.
    pub fn host(&self) -> HostFiles<'_> {
        HostFiles {
            snapshot: self.snapshot,
            compose_file: self.compose_file.clone(),
        }
    }

    /// See [`HostFiles::host_edit`].
    pub fn host_edit(
        &self,
        plan: &Plan,
        step: &Step,
    ) -> Result<(PathBuf, super::edit::Edit), ApplyError> {
        self.host().host_edit(plan, step)
    }

    /// See [`HostFiles::source_of`].
    pub fn source_of(
        &self,
        service: &str,
        in_image: &str,
        dir: &Path,
        with_cr: bool,
    ) -> Result<PathBuf, ApplyError> {
        self.host().source_of(service, in_image, dir, with_cr)
    }
    /// Stop every container of `service` and wait until none runs.
    pub async fn stop(&self, service: &str) -> Result<(), ApplyError> {
        for c in self.containers(service).await? {
            let opts = StopContainerOptionsBuilder::default().t(10).build();
            match self.docker.stop_container(&c.id, Some(opts)).await {
                Ok(()) => {}
                // 304: already stopped.
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 304, ..
                }) => {}
                Err(e) => return Err(engine("stopping a container")(e)),
            }
            self.wait_until(&c.id, |s| !s.is_running() && !s.restarting, "stopped")
                .await?;
        }
        Ok(())
    }

    /// Start every container of `service` and wait until it runs.
    pub async fn start(&self, service: &str) -> Result<(), ApplyError> {
        for c in self.containers(service).await? {
            match self.docker.start_container(&c.id, None).await {
                Ok(()) => {}
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 304, ..
                }) => {}
                Err(e) => return Err(engine("starting a container")(e)),
            }
            self.wait_until(&c.id, Seen::is_running, "running").await?;
        }
        Ok(())
    }

    async fn wait_until(
        &self,
        id: &str,
        done: impl Fn(&Seen) -> bool,
        what: &str,
    ) -> Result<(), ApplyError> {
        let deadline = Instant::now() + SERVICE_WAIT;
        loop {
            let facts = self.facts(id).await?;
            if done(&facts) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ApplyError::Step(format!(
                    "the container is not {what} after {}s",
                    SERVICE_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The container's state, read the way `wait` reads it.
    async fn facts(&self, id: &str) -> Result<Seen, ApplyError> {
        let i = self
            .docker
            .inspect_container(id, None)
            .await
            .map_err(engine("inspecting a container"))?;
        Ok(Seen::from_inspect(&i))
    }

    /// Wait (bounded) until every container of `service` runs, is healthy when it has a health
    /// check, and stays so with no new restart for a few seconds.
    pub async fn wait_healthy(&self, service: &str) -> Result<String, NotHealthy> {
        self.wait_healthy_or_failed(service, false).await
    }

    /// [`Applier::wait_healthy`]; with `settle_on_failure`, also stop waiting as soon as the
    /// service shows a verdict: a fresh `unhealthy` (its latest check failed), a restart, or an
    /// exit — what `wait` stops on. After a source patch that is the answer: the next failure
    /// of a cascade, or a patch that did not help.
    pub async fn wait_healthy_or_failed(
        &self,
        service: &str,
        settle_on_failure: bool,
    ) -> Result<String, NotHealthy> {
        let deadline = Instant::now() + SERVICE_WAIT;
        let started = Instant::now();
        let mut stable_since: Option<(Instant, i64)> = None;
        let mut first_restarts: Option<i64> = None;
        loop {
            let mut all_ok = true;
            let mut failed: Option<String> = None;
            let mut restarts = 0;
            let mut last = String::new();
            for c in self.containers(service).await? {
                match self.facts(&c.id).await {
                    Ok(f) => {
                        if f.health.as_deref() == Some("unhealthy")
                            && f.last_check_passed == Some(false)
                        {
                            failed = Some(format!("{} is unhealthy", c.name));
                        } else if !f.running && !f.restarting && f.exit_code != 0 {
                            failed = Some(format!("{} exited with {}", c.name, f.exit_code));
                        }
                        restarts += f.restarts;
                        let running = f.is_running();
                        let ok = running
                            && !f.restarting
                            && f.health.as_deref().is_none_or(|h| h == "healthy");
                        last = format!(
                            "{} is {}{}",
                            c.name,
                            if running { "running" } else { "not running" },
                            f.health.map(|h| format!(", {h}")).unwrap_or_default()
                        );
                        all_ok &= ok;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let base = *first_restarts.get_or_insert(restarts);
            if restarts > base {
                failed = Some(format!("{service} restarted {} time(s)", restarts - base));
            }
            if settle_on_failure && let Some(why) = failed {
                return Err(NotHealthy::Failed {
                    why,
                    after_secs: started.elapsed().as_secs(),
                });
            }
            stable_since = match (all_ok, stable_since) {
                (true, Some((t, r))) if r == restarts => Some((t, r)),
                (true, _) => Some((Instant::now(), restarts)),
                (false, _) => None,
            };
            if let Some((t, _)) = stable_since
                && t.elapsed() >= Duration::from_secs(5)
            {
                return Ok(format!(
                    "{last} ({}s after the fix)",
                    started.elapsed().as_secs()
                ));
            }
            if Instant::now() >= deadline {
                return Err(NotHealthy::TimedOut {
                    wait_secs: SERVICE_WAIT.as_secs(),
                    last,
                });
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Run `cmd` as root in a one-off container from `service`'s image with its volumes, no
    /// network; removed afterwards whatever happens.
    async fn helper(&self, service: &str, cmd: &[&str]) -> Result<(), ApplyError> {
        let c = self.first(service).await?;
        let name = format!("analylit-doctor-helper-{}-{}", service, std::process::id());
        let body = ContainerCreateBody {
            image: Some(c.image.clone()),
            entrypoint: Some(cmd.iter().map(|s| s.to_string()).collect()),
            cmd: Some(vec![]),
            user: Some("0:0".into()),
            labels: Some(
                [
                    (HELPER_LABEL.to_owned(), "true".to_owned()),
                    (
                        HELPER_PROJECT_LABEL.to_owned(),
                        self.snapshot.project.clone(),
                    ),
                ]
                .into(),
            ),
            host_config: Some(HostConfig {
                volumes_from: Some(vec![c.id.clone()]),
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(opts), body)
            .await
            .map_err(engine("creating a helper container"))?;
        let run = async {
            self.docker
                .start_container(&created.id, None)
                .await
                .map_err(engine("starting the helper container"))?;
            let mut wait = self.docker.wait_container(&created.id, None);
            match wait.next().await {
                Some(Ok(r)) if r.status_code == 0 => Ok(()),
                Some(Ok(r)) => Err(ApplyError::Step(format!(
                    "`{}` exited with {}",
                    cmd.join(" "),
                    r.status_code
                ))),
                // A non-zero exit arrives as an error from the wait endpoint in bollard.
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Err(
                    ApplyError::Step(format!("`{}` exited with {code}", cmd.join(" "))),
                ),
                Some(Err(e)) => Err(engine("waiting for the helper container")(e)),
                None => Err(ApplyError::Step("the helper container vanished".into())),
            }
        };
        let result = match tokio::time::timeout(Duration::from_secs(60), run).await {
            Ok(r) => r,
            Err(_) => Err(ApplyError::Step(format!(
                "`{}` did not finish within 60s",
                cmd.join(" ")
            ))),
        };
        let rm = RemoveContainerOptionsBuilder::default().force(true).build();
        let _ = self.docker.remove_container(&created.id, Some(rm)).await;
        result
    }

    /// `compose up -d [--build] <service>` with the compose CLI (v1 or v2), bounded.
    async fn recreate(&self, service: &str, build: bool) -> Result<(), ApplyError> {
        self.recreate_all(&[service.to_owned()], build).await
    }

    /// `compose up -d [--build] <services…>` with the compose CLI (v1 or v2), bounded.
    pub async fn recreate_all(&self, services: &[String], build: bool) -> Result<(), ApplyError> {
        let file = self.compose_file.as_ref().ok_or_else(|| {
            ApplyError::Step("no compose file to recreate the service from".into())
        })?;
        let Some((program, mut args)) = compose_cli() else {
            // No compose CLI: the Engine API builds and recreates, service by service.
            for service in services {
                self.rebuild_with_engine(service, build).await?;
            }
            return Ok(());
        };
        args.extend([
            "-p".to_owned(),
            self.snapshot.project.clone(),
            "-f".to_owned(),
            file.display().to_string(),
            "up".to_owned(),
            "-d".to_owned(),
        ]);
        if build {
            args.push("--build".into());
        }
        args.extend(services.iter().cloned());
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(&args)
            .current_dir(file.parent().unwrap_or(Path::new(".")))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let (status, stderr) = tokio::time::timeout(Duration::from_secs(600), run_tail(cmd))
            .await
            .map_err(|_| ApplyError::Step("compose up did not finish within 600s".into()))?
            .map_err(|e| ApplyError::Step(format!("{program}: {e}")))?;
        if status.success() {
            Ok(())
        } else {
            Err(ApplyError::Step(format!(
                "compose up failed: {}",
                String::from_utf8_lossy(&stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
            )))
        }
    }

    /// Without a compose CLI: build `service`'s image from its build context through the Engine
    /// API, tagged as the image its containers run, then replace each container by one of the
    /// same name and configuration (environment, mounts, ports, networks and aliases, labels)
    /// from the new image, and start it. The image the old containers ran is removed when nothing
    /// uses it any more.
    pub async fn rebuild_with_engine(&self, service: &str, build: bool) -> Result<(), ApplyError> {
        use bollard::models::{EndpointSettings, NetworkingConfig};
        let targets = self.containers(service).await?;
        let first = targets
            .first()
            .ok_or_else(|| ApplyError::Step(format!("no container of {service}")))?;
        let inspect = self
            .docker
            .inspect_container(&first.id, None)
            .await
            .map_err(engine("inspecting a container"))?;
        let tag = inspect
            .config
            .as_ref()
            .and_then(|c| c.image.clone())
            .ok_or_else(|| ApplyError::Step(format!("{service}'s container names no image")))?;
        let old_image = inspect.image.clone().unwrap_or_default();
        if build {
            let dir = self
                .compose_file
                .as_ref()
                .and_then(|f| f.parent())
                .unwrap_or(Path::new("."))
                .to_path_buf();
            let context = self
                .snapshot
                .compose
                .as_ref()
                .and_then(|m| m.service(service))
                .and_then(|s| s.build.clone())
                .map(|b| dir.join(b))
                .ok_or_else(|| {
                    ApplyError::Step(format!(
                        "{service} is not built from a context of this project"
                    ))
                })?;
            let tarball = context_tar(&context)?;
            let opts = bollard::query_parameters::BuildImageOptionsBuilder::default()
                .dockerfile("Dockerfile")
                .t(&tag)
                .rm(true)
                .build();
            let run = async {
                let mut stream =
                    self.docker
                        .build_image(opts, None, Some(bollard::body_full(tarball.into())));
                let mut last = String::new();
                while let Some(item) = stream.next().await {
                    let info = item.map_err(engine("building the image"))?;
                    if let Some(e) = info.error_detail.and_then(|d| d.message) {
                        return Err(ApplyError::Step(format!("building {tag}: {e}")));
                    }
                    if let Some(s) = info.stream.filter(|s| !s.trim().is_empty()) {
                        last = s.trim().to_owned();
                    }
                }
                Ok(last)
            };
            tokio::time::timeout(Duration::from_secs(600), run)
                .await
                .map_err(|_| ApplyError::Step(format!("building {tag} took over 600s")))??;
        }
        for t in targets {
            let i = self
                .docker
                .inspect_container(&t.id, None)
                .await
                .map_err(engine("inspecting a container"))?;
            let config = i.config.clone().unwrap_or_default();
            let mut body: ContainerCreateBody = serde_json::to_value(&config)
                .and_then(serde_json::from_value)
                .map_err(|e| {
                    ApplyError::Step(format!("copying {}'s configuration: {e}", t.name))
                })?;
            body.image = Some(tag.clone());
            body.host_config = i.host_config.clone();
            let short_id: String = t.id.chars().take(12).collect();
            let networks: Vec<(String, EndpointSettings)> = i
                .network_settings
                .as_ref()
                .and_then(|n| n.networks.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|(name, e)| {
                    let aliases = e.aliases.map(|a| {
                        a.into_iter()
                            .filter(|a| *a != short_id && !t.id.starts_with(a.as_str()))
                            .collect::<Vec<_>>()
                    });
                    (
                        name,
                        EndpointSettings {
                            aliases,
                            links: e.links,
                            ..Default::default()
                        },
                    )
                })
                .collect();
            body.networking_config = Some(NetworkingConfig {
                endpoints_config: Some(networks.into_iter().collect()),
            });
            let opts = StopContainerOptionsBuilder::default().t(10).build();
            match self.docker.stop_container(&t.id, Some(opts)).await {
                Ok(())
                | Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 304, ..
                }) => {}
                Err(e) => return Err(engine("stopping a container")(e)),
            }
            let rm = RemoveContainerOptionsBuilder::default().force(true).build();
            self.docker
                .remove_container(&t.id, Some(rm))
                .await
                .map_err(engine("removing the old container"))?;
            let opts = CreateContainerOptionsBuilder::default()
                .name(&t.name)
                .build();
            let created = self
                .docker
                .create_container(Some(opts), body)
                .await
                .map_err(engine("creating the new container"))?;
            self.docker
                .start_container(&created.id, None)
                .await
                .map_err(engine("starting the new container"))?;
        }
        if build && !old_image.is_empty() {
            // Best effort: fails (and is left) while another container still uses it.
            let _ = self
                .docker
                .remove_image(
                    &old_image,
                    None::<bollard::query_parameters::RemoveImageOptions>,
                    None,
                )
                .await;
        }
        Ok(())
    }

    /// Put every backed-up original back: files into the service's container (stopped first),
    /// owners, host files. Used to roll back a fix that did not verify, and by `restore`.
    pub async fn restore(&self, backup: &Backup) -> Result<(), ApplyError> {
        let service = backup.manifest.service.clone();
        self.stop(&service).await?;
        for entry in &backup.manifest.entries {
            match entry {
                Entry::ContainerFile {
                    path,
                    stored,
                    sha256,
                    mode,
                    uid,
                    gid,
                    ..
                } => {
                    let bytes = backup.read(stored, sha256)?;
                    let c = self.first(&service).await?;
                    upload(self.docker, &c.id, path, &bytes, *mode, *uid, *gid).await?;
                }
                Entry::Owner {
                    path,
                    uid,
                    gid,
                    mode,
                    ..
                } => {
                    self.helper(&service, &["chown", &format!("{uid}:{gid}"), "--", path])
                        .await?;
                    let mode = format!("{:o}", mode & 0o7777);
                    self.helper(&service, &["chmod", &mode, "--", path]).await?;
                }
                Entry::HostFile { .. } => restore_host(backup, entry)?,
            }
        }
        if !backup.manifest.rebuild.is_empty() {
            // A source patch ran in rebuilt images: rebuild them from the originals.
            return self.recreate_all(&backup.manifest.rebuild, true).await;
        }
        self.start(&service).await
    }
}

/// The project files a fix edits on the host: the compose file and the sources in the build
/// contexts. Needs no engine, so pre-flight's fixes use it too.
pub struct HostFiles<'a> {
    pub snapshot: &'a StackSnapshot,
    /// The compose file, whose directory the build contexts are relative to.
    pub compose_file: Option<PathBuf>,
}

impl HostFiles<'_> {
    /// Whether `action` edits only files of the project (no container, no engine).
    pub fn edits_project(action: &FixAction) -> bool {
        matches!(
            action,
            FixAction::LfLineEnds { .. }
                | FixAction::ExecBit { .. }
                | FixAction::DependsOnHealthy
                | FixAction::RaiseStartPeriod
                | FixAction::PythonHealthcheck
        )
    }

    fn dir(&self) -> Result<PathBuf, ApplyError> {
        let compose = self
            .compose_file
            .as_ref()
            .ok_or_else(|| ApplyError::Step("no compose file found for the project".into()))?;
        Ok(compose.parent().unwrap_or(Path::new(".")).to_path_buf())
    }

    /// Carry out one host step, backing up the original first (once per file).
    pub fn apply_step(
        &self,
        backup: &mut Backup,
        plan: &Plan,
        step: &Step,
    ) -> Result<(), ApplyError> {
        if let FixAction::ExecBit { .. } = &step.action {
            return self.exec_bit(backup, plan, step);
        }
        let (file, edit) = self.host_edit(plan, step)?;
        if edit.is_noop() {
            return Ok(());
        }
        let saved = backup.manifest.entries.iter().any(
            |e| matches!(e, Entry::HostFile { path, .. } if *path == file.display().to_string()),
        );
        if !saved {
            let stored = backup.store(edit.old.as_bytes())?;
            backup.record(Entry::HostFile {
                path: file.display().to_string(),
                stored,
                sha256: sha256(edit.old.as_bytes()),
                mode: None,
                git_mode: None,
            })?;
        }
        write_atomically(&file, edit.new.as_bytes())
            .map_err(|e| ApplyError::Step(format!("writing {}: {e}", file.display())))
    }

    /// Write a source patch: every file is checked first against the text the plan showed (a
    /// file changed since then stops the patch before anything is written), then backed up,
    /// then written.
    pub fn apply_patch(&self, backup: &mut Backup, plan: &Plan) -> Result<(), ApplyError> {
        let patch = plan
            .patch
            .as_ref()
            .ok_or_else(|| ApplyError::Step("no patch was prepared for this plan".into()))?;
        for (file, edit) in &patch.edits {
            let now = crate::capped::whole(file, MAX_EDIT_BYTES)
                .map_err(|e| ApplyError::Step(format!("reading {}: {e}", file.display())))?;
            if sha256(&now) != sha256(edit.old.as_bytes()) {
                return Err(ApplyError::Step(format!(
                    "{} changed since the diagnosis: not patched (run the doctor again)",
                    file.display()
                )));
            }
        }
        for (file, edit) in &patch.edits {
            let path = file.display().to_string();
            if backup
                .manifest
                .entries
                .iter()
                .any(|e| matches!(e, Entry::HostFile { path: p, .. } if *p == path))
            {
                continue;
            }
            let stored = backup.store(edit.old.as_bytes())?;
            backup.record(Entry::HostFile {
                path,
                stored,
                sha256: sha256(edit.old.as_bytes()),
                mode: None,
                git_mode: None,
            })?;
        }
        for (file, edit) in &patch.edits {
            write_atomically(file, edit.new.as_bytes())
                .map_err(|e| ApplyError::Step(format!("writing {}: {e}", file.display())))?;
        }
        Ok(())
    }

    /// The script's source, its mode now and the mode git's index records: what `exec-bit`
    /// changes, and a line saying how.
    pub fn exec_bit_change(
        &self,
        plan: &Plan,
        step: &Step,
    ) -> Result<(PathBuf, u32, Option<u32>, String), ApplyError> {
        let dir = self.dir()?;
        let in_image = step.path.clone().unwrap_or_default();
        let source = self.source_of(&plan.service, &in_image, &dir, false)?;
        let mode = file_mode(&source)?;
        let git_mode = crate::stack::git::GitModes::for_dir(&dir).mode(&source);
        let rel = source
            .strip_prefix(&dir)
            .unwrap_or(&source)
            .display()
            .to_string();
        let mut line = format!("{rel}: mode {:04o} → {:04o}", mode, with_exec(mode));
        if let Some(g) = git_mode.filter(|g| g & 0o111 == 0) {
            line.push_str(&format!("; git's index {g:o} → {:o}", with_exec(g)));
        }
        Ok((source, mode, git_mode, line))
    }

    fn exec_bit(&self, backup: &mut Backup, plan: &Plan, step: &Step) -> Result<(), ApplyError> {
        let (source, mode, git_mode, _) = self.exec_bit_change(plan, step)?;
        let git_lacks = git_mode.is_some_and(|g| g & 0o111 == 0);
        if mode & 0o111 != 0 && !git_lacks {
            return Ok(());
        }
        let bytes = crate::capped::whole(&source, MAX_BACKUP_BYTES)
            .map_err(|e| ApplyError::Step(format!("reading {}: {e}", source.display())))?;
        let stored = backup.store(&bytes)?;
        backup.record(Entry::HostFile {
            path: source.display().to_string(),
            stored,
            sha256: sha256(&bytes),
            mode: Some(mode),
            git_mode,
        })?;
        set_mode(&source, with_exec(mode))?;
        if git_lacks {
            git_chmod(&source, "+x")?;
        }
        Ok(())
    }
    /// The host file a step edits and the edit, computed on the file as it is now (so a plan
    /// shows the exact diff it will apply).
    pub fn host_edit(
        &self,
        plan: &Plan,
        step: &Step,
    ) -> Result<(PathBuf, super::edit::Edit), ApplyError> {
        use super::edit;
        let compose = self
            .compose_file
            .as_ref()
            .ok_or_else(|| ApplyError::Step("no compose file found for the project".into()))?;
        let dir = compose.parent().unwrap_or(Path::new(".")).to_path_buf();
        let rel = |p: &Path| p.strip_prefix(&dir).unwrap_or(p).display().to_string();
        let read = |p: &Path| {
            crate::capped::text(p, MAX_EDIT_BYTES)
                .map_err(|e| ApplyError::Step(format!("reading {}: {e}", p.display())))
        };
        let model = || {
            self.snapshot.compose.as_ref().ok_or_else(|| {
                ApplyError::Step("the compose file could not be parsed: edit it by hand".into())
            })
        };
        let service = plan.service.as_str();
        let data = |k: &str| plan.data.get(k).cloned().unwrap_or_default();
        let step_err = |e: edit::EditError| ApplyError::Step(e.to_string());
        match &step.action {
            FixAction::LfLineEnds { .. } => {
                let in_image = step.path.clone().unwrap_or_default();
                let source = self.source_of(service, &in_image, &dir, true)?;
                let text = read(&source)?;
                Ok((source.clone(), edit::to_lf(&rel(&source), &text, true)))
            }
            FixAction::DependsOnHealthy => {
                let text = read(compose)?;
                let e = edit::depends_on_healthy(
                    &rel(compose),
                    &text,
                    model()?,
                    service,
                    &data("dependency"),
                )
                .map_err(step_err)?;
                Ok((compose.clone(), e))
            }
            FixAction::RaiseStartPeriod => {
                let boot: u64 = data("boot_secs").parse().unwrap_or(0);
                // Above the measured boot, with room: boot + half again (at least 10s), in 5s.
                let secs = (boot + (boot / 2).max(10)).div_ceil(5) * 5;
                let text = read(compose)?;
                let e = edit::set_start_period(&rel(compose), &text, model()?, service, secs)
                    .map_err(step_err)?;
                Ok((compose.clone(), e))
            }
            FixAction::PythonHealthcheck => {
                let text = read(compose)?;
                let e =
                    edit::python_healthcheck(&rel(compose), &text, model()?, service, &data("url"))
                        .map_err(step_err)?;
                Ok((compose.clone(), e))
            }
            other => Err(ApplyError::Step(format!(
                "`{}` edits no file",
                other.name()
            ))),
        }
    }

    /// The file in `service`'s build context that becomes `in_image` (`/app/entrypoint.sh`): the
    /// one with that name whose path ends like the image path (holding CR characters, with
    /// `with_cr`).
    pub fn source_of(
        &self,
        service: &str,
        in_image: &str,
        dir: &Path,
        with_cr: bool,
    ) -> Result<PathBuf, ApplyError> {
        let context = self
            .snapshot
            .compose
            .as_ref()
            .and_then(|m| m.service(service))
            .and_then(|s| s.build.clone())
            .ok_or_else(|| {
                ApplyError::Step(format!(
                    "{service} is not built from a context of this project: fix the script in its image's source"
                ))
            })?;
        let context = dir.join(context);
        let name = in_image.rsplit('/').next().unwrap_or(in_image);
        let mut found = Vec::new();
        let mut stack = vec![(context.clone(), 0usize)];
        while let Some((d, depth)) = stack.pop() {
            if depth > 6 || found.len() > 50 {
                continue;
            }
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                let file_name = e.file_name().to_string_lossy().into_owned();
                if file_name.starts_with('.') {
                    continue;
                }
                if p.is_dir() {
                    stack.push((p, depth + 1));
                } else if file_name == name
                    && (!with_cr
                        || crate::capped::head(&p, MAX_EDIT_BYTES)
                            .is_ok_and(|h| h.bytes.contains(&b'\r')))
                {
                    found.push(p);
                }
            }
        }
        // Prefer the path whose tail matches the image path best.
        found.sort_by_key(|p| {
            let tail = p.strip_prefix(&context).unwrap_or(p).display().to_string();
            std::cmp::Reverse(
                in_image
                    .trim_start_matches('/')
                    .split('/')
                    .rev()
                    .zip(tail.split('/').rev())
                    .take_while(|(a, b)| a == b)
                    .count(),
            )
        });
        found.into_iter().next().ok_or_else(|| {
            ApplyError::Step(format!(
                "no `{name}`{} in {}",
                if with_cr { " with CR line ends" } else { "" },
                context.display()
            ))
        })
    }
}

/// Put a backed-up project file back: its bytes, and its mode and git index mode when the fix
/// changed those.
pub fn restore_host(backup: &Backup, entry: &Entry) -> Result<(), ApplyError> {
    let Entry::HostFile {
        path,
        stored,
        sha256,
        mode,
        git_mode,
    } = entry
    else {
        return Ok(());
    };
    let bytes = backup.read(stored, sha256)?;
    std::fs::write(path, bytes).map_err(|e| ApplyError::Step(format!("writing {path}: {e}")))?;
    if let Some(m) = mode {
        set_mode(Path::new(path), *m)?;
    }
    if git_mode.is_some_and(|g| g & 0o111 == 0) {
        git_chmod(Path::new(path), "-x")?;
    }
    Ok(())
}

/// `mode` with an execute bit wherever it has a read bit.
fn with_exec(mode: u32) -> u32 {
    mode | ((mode & 0o444) >> 2)
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Result<u32, ApplyError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .map_err(|e| ApplyError::Step(format!("reading {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn file_mode(_: &Path) -> Result<u32, ApplyError> {
    Ok(0o644)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), ApplyError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| ApplyError::Step(format!("changing the mode of {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<(), ApplyError> {
    Ok(())
}

/// `git update-index --chmod=±x` on a tracked file, so the next clone gets the mode too.
fn git_chmod(path: &Path, how: &str) -> Result<(), ApplyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default();
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .arg("update-index")
        .arg(format!("--chmod={how}"))
        .arg("--")
        .arg(name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| ApplyError::Step(format!("running git update-index: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(ApplyError::Step(format!(
            "git update-index --chmod={how} {} failed",
            path.display()
        )))
    }
}

/// Write `bytes` at `path` in a container (running or not) through the archive endpoint,
/// keeping the original's mode and owner.
async fn upload(
    docker: &Docker,
    container: &str,
    path: &str,
    bytes: &[u8],
    mode: u32,
    uid: u64,
    gid: u64,
) -> Result<(), ApplyError> {
    let (dir, name) = path
        .rsplit_once('/')
        .map(|(d, n)| (if d.is_empty() { "/" } else { d }, n))
        .ok_or_else(|| ApplyError::Step(format!("{path} is not absolute")))?;
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode & 0o7777);
    header.set_uid(uid);
    header.set_gid(gid);
    header.set_entry_type(tar::EntryType::Regular);
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, name, bytes)
        .map_err(|e| ApplyError::Step(format!("packing {path}: {e}")))?;
    let tarball = builder
        .into_inner()
        .map_err(|e| ApplyError::Step(format!("packing {path}: {e}")))?;
    let opts = UploadToContainerOptionsBuilder::default().path(dir).build();
    docker
        .upload_to_container(
            container,
            Some(opts),
            bollard::body_full(bytes::Bytes::from(tarball)),
        )
        .await
        .map_err(engine("writing a file back into the container"))
}

/// `docker-compose` (v1) when present, else `docker compose` (v2).
pub fn compose_cli() -> Option<(String, Vec<String>)> {
    let works = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works("docker-compose", &["version"]) {
        Some(("docker-compose".into(), vec![]))
    } else if works("docker", &["compose", "version"]) {
        Some(("docker".into(), vec!["compose".into()]))
    } else {
        None
    }
}

/// Replace `path`'s contents: a temporary file beside it, synced, then renamed over it, keeping
/// the original's permissions.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("analylit-doctor.tmp");
    let perms = std::fs::metadata(path)?.permissions();
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::set_permissions(&tmp, perms)?;
    std::fs::rename(&tmp, path)
}

/// The most bytes of a child's stderr kept: its last lines, which say why it failed.
const CHILD_TAIL_BYTES: usize = 64 * 1024;

/// Run `cmd` (stdout and stderr piped) to its end: stdout is drained and dropped, and only the
/// last [`CHILD_TAIL_BYTES`] of stderr are kept, however much a build prints.
async fn run_tail(
    mut cmd: tokio::process::Command,
) -> std::io::Result<(std::process::ExitStatus, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut child = cmd.spawn()?;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let drain = async {
        if let Some(o) = out.as_mut() {
            let _ = tokio::io::copy(o, &mut tokio::io::sink()).await;
        }
    };
    let tail = async {
        let mut kept: Vec<u8> = Vec::new();
        if let Some(e) = err.as_mut() {
            let mut chunk = vec![0u8; 8192];
            while let Ok(n) = e.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                kept.extend_from_slice(&chunk[..n]);
                if kept.len() > CHILD_TAIL_BYTES {
                    kept.drain(..kept.len() - CHILD_TAIL_BYTES);
                }
            }
        }
        kept
    };
    let ((), kept) = tokio::join!(drain, tail);
    Ok((child.wait().await?, kept))
}

/// The build context as a tar stream for the Engine's `/build`: the files `.dockerignore` lets
/// through, with their modes; bounded in count and bytes.
fn context_tar(context: &Path) -> Result<Vec<u8>, ApplyError> {
    use crate::stack::context::{DockerIgnore, list_files};
    const MAX_CONTEXT_BYTES: u64 = 512 * 1024 * 1024;
    let ignore = DockerIgnore::for_build(context, &context.join("Dockerfile"));
    let listing = list_files(context, &ignore);
    if listing.truncated {
        return Err(ApplyError::Step(format!(
            "{} holds more files than the doctor sends to a build: rebuild with compose",
            context.display()
        )));
    }
    let mut builder = tar::Builder::new(Vec::new());
    let mut total = 0u64;
    for (rel, path) in &listing.files {
        total += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if total > MAX_CONTEXT_BYTES {
            return Err(ApplyError::Step(format!(
                "{} is over {} MiB: rebuild with compose",
                context.display(),
                MAX_CONTEXT_BYTES >> 20
            )));
        }
        builder
            .append_path_with_name(path, rel)
            .map_err(|e| ApplyError::Step(format!("packing {}: {e}", path.display())))?;
    }
    // The Dockerfile even when .dockerignore lists it (the builder needs it).
    if !listing.files.contains_key("Dockerfile") {
        builder
            .append_path_with_name(context.join("Dockerfile"), "Dockerfile")
            .map_err(|e| ApplyError::Step(format!("packing the Dockerfile: {e}")))?;
    }
    builder
        .into_inner()
        .map_err(|e| ApplyError::Step(format!("packing {}: {e}", context.display())))
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[tokio::test]
    async fn a_child_that_prints_without_end_keeps_only_the_tail_of_its_stderr() {
        // 8 MiB on each stream, more than any pipe buffer: a reader that did not drain stdout
        // would hang, and one that kept everything would hold 16 MiB.
        let mut cmd = tokio::process::Command::new("sh");
        cmd.args([
            "-c",
            "head -c 8388608 /dev/zero; head -c 8388608 /dev/zero | tr '\\0' x >&2; \
             echo >&2; echo 'the last line' >&2; exit 3",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        let (status, tail) = super::run_tail(cmd).await.unwrap();
        assert_eq!(status.code(), Some(3));
        assert!(tail.len() <= super::CHILD_TAIL_BYTES, "{}", tail.len());
        assert!(tail.ends_with(b"\nthe last line\n"));
    }
}
