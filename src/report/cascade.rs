//! The causal graph: services as nodes, what each depends on as edges, the root causes and the
//! effects folded under them marked, laid out in layers.
//!
//! The edges are the ones the chain pass reasons with ([`crate::stack::graph::graph`]):
//! `depends_on` from the compose file (or Compose v2's label), with the condition compose waits
//! for, and the URLs a container's environment and command line point at another service. The
//! causal links are the diagnosis's own folds: an effect drawn from the service of its cause.
//! Nothing here decides anything; it only arranges what the engine concluded.
//!
//! The layout is a plain layered one, small enough to own: a service sits one layer below the
//! deepest service it depends on (databases on top, the front door at the bottom, the way a
//! start-up cascade flows), and a few barycentre sweeps order each layer to uncross the edges.
//! Ties break on the service's place in the diagnosis, so the same diagnosis is always drawn the
//! same way. A dependency cycle (which compose refuses, but URLs can make) is cut where the
//! depth-first walk meets it.
use super::Anchors;
use crate::engine::{Diagnosis, Finding, ServiceStatus};
use crate::rules::Severity;
use crate::stack::compose::Condition;
use crate::stack::snapshot::StackSnapshot;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq)]
pub struct Cascade {
    /// In diagnosis order.
    pub nodes: Vec<Node>,
    /// Sorted by (dependency, dependent).
    pub edges: Vec<Edge>,
    /// Sorted by (cause, effect).
    pub links: Vec<Link>,
    /// How many nodes each layer holds, top first.
    pub layer_sizes: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub service: String,
    pub role: Role,
    /// `running · healthy`, `exited 1`, `created`.
    pub status: String,
    pub layer: usize,
    /// Position within its layer, from the left.
    pub slot: usize,
    /// The anchor of the service's most telling finding, when it has one.
    pub finding: Option<String>,
}

/// What the diagnosis makes of a service, most telling first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A finding above info that nothing else explains.
    RootCause,
    /// A finding above info folded under a cause on another service.
    Effect,
    /// Exited non-zero, restarting or unhealthy with no finding of its own above info.
    Failing,
    /// Created and never started (compose held it back).
    NotStarted,
    /// Only findings of `info` severity.
    Note,
    Ok,
}

impl Role {
    pub fn slug(self) -> &'static str {
        match self {
            Role::RootCause => "root",
            Role::Effect => "effect",
            Role::Failing => "failing",
            Role::NotStarted => "not-started",
            Role::Note => "note",
            Role::Ok => "ok",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Role::RootCause => "root cause",
            Role::Effect => "effect",
            Role::Failing => "failing",
            Role::NotStarted => "never started",
            Role::Note => "note",
            Role::Ok => "ok",
        }
    }
}

/// `dependent` needs `dependency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub dependency: String,
    pub dependent: String,
    pub how: How,
}

/// Why an edge is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// `depends_on` with this condition.
    DependsOn(Condition),
    /// A URL in the dependent's environment or command line names the dependency.
    Url,
}

impl How {
    /// A short label for the edge: what compose waits for, or `url`.
    pub fn label(self) -> &'static str {
        match self {
            How::DependsOn(Condition::Started) => "started",
            How::DependsOn(Condition::Healthy) => "healthy",
            How::DependsOn(Condition::CompletedSuccessfully) => "completed",
            How::Url => "url",
        }
    }
}

/// A finding on `effect` that the diagnosis folded under one on `cause`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    pub cause: String,
    pub effect: String,
    /// The effect's rule id.
    pub finding: String,
    /// The effect is only `info` (seen, not a problem of its own).
    pub minor: bool,
}

impl Cascade {
    pub fn of(d: &Diagnosis, snapshot: Option<&StackSnapshot>, anchors: &Anchors<'_>) -> Self {
        let edges = snapshot.map(edges).unwrap_or_default();
        // Services: the diagnosis's, then any a finding, the compose file or an edge names that
        // it lacks (a service compose never created is part of the story).
        let mut names: Vec<String> = d.services.iter().map(|s| s.name.clone()).collect();
        let mut add = |n: &str| {
            if !names.iter().any(|x| x == n) {
                names.push(n.to_owned());
            }
        };
        for f in d.all_findings() {
            add(&f.service);
        }
        for s in snapshot
            .and_then(|s| s.compose.as_ref())
            .map_or(&[][..], |m| &m.services)
        {
            add(&s.name);
        }
        for e in &edges {
            add(&e.dependency);
            add(&e.dependent);
        }

        let mut links = Vec::new();
        fn fold(cause: &Finding, links: &mut Vec<Link>) {
            for effect in &cause.effects {
                if effect.service != cause.service {
                    links.push(Link {
                        cause: cause.service.clone(),
                        effect: effect.service.clone(),
                        finding: effect.id.clone(),
                        minor: effect.severity <= Severity::Info,
                    });
                }
                fold(effect, links);
            }
        }
        for f in &d.findings {
            fold(f, &mut links);
        }
        links.sort();
        // One link per pair of services: the most serious one.
        links.dedup_by(|b, a| {
            let same = a.cause == b.cause && a.effect == b.effect;
            if same && a.minor && !b.minor {
                std::mem::swap(a, b);
            }
            same
        });

        let deps_of: BTreeMap<&str, BTreeSet<&str>> = names
            .iter()
            .map(|n| {
                let deps = edges
                    .iter()
                    .filter(|e| e.dependent == *n)
                    .map(|e| e.dependency.as_str())
                    .collect();
                (n.as_str(), deps)
            })
            .collect();
        let layer = layers(&names, &deps_of);
        let slots = order(&names, &layer, &edges);
        let layer_count = layer.values().copied().max().map_or(0, |m| m + 1);
        let mut layer_sizes = vec![0; layer_count];
        for l in layer.values() {
            layer_sizes[*l] += 1;
        }

        let nodes = names
            .iter()
            .map(|name| {
                let status = d.services.iter().find(|s| &s.name == name);
                Node {
                    service: name.clone(),
                    role: role(name, status, d),
                    status: status.map_or_else(|| NO_CONTAINER.to_owned(), status_words),
                    layer: layer[name.as_str()],
                    slot: slots[name.as_str()],
                    finding: anchors.first_on(name).map(str::to_owned),
                }
            })
            .collect();
        Cascade {
            nodes,
            edges,
            links,
            layer_sizes,
        }
    }

    pub fn node(&self, service: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.service == service)
    }
}

/// The edges to draw: what the stack declares (`depends_on` in the compose model, else Compose
/// v2's `com.docker.compose.depends_on` label), sorted. Only a stack that declares no order at
/// all gets the URL edges of [`crate::stack::graph::graph`] instead: with `env_file: .env`
/// shared by every service, each container names every other, and drawn beside declared
/// edges those say nothing.
fn edges(s: &StackSnapshot) -> Vec<Edge> {
    fn push(out: &mut Vec<Edge>, dependency: &str, dependent: &str, how: How) {
        if dependency != dependent
            && !out
                .iter()
                .any(|e| e.dependency == dependency && e.dependent == dependent)
        {
            out.push(Edge {
                dependency: dependency.to_owned(),
                dependent: dependent.to_owned(),
                how,
            });
        }
    }
    let mut out: Vec<Edge> = Vec::new();
    for svc in s.compose.iter().flat_map(|m| &m.services) {
        for d in &svc.depends_on {
            push(&mut out, &d.service, &svc.name, How::DependsOn(d.condition));
        }
    }
    let modelled = |service: &str| {
        s.compose
            .as_ref()
            .is_some_and(|m| m.service(service).is_some())
    };
    for c in s.containers.iter().filter(|c| !modelled(&c.service)) {
        // "db:service_healthy:false,redis:service_started:false"
        let label = c.labels.get("com.docker.compose.depends_on");
        for item in label.into_iter().flat_map(|l| l.split(',')) {
            let mut parts = item.split(':');
            let Some(name) = parts.next().filter(|n| !n.is_empty()) else {
                continue;
            };
            let condition = match parts.next() {
                Some("service_healthy") => Condition::Healthy,
                Some("service_completed_successfully") => Condition::CompletedSuccessfully,
                _ => Condition::Started,
            };
            push(&mut out, name, &c.service, How::DependsOn(condition));
        }
    }
    if out.is_empty() {
        for (dependent, deps) in crate::stack::graph::graph(s) {
            for dependency in deps {
                push(&mut out, &dependency, &dependent, How::Url);
            }
        }
    }
    out.sort_by(|a, b| (&a.dependency, &a.dependent).cmp(&(&b.dependency, &b.dependent)));
    out
}

fn role(service: &str, status: Option<&ServiceStatus>, d: &Diagnosis) -> Role {
    let above_info = |f: &&Finding| f.service == service && f.severity > Severity::Info;
    if d.findings.iter().any(|f| above_info(&f)) {
        return Role::RootCause;
    }
    let all = d.all_findings();
    if all.iter().any(above_info) {
        return Role::Effect;
    }
    let Some(s) = status else {
        // No container: compose never created it (held back, or another profile).
        return if all.iter().any(|f| f.service == service) {
            Role::Note
        } else {
            Role::NotStarted
        };
    };
    {
        let failing = matches!(s.state.as_str(), "restarting" | "dead")
            || (s.state == "exited" && s.exit_code.is_some_and(|c| c != 0))
            || s.health.as_deref() == Some("unhealthy");
        if failing {
            return Role::Failing;
        }
        if s.state == "created" {
            return Role::NotStarted;
        }
    }
    if all.iter().any(|f| f.service == service) {
        return Role::Note;
    }
    Role::Ok
}

/// The status of a service the snapshot has no container of.
pub const NO_CONTAINER: &str = "no container";

/// `running · healthy`, `exited 1`, `restarting · 3 restarts`.
pub fn status_words(s: &ServiceStatus) -> String {
    let mut words = vec![match (s.state.as_str(), s.exit_code) {
        ("exited" | "dead", Some(code)) => format!("{} {code}", s.state),
        (state, _) => state.to_owned(),
    }];
    if let Some(h) = &s.health
        && s.state != "created"
    {
        words.push(h.clone());
    }
    if let Some(n) = s.restarts.filter(|n| *n > 0) {
        words.push(format!("{n} restart{}", if n == 1 { "" } else { "s" }));
    }
    words.join(" · ")
}

/// Each service's layer: one below the deepest of its dependencies.
fn layers<'a>(
    names: &'a [String],
    deps_of: &BTreeMap<&'a str, BTreeSet<&'a str>>,
) -> BTreeMap<&'a str, usize> {
    fn visit<'a>(
        n: &'a str,
        deps_of: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        on_path: &mut BTreeSet<&'a str>,
        done: &mut BTreeMap<&'a str, usize>,
    ) -> usize {
        if let Some(&l) = done.get(n) {
            return l;
        }
        on_path.insert(n);
        let mut l = 0;
        for &d in deps_of.get(n).into_iter().flatten() {
            // A dependency already on the path closes a cycle: that edge does not layer.
            if !on_path.contains(d) {
                l = l.max(visit(d, deps_of, on_path, done) + 1);
            }
        }
        on_path.remove(n);
        done.insert(n, l);
        l
    }
    let mut done = BTreeMap::new();
    for n in names {
        visit(n.as_str(), deps_of, &mut BTreeSet::new(), &mut done);
    }
    done
}

/// Each service's slot in its layer: diagnosis order first, then barycentre sweeps down and up
/// (each node moves towards the mean position of its neighbours in other layers).
fn order<'a>(
    names: &'a [String],
    layer: &BTreeMap<&'a str, usize>,
    edges: &[Edge],
) -> BTreeMap<&'a str, usize> {
    let count = layer.values().copied().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<&str>> = vec![Vec::new(); count];
    for n in names {
        rows[layer[n.as_str()]].push(n.as_str());
    }
    let neighbours = |n: &str| -> Vec<&str> {
        edges
            .iter()
            .filter_map(|e| {
                if e.dependent == n {
                    Some(e.dependency.as_str())
                } else if e.dependency == n {
                    Some(e.dependent.as_str())
                } else {
                    None
                }
            })
            .collect()
    };
    // Where a node stands across the picture, 0..1, whatever its layer's width.
    let position = |rows: &[Vec<&str>], n: &str| -> f64 {
        let row = &rows[layer[n]];
        let i = row.iter().position(|x| *x == n).unwrap_or(0);
        (i as f64 + 0.5) / row.len() as f64
    };
    let sweep = |rows: &mut Vec<Vec<&'a str>>, i: usize, towards: &dyn Fn(usize) -> bool| {
        let keys: Vec<(f64, usize)> = rows[i]
            .iter()
            .enumerate()
            .map(|(slot, n)| {
                let near: Vec<f64> = neighbours(n)
                    .into_iter()
                    .filter(|m| towards(layer[m]))
                    .map(|m| position(rows, m))
                    .collect();
                let key = if near.is_empty() {
                    position(rows, n)
                } else {
                    near.iter().sum::<f64>() / near.len() as f64
                };
                (key, slot)
            })
            .collect();
        let mut idx: Vec<usize> = (0..rows[i].len()).collect();
        idx.sort_by(|&a, &b| {
            keys[a]
                .0
                .total_cmp(&keys[b].0)
                .then(keys[a].1.cmp(&keys[b].1))
        });
        rows[i] = idx.into_iter().map(|j| rows[i][j]).collect();
    };
    for _ in 0..3 {
        for i in 1..count {
            sweep(&mut rows, i, &|l| l < i);
        }
        for i in (0..count.saturating_sub(1)).rev() {
            sweep(&mut rows, i, &|l| l > i);
        }
    }
    rows.iter()
        .flat_map(|row| row.iter().enumerate().map(|(slot, n)| (*n, slot)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::snapshot::testing::{container, stack, with_env};

    fn status(name: &str, state: &str, exit: Option<i64>) -> ServiceStatus {
        ServiceStatus {
            name: name.into(),
            containers: 1,
            state: state.into(),
            health: None,
            exit_code: exit,
            restarts: Some(0),
        }
    }

    #[test]
    fn a_cascade_is_layered_from_the_dependencies_down_and_the_roles_follow_the_findings() {
        let mut front = container("front");
        front.labels.insert(
            "com.docker.compose.depends_on".into(),
            "web:service_healthy:false".into(),
        );
        let mut web = with_env(
            container("web"),
            "DATABASE_URL",
            "postgresql://u:p@db:5432/x",
        );
        web.labels.insert(
            "com.docker.compose.depends_on".into(),
            "migrate:service_completed_successfully:false".into(),
        );
        let mut migrate = with_env(container("migrate"), "DATABASE_URL", "postgresql://db/x");
        migrate.labels.insert(
            "com.docker.compose.depends_on".into(),
            "db:service_started:false".into(),
        );
        // URLs do not draw edges beside declared ones: every service names every other when
        // they share an env file.
        let db = with_env(container("db"), "REDIS_URL", "redis://redis:6379/0");
        let snap = stack(vec![db, front, migrate, web, container("redis")]);
        let mut cause = Finding::bare("tables-missing", "migrate");
        let mut effect = Finding::bare("unclassified-failure", "web");
        effect.caused_by = Some("tables-missing on migrate".into());
        cause.effects.push(effect);
        let d = Diagnosis {
            input: None,
            project: "lab".into(),
            services: vec![
                status("db", "running", None),
                status("front", "created", None),
                status("migrate", "exited", Some(1)),
                status("web", "created", None),
                status("redis", "running", None),
            ],
            findings: vec![cause],
        };
        let anchors = Anchors::of(&d);
        let c = Cascade::of(&d, Some(&snap), &anchors);
        let at = |s: &str| {
            let n = c.node(s).expect(s);
            (n.layer, n.role)
        };
        assert_eq!(at("db"), (0, Role::Ok));
        assert_eq!(at("migrate"), (1, Role::RootCause));
        assert_eq!(at("web"), (2, Role::Effect));
        assert_eq!(at("front"), (3, Role::NotStarted));
        assert_eq!(at("redis"), (0, Role::Ok));
        assert_eq!(c.layer_sizes, vec![2, 1, 1, 1]);
        let hows: Vec<(&str, &str, &str)> = c
            .edges
            .iter()
            .map(|e| (e.dependency.as_str(), e.dependent.as_str(), e.how.label()))
            .collect();
        assert_eq!(
            hows,
            vec![
                ("db", "migrate", "started"),
                ("migrate", "web", "completed"),
                ("web", "front", "healthy"),
            ]
        );
        assert_eq!(
            c.links,
            vec![Link {
                cause: "migrate".into(),
                effect: "web".into(),
                finding: "unclassified-failure".into(),
                minor: false,
            }]
        );
        assert_eq!(
            c.node("migrate").and_then(|n| n.finding.as_deref()),
            Some("finding-tables-missing-migrate")
        );
        assert_eq!(
            c.node("migrate").map(|n| n.status.as_str()),
            Some("exited 1")
        );
    }

    #[test]
    fn a_layer_is_ordered_to_sit_under_what_it_depends_on() {
        // b1 depends on a2, b2 on a1: the lower layer swaps to uncross the edges.
        let mut snap = stack(vec![
            container("a1"),
            container("a2"),
            container("b1"),
            container("b2"),
        ]);
        snap.containers[2].labels.insert(
            "com.docker.compose.depends_on".into(),
            "a2:service_started:false".into(),
        );
        snap.containers[3].labels.insert(
            "com.docker.compose.depends_on".into(),
            "a1:service_started:false".into(),
        );
        let d = Diagnosis {
            input: None,
            project: "lab".into(),
            services: ["a1", "a2", "b1", "b2"]
                .iter()
                .map(|n| status(n, "running", None))
                .collect(),
            findings: vec![],
        };
        let anchors = Anchors::of(&d);
        let c = Cascade::of(&d, Some(&snap), &anchors);
        let slot = |s: &str| c.node(s).map(|n| (n.layer, n.slot));
        assert_eq!(slot("a1"), Some((0, 0)));
        assert_eq!(slot("b2"), Some((1, 0)));
        assert_eq!(slot("b1"), Some((1, 1)));
    }

    #[test]
    fn a_cycle_is_cut_not_followed_forever() {
        let a = with_env(container("a"), "URL", "http://b:1/");
        let b = with_env(container("b"), "URL", "http://a:1/");
        let snap = stack(vec![a, b]);
        let d = Diagnosis {
            input: None,
            project: "lab".into(),
            services: vec![status("a", "running", None), status("b", "running", None)],
            findings: vec![],
        };
        let anchors = Anchors::of(&d);
        let c = Cascade::of(&d, Some(&snap), &anchors);
        let layers: BTreeSet<usize> = c.nodes.iter().map(|n| n.layer).collect();
        assert_eq!(layers.len(), 2, "{c:?}");
        assert!(
            c.edges.iter().all(|e| e.how == How::Url),
            "nothing declared: URLs"
        );
    }
}
