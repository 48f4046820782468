//! What a paste says about each container, and who "each container" is.
//!
//! One paste names the same container in many ways: `web_1` in a transcript,
//! `analylit_web_1` in a `ps` table, its 64-hex id in `docker events` and in the kernel's
//! `oom_memcg=/docker/<id>`, only its service in `Cannot start service web`, nothing at all in a
//! trimmed `"State": {…}`. Readers record each fact under the [`Subject`] the text names, as it
//! names it; [`Facts::resolve`] decides at the end which subjects are one container (a shared id
//! prefix, an equal name, a transcript name that ends a full name, a service named alone) and
//! merges their facts. Deciding at the end is what lets a `ps` table pasted after the logs still
//! name the logs' container.
//!
//! Facts are [`Told`]: a value with the rank of the source that told it. Where two sources
//! disagree, the more precise one wins (inspect JSON over a `ps` table over events over compose's
//! own lines), whatever the order of the paste; a field nobody told stays unknown, and the report
//! shows it as unknown.
use super::super::collect::LogLimits;
use super::super::logs::{Budget, Keep, LogAssembler};
use super::super::snapshot::*;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

/// At most this many distinct subjects are kept: a paste that names more is not one stack.
pub const MAX_SUBJECTS: usize = 1000;
/// Engine events kept per container (the most recent), like a live collection.
const EVENTS_KEPT: usize = 20;

/// How a paste names a container. Any field may be missing; `fallback` names the service only
/// when nothing else does (the process the kernel killed, the service of a `SERVICE=FILE` spec).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    pub id: Option<String>,
    pub name: Option<String>,
    /// A name as compose prints it in front of log lines (`web_1`): it may stand for a longer
    /// name that ends with it (`analylit_web_1`).
    pub short: bool,
    pub service: Option<String>,
    pub fallback: Option<String>,
}

impl Subject {
    pub fn id(id: &str) -> Self {
        Subject {
            id: Some(id.to_owned()),
            ..Default::default()
        }
    }
    pub fn name(name: &str) -> Self {
        Subject {
            name: Some(name.trim_start_matches('/').to_owned()),
            ..Default::default()
        }
    }
    pub fn service(service: &str) -> Self {
        Subject {
            service: Some(service.to_owned()),
            ..Default::default()
        }
    }
    pub fn fallback(service: &str) -> Self {
        Subject {
            fallback: Some(service.to_owned()),
            ..Default::default()
        }
    }
    pub fn with_service(mut self, service: Option<&str>) -> Self {
        if let Some(s) = service.filter(|s| !s.is_empty()) {
            self.service = Some(s.to_owned());
        }
        self
    }
    pub fn with_name(mut self, name: Option<&str>) -> Self {
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            self.name = Some(n.trim_start_matches('/').to_owned());
        }
        self
    }
    /// Names a container (not only a service).
    fn names_container(&self) -> bool {
        self.id.is_some() || self.name.is_some()
    }
}

/// How precise a source is: a higher rank's value replaces a lower one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    ComposeUp = 1,
    Events = 2,
    Ps = 3,
    Inspect = 4,
}

/// A value and the rank of the source that told it.
pub type Told<T> = Option<(Rank, T)>;

pub fn tell<T>(slot: &mut Told<T>, rank: Rank, value: T) {
    if slot.as_ref().is_none_or(|(r, _)| rank >= *r) {
        *slot = Some((rank, value));
    }
}

fn value<T: Clone>(slot: &Told<T>) -> Option<T> {
    slot.as_ref().map(|(_, v)| v.clone())
}

/// Configuration read from inspect JSON (`Config`, `HostConfig`, `Mounts`).
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub image: Option<String>,
    pub env: Option<Vec<EnvVar>>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub healthcheck: Option<HealthcheckConfig>,
    pub memory_limit: Option<i64>,
    pub restart_policy: Option<String>,
    pub mounts: Option<Vec<Mount>>,
    pub labels: BTreeMap<String, String>,
}

impl Config {
    pub fn merge(&mut self, other: Config) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            image,
            env,
            cmd,
            entrypoint,
            working_dir,
            user,
            healthcheck,
            memory_limit,
            restart_policy,
            mounts
        );
        self.labels.extend(other.labels);
    }
}

/// Everything a paste told about one subject.
#[derive(Default)]
pub struct Partial {
    logs: Option<LogAssembler>,
    pub status: Told<String>,
    pub running: Told<bool>,
    pub restarting: Told<bool>,
    pub oom_killed: Told<bool>,
    pub exit_code: Told<i64>,
    pub error: Told<String>,
    pub started_at: Told<String>,
    pub finished_at: Told<String>,
    pub restart_count: Told<i64>,
    /// A whole health record (inspect), or only its status (`ps`, events, compose).
    pub health: Told<Health>,
    pub config: Config,
    pub events: Vec<ContainerEvent>,
    /// `start` events that followed a `die`: restarts seen, when nothing counted them.
    pub restarts_seen: i64,
    died: bool,
}

impl Partial {
    /// Add a log line; `may_keep` false when the paste's prefilter said no rule matches it.
    pub fn log(
        &mut self,
        limits: &LogLimits,
        keep: &Retention,
        stamp: Option<&str>,
        text: &str,
        may_keep: bool,
    ) {
        let asm = self.logs.get_or_insert_with(|| {
            LogAssembler::new(limits.lines, limits.bytes)
                .keeping(keep.keep.clone())
                .sharing(Some(keep.budget.clone()))
        });
        asm.line_stamped(Stream::Stdout, stamp, text, may_keep);
    }

    /// The state of a container the engine could not start (compose printed the daemon's
    /// error): status `created`, the daemon's error, and the exit code the daemon gives such a
    /// container (127 when the program is missing, 126 when it may not run, else 128).
    pub fn failed_start(&mut self, rank: Rank, error: &str) {
        tell(&mut self.status, rank, "created".into());
        tell(&mut self.running, rank, false);
        tell(&mut self.exit_code, rank, start_error_code(error));
        tell(&mut self.error, rank, error.to_owned());
    }

    /// A health status alone (from a `ps` table, an event, compose's own lines).
    pub fn health_status(&mut self, rank: Rank, status: &str) {
        match &mut self.health {
            Some((r, h)) if *r >= rank => {
                if *r == rank {
                    h.status = status.to_owned();
                }
            }
            _ => {
                self.health = Some((
                    rank,
                    Health {
                        status: status.to_owned(),
                        failing_streak: 0,
                        log: vec![],
                    },
                ))
            }
        }
    }

    /// An engine event: kept like a live collection keeps them (`die`, `oom`, `kill`), and read
    /// for the state it leaves the container in.
    pub fn event(&mut self, e: ContainerEvent) {
        let rank = Rank::Events;
        match e.action.as_str() {
            "start" | "restart" => {
                if self.died {
                    self.restarts_seen += 1;
                    self.died = false;
                }
                tell(&mut self.status, rank, "running".into());
                tell(&mut self.running, rank, true);
            }
            "die" => {
                self.died = true;
                tell(&mut self.status, rank, "exited".into());
                tell(&mut self.running, rank, false);
                if let Some(code) = e.exit_code {
                    tell(&mut self.exit_code, rank, code);
                }
                if !e.time.is_empty() {
                    tell(&mut self.finished_at, rank, e.time.clone());
                }
            }
            "oom" => tell(&mut self.oom_killed, rank, true),
            _ => {}
        }
        if matches!(e.action.as_str(), "die" | "oom" | "kill") {
            self.events.push(e);
            if self.events.len() > EVENTS_KEPT {
                self.events.remove(0);
            }
        }
    }

    fn merge(&mut self, other: Partial, limits: &LogLimits, keep: &Retention) {
        macro_rules! told {
            ($($f:ident),*) => { $( if let Some((r, v)) = other.$f { tell(&mut self.$f, r, v); } )* };
        }
        told!(
            status,
            running,
            restarting,
            oom_killed,
            exit_code,
            error,
            started_at,
            finished_at,
            restart_count,
            health
        );
        self.config.merge(other.config);
        self.events.extend(other.events);
        self.events.sort_by(|a, b| a.time.cmp(&b.time));
        let drop = self.events.len().saturating_sub(EVENTS_KEPT);
        self.events.drain(..drop);
        self.restarts_seen += other.restarts_seen;
        if let Some(theirs) = other.logs {
            let mine = self
                .logs
                .take()
                .map(LogAssembler::finish)
                .unwrap_or_default();
            let theirs = theirs.finish();
            let mut asm = LogAssembler::new(limits.lines, limits.bytes)
                .keeping(keep.keep.clone())
                .sharing(Some(keep.budget.clone()));
            // The counted lines are counted again below (and elided again).
            let counted = |t: &LogTail| t.counted.iter().map(|c| c.count).sum::<usize>();
            asm.elide(mine.elided + theirs.elided - counted(&mine) - counted(&theirs));
            let mut lines = mine.lines;
            lines.extend(theirs.lines);
            // Both tails are in order; stamped lines interleave by their stamps.
            lines.sort_by(|a, b| a.ts.cmp(&b.ts));
            for l in lines {
                asm.line_stamped(l.stream, l.ts.as_deref(), &l.text, true);
            }
            asm.recount(mine.counted);
            asm.recount(theirs.counted);
            self.logs = Some(asm);
        }
    }
}

/// The exit code the engine records for a container it could not start (moby's
/// `translateContainerdStartErr`): 127 for a missing program, 126 for one it may not run, 128
/// for anything else (a port already taken, a device missing).
pub fn start_error_code(error: &str) -> i64 {
    if error.contains("executable file not found") || error.contains("no such file or directory") {
        127
    } else if error.contains("permission denied") {
        126
    } else {
        128
    }
}

/// Which fields of a service's state the paste told: what a report may show as known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Known {
    pub status: bool,
    pub exit_code: bool,
    pub restarts: bool,
    pub health: bool,
}

impl Known {
    pub fn any(&self) -> bool {
        self.status || self.exit_code || self.restarts || self.health
    }
}

/// At most this much log text is kept from a paste, all containers together (each container's
/// own bound is the `--tail` limits): memory stays flat whatever the input's size.
pub const PASTE_LOG_BYTES: usize = 8 * 1024 * 1024;

/// What is kept of pasted logs besides each container's tail, and the bound all tails share.
#[derive(Clone)]
pub struct Retention {
    keep: Option<Keep>,
    budget: Budget,
}

/// Facts under the subjects that told them, until [`Facts::resolve`].
pub struct Facts {
    subjects: Vec<Subject>,
    partials: Vec<Partial>,
    index: HashMap<Subject, usize>,
    limits: LogLimits,
    /// Lines worth keeping from before each container's tail, and the bound all tails share.
    keep: Retention,
    /// Whether a rule may match the line being read (false when the prefilter over the whole
    /// chunk found none of the rules' literals in it): see [`Facts::line_may_keep`].
    may_keep: bool,
    /// Container names the paste mentioned (`Attaching to …`, `ps` rows, inspect): a log prefix
    /// without a replica number is read as a prefix only once its name is known.
    known_names: BTreeSet<String>,
}

/// The containers a paste described, and which container each subject turned out to be.
pub struct Resolved {
    pub containers: Vec<ContainerSnapshot>,
    pub known: BTreeMap<String, Known>,
    /// Subject index → container index.
    pub container_of: Vec<usize>,
}

impl Resolved {
    /// The service of the container subject `i` became.
    pub fn service_of(&self, i: usize) -> &str {
        &self.containers[self.container_of[i]].service
    }
}

static NUMBERED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(.+?)[-_]([0-9]+)$").expect("number pattern"));

impl Facts {
    pub fn new(limits: LogLimits) -> Self {
        Facts {
            subjects: vec![],
            partials: vec![],
            index: HashMap::new(),
            limits,
            keep: Retention {
                keep: None,
                budget: Budget::new(PASTE_LOG_BYTES),
            },
            known_names: BTreeSet::new(),
            may_keep: true,
        }
    }

    /// The keep filter, for its prefilter over whole chunks.
    pub fn keep_filter(&self) -> Option<&Keep> {
        self.keep.keep.as_ref()
    }

    /// Whether a rule may match the lines logged until the next call (true unless a prefilter
    /// said otherwise).
    pub fn line_may_keep(&mut self, may: bool) {
        self.may_keep = may;
    }

    /// Keep the lines `keep` selects from before each container's tail.
    pub fn keep(&mut self, keep: Keep) {
        self.keep.keep = Some(keep);
    }

    /// The facts of `subject`, and its index; `None` past [`MAX_SUBJECTS`].
    pub fn of(&mut self, subject: &Subject) -> Option<(usize, &mut Partial)> {
        if let Some(&i) = self.index.get(subject) {
            return Some((i, &mut self.partials[i]));
        }
        if self.subjects.len() >= MAX_SUBJECTS {
            return None;
        }
        let i = self.subjects.len();
        self.subjects.push(subject.clone());
        self.partials.push(Partial::default());
        self.index.insert(subject.clone(), i);
        if let Some(n) = subject.name.as_ref().filter(|_| !subject.short) {
            self.known_names.insert(n.clone());
        }
        Some((i, &mut self.partials[i]))
    }

    /// Add a log line to `subject`'s container. False past [`MAX_SUBJECTS`].
    pub fn log(&mut self, subject: &Subject, text: &str) -> bool {
        let limits = self.limits;
        let keep = self.keep.clone();
        let may_keep = self.may_keep;
        match self.of(subject) {
            Some((_, p)) => {
                p.log(&limits, &keep, None, text, may_keep);
                true
            }
            None => false,
        }
    }

    /// Add a log line to the subject of index `i` (from [`Facts::of`]).
    pub fn log_to(&mut self, i: usize, text: &str) {
        let limits = self.limits;
        self.partials[i].log(&limits, &self.keep, None, text, self.may_keep);
    }

    /// [`Facts::log_to`] of `stamp`, a space and `text` (a wrapped line keeps the stamp of the
    /// line it continues), without joining them first.
    pub fn log_to_stamped(&mut self, i: usize, stamp: &str, text: &str) {
        let limits = self.limits;
        self.partials[i].log(&limits, &self.keep, Some(stamp), text, self.may_keep);
    }

    pub fn know_name(&mut self, name: &str) {
        if self.known_names.len() < MAX_SUBJECTS {
            self.known_names
                .insert(name.trim_start_matches('/').to_owned());
        }
    }

    pub fn is_known_name(&self, name: &str) -> bool {
        self.known_names.contains(name)
            || self
                .known_names
                .iter()
                .any(|n| short_matches(name, n) || short_matches(n, name))
    }

    /// Decide which subjects are one container, merge their facts, and build the containers.
    pub fn resolve(self, project: &str) -> Resolved {
        let Facts {
            subjects,
            partials,
            limits,
            keep,
            known_names,
            ..
        } = self;
        let n = subjects.len();
        let mut uf = UnionFind::new(n);

        // One container: ids that share a prefix, equal names.
        for i in 0..n {
            for j in i + 1..n {
                let (a, b) = (&subjects[i], &subjects[j]);
                let same_id = match (&a.id, &b.id) {
                    (Some(x), Some(y)) => ids_match(x, y),
                    _ => false,
                };
                let same_name = matches!((&a.name, &b.name), (Some(x), Some(y)) if x == y);
                if same_id || same_name {
                    uf.union(i, j);
                }
            }
        }
        // A transcript's short name that ends exactly one full name (`web_1` → `p_web_1`); one
        // that ends several (two projects in one paste) stays apart from all of them.
        for i in 0..n {
            let Some(short) = subjects[i].name.as_deref().filter(|_| subjects[i].short) else {
                continue;
            };
            let full: BTreeSet<&str> = subjects
                .iter()
                .filter(|s| !s.short)
                .filter_map(|s| s.name.as_deref())
                .filter(|f| *f != short && short_matches(short, f))
                .collect();
            if let [only] = full.iter().copied().collect::<Vec<_>>()[..] {
                let j = subjects
                    .iter()
                    .position(|s| !s.short && s.name.as_deref() == Some(only))
                    .expect("a subject of that name");
                uf.union(i, j);
            }
        }
        let groups = |uf: &mut UnionFind| -> BTreeMap<usize, Vec<usize>> {
            let mut g: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for i in 0..n {
                g.entry(uf.find(i)).or_default().push(i);
            }
            g
        };
        let mut known_services: BTreeSet<String> =
            subjects.iter().filter_map(|s| s.service.clone()).collect();
        // Full names, of subjects and of containers compose listed (`Attaching to …`).
        let numbered: Vec<&str> = subjects
            .iter()
            .filter(|s| !s.short)
            .filter_map(|s| s.name.as_deref())
            .chain(known_names.iter().map(String::as_str))
            .filter(|n| NUMBERED.is_match(n))
            .collect();
        let inferred_project = infer_project(project, &numbered);

        // The service of each group that names a container.
        let mut service_of_group: BTreeMap<usize, String> = BTreeMap::new();
        for (root, members) in groups(&mut uf) {
            if !members.iter().any(|&m| subjects[m].names_container()) {
                continue;
            }
            let service = explicit_service(&subjects, &members)
                .or_else(|| {
                    members.iter().find_map(|&m| {
                        let s = &subjects[m];
                        let name = s.name.as_deref()?;
                        Some(service_from_name(
                            name,
                            s.short,
                            &known_services,
                            &inferred_project,
                        ))
                    })
                })
                .or_else(|| members.iter().find_map(|&m| subjects[m].fallback.clone()))
                .unwrap_or_else(|| {
                    let id = members.iter().find_map(|&m| subjects[m].id.clone());
                    short_id(id.as_deref().unwrap_or("unknown")).to_owned()
                });
            known_services.insert(service.clone());
            service_of_group.insert(root, service);
        }
        // Subjects that name only a service (or a fallback): that service's container, the first
        // by name when it has several; else a container of their own.
        for i in 0..n {
            if subjects[i].names_container() {
                continue;
            }
            let Some(service) = subjects[i]
                .service
                .clone()
                .or_else(|| subjects[i].fallback.clone())
            else {
                continue;
            };
            let target = service_of_group
                .iter()
                .filter(|(_, s)| **s == service)
                .map(|(root, _)| *root)
                .min_by_key(|root| container_name_of(&subjects, &mut uf, *root));
            match target {
                Some(root) => uf.union(root, i),
                None => {
                    let root = uf.find(i);
                    // Another service-only subject of the same service may already lead a group.
                    let existing = service_of_group
                        .iter()
                        .find(|(_, s)| **s == service)
                        .map(|(r, _)| *r);
                    match existing {
                        Some(r) => uf.union(r, i),
                        None => {
                            service_of_group.insert(root, service);
                        }
                    }
                }
            }
        }

        let service_of_group: BTreeMap<usize, String> = service_of_group
            .into_iter()
            .map(|(root, s)| (uf.find(root), s))
            .collect();

        // Merge each group's facts into one container.
        let mut merged: BTreeMap<usize, (Partial, Vec<usize>)> = BTreeMap::new();
        for (i, p) in partials.into_iter().enumerate() {
            let root = uf.find(i);
            let entry = merged.entry(root).or_default();
            entry.0.merge(p, &limits, &keep);
            entry.1.push(i);
        }
        let mut built: Vec<(ContainerSnapshot, Known, Vec<usize>)> = Vec::new();
        for (root, (partial, members)) in merged {
            let service = service_of_group
                .get(&root)
                .cloned()
                .unwrap_or_else(|| "app".to_owned());
            let (c, known) = build(&subjects, &members, &service, partial);
            built.push((c, known, members));
        }
        built.sort_by(|a, b| {
            (&a.0.service, a.0.number, &a.0.name).cmp(&(&b.0.service, b.0.number, &b.0.name))
        });
        let mut container_of = vec![0; n];
        let mut known: BTreeMap<String, Known> = BTreeMap::new();
        let mut containers = Vec::new();
        for (ci, (c, k, members)) in built.into_iter().enumerate() {
            for m in members {
                container_of[m] = ci;
            }
            let entry = known.entry(c.service.clone()).or_default();
            entry.status |= k.status;
            entry.exit_code |= k.exit_code;
            entry.restarts |= k.restarts;
            entry.health |= k.health;
            containers.push(c);
        }
        Resolved {
            containers,
            known,
            container_of,
        }
    }
}

/// The service most of a group's subjects name, when any does.
fn explicit_service(subjects: &[Subject], members: &[usize]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for &m in members {
        if let Some(s) = &subjects[m].service {
            *counts.entry(s).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, c)| *c)
        .map(|(s, _)| s.to_owned())
}

/// The name a group's container will show: its first full name, else its first name.
fn container_name_of(subjects: &[Subject], uf: &mut UnionFind, root: usize) -> String {
    let mut best: Option<(bool, String)> = None;
    for (i, s) in subjects.iter().enumerate() {
        if uf.find(i) != uf.find(root) {
            continue;
        }
        if let Some(n) = &s.name {
            let candidate = (s.short, n.clone());
            if best.as_ref().is_none_or(|b| candidate < *b) {
                best = Some(candidate);
            }
        }
    }
    best.map(|(_, n)| n).unwrap_or_default()
}

/// `3f2a4b5c6d7e` and the 64-hex id it starts: one container. Twelve characters at least, like
/// the docker CLI's short ids.
fn ids_match(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.len() >= 12 && long.starts_with(short)
}

fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}

/// A transcript's `web_1` is the container `analylit_web_1` (compose v1 strips the project in
/// front of log lines), and v2's `web-1` is `analylit-web-1`.
fn short_matches(short: &str, full: &str) -> bool {
    full == short
        || full
            .strip_suffix(short)
            .is_some_and(|head| head.ends_with('_') || head.ends_with('-'))
}

/// The project in front of the names of a paste: given (`-p`), else the longest prefix ending
/// in `_` or `-` that every numbered name shares (two names at least: one name alone cannot tell
/// its project from its service).
fn infer_project(project: &str, numbered: &[&str]) -> Option<String> {
    if !project.is_empty() {
        return Some(project.to_owned());
    }
    let distinct: BTreeSet<&str> = numbered.iter().copied().collect();
    if distinct.len() < 2 {
        return None;
    }
    let first = *distinct.iter().next()?;
    let mut common = first.len();
    for n in &distinct {
        common = common.min(
            first
                .bytes()
                .zip(n.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let prefix = &first[..common];
    let cut = prefix.rfind(['_', '-'])?;
    Some(first[..cut].to_owned())
}

/// The service a container name stands for: a service the paste names elsewhere that ends the
/// name (`analylit_web` → `web`), else the name without its project and replica number
/// (`p_web_1` → `web`), else the name itself (a `container_name:`).
fn service_from_name(
    name: &str,
    short: bool,
    known: &BTreeSet<String>,
    project: &Option<String>,
) -> String {
    let bare = NUMBERED
        .captures(name)
        .map(|c| c.get(1).expect("group").as_str())
        .unwrap_or(name);
    // The longest known service that ends the name.
    if let Some(s) = known
        .iter()
        .filter(|s| bare == s.as_str() || short_matches(s, bare))
        .max_by_key(|s| s.len())
    {
        return s.clone();
    }
    if let Some(p) = project
        && let Some(rest) = [format!("{p}_"), format!("{p}-")]
            .iter()
            .find_map(|pre| bare.strip_prefix(pre.as_str()))
            .filter(|rest| !rest.is_empty())
    {
        return rest.to_owned();
    }
    if short || NUMBERED.is_match(name) {
        // v1's `project_service_1`: the project has no `_` in the common case.
        if !short && let Some((_, rest)) = bare.split_once('_') {
            return rest.to_owned();
        }
        return bare.to_owned();
    }
    name.to_owned()
}

fn build(
    subjects: &[Subject],
    members: &[usize],
    service: &str,
    p: Partial,
) -> (ContainerSnapshot, Known) {
    // The most telling name: a full one before a transcript's short one.
    let mut names: Vec<(bool, &str)> = members
        .iter()
        .filter_map(|&m| Some((subjects[m].short, subjects[m].name.as_deref()?)))
        .collect();
    names.sort();
    let name = names
        .first()
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| service.to_owned());
    let id = members
        .iter()
        .filter_map(|&m| subjects[m].id.as_deref())
        .max_by_key(|id| id.len())
        .map(String::from)
        .unwrap_or_else(|| name.clone());
    let number = p
        .config
        .labels
        .get("com.docker.compose.container-number")
        .and_then(|n| n.parse().ok())
        .or_else(|| {
            names
                .iter()
                .find_map(|(_, n)| NUMBERED.captures(n)?.get(2)?.as_str().parse().ok())
        });
    let status = value(&p.status);
    let known = Known {
        status: status.is_some(),
        exit_code: p.exit_code.is_some(),
        restarts: p.restart_count.is_some() || p.restarts_seen > 0,
        health: p.health.is_some(),
    };
    // A container that never ran has the engine's "never" as its start, so no exit code is read
    // into it; one that ran at an unknown time has none.
    let never = "0001-01-01T00:00:00Z".to_owned();
    let started_at = value(&p.started_at).unwrap_or_else(|| match status.as_deref() {
        None | Some("created") => never.clone(),
        Some(_) => String::new(),
    });
    let status_word = status.unwrap_or_else(|| super::UNKNOWN_STATUS.to_owned());
    let restarting = value(&p.restarting).unwrap_or(status_word == "restarting");
    let running = value(&p.running).unwrap_or(matches!(
        status_word.as_str(),
        "running" | "restarting" | "paused"
    ));
    let logs = p.logs.map(LogAssembler::finish).unwrap_or_default();
    let cfg = p.config;
    let c = ContainerSnapshot {
        id,
        name,
        created: String::new(),
        service: service.to_owned(),
        number,
        image: cfg.image.unwrap_or_default(),
        state: ContainerState {
            status: status_word,
            running,
            restarting,
            oom_killed: value(&p.oom_killed).unwrap_or(false),
            exit_code: value(&p.exit_code).unwrap_or(0),
            error: value(&p.error).unwrap_or_default(),
            started_at,
            finished_at: value(&p.finished_at).unwrap_or(never),
        },
        restart_count: value(&p.restart_count).unwrap_or(p.restarts_seen),
        health: value(&p.health),
        healthcheck: cfg.healthcheck,
        entrypoint: cfg.entrypoint.unwrap_or_default(),
        command: cfg.cmd.unwrap_or_default(),
        working_dir: cfg.working_dir.unwrap_or_default(),
        user: cfg.user.unwrap_or_default(),
        env: cfg.env.unwrap_or_default(),
        mounts: cfg.mounts.unwrap_or_default(),
        ports: vec![],
        networks: vec![],
        restart_policy: cfg.restart_policy.unwrap_or_default(),
        // Unknown, not "no limit": a probe must not conclude the host ran out of memory.
        memory_limit: cfg.memory_limit.unwrap_or(-1),
        labels: cfg.labels,
        logs,
        events: p.events,
        task: None,
    };
    (c, known)
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind((0..n).collect())
    }
    fn find(&mut self, i: usize) -> usize {
        let mut r = i;
        while self.0[r] != r {
            r = self.0[r];
        }
        let mut j = i;
        while self.0[j] != r {
            let next = self.0[j];
            self.0[j] = r;
            j = next;
        }
        r
    }
    /// The smaller root leads, so groups keep their first subject as root.
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi] = lo;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short(name: &str) -> Subject {
        Subject {
            name: Some(name.into()),
            short: true,
            ..Default::default()
        }
    }

    #[test]
    fn one_container_named_four_ways() {
        let mut f = Facts::new(LogLimits::default());
        f.log(&short("web_1"), "NameError: name 'x' is not defined");
        let (_, p) = f.of(&Subject::name("analylit_web_1")).unwrap();
        tell(&mut p.status, Rank::Ps, "exited".into());
        tell(&mut p.exit_code, Rank::Ps, 3);
        let id = "3f2a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718";
        let s = Subject::id(id)
            .with_name(Some("/analylit_web_1"))
            .with_service(Some("web"));
        let (_, p) = f.of(&s).unwrap();
        tell(&mut p.restart_count, Rank::Inspect, 4);
        let (_, p) = f.of(&Subject::id(&id[..12])).unwrap();
        tell(&mut p.oom_killed, Rank::Inspect, true);
        f.of(&Subject::id("0123456789ab")).unwrap();
        let r = f.resolve("");
        assert_eq!(r.containers.len(), 2, "{:#?}", r.containers);
        let web = r.containers.iter().find(|c| c.service == "web").unwrap();
        assert_eq!(web.name, "analylit_web_1");
        assert_eq!(web.id, id);
        assert_eq!(web.number, Some(1));
        assert_eq!(web.state.status, "exited");
        assert_eq!(web.telling_exit_code(), Some(3));
        assert_eq!(web.restart_count, 4);
        assert!(web.state.oom_killed);
        assert_eq!(web.logs.lines.len(), 1);
        assert_eq!(
            r.known["web"],
            Known {
                status: true,
                exit_code: true,
                restarts: true,
                health: false
            }
        );
    }

    #[test]
    fn a_short_name_that_ends_two_names_joins_neither() {
        let mut f = Facts::new(LogLimits::default());
        f.log(&short("web_1"), "line");
        f.of(&Subject::name("alpha_web_1")).unwrap();
        f.of(&Subject::name("beta_web_1")).unwrap();
        assert_eq!(f.resolve("").containers.len(), 3);
    }

    #[test]
    fn a_service_named_alone_joins_its_container_or_stands_alone() {
        let mut f = Facts::new(LogLimits::default());
        f.log(&short("web_1"), "line");
        let (_, p) = f.of(&Subject::service("web")).unwrap();
        p.failed_start(
            Rank::ComposeUp,
            "exec: \"./entrypoint.sh\": permission denied: unknown",
        );
        f.log(&Subject::fallback("app"), "plain");
        let r = f.resolve("");
        let services: Vec<&str> = r.containers.iter().map(|c| c.service.as_str()).collect();
        assert_eq!(services, ["app", "web"]);
        let web = &r.containers[1];
        assert_eq!(
            (web.state.status.as_str(), web.state.exit_code),
            ("created", 126)
        );
        assert_eq!(web.telling_exit_code(), None, "never started");
        let app = &r.containers[0];
        assert_eq!(app.state.status, "unknown");
        assert!(!r.known["app"].any());
    }

    #[test]
    fn services_come_from_names_when_nothing_else_says() {
        let known = BTreeSet::from(["web".to_owned()]);
        assert_eq!(
            service_from_name("analylit_web", false, &known, &None),
            "web"
        );
        assert_eq!(
            service_from_name("analylit-db-v4", false, &known, &None),
            "analylit-db-v4"
        );
        assert_eq!(
            service_from_name("p_worker_1", false, &known, &None),
            "worker"
        );
        assert_eq!(
            service_from_name(
                "my-app-worker-fast-1",
                false,
                &known,
                &Some("my-app".into())
            ),
            "worker-fast"
        );
        assert_eq!(service_from_name("worker-2", true, &known, &None), "worker");
        assert_eq!(
            infer_project("", &["proj-db-1", "proj-web-1"]),
            Some("proj".to_owned())
        );
        assert_eq!(infer_project("", &["proj-db-1"]), None);
    }

    #[test]
    fn start_errors_get_the_engines_exit_codes() {
        assert_eq!(
            start_error_code("exec: \"./e.sh\": permission denied: unknown"),
            126
        );
        assert_eq!(
            start_error_code("exec: \"x\": executable file not found in $PATH"),
            127
        );
        assert_eq!(
            start_error_code("Bind for 0.0.0.0:8080 failed: port is already allocated"),
            128
        );
    }

    #[test]
    fn the_more_precise_source_wins_whatever_the_order() {
        let mut p = Partial::default();
        tell(&mut p.status, Rank::Inspect, "restarting".to_owned());
        tell(&mut p.status, Rank::Ps, "exited".to_owned());
        assert_eq!(value(&p.status).as_deref(), Some("restarting"));
        p.health_status(Rank::Ps, "unhealthy");
        p.health_status(Rank::Events, "healthy");
        assert_eq!(value(&p.health).unwrap().status, "unhealthy");
    }
}
