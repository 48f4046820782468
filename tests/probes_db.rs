//! The PostgreSQL and Redis probes: first against servers that misbehave on purpose (silent,
//! hanging up, scripted RESP answers — no Docker), then against a real PostgreSQL 15 and a real
//! Redis 7 from the lab images, one container each, published on 127.0.0.1 only.
mod support;

use analylit_doctor::probes::http::{self, FetchError};
use analylit_doctor::probes::postgres::{self, PgConnect};
use analylit_doctor::probes::redis::{self, RedisReply};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::lab::{MachineLock, docker_or_skip, run_bounded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SHORT: Duration = Duration::from_millis(500);
/// A correctness bound (the probe gives up on its own), not a benchmark.
const GIVES_UP_WITHIN: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Servers that misbehave
// ---------------------------------------------------------------------------------------------

/// Accepts and never answers; keeps every socket open.
async fn silent() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    addr
}

/// Accepts and closes at once.
async fn hangs_up() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            drop(sock);
        }
    });
    addr
}

/// An address where nothing listens.
async fn nobody() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

/// Run a probe future with an outer safety net; returns its result and how long it took.
async fn timed<F: std::future::Future>(probe: F) -> (F::Output, Duration) {
    let start = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(20), probe)
        .await
        .expect("the probe must give up on its own");
    (out, start.elapsed())
}

#[tokio::test]
async fn postgres_gives_up_on_a_silent_server() {
    let addr = silent().await;
    let (obs, took) = timed(postgres::observe(
        addr,
        "analylit",
        Some("pw"),
        "analylit",
        &["projects"],
        SHORT,
    ))
    .await;
    assert_eq!(obs.connect, PgConnect::Timeout(SHORT));
    assert!(took < GIVES_UP_WITHIN, "took {took:?}");
    assert!(took >= SHORT, "gave up before the timeout: {took:?}");
    assert_eq!(obs.tables, []);
}

#[tokio::test]
async fn postgres_on_a_server_that_hangs_up_or_is_not_there() {
    let (obs, took) = timed(postgres::observe(
        hangs_up().await,
        "u",
        None,
        "d",
        &[],
        SHORT,
    ))
    .await;
    assert_eq!(obs.connect, PgConnect::Reset);
    assert!(took < GIVES_UP_WITHIN, "took {took:?}");

    let (obs, _) = timed(postgres::observe(
        nobody().await,
        "u",
        None,
        "d",
        &[],
        SHORT,
    ))
    .await;
    assert_eq!(obs.connect, PgConnect::Refused);
}

#[tokio::test]
async fn redis_gives_up_on_a_silent_server() {
    let addr = silent().await;
    let (obs, took) = timed(redis::observe(addr, None, Some("pw"), 0, SHORT)).await;
    assert_eq!(obs.ping, RedisReply::Timeout(SHORT));
    assert!(took < GIVES_UP_WITHIN, "took {took:?}");
    assert!(took >= SHORT, "gave up before the timeout: {took:?}");
}

#[tokio::test]
async fn redis_on_a_server_that_hangs_up_or_is_not_there() {
    let (obs, took) = timed(redis::observe(hangs_up().await, None, None, 0, SHORT)).await;
    assert_eq!(obs.ping, RedisReply::Reset);
    assert!(took < GIVES_UP_WITHIN, "took {took:?}");

    let (obs, _) = timed(redis::observe(nobody().await, None, None, 0, SHORT)).await;
    assert_eq!(obs.ping, RedisReply::Refused);
}

#[tokio::test]
async fn http_get_gives_up_on_a_silent_server() {
    let addr = silent().await;
    let (result, took) = timed(http::get(addr.port(), "localhost", "/api/health", SHORT)).await;
    assert_eq!(result, Err(FetchError::Timeout(SHORT)));
    assert!(took < GIVES_UP_WITHIN, "took {took:?}");

    let (result, took) = timed(http::get(
        hangs_up().await.port(),
        "localhost",
        "/api/health",
        SHORT,
    ))
    .await;
    assert!(
        matches!(result, Err(FetchError::NotHttp | FetchError::Io(_))),
        "{result:?}"
    );
    assert!(took < GIVES_UP_WITHIN, "took {took:?}");
}

/// Accepts, reads what the client sends, then writes `head` followed by zeros until the client
/// goes away; returns how many bytes each connection managed to write.
async fn endless(head: &'static [u8]) -> (SocketAddr, Arc<Mutex<Vec<usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let sent = Arc::new(Mutex::new(Vec::new()));
    let record = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let mut total = 0;
                if sock.write_all(head).await.is_ok() {
                    total += head.len();
                    let zeros = vec![0u8; 64 * 1024];
                    // Stops when the client closes; the cap below makes sure it does.
                    while total < 1 << 30 && sock.write_all(&zeros).await.is_ok() {
                        total += zeros.len();
                    }
                }
                record.lock().unwrap().push(total);
            });
        }
    });
    (addr, sent)
}

#[tokio::test]
async fn postgres_stops_reading_an_endless_answer_at_its_cap() {
    // An authentication request that claims a 2 GiB body: the client library would wait for all
    // of it. The deadline is long, so only the byte cap can end this.
    let (addr, _) = endless(b"R\x7f\xff\xff\xf0").await;
    let (obs, _) = timed(postgres::observe(
        addr,
        "analylit",
        Some("pw"),
        "analylit",
        &[],
        Duration::from_secs(15),
    ))
    .await;
    let PgConnect::Io(why) = &obs.connect else {
        panic!("not stopped by the cap: {:?}", obs.connect);
    };
    assert!(
        why.contains(&format!("more than {} bytes", postgres::MAX_SERVER_BYTES)),
        "{why}"
    );
}

#[tokio::test]
async fn http_reads_at_most_its_cap_of_an_endless_body() {
    let (addr, sent) = endless(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n").await;
    let (result, _) = timed(http::get(
        addr.port(),
        "localhost",
        "/api/health",
        Duration::from_secs(15),
    ))
    .await;
    assert_eq!(result.map(|a| a.status), Ok(200), "judged on the head");
    // The server goes on writing until the probe closes: it must have closed long before the
    // server's own 1 GiB stop.
    for _ in 0..200 {
        if !sent.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let wrote = sent
        .lock()
        .unwrap()
        .first()
        .copied()
        .expect("the connection ended");
    // What the probe read plus what the two sockets' buffers hold (a few MiB at most).
    assert!(wrote < 64 << 20, "the probe read on: {wrote} bytes");
}

/// What a scripted Redis saw: one command (its words) per request.
type Seen = Arc<Mutex<Vec<Vec<String>>>>;

/// A fake Redis: `greeting` is written as soon as a client connects (then the socket closes when
/// `close_after_greeting`); each command gets `answer(words)`.
async fn scripted_redis(
    greeting: &'static str,
    close_after_greeting: bool,
    answer: fn(&[String]) -> String,
) -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                if sock.write_all(greeting.as_bytes()).await.is_err() || close_after_greeting {
                    return;
                }
                let mut buf = Vec::new();
                loop {
                    while let Some((words, used)) = command(&buf) {
                        buf.drain(..used);
                        log.lock().expect("log").push(words.clone());
                        if sock.write_all(answer(&words).as_bytes()).await.is_err() {
                            return;
                        }
                    }
                    let mut chunk = [0u8; 1024];
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// One RESP command array (`*N\r\n$len\r\nword\r\n…`) from the start of `buf`, if whole.
fn command(buf: &[u8]) -> Option<(Vec<String>, usize)> {
    let text = std::str::from_utf8(buf).ok()?;
    let mut lines = text.split_inclusive("\r\n");
    let n: usize = lines.next()?.strip_prefix('*')?.trim_end().parse().ok()?;
    let mut used = text.find("\r\n")? + 2;
    let mut words = Vec::new();
    for _ in 0..n {
        let len_line = lines.next()?;
        let word = lines.next()?;
        if !word.ends_with("\r\n") {
            return None;
        }
        used += len_line.len() + word.len();
        words.push(word.trim_end_matches("\r\n").to_owned());
    }
    Some((words, used))
}

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is \
    enabled and no password is set for the default user. In this mode connections are only \
    accepted from the loopback interface.\r\n";

fn never_called(_: &[String]) -> String {
    unreachable!("the server hung up after its greeting")
}

#[tokio::test]
async fn protected_mode_answers_before_any_command_and_hangs_up() {
    // Like Redis: DENIED is written at accept, then the connection closes. The probe must read it
    // as the answer to its first command, with or without a password.
    for password in [None, Some("pw")] {
        let (addr, _) = scripted_redis(DENIED, true, never_called).await;
        let (obs, _) = timed(redis::observe(addr, None, password, 0, SHORT)).await;
        assert_eq!(obs.ping, RedisReply::Denied, "password {password:?}");
        assert!(
            obs.server_message
                .as_deref()
                .is_some_and(|m| m.starts_with("DENIED Redis is running in protected mode")),
            "{obs:?}"
        );
    }
}

fn loading_without_config(words: &[String]) -> String {
    match words[0].to_ascii_uppercase().as_str() {
        "PING" => "-LOADING Redis is loading the dataset in memory\r\n".into(),
        "INFO" => {
            let info = "# Persistence\r\nloading:1\r\nrdb_last_bgsave_status:ok\r\n";
            format!("${}\r\n{info}\r\n", info.len())
        }
        // CONFIG renamed away (`rename-command CONFIG ""`).
        other => format!("-ERR unknown command '{other}', with args beginning with: \r\n"),
    }
}

#[tokio::test]
async fn a_loading_server_with_config_renamed_away() {
    let (addr, seen) = scripted_redis("", false, loading_without_config).await;
    let (obs, _) = timed(redis::observe(addr, None, None, 0, SHORT)).await;
    assert_eq!(obs.ping, RedisReply::Loading);
    assert!(obs.loading);
    assert_eq!(obs.rdb_last_bgsave_status.as_deref(), Some("ok"));
    assert_eq!((obs.dir, obs.protected_mode), (None, None));
    let seen = seen.lock().expect("seen").clone();
    assert_eq!(seen[0], ["PING"]);
    assert!(seen.contains(&vec!["CONFIG".into(), "GET".into(), "dir".into()]));
}

fn acl_user(words: &[String]) -> String {
    match words {
        [auth, user, pw] if auth == "AUTH" && user == "worker" && pw == "s3cret" => "+OK\r\n",
        [auth, ..] if auth == "AUTH" => {
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        }
        [select, db] if select == "SELECT" && db == "3" => "+OK\r\n",
        [select, _] if select == "SELECT" => "-ERR DB index is out of range\r\n",
        [ping] if ping == "PING" => "+PONG\r\n",
        [config, _, name] if config == "CONFIG" && name == "dir" => {
            "*2\r\n$3\r\ndir\r\n$5\r\n/data\r\n"
        }
        _ => "-NOPERM this user has no permissions to run this command\r\n",
    }
    .to_owned()
}

#[tokio::test]
async fn the_probe_sends_what_a_client_sends_and_nothing_that_writes() {
    let (addr, seen) = scripted_redis("", false, acl_user).await;
    let (obs, _) = timed(redis::observe(
        addr,
        Some("worker"),
        Some("s3cret"),
        3,
        SHORT,
    ))
    .await;
    assert_eq!(obs.ping, RedisReply::Pong);
    assert_eq!(obs.dir.as_deref(), Some("/data"));
    assert_eq!(obs.rdb_last_bgsave_status, None, "INFO is forbidden by ACL");
    let read_only = ["AUTH", "SELECT", "PING", "INFO", "CONFIG"];
    for words in seen.lock().expect("seen").iter() {
        assert!(read_only.contains(&words[0].as_str()), "{words:?}");
        if words[0] == "CONFIG" {
            assert_eq!(words[1], "GET", "{words:?}");
        }
    }

    let (obs, _) = timed(redis::observe(
        addr,
        Some("worker"),
        Some("s3cret"),
        9,
        SHORT,
    ))
    .await;
    assert_eq!(
        obs.ping,
        RedisReply::Other("ERR DB index is out of range".into())
    );
    let (obs, _) = timed(redis::observe(addr, Some("worker"), Some("nope"), 0, SHORT)).await;
    assert_eq!(obs.ping, RedisReply::WrongPass);
}

// ---------------------------------------------------------------------------------------------
// Real servers
// ---------------------------------------------------------------------------------------------

/// A lab container, removed with its anonymous volumes on drop (also when the test panics).
struct Container {
    id: String,
}

impl Container {
    fn run(image: &str, args: &[&str], cmd: &[&str]) -> Container {
        let inspect = run_bounded(
            Command::new("docker").args(["image", "inspect", "--format", "{{.Id}}", image]),
            Duration::from_secs(30),
        );
        assert!(
            inspect.status.success(),
            "{image} is missing: run `flock /tmp/analylit-doctor-lab.lock fixtures/images/build.sh`"
        );
        let out = run_bounded(
            Command::new("docker")
                .args([
                    "run",
                    "-d",
                    "--dns",
                    "127.0.0.1",
                    "--label",
                    "analylit-doctor-test=probes_db",
                ])
                .args(args)
                .arg(image)
                .args(cmd),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "docker run {image}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Container {
            id: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        }
    }

    /// The 127.0.0.1 address publishing `port/tcp`.
    fn published(&self, port: u16) -> SocketAddr {
        let out = self.docker(&["port", &self.id, &format!("{port}/tcp")]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| {
                l.trim()
                    .parse::<SocketAddr>()
                    .ok()
                    .filter(|a| a.ip().is_loopback())
            })
            .unwrap_or_else(|| panic!("no 127.0.0.1 binding for {port}: {text}"))
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        run_bounded(Command::new("docker").args(args), Duration::from_secs(60))
    }

    /// `docker exec` (as `user` when given); panics with its stderr on failure.
    fn exec(&self, user: Option<&str>, cmd: &[&str]) -> String {
        let mut args = vec!["exec"];
        if let Some(u) = user {
            args.extend(["-u", u]);
        }
        args.push(&self.id);
        args.extend(cmd);
        let out = self.docker(&args);
        assert!(
            out.status.success(),
            "exec {cmd:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll `check` every 250 ms until it holds or `limit` passes.
    fn wait_until(&self, what: &str, limit: Duration, check: impl Fn(&Container) -> bool) {
        let deadline = Instant::now() + limit;
        while !check(self) {
            if Instant::now() > deadline {
                let logs = self.docker(&["logs", "--tail", "30", &self.id]);
                panic!(
                    "{what} not within {limit:?}; logs:\n{}{}",
                    String::from_utf8_lossy(&logs.stdout),
                    String::from_utf8_lossy(&logs.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let out = self.docker(&["rm", "-f", "-v", &self.id]);
        if !out.status.success() {
            eprintln!(
                "could not remove {}: {}",
                self.id,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

const PG_PASSWORD: &str = "pg-Secret-42";
const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_real_postgres_15() {
    if !docker_or_skip("a_real_postgres_15") {
        return;
    }
    let _lock = MachineLock::take();
    let pg = Container::run(
        "analylit-lab/postgres:15",
        &[
            "-p",
            "127.0.0.1::5432",
            "-e",
            "POSTGRES_USER=analylit",
            "-e",
            &format!("POSTGRES_PASSWORD={PG_PASSWORD}"),
            "-e",
            "POSTGRES_DB=analylit",
        ],
        &[],
    );
    // TCP on 127.0.0.1 answers only once the final server runs (init uses the socket only).
    pg.wait_until("pg_isready", Duration::from_secs(90), |c| {
        c.docker(&[
            "exec",
            &c.id,
            "pg_isready",
            "-q",
            "-h",
            "127.0.0.1",
            "-U",
            "analylit",
        ])
        .status
        .success()
    });
    let addr = pg.published(5432);
    let observe = |user: &'static str, pw: Option<&'static str>, db: &'static str| {
        postgres::observe(addr, user, pw, db, &["projects", "Users"], TIMEOUT)
    };

    let ok = observe("analylit", Some(PG_PASSWORD), "analylit").await;
    assert_eq!(ok.connect, PgConnect::Ok, "{ok:?}");
    assert!(
        ok.server_version
            .as_deref()
            .is_some_and(|v| v.starts_with("15.")),
        "{ok:?}"
    );
    assert_eq!(
        ok.tables,
        [("projects".to_owned(), false), ("Users".to_owned(), false)]
    );
    assert_eq!((ok.alembic_version, ok.query_error), (None, None));

    let wrong = observe("analylit", Some("not-the-password"), "analylit").await;
    assert_eq!(wrong.connect, PgConnect::AuthFailed);
    assert_eq!(
        wrong.server_message.as_deref(),
        Some("password authentication failed for user \"analylit\"")
    );
    assert_eq!(wrong.server_version, None);
    let no_role = observe("nobody", Some(PG_PASSWORD), "analylit").await;
    assert_eq!(
        no_role.connect,
        PgConnect::AuthFailed,
        "same text as a wrong password"
    );
    let no_password = observe("analylit", None, "analylit").await;
    assert_eq!(no_password.connect, PgConnect::PasswordMissing);
    let no_db = observe("analylit", Some(PG_PASSWORD), "analylit_typo").await;
    assert_eq!(no_db.connect, PgConnect::DatabaseMissing);
    assert_eq!(
        no_db.server_message.as_deref(),
        Some("database \"analylit_typo\" does not exist")
    );

    pg.exec(
        None,
        &[
            "psql",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-U",
            "analylit",
            "-d",
            "analylit",
            "-c",
            "CREATE TABLE projects (id int); \
             CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); \
             INSERT INTO alembic_version VALUES ('deadbeef0001');",
        ],
    );
    let after = observe("analylit", Some(PG_PASSWORD), "analylit").await;
    assert_eq!(
        after.tables,
        [("projects".to_owned(), true), ("Users".to_owned(), false)],
        "`Users` is not `users`: the name is quoted like SQLAlchemy quotes it"
    );
    assert_eq!(after.alembic_version, Some(vec!["deadbeef0001".to_owned()]));

    // Nothing the probe reports carries the password.
    for obs in [&wrong, &no_role, &no_db, &after] {
        assert!(!format!("{obs:?}").contains(PG_PASSWORD), "{obs:?}");
    }
}

const REDIS_PASSWORD: &str = "redis-Secret-7";

#[tokio::test]
async fn a_real_redis_7() {
    if !docker_or_skip("a_real_redis_7") {
        return;
    }
    let _lock = MachineLock::take();
    let r = Container::run(
        "analylit-lab/redis:7",
        &["-p", "127.0.0.1::6379"],
        &["--requirepass", REDIS_PASSWORD],
    );
    let cli = |args: &[&str]| {
        let mut cmd = vec!["redis-cli", "--no-auth-warning", "-a", REDIS_PASSWORD];
        cmd.extend(args);
        r.exec(None, &cmd)
    };
    r.wait_until("redis PING", Duration::from_secs(30), |c| {
        c.docker(&[
            "exec",
            &c.id,
            "redis-cli",
            "--no-auth-warning",
            "-a",
            REDIS_PASSWORD,
            "ping",
        ])
        .stdout
        .starts_with(b"PONG")
    });
    let addr = r.published(6379);

    let ok = redis::observe(addr, None, Some(REDIS_PASSWORD), 0, TIMEOUT).await;
    assert_eq!(ok.ping, RedisReply::Pong, "{ok:?}");
    assert_eq!(ok.rdb_last_bgsave_status.as_deref(), Some("ok"));
    assert_eq!(ok.dir.as_deref(), Some("/data"));
    assert_eq!(ok.protected_mode.as_deref(), Some("no"));
    assert!(!ok.loading);

    let noauth = redis::observe(addr, None, None, 0, TIMEOUT).await;
    assert_eq!(noauth.ping, RedisReply::NoAuth);
    assert_eq!(
        noauth.rdb_last_bgsave_status, None,
        "nothing read without AUTH"
    );
    let wrong = redis::observe(addr, None, Some("not-it"), 0, TIMEOUT).await;
    assert_eq!(wrong.ping, RedisReply::WrongPass);
    assert!(
        wrong
            .server_message
            .as_deref()
            .is_some_and(|m| m.starts_with("WRONGPASS")),
        "{wrong:?}"
    );
    let db = redis::observe(addr, None, Some(REDIS_PASSWORD), 99, TIMEOUT).await;
    assert_eq!(
        db.ping,
        RedisReply::Other("ERR DB index is out of range".into())
    );

    // MISCONF for real: the data directory stops being writable, a snapshot fails.
    r.exec(Some("root"), &["chmod", "555", "/data"]);
    cli(&["bgsave"]);
    r.wait_until(
        "rdb_last_bgsave_status:err",
        Duration::from_secs(30),
        |_| cli(&["info", "persistence"]).contains("rdb_last_bgsave_status:err"),
    );
    let misconf = redis::observe(addr, None, Some(REDIS_PASSWORD), 0, TIMEOUT).await;
    assert_eq!(misconf.ping, RedisReply::Misconf, "{misconf:?}");
    assert_eq!(misconf.rdb_last_bgsave_status.as_deref(), Some("err"));
    assert_eq!(misconf.dir.as_deref(), Some("/data"));
    assert!(
        misconf
            .server_message
            .as_deref()
            .is_some_and(|m| m.starts_with("MISCONF Redis is configured to save RDB snapshots")),
        "{misconf:?}"
    );

    // Protected mode for real: no password, and the host's connection arrives through Docker's
    // proxy from a non-loopback address.
    cli(&["config", "set", "protected-mode", "yes"]);
    cli(&["config", "set", "requirepass", ""]);
    for pw in [None, Some(REDIS_PASSWORD)] {
        let denied = redis::observe(addr, None, pw, 0, TIMEOUT).await;
        assert_eq!(
            denied.ping,
            RedisReply::Denied,
            "password {:?}: {denied:?}",
            pw.is_some()
        );
    }

    for obs in [&ok, &noauth, &wrong, &db, &misconf] {
        assert!(!format!("{obs:?}").contains(REDIS_PASSWORD), "{obs:?}");
    }
}
