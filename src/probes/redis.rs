//! The Redis probe: what does the server answer a client that uses the app's URL?
//!
//! Redis failures reach the app's logs second-hand and often blurred: redis-py 4.3 shows a
//! protected-mode refusal only as `Connection not ready`, a Celery worker retries silently, Flower
//! keeps running. The server's own first answer is exact: `PONG`, `NOAUTH`, `WRONGPASS`,
//! `DENIED` (protected mode), `MISCONF` (RDB snapshots failing: Redis 6+ refuses PING too) or
//! `LOADING`. The probe sends what a client sends — `AUTH` when the URL has a password, `SELECT`
//! when it names a database, `PING` — classifies the answer ([`RedisReply`]) and, when the server
//! lets it, reads `INFO persistence` (`rdb_last_bgsave_status`, `loading`) and `CONFIG GET dir` /
//! `protected-mode`. `CONFIG` may be renamed away or forbidden by ACL: those fields are then
//! `None`, not an error.
//!
//! The `redis` crate packs the commands and parses the replies, over a stream the probe opens
//! itself (a loopback `TcpStream`, or a relay into the server's network: [`super::transport`])
//! rather than through the crate's connection: a protected-mode server writes `-DENIED …` the
//! moment it accepts and then closes, before any command; the crate's multiplexed connection
//! reads that reply while no request is in flight and drops it
//! (`aio/multiplexed_connection.rs`, `in_flight.pop_front()` → `None`), so the probe would see
//! only a closed connection (`tests/probes_db.rs` shows the early DENIED read here). Here a reply
//! is read only after its request is written, so an early `DENIED` waits in the socket buffer
//! and is read as the answer to the first command. Replies are bounded ([`MAX_REPLY`] bytes;
//! the crate's parser bounds nesting) and the whole exchange runs under one deadline.
//!
//! Read-only: `AUTH`, `SELECT`, `PING`, `INFO`, `CONFIG GET` change no data. The password is
//! sent to the server and appears in no message.
use super::endpoint::{self, Scheme, mask};
use super::postgres::human;
use super::transport::{self, Duplex, OpenError};
use super::{Ctx, Outcome, ProbeResult};
use crate::rules::Expectation;
use crate::rules::{ProbeSpec, RedisExpectation};
use crate::stack::snapshot::ContainerSnapshot;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most bytes one reply may take (`INFO persistence` is about 1 KiB).
pub const MAX_REPLY: usize = 64 * 1024;

/// The server's answer to a client's first exchange (AUTH/SELECT/PING).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisReply {
    /// `+PONG`: a client gets in.
    Pong,
    /// `-NOAUTH Authentication required.`: the server has a password, the URL none.
    NoAuth,
    /// `-WRONGPASS invalid username-password pair or user is disabled.` (Redis < 6:
    /// `-ERR invalid password`).
    WrongPass,
    /// `-DENIED Redis is running in protected mode …`: no password and protected mode on.
    Denied,
    /// `-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist
    /// to disk …`.
    Misconf,
    /// `-LOADING Redis is loading the dataset in memory`.
    Loading,
    /// Nothing listens on the port.
    Refused,
    /// No answer within the deadline.
    Timeout(Duration),
    /// The server closed or reset the connection without an answer.
    Reset,
    /// Any other answer or failure, as a line (`ERR DB index is out of range`).
    Other(String),
}

impl fmt::Display for RedisReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisReply::Pong => f.write_str("PONG"),
            RedisReply::NoAuth => f.write_str("NOAUTH: a password is required"),
            RedisReply::WrongPass => f.write_str("WRONGPASS: the password is wrong"),
            RedisReply::Denied => f.write_str("DENIED: protected mode"),
            RedisReply::Misconf => f.write_str("MISCONF: RDB snapshots are failing"),
            RedisReply::Loading => f.write_str("LOADING: the dataset is loading"),
            RedisReply::Refused => f.write_str("connection refused"),
            RedisReply::Timeout(d) => write!(f, "no answer within {}", human(*d)),
            RedisReply::Reset => f.write_str("the server closed the connection"),
            RedisReply::Other(s) => f.write_str(s),
        }
    }
}

/// What the probe learned from one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisObservation {
    pub ping: RedisReply,
    /// The server's error line when it refused (`MISCONF Redis is configured to save …`).
    pub server_message: Option<String>,
    /// `rdb_last_bgsave_status` from `INFO persistence`: `ok` or `err`.
    pub rdb_last_bgsave_status: Option<String>,
    /// `CONFIG GET dir`: where RDB files are written.
    pub dir: Option<String>,
    /// `CONFIG GET protected-mode`: `yes` or `no`.
    pub protected_mode: Option<String>,
    /// The server is loading its dataset (`LOADING`, or `loading:1` in `INFO persistence`).
    pub loading: bool,
}

/// Talk to the Redis server at `addr` (a loopback address) as a client with this
/// username/password/db would, then read its persistence state when allowed. One `timeout` for
/// everything.
pub async fn observe(
    addr: SocketAddr,
    username: Option<&str>,
    password: Option<&str>,
    db: i64,
    timeout: Duration,
) -> RedisObservation {
    let deadline = tokio::time::Instant::now() + timeout;
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => Err(RedisReply::Timeout(timeout)),
        Ok(Err(e)) => Err(failure(Fail::Io(e))),
        Ok(Ok(s)) => Ok(Box::new(s) as Box<dyn Duplex>),
    };
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    observe_over(stream, username, password, db, left, timeout).await
}

/// [`observe`] over a stream already open (`Err`: why none could be opened), with `left` of the
/// deadline `timeout` remaining.
pub async fn observe_over(
    stream: Result<Box<dyn Duplex>, RedisReply>,
    username: Option<&str>,
    password: Option<&str>,
    db: i64,
    left: Duration,
    timeout: Duration,
) -> RedisObservation {
    let mut obs = RedisObservation {
        ping: RedisReply::Timeout(timeout),
        server_message: None,
        rdb_last_bgsave_status: None,
        dir: None,
        protected_mode: None,
        loading: false,
    };
    match stream {
        Err(why) => obs.ping = why,
        Ok(stream) => {
            // On a deadline, `ping` keeps `Timeout` unless the first exchange already finished:
            // the fields read after it stay `None`.
            let run = gather(&mut obs, Resp::new(stream), username, password, db);
            let _ = tokio::time::timeout(left, run).await;
        }
    }
    if let Some(m) = obs.server_message.take() {
        obs.server_message = Some(mask(m, password));
    }
    if let RedisReply::Other(m) = &obs.ping {
        obs.ping = RedisReply::Other(mask(m.clone(), password));
    }
    obs
}

async fn gather(
    obs: &mut RedisObservation,
    mut conn: Resp,
    username: Option<&str>,
    password: Option<&str>,
    db: i64,
) {
    match first_exchange(&mut conn, username, password, db).await {
        Ok(()) => obs.ping = RedisReply::Pong,
        Err((reply, line)) => {
            obs.loading = reply == RedisReply::Loading;
            obs.server_message = line;
            let go_on = matches!(reply, RedisReply::Misconf | RedisReply::Loading);
            obs.ping = reply;
            if !go_on {
                return;
            }
        }
    }
    // INFO and CONFIG GET are allowed while MISCONF refuses writes and while loading.
    if let Ok(Reply::Bulk(Some(info))) = conn.call(&["INFO", "persistence"]).await {
        let info = String::from_utf8_lossy(&info);
        obs.rdb_last_bgsave_status = info_field(&info, "rdb_last_bgsave_status");
        obs.loading |= info_field(&info, "loading").as_deref() == Some("1");
    }
    obs.dir = config_get(&mut conn, "dir").await;
    obs.protected_mode = config_get(&mut conn, "protected-mode").await;
}

/// AUTH (when there is a password), SELECT (when db ≠ 0), PING. `Err` = the reply that stopped
/// a client, and the server's line when it was an error reply.
async fn first_exchange(
    conn: &mut Resp,
    username: Option<&str>,
    password: Option<&str>,
    db: i64,
) -> Result<(), (RedisReply, Option<String>)> {
    if let Some(pw) = password {
        let mut reply = match username {
            Some(user) => conn.call(&["AUTH", user, pw]).await,
            None => conn.call(&["AUTH", pw]).await,
        };
        // Redis < 6 knows no user names: clients retry with the password alone.
        if matches!(&reply, Ok(Reply::Error(e)) if e.contains("wrong number of arguments")) {
            reply = conn.call(&["AUTH", pw]).await;
        }
        expect_ok(reply, "AUTH")?;
    }
    if db != 0 {
        expect_ok(conn.call(&["SELECT", &db.to_string()]).await, "SELECT")?;
    }
    match conn.call(&["PING"]).await {
        Ok(Reply::Simple(s)) if s.eq_ignore_ascii_case("PONG") => Ok(()),
        Ok(Reply::Simple(s)) => Err((RedisReply::Other(format!("PING answered {s}")), None)),
        other => expect_ok(other, "PING"),
    }
}

fn expect_ok(
    reply: Result<Reply, Fail>,
    command: &str,
) -> Result<(), (RedisReply, Option<String>)> {
    match reply {
        Ok(Reply::Simple(_)) => Ok(()),
        Ok(Reply::Error(line)) => Err((refusal(&line), Some(line))),
        Ok(other) => Err((
            RedisReply::Other(format!("{command} answered {}", other.kind())),
            None,
        )),
        Err(f) => Err((failure(f), None)),
    }
}

/// An error reply as a [`RedisReply`], by its code (the first word).
fn refusal(line: &str) -> RedisReply {
    let code = line.split_whitespace().next().unwrap_or("");
    match code {
        "NOAUTH" => RedisReply::NoAuth,
        "WRONGPASS" => RedisReply::WrongPass,
        "DENIED" => RedisReply::Denied,
        "MISCONF" => RedisReply::Misconf,
        "LOADING" => RedisReply::Loading,
        "ERR" if line.contains("invalid password") => RedisReply::WrongPass,
        _ => RedisReply::Other(line.to_owned()),
    }
}

fn failure(f: Fail) -> RedisReply {
    use std::io::ErrorKind as K;
    match f {
        Fail::Io(e) => match e.kind() {
            K::ConnectionRefused => RedisReply::Refused,
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                RedisReply::Reset
            }
            _ => RedisReply::Other(e.to_string()),
        },
        Fail::Closed => RedisReply::Reset,
        Fail::Malformed => RedisReply::Other("the answer is not RESP (is this Redis?)".into()),
        Fail::TooLarge => RedisReply::Other(format!("an answer larger than {MAX_REPLY} bytes")),
    }
}

/// `CONFIG GET name` → its value; `None` when CONFIG is renamed, disabled, forbidden or silent.
async fn config_get(conn: &mut Resp, name: &str) -> Option<String> {
    match conn.call(&["CONFIG", "GET", name]).await {
        Ok(Reply::Array(Some(items))) => match items.as_slice() {
            [_, Reply::Bulk(Some(v))] => Some(String::from_utf8_lossy(v).into_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// `name:value` from an `INFO` section.
fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .filter_map(|l| l.trim_end().split_once(':'))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

// ---------------------------------------------------------------------------------------------
// One connection, replies read by the `redis` crate's RESP parser
// ---------------------------------------------------------------------------------------------

/// A reply, as the probe reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reply {
    Simple(String),
    /// The whole line after `-` (`NOAUTH Authentication required.`).
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
    /// A RESP3 type no question of the probe expects.
    Other(&'static str),
}

impl Reply {
    fn kind(&self) -> &'static str {
        match self {
            Reply::Simple(_) => "a status",
            Reply::Error(_) => "an error",
            Reply::Int(_) => "an integer",
            Reply::Bulk(_) => "a string",
            Reply::Array(_) => "an array",
            Reply::Other(kind) => kind,
        }
    }
}

impl From<redis::Value> for Reply {
    fn from(v: redis::Value) -> Self {
        use redis::Value as V;
        match v {
            V::SimpleString(s) => Reply::Simple(s),
            V::Okay => Reply::Simple("OK".into()),
            V::ServerError(e) => Reply::Error(match e.details() {
                Some(detail) => format!("{} {detail}", e.code()),
                None => e.code().to_owned(),
            }),
            V::Int(n) => Reply::Int(n),
            V::BulkString(b) => Reply::Bulk(Some(b)),
            V::Nil => Reply::Bulk(None),
            V::Array(items) => Reply::Array(Some(items.into_iter().map(Reply::from).collect())),
            _ => Reply::Other("a RESP3 value"),
        }
    }
}

#[derive(Debug)]
enum Fail {
    Io(std::io::Error),
    /// End of stream before a whole reply.
    Closed,
    Malformed,
    TooLarge,
}

/// One reply from the start of `buf`, by the `redis` crate's parser: `Ok(None)` when more bytes
/// are needed (the parser met the end of the buffer), else the reply. The parser bounds nesting
/// itself; the caller bounds the buffer ([`MAX_REPLY`]).
fn parse(buf: &[u8]) -> Result<Option<Reply>, Fail> {
    let mut parser = redis::Parser::new();
    match parser.parse_value(buf) {
        Ok(v) => Ok(Some(v.into())),
        Err(e) if e.kind() == redis::ErrorKind::Io => Ok(None),
        Err(_) => Err(Fail::Malformed),
    }
}

/// One connection: commands written one at a time, each reply read after its command.
struct Resp {
    stream: Box<dyn Duplex>,
}

impl Resp {
    fn new(stream: Box<dyn Duplex>) -> Self {
        Resp { stream }
    }

    async fn call(&mut self, args: &[&str]) -> Result<Reply, Fail> {
        let Some((name, rest)) = args.split_first() else {
            return Err(Fail::Malformed);
        };
        let mut cmd = redis::cmd(name);
        for a in rest {
            cmd.arg(*a);
        }
        // A server that already answered and closed (DENIED) may reset the write: its answer is
        // still in the socket buffer, so read before giving up.
        let write = self.stream.write_all(&cmd.get_packed_command()).await;
        match self.read_reply().await {
            Err(Fail::Closed) | Err(Fail::Io(_)) if write.is_err() => {
                Err(Fail::Io(write.expect_err("checked")))
            }
            r => r,
        }
    }

    /// Read until the buffer holds one whole reply. A command is sent only after the previous
    /// reply is read, so the buffer holds one reply at most.
    async fn read_reply(&mut self) -> Result<Reply, Fail> {
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        loop {
            if !buf.is_empty() {
                if let Some(reply) = parse(&buf)? {
                    return Ok(reply);
                }
                if buf.len() >= MAX_REPLY {
                    return Err(Fail::TooLarge);
                }
            }
            let want = chunk.len().min(MAX_REPLY - buf.len());
            match self.stream.read(&mut chunk[..want]).await {
                Ok(0) => return Err(Fail::Closed),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(Fail::Io(e)),
            }
        }
    }
}

/// Judge every `redis` spec for `ctx.container`: PING with the URL its environment or command
/// line gives (its own `--requirepass` when it is the server), through the port published on
/// 127.0.0.1.
pub async fn probe(expects: &[RedisExpectation], ctx: &Ctx<'_>) -> Vec<ProbeResult> {
    let specs: Vec<ProbeSpec> = expects.iter().map(|e| e.spec()).collect();
    let (url, route, mut facts) =
        match endpoint::target(ctx, "Redis", |s| matches!(s, Scheme::Redis { .. })) {
            Ok(t) => t,
            Err((why, facts)) => {
                return specs
                    .iter()
                    .map(|s| ProbeResult::unknown(s, why.clone(), &facts))
                    .collect();
            }
        };
    let (obs, via) = match ping_along(&route, ctx, &url).await {
        Ok(done) => done,
        Err(why) => {
            facts.push(format!("route: {route}"));
            return specs
                .iter()
                .map(|s| ProbeResult::unknown(s, why.clone(), &facts))
                .collect();
        }
    };
    facts.push(format!(
        "PING via {via} ({}): {}{}",
        if url.has_password() {
            "with the URL's password"
        } else {
            "no password"
        },
        obs.ping,
        obs.server_message
            .as_deref()
            .map(|m| format!(" — {m}"))
            .unwrap_or_default()
    ));
    if let Some(s) = &obs.rdb_last_bgsave_status {
        facts.push(format!("rdb_last_bgsave_status:{s}"));
    }
    if let Some(d) = &obs.dir {
        facts.push(format!("dir {d}"));
    }
    let wants_other = specs.iter().any(|s| {
        matches!(
            s,
            ProbeSpec::Redis {
                expect: RedisExpectation::Refused | RedisExpectation::PortMismatch
            }
        )
    });
    let mut other = None;
    // Where Redis says it listens, when that is the URL's own port.
    let mut same_port = None;
    if wants_other
        && matches!(obs.ping, RedisReply::Refused | RedisReply::Reset)
        && let Some(server) = endpoint::server_named(ctx.snapshot, &url.host)
        && let Some((port, said)) = own_port(server)
    {
        if port == url.port {
            facts.push(format!("Redis listens on {port} ({said}), the URL's port"));
            same_port = Some(said);
        } else if let Ok(route) = endpoint::route(ctx.snapshot, ctx.container, &url.host, port)
            && let Ok((there, via)) = ping_along(&route, ctx, &url).await
        {
            facts.push(format!(
                "Redis listens on {port} ({said}); PING via {via}: {}",
                there.ping
            ));
            other = Some(OtherPort {
                port,
                said,
                answer: there.ping,
            });
        }
    }
    specs
        .iter()
        .zip(expects)
        .map(|(spec, expect)| {
            let judged = match expect {
                RedisExpectation::Refused | RedisExpectation::PortMismatch => {
                    let ports = Ports {
                        other: other.as_ref(),
                        same: same_port.as_deref(),
                    };
                    judge_port(spec, *expect, &obs, &url, ports, &facts)
                }
                _ => judge(spec, *expect, &obs, &facts),
            };
            judged.with("via", via.clone())
        })
        .collect()
}

/// Open a connection along `route` and run the client's first exchange (and the reads after).
/// `Err`: no way into the network.
async fn ping_along(
    route: &transport::Route,
    ctx: &Ctx<'_>,
    url: &endpoint::ServiceUrl,
) -> Result<(RedisObservation, String), String> {
    let opened = transport::open(
        route,
        ctx.docker,
        &ctx.snapshot.project,
        ctx.opts.timeout,
        ctx.opts.open_timeout,
    )
    .await;
    let via = match &opened {
        Ok(conn) => conn.via.clone(),
        Err(e) => e.via().map_or_else(|| route.to_string(), str::to_owned),
    };
    let (stream, closer) = match opened {
        Ok(conn) => (Ok(conn.stream), Some(conn.closer)),
        Err(OpenError::NoPath(why)) => {
            return Err(format!("cannot reach Redis: {}", why.join("; ")));
        }
        Err(OpenError::Refused { .. }) => (Err(RedisReply::Refused), None),
        Err(OpenError::Timeout { .. }) => (Err(RedisReply::Timeout(ctx.opts.timeout)), None),
        Err(OpenError::Unreachable { reason, .. }) => (Err(RedisReply::Other(reason)), None),
    };
    let obs = observe_over(
        stream,
        url.user.as_deref(),
        url.password(),
        url.redis_db(),
        ctx.opts.timeout,
        ctx.opts.timeout,
    )
    .await;
    if let Some(closer) = closer {
        closer.close().await;
    }
    Ok((obs, via))
}

/// The port a Redis server says it listens on, and where it says so: `--port N` on its command
/// line, else its log (`Running mode=standalone, port=6380.`, Redis ≤ 5's `ready to accept
/// connections on port 6380`).
fn own_port(server: &ContainerSnapshot) -> Option<(u16, String)> {
    static LOG: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let argv: Vec<&String> = server.entrypoint.iter().chain(&server.command).collect();
    if let Some(i) = argv.iter().position(|a| *a == "--port")
        && let Some(port) = argv.get(i + 1).and_then(|p| p.parse().ok())
    {
        return Some((
            port,
            format!("`--port {port}` in {}'s command", server.service),
        ));
    }
    let re = LOG.get_or_init(|| {
        regex::Regex::new(r"Running mode=\w+, port=(\d+)|accept connections on port (\d+)")
            .expect("redis port pattern")
    });
    server.logs.lines.iter().rev().find_map(|l| {
        let caps = re.captures(&l.text)?;
        let port = caps.get(1).or(caps.get(2))?.as_str().parse().ok()?;
        Some((
            port,
            format!("`{}` in {}'s log", l.text.trim(), server.service),
        ))
    })
}

/// The server's own port, when the URL's was refused and that one differs: where it was read,
/// and what a client gets there.
struct OtherPort {
    port: u16,
    said: String,
    answer: RedisReply,
}

/// What the server says of its own port: another one (and what a client gets there), or the
/// URL's (where it says so).
#[derive(Clone, Copy)]
struct Ports<'a> {
    other: Option<&'a OtherPort>,
    same: Option<&'a str>,
}

/// `refused` and `port-mismatch`: the URL's port, against the server's own.
fn judge_port(
    spec: &ProbeSpec,
    expect: RedisExpectation,
    obs: &RedisObservation,
    url: &endpoint::ServiceUrl,
    ports: Ports<'_>,
    facts: &[String],
) -> ProbeResult {
    let other = ports.other;
    use RedisExpectation as E;
    let r = |o: Outcome, s: String| ProbeResult::new(spec, o, s, facts);
    let refused = matches!(obs.ping, RedisReply::Refused | RedisReply::Reset);
    let answers_there = other.filter(|o| {
        !matches!(
            o.answer,
            RedisReply::Timeout(_) | RedisReply::Refused | RedisReply::Reset | RedisReply::Other(_)
        )
    });
    match (expect, refused, answers_there) {
        (E::Refused, true, Some(o)) => r(
            Outcome::RuledOut,
            format!(
                "Redis answers on port {} ({}): it listens on the network, on another port than the {} the client asks",
                o.port, o.said, url.port
            ),
        ),
        (E::PortMismatch, true, Some(o)) => r(
            Outcome::Confirmed,
            format!(
                "the client asks {}:{}, where nothing listens; Redis listens on {} ({}) and answers there: {}",
                url.host, url.port, o.port, o.said, o.answer
            ),
        ),
        (E::PortMismatch, true, None) => match other {
            Some(o) => ProbeResult::unknown(
                spec,
                format!(
                    "Redis says it listens on {} ({}), and does not answer there either: {}",
                    o.port, o.said, o.answer
                ),
                facts,
            ),
            // Redis says it listens on the very port it refuses: the address it binds, or a
            // guard, refuses the client, not a port mismatch.
            None => match ports.same {
                Some(said) => r(
                    Outcome::RuledOut,
                    format!(
                        "Redis listens on the URL's port {} ({said}), and refuses the client there",
                        url.port
                    ),
                ),
                None => ProbeResult::unknown(
                    spec,
                    "nothing answers on the URL's port, and Redis says nowhere it listens on another"
                        .into(),
                    facts,
                ),
            },
        },
        (E::PortMismatch, false, _)
            if !matches!(obs.ping, RedisReply::Timeout(_) | RedisReply::Other(_)) =>
        {
            r(
                Outcome::RuledOut,
                format!("Redis answers on the URL's port {}: {}", url.port, obs.ping),
            )
        }
        _ => judge(spec, expect, obs, facts),
    }
}

fn judge(
    spec: &ProbeSpec,
    expect: RedisExpectation,
    obs: &RedisObservation,
    facts: &[String],
) -> ProbeResult {
    use RedisExpectation as E;
    let r = |o: Outcome, s: String| ProbeResult::new(spec, o, s, facts);
    let answered = !matches!(
        obs.ping,
        RedisReply::Timeout(_) | RedisReply::Refused | RedisReply::Reset | RedisReply::Other(_)
    );
    match (expect, &obs.ping) {
        (E::Refused, RedisReply::Refused | RedisReply::Reset) => r(
            Outcome::Confirmed,
            format!(
                "nothing answers on the Redis port from outside its container: {}",
                obs.ping
            ),
        ),
        (E::Refused, _) if answered => r(Outcome::RuledOut, format!("Redis answers: {}", obs.ping)),
        (
            _,
            RedisReply::Timeout(_) | RedisReply::Refused | RedisReply::Reset | RedisReply::Other(_),
        ) => ProbeResult::unknown(spec, obs.ping.to_string(), facts),
        (E::Noauth, RedisReply::NoAuth) => r(
            Outcome::Confirmed,
            "Redis wants a password and the client's URL gives none (NOAUTH)".into(),
        ),
        (E::Wrongpass, RedisReply::WrongPass) => r(
            Outcome::Confirmed,
            "Redis refuses the password in the client's URL (WRONGPASS)".into(),
        ),
        (E::Denied, RedisReply::Denied) => r(
            Outcome::Confirmed,
            "Redis refuses clients from other hosts: protected mode, no password (DENIED)".into(),
        ),
        (E::Loading, RedisReply::Loading) => r(
            Outcome::Confirmed,
            "Redis is loading its dataset (LOADING)".into(),
        ),
        (E::Misconf, _) => match obs.rdb_last_bgsave_status.as_deref() {
            Some("err") => r(
                Outcome::Confirmed,
                format!(
                    "the last background save failed (rdb_last_bgsave_status:err){}",
                    obs.dir
                        .as_deref()
                        .map(|d| format!("; data dir {d}"))
                        .unwrap_or_default()
                ),
            ),
            _ if obs.ping == RedisReply::Misconf => r(
                Outcome::Confirmed,
                "Redis answers MISCONF: RDB snapshots are failing".into(),
            ),
            Some(s) => r(
                Outcome::RuledOut,
                format!("the last background save succeeded (rdb_last_bgsave_status:{s})"),
            ),
            None => ProbeResult::unknown(
                spec,
                format!("INFO persistence could not be read ({})", obs.ping),
                facts,
            ),
        },
        (_, other) => r(Outcome::RuledOut, format!("Redis answers {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(bytes: &[u8]) -> Reply {
        parse(bytes).expect("valid").expect("complete")
    }

    #[test]
    fn replies_parse_whole_or_wait_for_more() {
        assert_eq!(whole(b"+PONG\r\n"), Reply::Simple("PONG".into()));
        assert_eq!(
            whole(b"-NOAUTH Authentication required.\r\n"),
            Reply::Error("NOAUTH Authentication required.".into())
        );
        assert_eq!(
            whole(
                b"-DENIED Redis is running in protected mode because protected mode is enabled\r\n"
            ),
            Reply::Error(
                "DENIED Redis is running in protected mode because protected mode is enabled"
                    .into()
            )
        );
        assert_eq!(
            refusal("DENIED Redis is running in protected mode"),
            RedisReply::Denied
        );
        assert_eq!(whole(b":42\r\n"), Reply::Int(42));
        assert_eq!(whole(b"$-1\r\n"), Reply::Bulk(None));
        assert_eq!(
            whole(b"*2\r\n$3\r\ndir\r\n$5\r\n/data\r\n"),
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"dir".to_vec())),
                Reply::Bulk(Some(b"/data".to_vec()))
            ]))
        );
        for partial in [
            &b"+PON"[..],
            b"$5\r\n/da",
            b"*2\r\n$3\r\ndir\r\n",
            b"$9999999\r\n",
        ] {
            assert!(matches!(parse(partial), Ok(None)), "{partial:?}");
        }
        assert!(matches!(parse(b"HTTP/1.1 400\r\n"), Err(Fail::Malformed)));
        // Nesting is bounded by the parser.
        let deep = b"*1\r\n".repeat(200);
        assert!(parse(&[deep, b":1\r\n".to_vec()].concat()).is_err());
    }

    /// Seen on the lab's group-redis: a Redis bound to 127.0.0.1 refuses its clients on the
    /// port its log names, the URL's; that is no port mismatch.
    #[test]
    fn a_refusal_on_the_port_redis_names_rules_out_a_port_mismatch() {
        let url = endpoint::urls_in_argv(&["redis://redis-queue:6379/0".to_owned()])
            .pop()
            .expect("a url");
        let spec = ProbeSpec::Redis {
            expect: RedisExpectation::PortMismatch,
        };
        let obs = RedisObservation {
            ping: RedisReply::Refused,
            server_message: None,
            rdb_last_bgsave_status: None,
            dir: None,
            protected_mode: None,
            loading: false,
        };
        let said = "`Running mode=standalone, port=6379.` in redis-queue's log";
        let judged = |same| {
            let ports = Ports { other: None, same };
            judge_port(
                &spec,
                RedisExpectation::PortMismatch,
                &obs,
                &url,
                ports,
                &[],
            )
            .outcome
        };
        assert_eq!(judged(Some(said)), Outcome::RuledOut);
        assert!(matches!(judged(None), Outcome::Unknown(_)));
    }

    #[test]
    fn error_replies_classify_by_code() {
        assert_eq!(
            refusal("NOAUTH Authentication required."),
            RedisReply::NoAuth
        );
        assert_eq!(
            refusal("WRONGPASS invalid username-password pair or user is disabled."),
            RedisReply::WrongPass
        );
        assert_eq!(refusal("ERR invalid password"), RedisReply::WrongPass);
        assert_eq!(
            refusal("DENIED Redis is running in protected mode because protected mode is enabled"),
            RedisReply::Denied
        );
        assert_eq!(
            refusal(
                "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk."
            ),
            RedisReply::Misconf
        );
        assert_eq!(
            refusal("LOADING Redis is loading the dataset in memory"),
            RedisReply::Loading
        );
        assert_eq!(
            refusal("ERR DB index is out of range"),
            RedisReply::Other("ERR DB index is out of range".into())
        );
    }

    #[test]
    fn info_fields() {
        let info = "# Persistence\r\nloading:0\r\nrdb_last_bgsave_status:err\r\n";
        assert_eq!(
            info_field(info, "rdb_last_bgsave_status").as_deref(),
            Some("err")
        );
        assert_eq!(info_field(info, "loading").as_deref(), Some("0"));
        assert_eq!(info_field(info, "aof_enabled"), None);
    }
}
