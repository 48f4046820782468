//! Errors for people: what happened, where, and what to do next. All of them exit with code 2.
use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum DoctorError {
    #[error("cannot reach the Docker engine at {host} (from {from}): {reason}")]
    #[diagnostic(
        code(doctor::daemon_unreachable),
        help(
            "Is the Docker daemon running? `docker info` should answer. Point DOCKER_HOST or DOCKER_CONTEXT at the right engine if it runs elsewhere."
        )
    )]
    DaemonUnreachable {
        host: String,
        from: String,
        reason: String,
    },

    #[error("permission denied on the Docker socket {host}")]
    #[diagnostic(
        code(doctor::socket_permission_denied),
        help(
            "Run as a user in the `docker` group (then log in again), or with sudo, or point DOCKER_HOST at an engine you may use."
        )
    )]
    PermissionDenied { host: String },

    #[error("docker context {context:?} (from {from}) is not in the docker config")]
    #[diagnostic(
        code(doctor::unknown_context),
        help(
            "`docker context ls` lists the contexts; set DOCKER_CONTEXT to one of them or unset it."
        )
    )]
    UnknownContext { context: String, from: String },

    #[error("unsupported Docker host {host:?} (from {from})")]
    #[diagnostic(
        code(doctor::unsupported_host),
        help(
            "Use a unix:// socket, a tcp:// address (with DOCKER_TLS_VERIFY=1 for TLS) or ssh://[user@]host[:port]."
        )
    )]
    UnsupportedHost { host: String, from: String },

    #[error("cannot use the TLS material for {host} (from {from}): {reason}")]
    #[diagnostic(
        code(doctor::tls_material),
        help(
            "With DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH (default ~/.docker) must hold ca.pem, cert.pem and key.pem, as `docker --tlsverify` needs them; a context keeps its own under ~/.docker/contexts/tls/. Verification cannot be skipped: give the engine's CA."
        )
    )]
    TlsMaterial {
        host: String,
        from: String,
        reason: String,
    },

    #[error("no containers for compose project {project:?} ({how})")]
    #[diagnostic(
        code(doctor::no_containers),
        help(
            "Start the stack first (`docker compose up -d`), or name the project with -p/--project-name or COMPOSE_PROJECT_NAME. Projects with containers here: {known}"
        )
    )]
    NoContainers {
        project: String,
        how: String,
        known: String,
    },

    #[error("no services or tasks for Swarm stack {stack:?}")]
    #[diagnostic(
        code(doctor::no_stack),
        help(
            "Deploy it first (`docker stack deploy -c docker-compose.yml NAME`) on a manager node, and point DOCKER_HOST or DOCKER_CONTEXT at that manager. Stacks here: {known}"
        )
    )]
    NoStack { stack: String, known: String },

    #[error("cannot tell which compose project to check")]
    #[diagnostic(
        code(doctor::no_project),
        help(
            "Run from the directory of the compose file, pass -f/--file, or name the project with -p/--project-name or COMPOSE_PROJECT_NAME."
        )
    )]
    NoProject,

    #[error("the Docker engine failed while {doing}: {reason}")]
    #[diagnostic(code(doctor::engine_error))]
    Engine { doing: String, reason: String },

    #[error("cannot read the bundle {path}: {reason}")]
    #[diagnostic(
        code(doctor::bad_bundle),
        help("A bundle is the .tar.gz that `analylit-doctor snapshot -o FILE` writes.")
    )]
    Bundle { path: String, reason: String },

    #[error("cannot diagnose {input}: {reason}")]
    #[diagnostic(code(doctor::unrecognised_input), help("{}", PASTE_KINDS_HELP))]
    Paste { input: String, reason: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Rules(#[from] crate::rules::RulesError),

    /// A command line the tool cannot act on: options that do not go together, a value it
    /// cannot use.
    #[error("{what}: {reason}")]
    #[diagnostic(
        code(doctor::usage),
        help("`analylit-doctor <command> --help` lists the options.")
    )]
    Usage { what: String, reason: String },

    /// Reading or writing a file, or another operating-system call, failed.
    #[error("{what}")]
    #[diagnostic(code(doctor::io))]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    /// A backup could not be opened or written.
    #[error("{what}")]
    #[diagnostic(code(doctor::backup))]
    Backup {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Putting a backup back failed.
    #[error("{what}")]
    #[diagnostic(code(doctor::restore))]
    Restore {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A stage's own diagnostic (pre-flight's), shown as it is, with its code and help.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Stage(Box<dyn Diagnostic + Send + Sync + 'static>),
}

/// What `--logs` reads (`crate::stack::paste`'s kinds), for error messages and help.
pub const PASTE_KINDS_HELP: &str = "--logs reads, in any mix: `docker compose logs` transcripts, \
`docker compose up` output (with the daemon's errors), `docker inspect` JSON (whole, or its State \
or Health), `docker events` lines, kernel OOM-killer lines (dmesg, journalctl -k), `docker \
compose ps` / `docker ps` tables, and plain logs (name their service with SERVICE=FILE). A \
snapshot bundle (.tar.gz) goes to --from.";

#[cfg(test)]
mod tests {
    /// Every `doctor::…` diagnostic code in the sources, with the file that declares it.
    fn codes() -> Vec<(String, String)> {
        let re = regex::Regex::new(r"code\((doctor(?:::[a-z_]+)+)\)").expect("code regex");
        let mut out = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("src is readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("source");
                    for c in re.captures_iter(&text) {
                        out.push((c[1].to_owned(), path.display().to_string()));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn diagnostic_codes_are_unique() {
        let all = codes();
        assert!(all.len() >= 10, "the scan found only {all:?}");
        let mut seen = std::collections::BTreeMap::new();
        for (code, file) in &all {
            if let Some(first) = seen.insert(code.clone(), file.clone()) {
                panic!("{code} is declared twice: in {first} and in {file}");
            }
        }
    }
}
