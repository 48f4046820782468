//! The `dependency` probe: which service of the stack does a client's error name, and what state
//! is it in?
//!
//! On a compose network a stopped service looks exactly like a typo: its name stops resolving
//! (`could not translate host name "db"`, `Error -2 connecting to redis:6379`). Before calling a
//! URL wrong, look the name up among the stack's services and containers and read the target's
//! state. The host comes from the error text itself (the finding's evidence) or, failing that,
//! from the URLs in the client's environment. Reads the snapshot only: no network.
use super::{Ctx, Outcome, ProbeResult};
use crate::rules::{DependencyExpectation, ProbeSpec};
use crate::stack::snapshot::{ContainerSnapshot, StackSnapshot};
use regex::Regex;
use std::sync::OnceLock;

/// Host names a client error names: libpq, psycopg2, redis-py, celery/kombu wordings.
pub(crate) fn hosts_in_text(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(concat!(
            r#"could not translate host name "(?P<a>[^"]+)""#,
            r#"|connection to server at "(?P<b>[^"]+)""#,
            r#"|Error -?\d+ connecting to (?P<c>[A-Za-z0-9_.\-]+):\d+"#,
            r#"|Cannot connect to [a-z+]+://(?:[^@/\s]*@)?(?P<d>[A-Za-z0-9_.\-]+)"#,
            r#"|(?:getaddrinfo|resolve|lookup)[^"'\n]{0,40}?["'](?P<e>[A-Za-z0-9_.\-]+)["']"#,
        ))
        .expect("host regex")
    });
    re.captures_iter(text)
        .filter_map(|c| ["a", "b", "c", "d", "e"].iter().find_map(|n| c.name(n)))
        .map(|m| m.as_str().to_owned())
        .collect()
}

/// Hosts of the URLs in the client's environment and command line (the chain reads the same).
fn hosts_in_env(container: &ContainerSnapshot) -> Vec<String> {
    container
        .env
        .iter()
        .map(|v| v.value.as_str())
        .chain(container.command.iter().map(String::as_str))
        .flat_map(crate::engine::chain::url_hosts)
        .collect()
}

/// Where a host name points in the stack.
#[derive(Debug)]
enum Target<'s> {
    /// A service (by service name or container name) and its containers.
    Service(&'s str, Vec<&'s ContainerSnapshot>),
    /// Not a name of this stack.
    Unknown,
    /// An address or the container itself: not a service question.
    NotAName,
}

fn resolve<'s>(snapshot: &'s StackSnapshot, host: &str) -> Target<'s> {
    let lower = host.to_ascii_lowercase();
    if lower == "localhost" || lower.parse::<std::net::IpAddr>().is_ok() {
        return Target::NotAName;
    }
    let by_service: Vec<&ContainerSnapshot> = snapshot
        .containers
        .iter()
        .filter(|c| c.service.eq_ignore_ascii_case(host) || c.name.eq_ignore_ascii_case(host))
        .collect();
    match by_service.first() {
        Some(c) => Target::Service(c.service.as_str(), by_service),
        None => Target::Unknown,
    }
}

fn describe(c: &ContainerSnapshot) -> String {
    let mut s = format!("{} is {}", c.name, c.state.status);
    if !c.state.running && c.state.status != "created" {
        s.push_str(&format!(" (exit {})", c.state.exit_code));
    }
    if let Some(h) = &c.health {
        s.push_str(&format!(", health {}", h.status));
    }
    s
}

fn up(c: &ContainerSnapshot) -> bool {
    c.state.running
        && !c.state.restarting
        && c.health.as_ref().is_none_or(|h| h.status == "healthy")
}

/// Judge every `dependency` spec on the hosts named by the evidence (else the env URLs).
pub fn probe(specs: &[ProbeSpec], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let mut hosts: Vec<String> = ctx.hints.iter().flat_map(|t| hosts_in_text(t)).collect();
    let from_text = !hosts.is_empty();
    if !from_text {
        hosts = hosts_in_env(ctx.container);
    }
    hosts.dedup();
    let mut facts = Vec::new();
    let targets: Vec<(String, Target<'_>)> = hosts
        .into_iter()
        .map(|h| {
            let t = resolve(ctx.snapshot, &h);
            facts.push(match &t {
                Target::Service(svc, cs) => format!(
                    "`{h}` is service {svc}: {}",
                    cs.iter()
                        .map(|c| describe(c))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                Target::Unknown => format!(
                    "`{h}` is no service or container of the stack (services: {})",
                    ctx.snapshot.services().join(", ")
                ),
                Target::NotAName => format!("`{h}` is an address, not a service name"),
            });
            (h, t)
        })
        .collect();
    specs
        .iter()
        .map(|spec| {
            let ProbeSpec::Dependency { expect } = spec else {
                unreachable!("dependency specs only")
            };
            judge(spec, *expect, &targets, &facts)
        })
        .collect()
}

fn judge(
    spec: &ProbeSpec,
    expect: DependencyExpectation,
    targets: &[(String, Target<'_>)],
    facts: &[String],
) -> ProbeResult {
    let named: Vec<&(String, Target<'_>)> = targets
        .iter()
        .filter(|(_, t)| !matches!(t, Target::NotAName))
        .collect();
    if named.is_empty() {
        return ProbeResult::unknown(
            spec,
            "the error names no host of the stack to look up".into(),
            facts,
        );
    }
    let verdict = |o: Outcome, s: String| ProbeResult::new(spec, o, s, facts);
    let down = named.iter().find_map(|(h, t)| match t {
        Target::Service(svc, cs) if !cs.iter().any(|c| up(c)) => Some((h, svc, cs)),
        _ => None,
    });
    let unknown = named.iter().find(|(_, t)| matches!(t, Target::Unknown));
    match expect {
        DependencyExpectation::TargetDown => match (down, unknown) {
            (Some((h, svc, cs)), _) => verdict(
                Outcome::Confirmed,
                format!("`{h}` is service {svc}, which is down: {}", describe(cs[0])),
            ),
            (None, Some((h, _))) => verdict(
                Outcome::RuledOut,
                format!("`{h}` is not a service of the stack"),
            ),
            (None, None) => verdict(Outcome::RuledOut, format!("`{}` is up", named[0].0)),
        },
        DependencyExpectation::NotAService => match unknown {
            Some((h, _)) => verdict(
                Outcome::Confirmed,
                format!("`{h}` is no service or container of the stack"),
            ),
            None => verdict(
                Outcome::RuledOut,
                format!("`{}` is a service of the stack", named[0].0),
            ),
        },
        DependencyExpectation::TargetUp => match (down, unknown) {
            (Some((h, svc, cs)), _) => verdict(
                Outcome::RuledOut,
                format!("`{h}` (service {svc}) is down: {}", describe(cs[0])),
            ),
            (None, Some((h, _))) => verdict(
                Outcome::RuledOut,
                format!("`{h}` is not a service of the stack"),
            ),
            (None, None) => verdict(
                Outcome::Confirmed,
                format!(
                    "`{}` is up now: the client gave up before it was ready",
                    named[0].0
                ),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_client_error_wordings() {
        let cases = [
            (
                r#"psycopg2.OperationalError: could not translate host name "postgres" to address: Temporary failure in name resolution"#,
                "postgres",
            ),
            (
                r#"connection to server at "db" (172.18.0.2), port 5432 failed: Connection refused"#,
                "db",
            ),
            (
                "redis.exceptions.ConnectionError: Error -2 connecting to redis:6379. Name or service not known.",
                "redis",
            ),
            (
                "consumer: Cannot connect to redis://:secret@broker:6379/0: Error -3 connecting",
                "broker",
            ),
        ];
        for (text, host) in cases {
            assert_eq!(
                hosts_in_text(text).first().map(String::as_str),
                Some(host),
                "{text}"
            );
        }
        assert!(hosts_in_text("Traceback (most recent call last):").is_empty());
    }
}
