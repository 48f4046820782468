//! Finding and reaching the Docker engine the way the docker CLI does.
//!
//! Order: `DOCKER_HOST`, else the context named by `DOCKER_CONTEXT`, else `currentContext` in
//! `$DOCKER_CONFIG/config.json` (default `~/.docker`), whose endpoint is read from
//! `contexts/meta/*/meta.json`; else the default socket. bollard 0.21 does not read contexts, so
//! this module does.
use crate::error::DoctorError;
use bollard::{API_DEFAULT_VERSION, Docker};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// Where the engine is, and why we think so (shown in errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub from: String,
}

/// The environment the resolution reads, so tests can give their own.
pub struct EndpointEnv {
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub config_dir: Option<PathBuf>,
}

impl EndpointEnv {
    pub fn from_process() -> Self {
        let config_dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")));
        EndpointEnv {
            docker_host: std::env::var("DOCKER_HOST").ok().filter(|s| !s.is_empty()),
            docker_context: std::env::var("DOCKER_CONTEXT")
                .ok()
                .filter(|s| !s.is_empty()),
            config_dir,
        }
    }
}

pub fn resolve_endpoint(env: &EndpointEnv) -> Result<Endpoint, DoctorError> {
    if let Some(host) = &env.docker_host {
        return Ok(Endpoint {
            host: host.clone(),
            from: "DOCKER_HOST".into(),
        });
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
        return Ok(Endpoint {
            host: DEFAULT_SOCKET.into(),
            from: "the default socket".into(),
        });
    };
    let host = env
        .config_dir
        .as_deref()
        .and_then(|dir| context_host(dir, &context))
        .ok_or_else(|| DoctorError::UnknownContext {
            context: context.clone(),
            from: from.clone(),
        })?;
    Ok(Endpoint {
        host,
        from: format!("docker context {context:?} ({from})"),
    })
}

fn current_context(config_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["currentContext"].as_str().map(String::from)
}

fn context_host(config_dir: &Path, name: &str) -> Option<String> {
    let meta_dir = config_dir.join("contexts").join("meta");
    for entry in std::fs::read_dir(meta_dir).ok()?.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("meta.json")) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if v["Name"].as_str() == Some(name) {
            return v["Endpoints"]["docker"]["Host"].as_str().map(String::from);
        }
    }
    None
}

/// Connect and ping within `timeout`; classify the failures a person can act on.
pub async fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Docker, DoctorError> {
    let secs = timeout.as_secs().max(1);
    let unreachable = |reason: String| DoctorError::DaemonUnreachable {
        host: endpoint.host.clone(),
        from: endpoint.from.clone(),
        reason,
    };
    let docker = if let Some(path) = endpoint.host.strip_prefix("unix://") {
        if !Path::new(path).exists() {
            return Err(unreachable(format!("the socket {path} does not exist")));
        }
        Docker::connect_with_unix(path, secs, API_DEFAULT_VERSION)
    } else if endpoint.host.starts_with("tcp://") || endpoint.host.starts_with("http://") {
        Docker::connect_with_http(&endpoint.host, secs, API_DEFAULT_VERSION)
    } else {
        return Err(DoctorError::UnsupportedHost {
            host: endpoint.host.clone(),
            from: endpoint.from.clone(),
        });
    }
    .map_err(|e| unreachable(e.to_string()))?;

    match tokio::time::timeout(timeout, docker.ping()).await {
        Err(_) => Err(unreachable(format!(
            "no answer within {}s",
            timeout.as_secs_f32()
        ))),
        Ok(Err(bollard::errors::Error::RequestTimeoutError)) => Err(unreachable(format!(
            "no answer within {}s",
            timeout.as_secs_f32()
        ))),
        Ok(Err(e)) => {
            let chain = error_chain(&e);
            if chain.contains("Permission denied") || chain.contains("permission denied") {
                Err(DoctorError::PermissionDenied {
                    host: endpoint.host.clone(),
                })
            } else {
                Err(unreachable(chain))
            }
        }
        Ok(Ok(_)) => Ok(docker),
    }
}

/// An error and its sources on one line: bollard's top-level message hides the useful part.
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
}
