//! The `http-route` probe: does the health-check URL reach Flask, and does the route live under
//! another prefix?
//!
//! The health check runs inside the container, so its URL names the container itself
//! (`http://localhost:5001/api/settings/profiles`). The probe sends the same request to the same
//! server: over the port the container publishes on 127.0.0.1 when it publishes one, else from
//! inside the container's network ([`super::transport`]: a relay container, or the relay run with
//! `exec`), never to a container address from the host. A server that refuses on its network
//! address is asked once more on its own loopback through `exec` (it may bind 127.0.0.1 only).
//! It then GETs the health path and, when that is a 404, its two look-alikes — first segment
//! doubled (`/api/api/settings/profiles`) and first segment dropped (`/settings/profiles`) —
//! three requests at most. The path taken is in the facts.
//!
//! The client is a few lines of plain HTTP/1.1 (`GET`, `Host`, `Connection: close`) rather than
//! an HTTP crate: the probe needs a status line and the start of a body, bounded in time (one
//! deadline per request for connect, headers and body) and in size (64 KiB), over any stream.
use super::transport::{self, Duplex, ExecTarget, InNetwork, OpenError, Route};
use super::{Ctx, Outcome, ProbeResult};
use crate::rules::{ProbeSpec, RouteExpectation};
use crate::stack::snapshot::ContainerSnapshot;
use regex::Regex;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

/// The most bytes read from one answer.
pub const MAX_ANSWER: usize = 64 * 1024;

/// What Flask (Werkzeug's `NotFound`) puts in its default 404 page, in every version since 0.x:
/// the title, and a description that nginx's and Apache's 404 pages (same title) do not have.
const FLASK_404_MARKS: [&[u8]; 2] = [
    b"<title>404 Not Found</title>",
    b"The requested URL was not found on the server.",
];

/// The URL a health check requests, as far as the probe needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthUrl {
    /// The URL as written (after shell variable expansion), for facts.
    pub url: String,
    /// `host[:port]` as written, sent as the `Host` header so the app sees what the health check
    /// sends.
    pub authority: String,
    /// The port inside the container.
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

/// Why a health check gives no URL the probe can request from inside the container.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoHealthUrl {
    #[error("the health check runs no command to take a URL from")]
    NoCommand,
    #[error("the health check requests no http:// URL")]
    NoHttpUrl,
    #[error("the health URL is https: not probed")]
    Https,
    #[error("cannot read a host and port from `{0}`")]
    NoHostPort(String),
    #[error(
        "the health URL names `{0}`, not the container itself: the in-container probe comes later"
    )]
    NotLocal(String),
}

/// Find the `http://` URL in a health-check test (`["CMD-SHELL", "curl -fsS http://… || exit
/// 1"]`, `["CMD", "curl", "-f", "http://…"]`, a `python -c "…urlopen('http://…')"` one-liner).
/// `env` expands `$NAME` / `${NAME}` / `${NAME:-default}` in shell-form tests.
pub fn health_url(test: &[String], env: &[(String, String)]) -> Result<HealthUrl, NoHealthUrl> {
    let (form, args) = match test.split_first() {
        Some((form, args)) if form != "NONE" && !args.is_empty() => (form.as_str(), args),
        _ => return Err(NoHealthUrl::NoCommand),
    };
    let mut command = args.join(" ");
    if form == "CMD-SHELL" {
        command = expand_vars(&command, env);
    }
    static URL: OnceLock<Regex> = OnceLock::new();
    let re = URL.get_or_init(|| {
        Regex::new(r#"(?i)\b(https?)://([^/?#\s'"\\|;&<>()`]+)([^\s'"\\|;&<>()`#]*)"#)
            .expect("url regex")
    });
    let Some(c) = re.captures(&command) else {
        return Err(NoHealthUrl::NoHttpUrl);
    };
    if c[1].eq_ignore_ascii_case("https") {
        return Err(NoHealthUrl::Https);
    }
    // Credentials in the URL are neither sent nor repeated in facts.
    let authority = c[2].rsplit_once('@').map_or(&c[2], |(_, a)| a).to_owned();
    let url = format!("{}://{authority}{}", &c[1], &c[3]);
    let (host, port) =
        split_authority(&authority).ok_or_else(|| NoHealthUrl::NoHostPort(authority.clone()))?;
    if !is_local(host) {
        return Err(NoHealthUrl::NotLocal(host.to_owned()));
    }
    let rest = &c[3];
    let target = if rest.starts_with('/') {
        rest.to_owned()
    } else {
        format!("/{rest}")
    };
    Ok(HealthUrl {
        url,
        authority,
        port,
        target,
    })
}

/// `(host, port)` of `host`, `host:port`, `[v6]` or `[v6]:port`; port 80 when absent.
fn split_authority(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0)?,
        None => 80,
    };
    (!host.is_empty()).then_some((host, port))
}

/// Whether a health URL's host is the container itself.
fn is_local(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    matches!(
        host.as_str(),
        "localhost" | "ip6-localhost" | "0.0.0.0" | "::1" | "::"
    ) || host.starts_with("127.")
}

/// Shell-style `$NAME`, `${NAME}` and `${NAME:-default}`; unknown names stay as written (and
/// then fail to parse as a port, which says more than an empty string would).
fn expand_vars(text: &str, env: &[(String, String)]) -> String {
    static VAR: OnceLock<Regex> = OnceLock::new();
    let re = VAR.get_or_init(|| {
        Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
            .expect("var regex")
    });
    re.replace_all(text, |c: &regex::Captures<'_>| {
        let name = c.get(1).or_else(|| c.get(3)).expect("a name").as_str();
        match env.iter().find(|(n, _)| n == name) {
            Some((_, v)) if !v.is_empty() => v.clone(),
            _ => match c.get(2) {
                Some(default) => default.as_str().to_owned(),
                None => c[0].to_owned(),
            },
        }
    })
    .into_owned()
}

/// The host port publishing `container_port/tcp` on 127.0.0.1 or on every address (`0.0.0.0`,
/// or empty): the only ones the probe may use.
pub fn loopback_port(container: &ContainerSnapshot, container_port: u16) -> Option<u16> {
    let wanted = [format!("{container_port}/tcp"), container_port.to_string()];
    container
        .ports
        .iter()
        .filter(|p| wanted.contains(&p.container_port))
        .filter(|p| matches!(p.host_ip.as_str(), "127.0.0.1" | "0.0.0.0" | ""))
        .find_map(|p| p.host_port.parse::<u16>().ok().filter(|&p| p != 0))
}

/// The look-alikes of a path: `/a/b/c` → `/a/a/b/c` (first segment doubled) and `/b/c` (first
/// segment missing). A one-segment path has only the doubled variant; `/` has none. A query
/// string is kept on each.
pub fn variants(target: &str) -> Vec<String> {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, format!("?{q}")),
        None => (target, String::new()),
    };
    let Some(p) = path.strip_prefix('/') else {
        return Vec::new();
    };
    let (first, rest) = p.split_once('/').unwrap_or((p, ""));
    if first.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!("/{first}/{p}{query}")];
    if !rest.is_empty() {
        out.push(format!("/{rest}{query}"));
    }
    out
}

/// An HTTP answer, as much as the probe needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// A 404 whose body is Flask's default 404 page.
    pub flask_404: bool,
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.status, self.flask_404) {
            (404, true) => f.write_str("404 (Flask's 404 page)"),
            (404, false) => f.write_str("404 (not Flask's 404 page)"),
            (status, _) => write!(f, "{status}"),
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Nothing (or no complete status line and headers) within the deadline.
    Timeout(Duration),
    Refused,
    Io(String),
    /// Bytes came back, but not an HTTP/1 status line.
    NotHttp,
    /// No way into the container's network to send the request.
    NoPath(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Timeout(d) => write!(f, "no answer within {}", human(*d)),
            FetchError::Refused => f.write_str("connection refused"),
            FetchError::Io(e) => f.write_str(e),
            FetchError::NotHttp => f.write_str("the answer is not HTTP"),
            FetchError::NoPath(why) => write!(f, "no way to send the request: {why}"),
        }
    }
}

fn human(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// `GET target` on 127.0.0.1:`port` — the address is fixed here, callers choose only the port.
/// Connect, send, headers and body share one deadline `timeout` from now; at most
/// [`MAX_ANSWER`] bytes are read. When the deadline passes after the headers arrived, the
/// answer is judged on the body read so far.
pub async fn get(
    port: u16,
    host: &str,
    target: &str,
    timeout: Duration,
) -> Result<Answer, FetchError> {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = timeout_at(deadline, TcpStream::connect(addr))
        .await
        .map_err(|_| FetchError::Timeout(timeout))?
        .map_err(io_error)?;
    get_over(Box::new(stream), host, target, deadline, timeout).await
}

fn io_error(e: std::io::Error) -> FetchError {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => FetchError::Refused,
        _ => FetchError::Io(e.to_string()),
    }
}

/// `GET target` over a stream already open, by `deadline` (`timeout` is how long that was, for
/// the message). At most [`MAX_ANSWER`] bytes are read.
pub async fn get_over(
    mut stream: Box<dyn Duplex>,
    host: &str,
    target: &str,
    deadline: Instant,
    timeout: Duration,
) -> Result<Answer, FetchError> {
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: analylit-doctor/{}\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    timeout_at(deadline, stream.write_all(request.as_bytes()))
        .await
        .map_err(|_| FetchError::Timeout(timeout))?
        .map_err(io_error)?;
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut chunk = vec![0u8; 8 * 1024];
    while buf.len() < MAX_ANSWER {
        let want = chunk.len().min(MAX_ANSWER - buf.len());
        match timeout_at(deadline, stream.read(&mut chunk[..want])).await {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                if complete(&buf) {
                    break;
                }
            }
            // A reset or a stall after the headers: judge what arrived.
            Ok(Err(e)) if head_end(&buf).is_none() => return Err(io_error(e)),
            Err(_) if head_end(&buf).is_none() => return Err(FetchError::Timeout(timeout)),
            Ok(Err(_)) | Err(_) => break,
        }
    }
    if buf.is_empty() {
        // The relay's end of stream with nothing said: the connection was closed unanswered.
        return Err(FetchError::Io(
            "the connection closed without an answer".into(),
        ));
    }
    parse_answer(&buf)
}

/// One `GET` along `route`: open a connection (bounded by `opts.open_timeout` for a relay, then
/// `opts.timeout` for the exchange), send, read, close.
async fn fetch(
    route: &Route,
    ctx: &Ctx<'_>,
    host: &str,
    target: &str,
) -> (Result<Answer, FetchError>, String) {
    let t = ctx.opts.timeout;
    let opened = transport::open(
        route,
        ctx.docker,
        &ctx.snapshot.project,
        t,
        ctx.opts.open_timeout,
    )
    .await;
    match opened {
        Ok(conn) => {
            let deadline = Instant::now() + t;
            let result = get_over(conn.stream, host, target, deadline, t).await;
            conn.closer.close().await;
            (result, conn.via)
        }
        Err(e) => {
            let via = e.via().map_or_else(|| route.to_string(), str::to_owned);
            let result = Err(match e {
                OpenError::Refused { .. } => FetchError::Refused,
                OpenError::Timeout { .. } => FetchError::Timeout(t),
                OpenError::Unreachable { reason, .. } => FetchError::Io(reason),
                OpenError::NoPath(why) => FetchError::NoPath(why.join("; ")),
            });
            (result, via)
        }
    }
}

/// Where the headers end (the index after `\r\n\r\n`).
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Whether the whole answer has arrived, so a server that keeps the connection open despite
/// `Connection: close` does not cost the whole timeout.
fn complete(buf: &[u8]) -> bool {
    let Some(end) = head_end(buf) else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    if matches!(status, Some(100..=199 | 204 | 304)) {
        return true;
    }
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim() == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        return buf.len() - end >= len;
    }
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return buf.ends_with(b"0\r\n\r\n");
    }
    false
}

fn parse_answer(buf: &[u8]) -> Result<Answer, FetchError> {
    let line_end = buf
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(buf.len());
    let line = String::from_utf8_lossy(&buf[..line_end]);
    let mut parts = line.split_whitespace();
    let version = parts.next().unwrap_or("");
    let status = parts
        .next()
        .filter(|s| s.len() == 3)
        .and_then(|s| s.parse::<u16>().ok());
    let (true, Some(status)) = (version.starts_with("HTTP/1."), status) else {
        return Err(FetchError::NotHttp);
    };
    let body = &buf[head_end(buf).unwrap_or(buf.len())..];
    let flask_404 = status == 404 && FLASK_404_MARKS.iter().all(|m| contains(body, m));
    Ok(Answer { status, flask_404 })
}

/// Whether `needle` occurs in `hay`, ASCII case aside.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// One request and what came of it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Path and query requested.
    pub target: String,
    pub result: Result<Answer, FetchError>,
}

impl Exchange {
    fn fact(&self) -> String {
        match &self.result {
            Ok(a) => format!("GET {} → {a}", self.target),
            Err(e) => format!("GET {} → {e}", self.target),
        }
    }

    fn answering(&self) -> Option<Answer> {
        self.result
            .as_ref()
            .ok()
            .copied()
            .filter(|a| a.status != 404)
    }
}

/// What the requests of one container showed, judged per expectation by
/// [`RouteObservation::judge`].
#[derive(Debug, Clone)]
pub struct RouteObservation {
    /// Why no request was made (no health URL, no loopback port, not running).
    pub blocked: Option<String>,
    /// Where the requests went, then one line per request.
    pub facts: Vec<String>,
    pub health: Option<Exchange>,
    pub variants: Vec<Exchange>,
    /// The path the health request took ([`super::transport::Conn::via`]).
    pub via: Option<String>,
}

/// GET the container's health URL and, when it is a 404, its prefix variants (concurrently):
/// over the port it publishes on 127.0.0.1, else from inside its network
/// ([`transport`]) — and, when its address there refuses, on its own loopback through `exec`
/// (a server bound to 127.0.0.1 answers the health check, which runs inside, and nothing else).
pub async fn observe(ctx: &Ctx<'_>) -> RouteObservation {
    let container = ctx.container;
    let mut obs = RouteObservation {
        blocked: None,
        facts: Vec::new(),
        health: None,
        variants: Vec::new(),
        via: None,
    };
    let status = container.state.status.as_str();
    if status != "running" {
        obs.blocked = Some(format!(
            "{} is {status}, not running: nothing answers HTTP",
            container.name
        ));
        return obs;
    }
    let Some(check) = &container.healthcheck else {
        obs.blocked = Some(format!(
            "{} has no health check to take a URL from",
            container.name
        ));
        return obs;
    };
    let env: Vec<(String, String)> = container
        .env
        .iter()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect();
    let url = match health_url(&check.test, &env) {
        Ok(url) => url,
        Err(reason) => {
            obs.blocked = Some(reason.to_string());
            return obs;
        }
    };
    // A remote engine's published ports are on its own host: never dialled from here.
    let published =
        loopback_port(container, url.port).filter(|_| !ctx.snapshot.backend.remote_engine);
    let route = match published {
        Some(port) => Route::Loopback {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            service: container.service.clone(),
            port: url.port,
        },
        None => match transport::in_network(ctx.snapshot, container, container, url.port) {
            Some(n) => Route::InNetwork(n),
            None => {
                obs.blocked = Some(format!(
                    "container port {} is not published on 127.0.0.1 and the snapshot knows no \
                     network of {}",
                    url.port, container.name
                ));
                return obs;
            }
        },
    };
    if let Err(why) = ctx.docker()
        && matches!(route, Route::InNetwork(_))
    {
        obs.blocked = Some(why.to_string());
        return obs;
    }
    let (mut result, mut via) = fetch(&route, ctx, &url.authority, &url.target).await;
    let mut route = route;
    if let (Err(FetchError::Refused), Route::InNetwork(n)) = (&result, &route) {
        let inside: Vec<ExecTarget> = n
            .exec_in
            .iter()
            .filter(|t| t.id == container.id)
            .cloned()
            .collect();
        if !inside.is_empty() {
            obs.facts
                .push(format!("GET {} via {via} → connection refused", url.target));
            let own = Route::InNetwork(InNetwork {
                images: vec![],
                exec_in: inside,
                ..n.clone()
            });
            (result, via) = fetch(&own, ctx, &url.authority, &url.target).await;
            if result.is_ok() {
                obs.facts.push(format!(
                    "{} answers on its own loopback only: it binds 127.0.0.1",
                    container.name
                ));
                route = own;
            }
        }
    }
    let health = Exchange {
        target: url.target.clone(),
        result,
    };
    obs.facts
        .push(format!("health URL {}, asked via {via}", url.url));
    obs.facts.push(health.fact());
    obs.via = Some(via);
    let is_404 = matches!(health.result, Ok(Answer { status: 404, .. }));
    obs.health = Some(health);
    if is_404 {
        let (route, authority) = (&route, url.authority.as_str());
        obs.variants = futures_util::future::join_all(variants(&url.target).into_iter().map(
            |target| async move {
                let (result, _) = fetch(route, ctx, authority, &target).await;
                Exchange { target, result }
            },
        ))
        .await;
        obs.facts.extend(obs.variants.iter().map(Exchange::fact));
    }
    obs
}

impl RouteObservation {
    /// The outcome for one expectation:
    /// - no request possible, or no answer on the health URL → unknown;
    /// - the health URL answers anything but 404 → ruled out (the route is there);
    /// - a 404 that is not Flask's page → unknown (a custom handler, or not Flask);
    /// - Flask's 404: `flask-404` confirmed; `prefix-variant-answers` confirmed when a variant
    ///   answers non-404, ruled out when every variant is 404; `no-variant-answers` the reverse;
    ///   a variant without an answer (and none answering) leaves both unknown.
    pub fn judge(&self, spec: &ProbeSpec, expect: RouteExpectation) -> ProbeResult {
        let judged = self.judge_request(spec, expect);
        match &self.via {
            Some(via) => judged.with("via", via.clone()),
            None => judged,
        }
    }

    fn judge_request(&self, spec: &ProbeSpec, expect: RouteExpectation) -> ProbeResult {
        let unknown = |reason: String| ProbeResult::unknown(spec, reason, &self.facts);
        let verdict = |outcome: Outcome, summary: String| {
            ProbeResult::new(spec, outcome, summary, &self.facts)
        };
        if let Some(reason) = &self.blocked {
            return unknown(reason.clone());
        }
        let Some(health) = &self.health else {
            return unknown("the health URL was not requested".into());
        };
        let path = &health.target;
        let answer = match &health.result {
            Ok(a) => *a,
            Err(e) => return unknown(e.to_string()),
        };
        if expect == RouteExpectation::Answers {
            return if (200..400).contains(&answer.status) {
                verdict(
                    Outcome::Confirmed,
                    format!(
                        "{path} answers {}: the app works, the check itself fails",
                        answer.status
                    ),
                )
            } else {
                verdict(
                    Outcome::RuledOut,
                    format!("{path} answers {}", answer.status),
                )
            };
        }
        if answer.status != 404 {
            return verdict(
                Outcome::RuledOut,
                format!("{path} answers {}", answer.status),
            );
        }
        if !answer.flask_404 {
            return unknown(format!("{path} answers 404, but not with Flask's 404 page"));
        }
        if expect == RouteExpectation::Flask404 {
            return verdict(
                Outcome::Confirmed,
                format!("{path} answers Flask's 404 page: Flask is up, the route is missing"),
            );
        }
        let prefix = expect == RouteExpectation::PrefixVariantAnswers;
        if let Some((v, a)) = self
            .variants
            .iter()
            .find_map(|v| v.answering().map(|a| (v, a)))
        {
            let (outcome, summary) = if prefix {
                (
                    Outcome::Confirmed,
                    format!(
                        "{path} is Flask's 404 while {} answers {}",
                        v.target, a.status
                    ),
                )
            } else {
                (
                    Outcome::RuledOut,
                    format!("{} answers {}", v.target, a.status),
                )
            };
            return verdict(outcome, summary);
        }
        if let Some(v) = self.variants.iter().find(|v| v.result.is_err()) {
            let e = v.result.as_ref().expect_err("an error");
            return unknown(format!("{}: {e}", v.target));
        }
        let tried: Vec<&str> = self.variants.iter().map(|v| v.target.as_str()).collect();
        let tried = if tried.is_empty() {
            "it has no segment to double or drop".to_owned()
        } else {
            format!("{} answer 404 too", tried.join(" and "))
        };
        if prefix {
            verdict(
                Outcome::RuledOut,
                format!("no prefix variant of {path} answers: {tried}"),
            )
        } else {
            verdict(
                Outcome::Confirmed,
                format!("{path} is Flask's 404 and no prefix variant answers: {tried}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(cmd: &str) -> Vec<String> {
        vec!["CMD-SHELL".into(), cmd.into()]
    }

    #[test]
    fn health_urls_from_curl_wget_and_python() {
        let url = health_url(
            &shell("curl -fsS http://localhost:5001/api/settings/profiles || exit 1"),
            &[],
        )
        .expect("url");
        assert_eq!(url.authority, "localhost:5001");
        assert_eq!(url.port, 5001);
        assert_eq!(url.target, "/api/settings/profiles");
        assert_eq!(url.url, "http://localhost:5001/api/settings/profiles");

        let py = shell(
            "python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/api/health?full=1', timeout=2)\"",
        );
        let url = health_url(&py, &[]).expect("url");
        assert_eq!(
            (url.port, url.target.as_str()),
            (5000, "/api/health?full=1")
        );

        let exec = ["CMD", "wget", "-qO-", "http://[::1]:8080/health#x"].map(String::from);
        let url = health_url(&exec, &[]).expect("url");
        assert_eq!((url.port, url.target.as_str()), (8080, "/health"));

        let creds =
            health_url(&shell("curl -f http://u:s3cret@localhost:5001/x"), &[]).expect("url");
        assert_eq!(creds.url, "http://localhost:5001/x");
        assert_eq!(creds.authority, "localhost:5001");

        let bare = health_url(&shell("curl -f http://localhost||exit 1"), &[]).expect("url");
        assert_eq!((bare.port, bare.target.as_str()), (80, "/"));
    }

    #[test]
    fn health_urls_the_probe_refuses() {
        assert!(health_url(&shell("pg_isready -U postgres"), &[]).is_err());
        assert!(health_url(&["NONE".to_string()], &[]).is_err());
        assert!(health_url(&[], &[]).is_err());
        let other = health_url(&shell("curl -f http://db:5432/"), &[]).expect_err("other host");
        assert_eq!(other, NoHealthUrl::NotLocal("db".into()));
        assert!(other.to_string().contains("`db`"), "{other}");
        assert_eq!(
            health_url(&shell("curl -f https://localhost:5001/x"), &[]),
            Err(NoHealthUrl::Https)
        );
        assert!(health_url(&shell("curl -f http://localhost:99999/x"), &[]).is_err());
    }

    #[test]
    fn shell_variables_expand_in_shell_form_only() {
        let env = [("PORT".to_string(), "5001".to_string())];
        let url = health_url(
            &shell("curl -f http://localhost:${PORT}/api/${SUB:-health}"),
            &env,
        )
        .expect("url");
        assert_eq!((url.port, url.target.as_str()), (5001, "/api/health"));
        let exec = ["CMD", "curl", "http://localhost:$PORT/x"].map(String::from);
        assert!(health_url(&exec, &env).is_err(), "exec form: no shell");
    }

    #[test]
    fn variants_double_or_drop_the_first_segment() {
        assert_eq!(
            variants("/api/settings/profiles"),
            ["/api/api/settings/profiles", "/settings/profiles"]
        );
        assert_eq!(variants("/health"), ["/health/health"]);
        assert_eq!(
            variants("/api/health?x=1"),
            ["/api/api/health?x=1", "/health?x=1"]
        );
        assert_eq!(variants("/api/health/"), ["/api/api/health/", "/health/"]);
        assert!(variants("/").is_empty());
    }

    #[test]
    fn answers_are_parsed_and_flask_404_recognised() {
        let flask = b"HTTP/1.1 404 NOT FOUND\r\nServer: gunicorn\r\nContent-Length: 207\r\n\r\n<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered";
        assert_eq!(
            parse_answer(flask),
            Ok(Answer {
                status: 404,
                flask_404: true
            })
        );
        assert!(!complete(flask), "Content-Length not reached");
        let nginx = b"HTTP/1.1 404 Not Found\r\n\r\n<html><head><title>404 Not Found</title></head><center>nginx</center>";
        assert!(
            !parse_answer(nginx).expect("http").flask_404,
            "same title, not Flask"
        );
        let apache = b"HTTP/1.1 404 Not Found\r\n\r\n<title>404 Not Found</title><h1>Not Found</h1><p>The requested URL was not found on this server.</p>";
        assert!(
            !parse_answer(apache).expect("http").flask_404,
            "same title, not Flask"
        );
        let json = b"HTTP/1.0 404 NOT FOUND\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_answer(json).map(|a| a.flask_404), Ok(false));
        assert!(complete(json));
        assert_eq!(
            parse_answer(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
            )
            .map(|a| a.status),
            Ok(200)
        );
        assert!(complete(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        ));
        assert_eq!(
            parse_answer(b"SSH-2.0-OpenSSH\r\n"),
            Err(FetchError::NotHttp)
        );
        assert_eq!(parse_answer(b""), Err(FetchError::NotHttp));
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(
            FetchError::Timeout(Duration::from_secs(3)).to_string(),
            "no answer within 3s"
        );
        assert_eq!(human(Duration::from_millis(250)), "250ms");
    }
}
