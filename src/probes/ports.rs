//! The `ports` probe: does anything listen on the port the health check asks?
//!
//! A health check that connects to a port nothing binds gets `Connection refused`, which reads
//! like a server that is down or still booting. The server usually says where it listens —
//! gunicorn's `Listening at: http://0.0.0.0:80`, Werkzeug's `Running on http://…:5000`,
//! uvicorn's `Uvicorn running on …`, Redis's `Running mode=standalone, port=6380`, PostgreSQL's
//! `listening on IPv4 address "0.0.0.0", port 5432` — and gunicorn's bind is also on its command
//! line or in `GUNICORN_CMD_ARGS`, which overrides the config file's `bind`, as is Redis's
//! `--port`. The health check's port is its URL's, or the `-p` of a `redis-cli` / `pg_isready`
//! check (their defaults otherwise). Comparing those with the port of
//! the health URL (or, for pasted output, the port the failed connection names) settles it without
//! touching the stack: this probe reads the snapshot only, so it runs offline too.
use super::python::gunicorn::bind_port;
use super::python::gunicorn_invocation;
use super::{Ctx, Outcome, ProbeResult};
use crate::rules::Expectation;
use crate::rules::{PortsExpectation, ProbeSpec};
use regex::Regex;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// `Listening at: http://0.0.0.0:80 (1)`, ` * Running on http://127.0.0.1:5000`,
/// `Uvicorn running on http://0.0.0.0:8000`, Redis's `Running mode=standalone, port=6380.`,
/// PostgreSQL's `listening on IPv4 address "0.0.0.0", port 5432`.
static LISTENING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?:Listening at|Running on|running on):? https?://(?:\[[^\]]*\]|[^\s:/]*):(\d{1,5})\b",
        r"|Running mode=\w+, port=(\d{1,5})\b",
        r"|accept connections on port (\d{1,5})\b",
        r#"|listening on IPv[46] address "[^"]*", port (\d{1,5})\b"#,
    ))
    .expect("listening pattern")
});
/// curl's `Failed to connect to localhost port 5000`, redis-cli's `Could not connect to Redis at
/// 127.0.0.1:6379: Connection refused`.
static REFUSED_PORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Failed to connect to [^\s]+ port (\d{1,5})|Could not connect to Redis at [^\s]*:(\d{1,5}):")
        .expect("refused pattern")
});

/// The port a `redis-cli` or `pg_isready` health check asks: its `-p N` (`-p=N`, `--port N`),
/// else the tool's default.
fn tool_port(test: &[String]) -> Option<(u16, String)> {
    let words: Vec<&str> = test
        .iter()
        .skip(1)
        .flat_map(|a| a.split_whitespace())
        .collect();
    let (at, default) = words.iter().enumerate().find_map(|(i, w)| {
        let name = w.rsplit('/').next().unwrap_or(w);
        match name {
            "redis-cli" => Some((i, 6379)),
            "pg_isready" => Some((i, 5432)),
            _ => None,
        }
    })?;
    let tool = words[at].rsplit('/').next().unwrap_or(words[at]);
    let args = &words[at + 1..];
    let given = args.iter().enumerate().find_map(|(i, w)| match *w {
        "-p" | "--port" => args.get(i + 1).and_then(|p| p.parse().ok()),
        _ => w
            .strip_prefix("--port=")
            .or_else(|| w.strip_prefix("-p"))
            .and_then(|p| p.parse().ok()),
    });
    Some(match given {
        Some(p) => (p, format!("{tool} -p {p} in the health check")),
        None => (
            default,
            format!("{tool} without -p in the health check: its default"),
        ),
    })
}

/// Judge every `ports` spec for `ctx.container`.
pub fn probe(expects: &[PortsExpectation], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let obs = observe(ctx);
    expects
        .iter()
        .map(|&expect| {
            let spec = &expect.spec();
            match expect {
                PortsExpectation::HealthPortUnbound => judge(spec, &obs),
                PortsExpectation::HostPortHeld => host_port_held(spec, ctx),
            }
        })
        .collect()
}

/// The host address and port the engine could not bind, from the error (the evidence, else the
/// container's state).
fn refused_bind(ctx: &Ctx<'_>) -> Option<(String, String)> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"Bind for (?P<a>\S*?):(?P<p>\d+) failed|listen (?:tcp|udp)[46]? (?P<b>\S*?):(?P<q>\d+): bind",
        )
        .expect("bind regex")
    });
    ctx.hints
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(ctx.container.state.error.as_str()))
        .find_map(|t| {
            let m = re.captures(t)?;
            let addr = m.name("a").or(m.name("b"))?.as_str();
            let port = m.name("p").or(m.name("q"))?.as_str();
            Some((addr.trim_matches(['[', ']']).to_owned(), port.to_owned()))
        })
}

/// Whether another container of the stack publishes the host port this one could not bind.
/// Reads the snapshot only: a holder outside the stack (another project, a host process) is left
/// unknown, never guessed.
fn host_port_held(spec: &ProbeSpec, ctx: &Ctx<'_>) -> ProbeResult {
    let Some((addr, port)) = refused_bind(ctx) else {
        return ProbeResult::unknown(spec, "the error names no host port".into(), &[]);
    };
    let any = |a: &str| a.is_empty() || a == "0.0.0.0" || a == "::";
    let holder = ctx.snapshot.containers.iter().find_map(|c| {
        (c.id != ctx.container.id)
            .then(|| {
                c.ports
                    .iter()
                    .find(|p| {
                        p.host_port == port && (any(&addr) || any(&p.host_ip) || p.host_ip == addr)
                    })
                    .map(|p| (c, p))
            })
            .flatten()
    });
    match holder {
        Some((c, p)) => ProbeResult::new(
            spec,
            Outcome::Confirmed,
            format!(
                "{} (service {}) publishes host port {port} ({}:{} → {}): the conflict is \
                 inside the stack",
                c.name,
                c.service,
                if p.host_ip.is_empty() {
                    "0.0.0.0"
                } else {
                    &p.host_ip
                },
                p.host_port,
                p.container_port
            ),
            &[format!("{} is {}", c.name, c.state.status)],
        )
        .with("holder", c.service.clone()),
        None => ProbeResult::unknown(
            spec,
            format!(
                "no other container of the stack publishes host port {port}: another project's \
                 container or a host process holds it"
            ),
            &[],
        ),
    }
}

/// What the snapshot says about one container's ports.
#[derive(Debug, Default)]
struct PortsSeen {
    /// The port the health check connects to, and where that was read.
    health: Option<(u16, String)>,
    /// Ports the server listens on, each with where it was read.
    listening: Vec<(u16, String)>,
}

fn observe(ctx: &Ctx<'_>) -> PortsSeen {
    let c = ctx.container;
    let env = ctx.env();
    let mut seen = PortsSeen::default();
    if let Some(check) = &c.healthcheck
        && let Ok(url) = super::http::health_url(&check.test, &env)
    {
        seen.health = Some((url.port, format!("health URL {}", url.url)));
    }
    if seen.health.is_none() {
        seen.health = c.healthcheck.as_ref().and_then(|h| tool_port(&h.test));
    }
    if seen.health.is_none() {
        seen.health = ctx.hints.iter().find_map(|h| {
            let caps = REFUSED_PORT.captures(h)?;
            let port = caps
                .iter()
                .skip(1)
                .flatten()
                .next()?
                .as_str()
                .parse()
                .ok()?;
            Some((port, format!("the health output: {}", h.trim())))
        });
    }
    for line in c.logs.lines.iter().rev() {
        if let Some(caps) = LISTENING.captures(&line.text)
            && let Some(Ok(port)) = caps
                .iter()
                .skip(1)
                .flatten()
                .next()
                .map(|m| m.as_str().parse::<u16>())
            && !seen.listening.iter().any(|(p, _)| *p == port)
        {
            seen.listening
                .push((port, format!("log: {}", line.text.trim())));
        }
    }
    let argv: Vec<String> = c.entrypoint.iter().chain(&c.command).cloned().collect();
    if argv.iter().any(|a| a.ends_with("redis-server"))
        && let Some(i) = argv.iter().position(|a| a == "--port")
        && let Some(port) = argv.get(i + 1).and_then(|p| p.parse::<u16>().ok())
        && !seen.listening.iter().any(|(p, _)| *p == port)
    {
        seen.listening
            .push((port, format!("redis-server --port {port}")));
    }
    if let Some(g) = gunicorn_invocation(&argv, None, &env) {
        for bind in &g.bind {
            if let Some(port) = bind_port(bind)
                && !seen.listening.iter().any(|(p, _)| *p == port)
            {
                seen.listening
                    .push((port, format!("gunicorn --bind {bind}")));
            }
        }
    }
    seen
}

fn judge(spec: &ProbeSpec, seen: &PortsSeen) -> ProbeResult {
    let mut facts: Vec<String> = Vec::new();
    if let Some((port, from)) = &seen.health {
        facts.push(format!("the health check connects to port {port} ({from})"));
    }
    facts.extend(
        seen.listening
            .iter()
            .map(|(p, from)| format!("listens on {p} ({from})")),
    );
    let Some((port, _)) = &seen.health else {
        return ProbeResult::unknown(spec, "no port to take from the health check".into(), &facts);
    };
    if seen.listening.is_empty() {
        return ProbeResult::unknown(
            spec,
            "the server says nowhere which port it listens on".into(),
            &facts,
        );
    }
    let bound: BTreeSet<u16> = seen.listening.iter().map(|(p, _)| *p).collect();
    let list = bound
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if bound.contains(port) {
        ProbeResult::new(
            spec,
            Outcome::RuledOut,
            format!("the server listens on {port}, the port the health check asks"),
            &facts,
        )
    } else {
        ProbeResult::new(
            spec,
            Outcome::Confirmed,
            format!("the health check asks port {port}; the server listens on {list}"),
            &facts,
        )
        .with("health_port", port.to_string())
        .with(
            "bound_port",
            bound.iter().next().map(u16::to_string).unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::Options;
    use crate::stack::snapshot::testing::{container, stack, with_env};
    use crate::stack::snapshot::{HealthcheckConfig, LogLine, Stream};

    fn run(c: crate::stack::snapshot::ContainerSnapshot, hints: &[String]) -> ProbeResult {
        let snapshot = stack(vec![c.clone()]);
        let ctx = Ctx {
            snapshot: &snapshot,
            container: &c,
            docker: None,
            opts: &Options::default(),
            hints,
        };
        probe(&[PortsExpectation::HealthPortUnbound], &ctx).remove(0)
    }

    fn held(all: Vec<crate::stack::snapshot::ContainerSnapshot>, who: &str) -> ProbeResult {
        let snapshot = stack(all);
        let c = snapshot
            .containers
            .iter()
            .find(|c| c.service == who)
            .unwrap();
        let ctx = Ctx {
            snapshot: &snapshot,
            container: c,
            docker: None,
            opts: &Options::default(),
            hints: &[],
        };
        probe(&[PortsExpectation::HostPortHeld], &ctx).remove(0)
    }

    fn publishing(
        service: &str,
        ip: &str,
        port: &str,
    ) -> crate::stack::snapshot::ContainerSnapshot {
        let mut c = container(service);
        c.ports = vec![crate::stack::snapshot::PortBinding {
            container_port: "8080/tcp".into(),
            host_ip: ip.into(),
            host_port: port.into(),
        }];
        c
    }

    fn refused(error: &str) -> crate::stack::snapshot::ContainerSnapshot {
        let mut c = container("canary");
        c.state.status = "created".into();
        c.state.exit_code = 128;
        c.state.error = error.into();
        c
    }

    #[test]
    fn a_stack_container_on_the_refused_host_port_is_the_holder() {
        let bind = "driver failed programming external connectivity on endpoint x: \
                    Bind for 127.0.0.1:47501 failed: port is already allocated";
        let r = held(
            vec![publishing("front", "127.0.0.1", "47501"), refused(bind)],
            "canary",
        );
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert_eq!(r.data["holder"], "front");
        // A wildcard on either side overlaps; another address or port does not.
        let r = held(
            vec![publishing("front", "", "47501"), refused(bind)],
            "canary",
        );
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        let r = held(
            vec![publishing("front", "127.0.0.2", "47501"), refused(bind)],
            "canary",
        );
        assert!(matches!(r.outcome, Outcome::Unknown(_)), "{r:?}");
        let r = held(
            vec![publishing("front", "127.0.0.1", "47502"), refused(bind)],
            "canary",
        );
        assert!(matches!(r.outcome, Outcome::Unknown(_)), "{r:?}");
        // A host process's wording, held by nothing in the stack: unknown, never guessed.
        let host = "listen tcp4 0.0.0.0:5001: bind: address already in use";
        let r = held(
            vec![publishing("front", "0.0.0.0", "5001"), refused(host)],
            "canary",
        );
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        let r = held(vec![refused(host)], "canary");
        assert!(matches!(r.outcome, Outcome::Unknown(_)), "{r:?}");
        let r = held(vec![refused("")], "canary");
        assert!(matches!(r.outcome, Outcome::Unknown(_)), "{r:?}");
    }

    fn web(log: &str) -> crate::stack::snapshot::ContainerSnapshot {
        let mut c = container("web");
        c.healthcheck = Some(HealthcheckConfig {
            test: vec![
                "CMD-SHELL".into(),
                "curl -f http://localhost:5000/api/health || exit 1".into(),
            ],
            interval_ns: 0,
            timeout_ns: 0,
            start_period_ns: 0,
            retries: 3,
        });
        c.logs.lines.push(LogLine {
            ts: None,
            stream: Stream::Stderr,
            text: log.into(),
        });
        c
    }

    #[test]
    fn a_health_check_on_another_port_than_the_bind_is_confirmed() {
        let r = run(
            web("[2024-05-02 10:00:01 +0000] [1] [INFO] Listening at: http://0.0.0.0:80 (1)"),
            &[],
        );
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
        assert_eq!(r.data["health_port"], "5000");
        assert_eq!(r.data["bound_port"], "80");
    }

    #[test]
    fn the_same_port_rules_it_out_and_gunicorn_cmd_args_counts() {
        let r = run(
            web("[2024-05-02 10:00:01 +0000] [1] [INFO] Listening at: http://0.0.0.0:5000 (1)"),
            &[],
        );
        assert_eq!(r.outcome, Outcome::RuledOut, "{r:?}");

        let mut c = with_env(web("booting"), "GUNICORN_CMD_ARGS", "--bind=0.0.0.0:80");
        c.command = vec!["gunicorn".into(), "app:app".into()];
        let r = run(c, &[]);
        assert_eq!(r.outcome, Outcome::Confirmed, "{r:?}");
    }

    #[test]
    fn pasted_output_names_the_port_in_the_refusal_and_silence_is_unknown() {
        let mut c = container("web");
        c.logs.lines.push(LogLine {
            ts: None,
            stream: Stream::Stdout,
            text: " * Running on http://127.0.0.1:8080".into(),
        });
        let hint = "curl: (7) Failed to connect to localhost port 5000 after 0 ms: Couldn't connect to server".to_owned();
        assert_eq!(run(c, &[hint]).outcome, Outcome::Confirmed);
        assert!(matches!(
            run(web("nothing"), &[]).outcome,
            Outcome::Unknown(_)
        ));
    }
}
