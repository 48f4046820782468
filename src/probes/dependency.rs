//! The `dependency` probe: which service of the stack does a client's error name, and what state
//! is it in?
//!
//! On a compose network a stopped service looks exactly like a typo: its name stops resolving
//! (`could not translate host name "db"`, `Error -2 connecting to redis:6379`). Before calling a
//! URL wrong, look the name up among the stack's services and containers and read the target's
//! state. The host comes from the error text itself (the finding's evidence) or, failing that,
//! from the URLs in the client's environment. Reads the snapshot only: no network.
use super::{Ctx, Outcome, ProbeResult};
use crate::rules::Expectation;
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

/// Hosts of the URLs in the client's environment, command line and entrypoint (what the chain's
/// graph reads). Only names that could be the stack's own: a dotted name (`api.example.com`) is
/// outside it, and with no error text to say it failed, there is nothing to judge about it.
fn hosts_in_env(container: &ContainerSnapshot) -> Vec<String> {
    container
        .url_hosts()
        .into_iter()
        .filter(|h| !h.contains('.') || h.parse::<std::net::IpAddr>().is_ok())
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
    let by_service = snapshot.containers_of_host(host);
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
pub fn probe(expects: &[DependencyExpectation], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let specs: Vec<ProbeSpec> = expects.iter().map(|e| e.spec()).collect();
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
        .zip(expects)
        .map(|(spec, expect)| match expect {
            DependencyExpectation::UrlPasswordStale => passwords(spec, Password::Stale, ctx),
            DependencyExpectation::UrlPasswordMissing => passwords(spec, Password::Missing, ctx),
            DependencyExpectation::UrlHostLoopback => loopback(spec, ctx),
            DependencyExpectation::TargetDown => judge(spec, Lookup::TargetDown, &targets, &facts),
            DependencyExpectation::NotAService => {
                judge(spec, Lookup::NotAService, &targets, &facts)
            }
            DependencyExpectation::TargetUp => judge(spec, Lookup::TargetUp, &targets, &facts),
        })
        .collect()
}

/// The expectations judged on the hosts the error (or the environment) names.
#[derive(Debug, Clone, Copy)]
enum Lookup {
    TargetDown,
    NotAService,
    TargetUp,
}

/// The expectations judged on the passwords of the client's URLs.
#[derive(Debug, Clone, Copy)]
enum Password {
    Stale,
    Missing,
}

fn judge(
    spec: &ProbeSpec,
    expect: Lookup,
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
        Lookup::TargetDown => match (down, unknown) {
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
        Lookup::NotAService => match unknown {
            Some((h, _)) => verdict(
                Outcome::Confirmed,
                format!("`{h}` is no service or container of the stack"),
            ),
            None => verdict(
                Outcome::RuledOut,
                format!("`{}` is a service of the stack", named[0].0),
            ),
        },
        Lookup::TargetUp => match (down, unknown) {
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

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a Redis URL the client is configured with names its own container. Reads the
/// container's environment and command only (the URL as configured, not the error's words): the
/// error says the client dialled localhost, this says where that came from — or that the
/// container shares the host's network, where localhost is the host and not the class.
fn loopback(spec: &ProbeSpec, ctx: &Ctx<'_>) -> ProbeResult {
    let c = ctx.container;
    let verdict = |o: Outcome, s: String, facts: &[String]| ProbeResult::new(spec, o, s, facts);
    let redis_urls: Vec<ClientUrl> = client_urls(c)
        .into_iter()
        .filter(|u| u.scheme.starts_with("redis"))
        .collect();
    let mut facts: Vec<String> = redis_urls
        .iter()
        .map(|u| format!("{}: a {} URL to `{}`", u.from, u.scheme, u.host))
        .collect();
    let servers: Vec<&str> = ctx
        .snapshot
        .containers
        .iter()
        .filter(|s| {
            s.image.contains("redis")
                || s.entrypoint
                    .iter()
                    .chain(&s.command)
                    .next()
                    .is_some_and(|p| p.ends_with("redis-server"))
        })
        .map(|s| s.service.as_str())
        .collect();
    if !servers.is_empty() {
        let mut names = servers.clone();
        names.dedup();
        facts.push(format!(
            "the stack's Redis service(s): {}",
            names.join(", ")
        ));
    }
    if c.networks.iter().any(|n| n.name == "host") {
        return verdict(
            Outcome::RuledOut,
            format!(
                "{} shares the host's network: localhost there is the host, not its own container",
                c.service
            ),
            &facts,
        );
    }
    match redis_urls.iter().find(|u| is_loopback(&u.host)) {
        Some(u) => verdict(
            Outcome::Confirmed,
            format!(
                "{} gives {} the Redis URL {}://{}: inside its container that is the container \
                 itself",
                u.from, c.service, u.scheme, u.host
            ),
            &facts,
        )
        .with("variable", u.from.clone()),
        None if redis_urls.is_empty() => ProbeResult::unknown(
            spec,
            format!(
                "no Redis URL in {}'s environment or command: the address comes from the app's \
                 own default",
                c.service
            ),
            &facts,
        ),
        None => ProbeResult::unknown(
            spec,
            format!(
                "every Redis URL in {}'s environment or command names another host: the loopback \
                 address comes from the app's code",
                c.service
            ),
            &facts,
        ),
    }
}

/// One URL of a client: scheme, user, whether it carries a password (and which), host.
struct ClientUrl {
    scheme: String,
    user: Option<String>,
    password: Option<String>,
    host: String,
    /// Where it was read: the variable's name, or `the command line`.
    from: String,
}

fn client_urls(c: &ContainerSnapshot) -> Vec<ClientUrl> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*)://(?:(?P<user>[^:@/\s]*)(?::(?P<pass>[^@/\s]*))?@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)",
        )
        .expect("url regex")
    });
    let texts = c
        .env
        .iter()
        .map(|v| (v.name.clone(), v.value.as_str()))
        .chain(
            c.entrypoint
                .iter()
                .chain(&c.command)
                .map(|a| ("the command line".to_owned(), a.as_str())),
        );
    let mut out = Vec::new();
    for (from, text) in texts {
        for m in re.captures_iter(text) {
            out.push(ClientUrl {
                scheme: m["scheme"].to_ascii_lowercase(),
                user: m
                    .name("user")
                    .map(|u| u.as_str().to_owned())
                    .filter(|u| !u.is_empty()),
                password: m.name("pass").map(|p| p.as_str().to_owned()),
                host: m["host"].to_owned(),
                from: from.clone(),
            });
        }
    }
    out
}

fn env_of<'c>(c: &'c ContainerSnapshot, name: &str) -> Option<&'c str> {
    c.env
        .iter()
        .rev()
        .find(|v| v.name == name)
        .map(|v| v.value.as_str())
}

/// What a database server is configured to accept: (user, password variable, password), from
/// the official images' variables.
fn server_login(
    server: &ContainerSnapshot,
    scheme: &str,
) -> Option<(String, &'static str, String)> {
    let (user_var, default_user, pass_vars): (&str, &str, &[&'static str]) = match scheme {
        s if s.starts_with("postgres") => ("POSTGRES_USER", "postgres", &["POSTGRES_PASSWORD"]),
        s if s.starts_with("mysql") || s.starts_with("mariadb") => (
            "MYSQL_USER",
            "root",
            &["MYSQL_PASSWORD", "MARIADB_PASSWORD"],
        ),
        _ => return None,
    };
    let user = env_of(server, user_var)
        .filter(|u| !u.is_empty())
        .unwrap_or(default_user)
        .to_owned();
    pass_vars
        .iter()
        .find_map(|v| env_of(server, v).map(|p| (user.clone(), *v, p.to_owned())))
}

/// Whether a Redis server requires a password: `--requirepass` on its command line, or the
/// `REDIS_PASSWORD` of images that take one. `None` when neither says (a config file may).
fn redis_requires_password(server: &ContainerSnapshot) -> Option<String> {
    let argv: Vec<&String> = server.entrypoint.iter().chain(&server.command).collect();
    let words: Vec<&str> = argv.iter().flat_map(|a| a.split_whitespace()).collect();
    if let Some(i) = words
        .iter()
        .position(|w| *w == "--requirepass" || *w == "requirepass")
        && words
            .get(i + 1)
            .is_some_and(|p| !p.is_empty() && *p != "\"\"" && *p != "''")
    {
        return Some("--requirepass on its command line".into());
    }
    env_of(server, "REDIS_PASSWORD")
        .filter(|p| !p.is_empty())
        .map(|_| "REDIS_PASSWORD in its environment".into())
}

/// The URL passwords of the client against what its servers are configured with. Values are
/// compared, never shown; a value the redactor masked (a bundle) cannot be compared.
fn passwords(spec: &ProbeSpec, expect: Password, ctx: &Ctx<'_>) -> ProbeResult {
    let c = ctx.container;
    // The user an authentication error names, to focus on that login.
    static USER: OnceLock<Regex> = OnceLock::new();
    let user_re = USER.get_or_init(|| {
        Regex::new(
            r#"(?:password authentication failed|Access denied) for user ["']?(?P<u>[^"'@\s]+)"#,
        )
        .expect("user regex")
    });
    let named_user = ctx
        .hints
        .iter()
        .find_map(|h| user_re.captures(h).map(|m| m["u"].to_owned()));
    let mut facts = Vec::new();
    let mut confirmed: Option<(String, ClientUrl)> = None;
    let mut ruled_out: Option<String> = None;
    let mut unknown: Option<String> = None;
    for url in client_urls(c) {
        let Target::Service(svc, servers) = resolve(ctx.snapshot, &url.host) else {
            continue;
        };
        let Some(server) = servers.first() else {
            continue;
        };
        // A server's own URL of itself (a shared env_file) is no client's.
        if svc == c.service {
            continue;
        }
        match expect {
            Password::Stale => {
                let Some((user, var, configured)) = server_login(server, &url.scheme) else {
                    continue;
                };
                let url_user = url.user.clone().unwrap_or_default();
                if named_user.as_ref().is_some_and(|n| *n != url_user) || url_user != user {
                    continue;
                }
                let Some(given) = &url.password else {
                    continue;
                };
                let masked = |p: &str| p.contains(crate::redact::MASK);
                if masked(given) || masked(&configured) {
                    unknown.get_or_insert(format!(
                        "{}'s password and {svc}'s {var} were masked: they cannot be compared",
                        url.from
                    ));
                    continue;
                }
                let same = *given == configured;
                facts.push(format!(
                    "{} logs in to {svc} as {user} with {} password than {svc}'s {var}",
                    url.from,
                    if same { "the same" } else { "another" }
                ));
                if same {
                    ruled_out.get_or_insert(format!(
                        "{}'s password for {user} is {svc}'s {var}",
                        url.from
                    ));
                } else {
                    confirmed.get_or_insert((
                        format!(
                            "{}'s password for {user} is not {svc}'s {var}: on a fresh volume the server has {var}, and refuses this URL",
                            url.from
                        ),
                        url,
                    ));
                }
            }
            Password::Missing => {
                if !url.scheme.starts_with("redis") {
                    continue;
                }
                let Some(how) = redis_requires_password(server) else {
                    unknown.get_or_insert(format!(
                        "{svc} sets no password on its command line or in its environment (a config file may)"
                    ));
                    continue;
                };
                let has = url.password.as_deref().is_some_and(|p| !p.is_empty());
                facts.push(format!(
                    "{} connects to {svc} {} a password; {svc} requires one ({how})",
                    url.from,
                    if has { "with" } else { "without" }
                ));
                if has {
                    ruled_out.get_or_insert(format!("{} gives {svc} a password", url.from));
                } else {
                    confirmed.get_or_insert((
                        format!(
                            "{} connects to {svc} without a password, and {svc} requires one ({how})",
                            url.from
                        ),
                        url,
                    ));
                }
            }
        }
    }
    match (confirmed, ruled_out, unknown) {
        (Some((summary, url)), _, _) => {
            ProbeResult::new(spec, Outcome::Confirmed, summary, &facts).with("variable", url.from)
        }
        (None, Some(summary), _) => ProbeResult::new(spec, Outcome::RuledOut, summary, &facts),
        (None, None, Some(why)) => ProbeResult::unknown(spec, why, &facts),
        (None, None, None) => ProbeResult::unknown(
            spec,
            format!(
                "{} has no URL with a login to a server of the stack",
                c.name
            ),
            &facts,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::probes::Options;
    use crate::stack::snapshot::testing::{container, stack, with_env};

    fn run_on(
        all: Vec<ContainerSnapshot>,
        client: &str,
        expect: DependencyExpectation,
    ) -> ProbeResult {
        let snapshot = stack(all);
        let c = snapshot
            .containers
            .iter()
            .find(|c| c.service == client)
            .expect("client");
        let ctx = Ctx {
            snapshot: &snapshot,
            container: c,
            docker: None,
            opts: &Options::default(),
            hints: &[],
        };
        probe(&[expect], &ctx).remove(0)
    }

    fn db(password: &str) -> ContainerSnapshot {
        with_env(
            with_env(container("db"), "POSTGRES_USER", "analylit"),
            "POSTGRES_PASSWORD",
            password,
        )
    }

    #[test]
    fn a_client_url_with_another_password_than_the_server_is_stale() {
        let web = with_env(
            container("web"),
            "DATABASE_URL",
            "postgresql://analylit:old-secret@db:5432/analylit",
        );
        let r = run_on(
            vec![db("new-secret"), web.clone()],
            "web",
            DependencyExpectation::UrlPasswordStale,
        );
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert!(!format!("{r:?}").contains("secret"), "no password shown");
        assert_eq!(r.data["variable"], "DATABASE_URL");
        let r = run_on(
            vec![db("old-secret"), web.clone()],
            "web",
            DependencyExpectation::UrlPasswordStale,
        );
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
        let r = run_on(
            vec![db("***"), web],
            "web",
            DependencyExpectation::UrlPasswordStale,
        );
        assert!(matches!(r.outcome, Outcome::Unknown(_)), "masked: {r:?}");
    }

    fn rq(url: &str) -> ContainerSnapshot {
        let mut worker = container("worker");
        worker.command = ["rq", "worker", "--url", url, "default"]
            .map(str::to_owned)
            .to_vec();
        worker
    }

    fn redis() -> ContainerSnapshot {
        let mut r = container("redis");
        r.image = "redis:7".into();
        r
    }

    #[test]
    fn a_redis_url_naming_the_container_itself_is_confirmed_and_where_it_is_said() {
        let expect = DependencyExpectation::UrlHostLoopback;
        for url in [
            "redis://localhost:6379/0",
            "redis://127.0.0.1:6379",
            "redis://:pw@[::1]:6379/0",
        ] {
            let r = run_on(vec![redis(), rq(url)], "worker", expect);
            assert_eq!(r.outcome, Outcome::Confirmed, "{url}: {r:?}");
            assert_eq!(r.data["variable"], "the command line");
            assert!(
                r.facts.iter().any(|f| f.contains("service(s): redis")),
                "{r:?}"
            );
            assert!(!format!("{r:?}").contains("pw@"), "no userinfo shown");
        }
        let env = with_env(container("worker"), "REDIS_URL", "redis://LOCALHOST:6379");
        let r = run_on(vec![redis(), env], "worker", expect);
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert_eq!(r.data["variable"], "REDIS_URL");
    }

    #[test]
    fn the_service_name_or_no_url_is_unknown_and_the_host_network_rules_it_out() {
        let expect = DependencyExpectation::UrlHostLoopback;
        let r = run_on(vec![redis(), rq("redis://redis:6379/0")], "worker", expect);
        assert!(matches!(r.outcome, Outcome::Unknown(_)), "{r:?}");
        // A loopback URL of another scheme is not the Redis client's.
        let pg = with_env(
            container("worker"),
            "DATABASE_URL",
            "postgresql://u@localhost/d",
        );
        let r = run_on(vec![redis(), pg], "worker", expect);
        assert!(matches!(r.outcome, Outcome::Unknown(_)), "{r:?}");
        let mut on_host = rq("redis://localhost:6379/0");
        on_host.networks = vec![crate::stack::snapshot::NetworkAttachment {
            name: "host".into(),
            ..Default::default()
        }];
        let r = run_on(vec![redis(), on_host], "worker", expect);
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
    }

    #[test]
    fn a_redis_url_without_the_password_the_server_requires() {
        let mut redis = container("redis");
        redis.command = vec![
            "redis-server".into(),
            "--requirepass".into(),
            "s3cret".into(),
        ];
        let mut worker = container("worker");
        worker.command = vec![
            "rq".into(),
            "worker".into(),
            "--url".into(),
            "redis://redis:6379/0".into(),
        ];
        let r = run_on(
            vec![redis.clone(), worker],
            "worker",
            DependencyExpectation::UrlPasswordMissing,
        );
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert!(
            r.summary
                .starts_with("the command line connects to redis without a password")
        );
        let web = with_env(
            container("web"),
            "REDIS_URL",
            "redis://:s3cret@redis:6379/0",
        );
        let r = run_on(
            vec![redis, web.clone()],
            "web",
            DependencyExpectation::UrlPasswordMissing,
        );
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
        let r = run_on(
            vec![container("redis"), web],
            "web",
            DependencyExpectation::UrlPasswordMissing,
        );
        assert!(matches!(r.outcome, Outcome::Unknown(_)), "{r:?}");
    }

    #[test]
    fn network_aliases_are_names_of_the_stack_and_dotted_env_hosts_are_not_judged() {
        let mut db = container("db");
        db.networks = vec![crate::stack::snapshot::NetworkAttachment {
            name: "default".into(),
            ip: String::new(),
            aliases: vec!["postgres".into()],
        }];
        let web = with_env(
            with_env(
                container("web"),
                "DATABASE_URL",
                "postgresql://u:p@postgres/x",
            ),
            "API_URL",
            "https://api.example.com/v1",
        );
        let r = run_on(vec![db, web], "web", DependencyExpectation::NotAService);
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");
    }

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
