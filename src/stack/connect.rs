//! Finding and reaching the Docker engine the way the docker CLI does.
//!
//! Order: `DOCKER_HOST`, else the context named by `DOCKER_CONTEXT`, else `currentContext` in
//! `$DOCKER_CONFIG/config.json` (default `~/.docker`), whose endpoint is read from
//! `contexts/meta/*/meta.json`; else the default socket. bollard 0.21 does not read contexts, so
//! this module does.
//!
//! Remote engines: `tcp://` plain, `tcp://` with TLS (`DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`,
//! or a context's TLS material under `contexts/tls/<sha256 of its name>/docker/`), and `ssh://`,
//! which runs `ssh … docker system dial-stdio` (what the docker CLI runs) once per connection and
//! serves it to bollard on a private unix socket. An engine reached any other way than its own
//! unix socket is [`Endpoint::remote`]: its published ports are on another machine, so probes
//! take the in-network path and never dial 127.0.0.1 for them.
use crate::error::DoctorError;
use bollard::{API_DEFAULT_VERSION, Docker};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// Where the engine is, and why we think so (shown in errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub from: String,
    /// Client certificate, key and CA for a `tcp://` engine with TLS.
    pub tls: Option<TlsMaterial>,
}

/// The three files `docker --tlsverify` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsMaterial {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsMaterial {
    /// `ca.pem`, `cert.pem`, `key.pem` in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        TlsMaterial {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        }
    }

    fn missing(&self) -> Vec<String> {
        [&self.ca, &self.cert, &self.key]
            .into_iter()
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect()
    }
}

impl Endpoint {
    /// A plain endpoint without TLS (tests, and the default socket).
    pub fn plain(host: &str, from: &str) -> Self {
        Endpoint {
            host: host.into(),
            from: from.into(),
            tls: None,
        }
    }

    /// Whether the engine is not this machine's own socket: its published ports are not ours to
    /// dial (a `tcp://` or `ssh://` engine publishes on its own host).
    pub fn remote(&self) -> bool {
        !self.host.starts_with("unix://") && !self.host.starts_with("npipe://")
    }
}

/// The environment the resolution reads, so tests can give their own.
#[derive(Debug, Clone, Default)]
pub struct EndpointEnv {
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub config_dir: Option<PathBuf>,
    /// `DOCKER_TLS_VERIFY` set to anything but empty.
    pub tls_verify: bool,
    /// `DOCKER_TLS` set without `DOCKER_TLS_VERIFY`: TLS without verifying the engine.
    pub tls_no_verify: bool,
    /// `DOCKER_CERT_PATH` (default: the config dir).
    pub cert_path: Option<PathBuf>,
}

impl EndpointEnv {
    pub fn from_process() -> Self {
        let var = |n: &str| std::env::var(n).ok().filter(|s| !s.is_empty());
        let config_dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")));
        EndpointEnv {
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            config_dir,
            tls_verify: var("DOCKER_TLS_VERIFY").is_some(),
            tls_no_verify: var("DOCKER_TLS").is_some(),
            cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from),
        }
    }
}

pub fn resolve_endpoint(env: &EndpointEnv) -> Result<Endpoint, DoctorError> {
    if let Some(host) = &env.docker_host {
        let mut endpoint = Endpoint::plain(host, "DOCKER_HOST");
        if env.tls_verify {
            let dir = env.cert_path.clone().or_else(|| env.config_dir.clone());
            let Some(dir) = dir else {
                return Err(DoctorError::TlsMaterial {
                    host: host.clone(),
                    from: "DOCKER_TLS_VERIFY".into(),
                    reason: "neither DOCKER_CERT_PATH nor HOME is set".into(),
                });
            };
            endpoint.from = format!(
                "DOCKER_HOST, DOCKER_TLS_VERIFY with the certificates in {}",
                dir.display()
            );
            endpoint.tls = Some(TlsMaterial::in_dir(&dir));
        } else if env.tls_no_verify {
            return Err(DoctorError::TlsMaterial {
                host: host.clone(),
                from: "DOCKER_TLS".into(),
                reason: "TLS without verifying the engine (DOCKER_TLS without DOCKER_TLS_VERIFY) \
                         is not supported"
                    .into(),
            });
        }
        return Ok(endpoint);
    }
    let (context, from) = match &env.docker_context {
        Some(c) => (Some(c.clone()), "DOCKER_CONTEXT".to_string()),
        None => (
            env.config_dir
                .as_deref()
                .and_then(current_context)
                .filter(|c| c != "default"),
            "currentContext in the docker config".to_string(),
        ),
    };
    let Some(context) = context.filter(|c| c != "default") else {
        return Ok(Endpoint::plain(DEFAULT_SOCKET, "the default socket"));
    };
    let (host, skip_verify) = env
        .config_dir
        .as_deref()
        .and_then(|dir| context_host(dir, &context))
        .ok_or_else(|| DoctorError::UnknownContext {
            context: context.clone(),
            from: from.clone(),
        })?;
    let from = format!("docker context {context:?} ({from})");
    // The CLI keeps a context's TLS files under the sha256 of its name; a context without them
    // talks plain tcp (or ssh, or a socket).
    let tls_dir = env.config_dir.as_deref().map(|dir| {
        dir.join("contexts")
            .join("tls")
            .join(context_digest(&context))
            .join("docker")
    });
    let tls = tls_dir
        .filter(|d| d.join("ca.pem").is_file() || d.join("cert.pem").is_file())
        .map(|d| TlsMaterial::in_dir(&d));
    if tls.is_some() && skip_verify {
        return Err(DoctorError::TlsMaterial {
            host,
            from,
            reason: "the context says SkipTLSVerify, and verification cannot be skipped".into(),
        });
    }
    Ok(Endpoint { host, from, tls })
}

/// The folder name the docker CLI gives a context's metadata and TLS files.
pub fn context_digest(name: &str) -> String {
    crate::digest::sha256(name.as_bytes())
}

/// The largest docker CLI `config.json` or context `meta.json` read: both are a few hundred bytes
/// (credentials helpers, a context's endpoint). One past this is read as unreadable is: as if it
/// named no context, and the endpoint line then says where the doctor connected instead.
const MAX_CONFIG_BYTES: usize = 4 * 1024 * 1024;

fn current_context(config_dir: &Path) -> Option<String> {
    let text = crate::capped::text(&config_dir.join("config.json"), MAX_CONFIG_BYTES).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["currentContext"].as_str().map(String::from)
}

/// The context's docker endpoint and its `SkipTLSVerify`.
fn context_host(config_dir: &Path, name: &str) -> Option<(String, bool)> {
    let meta_dir = config_dir.join("contexts").join("meta");
    for entry in std::fs::read_dir(meta_dir).ok()?.flatten() {
        let Ok(text) = crate::capped::text(&entry.path().join("meta.json"), MAX_CONFIG_BYTES)
        else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if v["Name"].as_str() == Some(name) {
            let docker = &v["Endpoints"]["docker"];
            return docker["Host"].as_str().map(|h| {
                (
                    h.to_string(),
                    docker["SkipTLSVerify"].as_bool().unwrap_or(false),
                )
            });
        }
    }
    None
}

/// `ssh://[user@]host[:port]` as the ssh command that reaches the engine behind it: the docker
/// CLI's own `docker system dial-stdio` on the far side, its stdio carrying the Engine API.
pub fn ssh_command(host: &str, connect_timeout: Duration) -> Result<Vec<String>, String> {
    let rest = host
        .strip_prefix("ssh://")
        .ok_or_else(|| format!("{host} is not an ssh:// address"))?;
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') || rest.contains('?') {
        return Err("an ssh:// address takes no path or query".into());
    }
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let (name, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
            let p: u16 = p.parse().map_err(|_| format!("bad ssh port {p:?}"))?;
            (h, Some(p))
        }
        _ => (hostport, None),
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if name.is_empty() || name.starts_with('-') {
        return Err(format!("bad ssh host {name:?}"));
    }
    let mut argv: Vec<String> = vec![
        "ssh".into(),
        "-o".into(),
        format!("ConnectTimeout={}", connect_timeout.as_secs().max(1)),
        // Never a password prompt in the middle of a diagnosis: keys or an agent only.
        "-o".into(),
        "BatchMode=yes".into(),
        "-T".into(),
    ];
    if let Some(u) = user {
        if u.is_empty() || u.starts_with('-') {
            return Err(format!("bad ssh user {u:?}"));
        }
        argv.extend(["-l".into(), u.to_string()]);
    }
    if let Some(p) = port {
        argv.extend(["-p".into(), p.to_string()]);
    }
    argv.extend([
        "--".into(),
        name.to_string(),
        "docker".into(),
        "system".into(),
        "dial-stdio".into(),
    ]);
    Ok(argv)
}

/// A private unix socket whose every connection runs `argv` and relays the connection over its
/// stdio: how bollard (which knows sockets, not ssh) talks to an engine behind `ssh`. Lives as
/// long as the process (see [`close_tunnels`]).
pub struct CommandTunnel {
    dir: PathBuf,
}

static TUNNELS: Mutex<Vec<CommandTunnel>> = Mutex::new(Vec::new());

/// Remove the tunnels' sockets (their relaying tasks end with the runtime).
pub fn close_tunnels() {
    if let Ok(mut list) = TUNNELS.lock() {
        for t in list.drain(..) {
            let _ = std::fs::remove_dir_all(&t.dir);
        }
    }
}

const TUNNEL_STDERR_KEPT: usize = 2048;

impl CommandTunnel {
    /// Listen on a fresh socket in a 0700 directory of the temp dir; must run inside the tokio
    /// runtime that will serve it. Gives the socket and the command's last stderr (bounded),
    /// for the error when the engine does not answer.
    pub fn start(argv: Vec<String>) -> std::io::Result<(PathBuf, Arc<Mutex<String>>)> {
        use std::os::unix::fs::PermissionsExt;
        static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("analylit-doctor-engine-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let socket = dir.join("engine.sock");
        let listener = tokio::net::UnixListener::bind(&socket)?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let kept = stderr.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(relay_command(conn, argv.clone(), kept.clone()));
            }
        });
        if let Ok(mut list) = TUNNELS.lock() {
            list.push(CommandTunnel { dir });
        }
        Ok((socket, stderr))
    }
}

async fn relay_command(
    mut conn: tokio::net::UnixStream,
    argv: Vec<String>,
    stderr_kept: Arc<Mutex<String>>,
) {
    use tokio::io::AsyncReadExt;
    let Some((program, args)) = argv.split_first() else {
        return;
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            if let Ok(mut s) = stderr_kept.lock() {
                *s = format!("cannot run {program}: {e}");
            }
            return;
        }
    };
    let (Some(stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return;
    };
    let kept = stderr_kept.clone();
    let errors = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut buf).await;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim();
        if !text.is_empty()
            && let Ok(mut s) = kept.lock()
        {
            let start = text.len().saturating_sub(TUNNEL_STDERR_KEPT);
            let start = (start..=text.len())
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(text.len());
            *s = text[start..].to_string();
        }
    });
    let mut pipe = tokio::io::join(stdout, stdin);
    let _ = tokio::io::copy_bidirectional(&mut conn, &mut pipe).await;
    drop(pipe);
    let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(1), errors).await;
}

/// Connect and ping within `timeout`; classify the failures a person can act on.
pub async fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Docker, DoctorError> {
    let argv = if endpoint.host.starts_with("ssh://") {
        Some(ssh_command(&endpoint.host, timeout).map_err(|reason| {
            DoctorError::DaemonUnreachable {
                host: endpoint.host.clone(),
                from: endpoint.from.clone(),
                reason,
            }
        })?)
    } else {
        None
    };
    connect_through(endpoint, argv, timeout).await
}

/// [`connect`], with the command an `ssh://` endpoint runs given (tests run `docker system
/// dial-stdio` on this machine, without ssh, through the same tunnel).
pub async fn connect_through(
    endpoint: &Endpoint,
    command: Option<Vec<String>>,
    timeout: Duration,
) -> Result<Docker, DoctorError> {
    let secs = timeout.as_secs().max(1);
    let unreachable = |reason: String| DoctorError::DaemonUnreachable {
        host: endpoint.host.clone(),
        from: endpoint.from.clone(),
        reason,
    };
    let mut tunnel_stderr = None;
    let docker = if let Some(argv) = command {
        let (socket, stderr) = CommandTunnel::start(argv)
            .map_err(|e| unreachable(format!("cannot open a local socket for ssh: {e}")))?;
        tunnel_stderr = Some(stderr);
        Docker::connect_with_unix(&socket.to_string_lossy(), secs, API_DEFAULT_VERSION)
            .map_err(|e| unreachable(e.to_string()))?
    } else if let Some(path) = endpoint.host.strip_prefix("unix://") {
        if !Path::new(path).exists() {
            return Err(unreachable(format!("the socket {path} does not exist")));
        }
        Docker::connect_with_unix(path, secs, API_DEFAULT_VERSION)
            .map_err(|e| unreachable(e.to_string()))?
    } else if let Some(tls) = &endpoint.tls {
        let tls_error = |reason: String| DoctorError::TlsMaterial {
            host: endpoint.host.clone(),
            from: endpoint.from.clone(),
            reason,
        };
        let missing = tls.missing();
        if !missing.is_empty() {
            return Err(tls_error(format!("missing {}", missing.join(", "))));
        }
        let addr = endpoint.host.replacen("tcp://", "https://", 1);
        Docker::connect_with_ssl(
            &addr,
            &tls.key,
            &tls.cert,
            &tls.ca,
            secs,
            API_DEFAULT_VERSION,
        )
        .map_err(|e| tls_error(error_chain(&e)))?
    } else if endpoint.host.starts_with("tcp://") || endpoint.host.starts_with("http://") {
        Docker::connect_with_http(&endpoint.host, secs, API_DEFAULT_VERSION)
            .map_err(|e| unreachable(e.to_string()))?
    } else {
        return Err(DoctorError::UnsupportedHost {
            host: endpoint.host.clone(),
            from: endpoint.from.clone(),
        });
    };

    let with_ssh = |reason: String| match tunnel_stderr
        .as_ref()
        .and_then(|s| s.lock().ok().map(|s| s.clone()))
        .filter(|s| !s.is_empty())
    {
        Some(err) => format!("{reason}; ssh said: {err}"),
        None => reason,
    };
    match tokio::time::timeout(timeout, docker.ping()).await {
        Err(_) | Ok(Err(bollard::errors::Error::RequestTimeoutError)) => Err(unreachable(
            with_ssh(format!("no answer within {}s", timeout.as_secs_f32())),
        )),
        Ok(Err(e)) => {
            let chain = error_chain(&e);
            if endpoint.host.starts_with("unix://")
                && (chain.contains("Permission denied") || chain.contains("permission denied"))
            {
                Err(DoctorError::PermissionDenied {
                    host: endpoint.host.clone(),
                })
            } else {
                Err(unreachable(with_ssh(chain)))
            }
        }
        Ok(Ok(_)) => Ok(docker),
    }
}

/// An error and its sources on one line: bollard's top-level message hides the useful part.
/// The engine failed to answer a request: shown as its whole cause chain ([`error_chain`]).
#[derive(Debug, thiserror::Error)]
#[error("{}", error_chain(.0))]
pub struct EngineError(pub bollard::errors::Error);

pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(host: Option<&str>, ctx: Option<&str>, dir: Option<&Path>) -> EndpointEnv {
        EndpointEnv {
            docker_host: host.map(String::from),
            docker_context: ctx.map(String::from),
            config_dir: dir.map(Path::to_path_buf),
            ..Default::default()
        }
    }

    fn write_context(dir: &Path, name: &str, host: &str) {
        let meta = dir.join("contexts/meta").join(format!("{name}-hash"));
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(
            meta.join("meta.json"),
            format!(r#"{{"Name":"{name}","Endpoints":{{"docker":{{"Host":"{host}"}}}}}}"#),
        )
        .unwrap();
    }

    #[test]
    fn docker_host_wins() {
        let e = resolve_endpoint(&env(Some("tcp://127.0.0.1:2375"), Some("x"), None)).unwrap();
        assert_eq!(e.host, "tcp://127.0.0.1:2375");
        assert_eq!(e.from, "DOCKER_HOST");
    }

    #[test]
    fn default_socket_without_anything() {
        let e = resolve_endpoint(&env(None, None, None)).unwrap();
        assert_eq!(e.host, DEFAULT_SOCKET);
    }

    #[test]
    fn context_from_env_and_from_config() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "lab", "unix:///run/lab.sock");
        let e = resolve_endpoint(&env(None, Some("lab"), Some(dir.path()))).unwrap();
        assert_eq!(e.host, "unix:///run/lab.sock");

        std::fs::write(
            dir.path().join("config.json"),
            r#"{"currentContext":"lab"}"#,
        )
        .unwrap();
        let e = resolve_endpoint(&env(None, None, Some(dir.path()))).unwrap();
        assert_eq!(e.host, "unix:///run/lab.sock");
        assert!(e.from.contains("currentContext"));
    }

    #[test]
    fn unknown_context_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve_endpoint(&env(None, Some("nope"), Some(dir.path()))).unwrap_err();
        assert!(matches!(err, DoctorError::UnknownContext { .. }));
    }

    #[test]
    fn tls_from_the_environment_uses_the_cert_path_or_the_config_dir() {
        let mut e = env(Some("tcp://127.0.0.1:2376"), None, Some(Path::new("/cfg")));
        e.tls_verify = true;
        let ep = resolve_endpoint(&e).unwrap();
        assert_eq!(ep.tls, Some(TlsMaterial::in_dir(Path::new("/cfg"))));
        e.cert_path = Some("/certs".into());
        let ep = resolve_endpoint(&e).unwrap();
        assert_eq!(ep.tls.unwrap().ca, Path::new("/certs/ca.pem"));
        assert!(ep.from.contains("DOCKER_TLS_VERIFY"));

        let mut plain = env(Some("tcp://127.0.0.1:2375"), None, None);
        assert_eq!(resolve_endpoint(&plain).unwrap().tls, None);
        plain.tls_no_verify = true;
        assert!(matches!(
            resolve_endpoint(&plain),
            Err(DoctorError::TlsMaterial { .. })
        ));
    }

    #[test]
    fn a_context_brings_its_tls_material_from_the_digest_of_its_name() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "remote", "tcp://engine.example:2376");
        let tls = dir
            .path()
            .join("contexts/tls")
            .join(context_digest("remote"))
            .join("docker");
        std::fs::create_dir_all(&tls).unwrap();
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(tls.join(f), "x").unwrap();
        }
        let e = resolve_endpoint(&env(None, Some("remote"), Some(dir.path()))).unwrap();
        assert_eq!(e.host, "tcp://engine.example:2376");
        assert_eq!(e.tls, Some(TlsMaterial::in_dir(&tls)));
        assert!(e.remote());
        // The CLI's digest of a context name (sha256, hex).
        assert_eq!(
            context_digest("default"),
            "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f"
        );
    }

    #[test]
    fn only_the_local_socket_is_local() {
        assert!(!Endpoint::plain(DEFAULT_SOCKET, "x").remote());
        assert!(Endpoint::plain("tcp://127.0.0.1:2375", "x").remote());
        assert!(Endpoint::plain("ssh://me@host", "x").remote());
    }

    #[test]
    fn ssh_runs_the_docker_clis_dial_stdio_on_the_far_side() {
        let t = Duration::from_secs(5);
        assert_eq!(
            ssh_command("ssh://deploy@engine.example:2222", t).unwrap(),
            [
                "ssh",
                "-o",
                "ConnectTimeout=5",
                "-o",
                "BatchMode=yes",
                "-T",
                "-l",
                "deploy",
                "-p",
                "2222",
                "--",
                "engine.example",
                "docker",
                "system",
                "dial-stdio"
            ]
        );
        let bare = ssh_command("ssh://engine", t).unwrap();
        assert_eq!(
            bare[bare.len() - 4..],
            ["engine", "docker", "system", "dial-stdio"]
        );
        assert!(!bare.contains(&"-l".to_string()) && !bare.contains(&"-p".to_string()));
        assert!(ssh_command("ssh://-oProxyCommand=x", t).is_err());
        assert!(ssh_command("ssh://host/path", t).is_err());
        assert!(ssh_command("ssh://host:notaport", t).is_err());
    }
}
