//! The stack's own map of itself: which service depends on which, and which service a host name
//! points at. One place for both, read by the chain (what explains what), the dependency probe
//! (which service a client's error names) and the cascade drawing.
//!
//! Edges come from what the stack declares: `depends_on` (the compose file's model when there is
//! one, Compose v2's `com.docker.compose.depends_on` label otherwise) and the hosts of the URLs in
//! each container's environment, command line and entrypoint that name another service. A host
//! names a service by the service's name, a container's name or a network alias.
use super::snapshot::{ContainerSnapshot, StackSnapshot};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Service → the services it depends on, directly.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The dependency graph of the stack (see the module docs for where edges come from).
pub fn graph(snapshot: &StackSnapshot) -> Graph {
    let services: BTreeSet<&str> = snapshot.services().into_iter().collect();
    let mut g: Graph = services
        .iter()
        .map(|s| (s.to_string(), BTreeSet::new()))
        .collect();
    for c in &snapshot.containers {
        let deps = g.entry(c.service.clone()).or_default();
        // Compose v2: "db:service_healthy:false,redis:service_started:false".
        if let Some(label) = c.labels.get("com.docker.compose.depends_on") {
            for item in label.split(',') {
                if let Some(name) = item.split(':').next().filter(|n| !n.is_empty()) {
                    deps.insert(name.to_owned());
                }
            }
        }
        for host in c.url_hosts() {
            if let Some(svc) = snapshot.service_of_host(&host).filter(|s| *s != c.service) {
                deps.insert(svc.to_owned());
            }
        }
    }
    if let Some(model) = &snapshot.compose {
        for s in &model.services {
            let deps = g.entry(s.name.clone()).or_default();
            deps.extend(s.depends_on.iter().map(|d| d.service.clone()));
        }
    }
    g
}

/// Hosts of `scheme://[user[:pass]@]host[:port]` URLs anywhere in `text`.
pub fn url_hosts(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"[a-zA-Z][a-zA-Z0-9+.\-]*://(?:[^@/\s]*@)?(?P<host>[A-Za-z0-9_.\-]+)")
            .expect("url regex")
    });
    re.captures_iter(text)
        .map(|c| c["host"].to_owned())
        .collect()
}

/// Every service `from` depends on, directly or not (never `from` itself).
pub fn depends_on(g: &Graph, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(s) = stack.pop() {
        for d in g.get(&s).into_iter().flatten() {
            if d != from && seen.insert(d.clone()) {
                stack.push(d.clone());
            }
        }
    }
    seen
}

impl StackSnapshot {
    /// The containers a host name reaches on the stack's networks: by service name, container
    /// name or network alias (case-insensitive). `localhost` and addresses reach none.
    pub fn containers_of_host(&self, host: &str) -> Vec<&ContainerSnapshot> {
        let lower = host.to_ascii_lowercase();
        if lower == "localhost" || lower.parse::<std::net::IpAddr>().is_ok() {
            return Vec::new();
        }
        self.containers
            .iter()
            .filter(|c| {
                c.service.eq_ignore_ascii_case(host)
                    || c.name.eq_ignore_ascii_case(host)
                    || c.networks
                        .iter()
                        .any(|n| n.aliases.iter().any(|a| a.eq_ignore_ascii_case(host)))
            })
            .collect()
    }

    /// The service a host name reaches, if it is one of the stack's.
    pub fn service_of_host(&self, host: &str) -> Option<&str> {
        self.containers_of_host(host)
            .first()
            .map(|c| c.service.as_str())
    }
}

impl ContainerSnapshot {
    /// Hosts of the URLs in the container's environment, command line and entrypoint.
    pub fn url_hosts(&self) -> Vec<String> {
        self.env
            .iter()
            .map(|v| v.value.as_str())
            .chain(self.command.iter().map(String::as_str))
            .chain(self.entrypoint.iter().map(String::as_str))
            .flat_map(url_hosts)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls_anywhere_in_a_text() {
        assert_eq!(
            url_hosts("celery --broker=redis://:pw@broker:6379/0 worker"),
            ["broker"]
        );
        assert_eq!(
            url_hosts("postgresql+psycopg2://u:p@db:5432/x and redis://cache"),
            ["db", "cache"]
        );
    }

    #[test]
    fn transitive_dependencies_without_self() {
        let mut g = Graph::new();
        g.entry("web".into()).or_default().insert("db".into());
        g.entry("db".into()).or_default().insert("disk".into());
        g.entry("disk".into()).or_default().insert("web".into());
        let d = depends_on(&g, "web");
        assert_eq!(d.into_iter().collect::<Vec<_>>(), ["db", "disk"]);
    }
}
