//! `docker compose up` / `docker-compose up` output: compose's own lines around the containers'
//! logs, among them the daemon's errors — the only place a container the engine refused to start
//! explains itself, since it never logged a line.
//!
//! A daemon error on start (`Cannot start service web: OCI runtime create failed: … exec:
//! "./entrypoint.sh": permission denied`, `Bind for 0.0.0.0:8080 failed: port is already
//! allocated`) becomes the state the engine gives such a container: status `created`, the error as
//! `State.Error`, exit code 126/127/128 as the engine assigns them ([`super::facts::start_error_code`]).
//! Compose v1 names the container and the service (`ERROR: for analylit_web  Cannot start
//! service web: …`); v2 prints `Error response from daemon: …` after a `✘ Container analylit_web
//! Error` line, or names the endpoint in the error itself. Dependencies that failed (`Container
//! "3f2a…" is unhealthy.`, `dependency failed to start: container analylit_db is unhealthy`) and
//! `web_1 exited with code 3` become their containers' state. Progress lines (`Creating …
//! done`, `✔ Container … Started`, `Attaching to …`) name containers, which lets a transcript's
//! `container_name:` prefixes be read. Compose's own warnings and errors that name no container
//! (`The "POSTGRES_PASSWORD" variable is not set.`) are kept as the log of a `compose` service,
//! so rules about compose's own output can match them. Build output (`Step 1/5 : FROM …`) is
//! recognised and skipped.
use super::facts::{Facts, Rank, Subject, tell};
use regex::Regex;
use std::sync::LazyLock;

/// The service that holds compose's own warnings and errors.
pub const COMPOSE_SERVICE: &str = "compose";

static CANNOT_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^ERROR: for (?P<who>\S+)\s+Cannot start service (?P<service>[^:\s]+): (?P<error>.+)$",
    )
    .expect("cannot-start pattern")
});
static FOR_CONTAINER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:ERROR: (?:for \S+\s+)?)?Container "(?P<id>[0-9a-f]{12,64})" (?:is (?P<unhealthy>unhealthy)|exited with code (?P<code>-?\d+))\.?$"#)
        .expect("container pattern")
});
static DAEMON_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:docker: )?Error response from daemon: (?P<error>.+)$").expect("daemon pattern")
});
static BIND_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:Error starting userland proxy: )?listen (?:tcp|udp)[46]? \S+: bind: address already in use$")
        .expect("bind pattern")
});
static ENDPOINT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"on endpoint (?P<name>[A-Za-z0-9][\w.-]*) ").expect("endpoint pattern")
});
static DEPENDENCY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:Error: )?dependency failed to start: container (?P<name>\S+?) (?:is (?P<unhealthy>unhealthy)|exited \((?P<code>-?\d+)\))$")
        .expect("dependency pattern")
});
static NOT_COMPLETED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^service "(?P<service>[^"]+)" didn't complete successfully: exit (?P<code>-?\d+)$"#,
    )
    .expect("completion pattern")
});
static EXITED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<name>[A-Za-z0-9][\w.-]*) exited with code (?P<code>-?\d+)$")
        .expect("exited pattern")
});
/// v1 progress: `Creating p_web_1 ... done`, `Starting p_db_1 ... error`, `p_db_1 is up-to-date`.
static V1_PROGRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:(?:Creating|Starting|Recreating|Stopping|Removing|Killing|Restarting|Pulling) (?P<name>[A-Za-z0-9][\w.-]*)\s+\.\.\.\s*(?:done|error)?\s*|(?P<name2>[A-Za-z0-9][\w.-]*) is up-to-date)$")
        .expect("v1 progress pattern")
});
/// v2 progress: ` ✔ Container analylit_db  Healthy   5.3s`, `⠿ Container p-web-1  Started`.
static V2_PROGRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[\s✔✘⠿⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏!-]*(?P<what>Network|Volume|Container|Image|Service) (?P<name>\S+)\s+(?P<state>Created|Creating|Recreated|Recreate|Started|Starting|Healthy|Waiting|Running|Stopped|Stopping|Removed|Removing|Error|Exited|Pulled|Pulling|Built|Building|Killed|Killing|Warning)\b.*$")
        .expect("v2 progress pattern")
});
/// Lines compose prints that say nothing for a diagnosis.
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:Creating (?:network|volume) |Removing (?:network|volume) |Network \S+ is external|Building \S+$",
        r"|Step \d+/\d+ : | ---> |Successfully (?:built|tagged) |Removing intermediate container |Sending build context to Docker daemon",
        r"|#\d+ |\[\+\] |Gracefully stopping|Aborting on container exit|Stopping \S+\s|Killing \S+\s|(?:ERROR: )?Encountered errors while bringing up the project",
        r"|Pulling \S+ \(|Recreating |Found orphan containers|Use '--|Starting \S+ \.\.\.)",
    ))
    .expect("noise pattern")
});
/// Compose's own warnings and errors.
static OWN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:WARNING: |WARN\[\d+\] |ERROR: |error: )").expect("own pattern")
});

/// Whether a line can be compose's at all: every pattern above starts with one of these words or
/// holds one of these marks. Checked first, so the patterns run on few lines of a long log.
fn may_be_compose(t: &str) -> bool {
    const STARTS: &[&str] = &[
        "ERROR",
        "Error",
        "error: ",
        "WARN",
        "Container \"",
        "docker: ",
        "listen ",
        "dependency ",
        "service \"",
        "Attaching to ",
        "Creating ",
        "Starting ",
        "Recreating ",
        "Stopping ",
        "Removing ",
        "Killing ",
        "Restarting ",
        "Pulling ",
        "Building ",
        "Network ",
        "Step ",
        "---> ",
        "Successfully ",
        "Sending build",
        "#",
        "[+]",
        "Gracefully",
        "Aborting",
        "Encountered",
        "Found orphan",
        "Use '--",
    ];
    STARTS.iter().any(|s| t.starts_with(s))
        || t.contains(" exited with code ")
        || t.ends_with(" is up-to-date")
        || t.contains("Container ")
        || t.contains("Network ")
        || t.contains("Volume ")
        || t.contains("Image ")
}

/// Whether a daemon error is the engine refusing to start a container (not, say, a `docker
/// logs` of a container that does not exist).
fn is_start_error(error: &str) -> bool {
    [
        "OCI runtime",
        "failed to create shim task",
        "starting container process",
        "driver failed programming external connectivity",
        "port is already allocated",
        "address already in use",
        "Cannot start",
        "could not select device driver",
        "error gathering device information",
        "failed to create endpoint",
    ]
    .iter()
    .any(|s| error.contains(s))
}

/// What the reader did with a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Took {
    /// A fact about a container (subject index).
    Fact(Option<usize>),
    /// A line that names containers or is compose's progress: nothing to keep.
    Progress,
    /// `Attaching to …`: the header of a logs transcript (v1 `logs`, and `up`).
    Attaching,
}

#[derive(Default)]
pub struct Reader {
    /// v2: the last container compose marked `Error`, whom a following daemon error is about.
    failed: Option<String>,
    /// The last name of an `Attaching to …` line a terminal may have cut: the next line may
    /// go on with the list.
    attaching: Option<String>,
}

static NAME_LIST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\w.-]*(?:, [\w.-]+)*,?$").expect("name list pattern"));

impl Reader {
    /// Take `line` when it is compose's own. `default` is whom an error naming nobody is about.
    pub fn take(&mut self, line: &str, default: &Subject, facts: &mut Facts) -> Option<Took> {
        let t = line.trim();
        if let Some(partial) = self.attaching.take()
            && NAME_LIST.is_match(t)
        {
            // `Attaching to p_web_1, p_wor` + `ker_1, p_db_1`: the list, wrapped.
            let joined = format!("{partial}{t}");
            self.attaching = joined.rsplit(", ").next().map(String::from);
            for n in joined.split(", ") {
                facts.know_name(n.trim().trim_end_matches(','));
            }
            return Some(Took::Attaching);
        }
        if !may_be_compose(t.trim_start_matches(|c: char| !c.is_ascii())) {
            return None;
        }
        if let Some(c) = CANNOT_START.captures(t) {
            let (who, service) = (&c["who"], &c["service"]);
            let subject = if who == service {
                Subject::service(service)
            } else {
                Subject::name(who).with_service(Some(service))
            };
            return Some(Took::Fact(start_failed(facts, &subject, &c["error"])));
        }
        if let Some(c) = FOR_CONTAINER.captures(t) {
            let subject = Subject::id(&c["id"]);
            let fact = facts.of(&subject).map(|(i, p)| {
                if c.name("unhealthy").is_some() {
                    p.health_status(Rank::ComposeUp, "unhealthy");
                } else if let Ok(code) = c["code"].parse() {
                    exited(p, code);
                }
                i
            });
            return Some(Took::Fact(fact));
        }
        if let Some(c) = DAEMON_ERROR.captures(t) {
            let error = &c["error"];
            if !is_start_error(error) {
                return Some(Took::Fact(own_line(facts, t)));
            }
            let subject = ENDPOINT
                .captures(error)
                .map(|e| Subject::name(&e["name"]))
                .or_else(|| self.failed.as_deref().map(Subject::name))
                .unwrap_or_else(|| default.clone());
            return Some(Took::Fact(start_failed(facts, &subject, error)));
        }
        if BIND_ERROR.is_match(t) {
            let subject = self
                .failed
                .as_deref()
                .map(Subject::name)
                .unwrap_or_else(|| default.clone());
            return Some(Took::Fact(start_failed(facts, &subject, t)));
        }
        if let Some(c) = DEPENDENCY.captures(t) {
            let fact = facts.of(&Subject::name(&c["name"])).map(|(i, p)| {
                if c.name("unhealthy").is_some() {
                    p.health_status(Rank::ComposeUp, "unhealthy");
                } else if let Ok(code) = c["code"].parse() {
                    exited(p, code);
                }
                i
            });
            return Some(Took::Fact(fact));
        }
        if let Some(c) = NOT_COMPLETED.captures(t) {
            let fact = facts.of(&Subject::service(&c["service"])).map(|(i, p)| {
                if let Ok(code) = c["code"].parse() {
                    exited(p, code);
                }
                i
            });
            return Some(Took::Fact(fact));
        }
        if let Some(c) = EXITED.captures(t) {
            // `web_1 exited with code 3` (v1 attached), `web-1 exited with code 3` (v2).
            let subject = Subject {
                name: Some(c["name"].to_owned()),
                short: true,
                ..Default::default()
            };
            let fact = facts.of(&subject).map(|(i, p)| {
                if let Ok(code) = c["code"].parse() {
                    exited(p, code);
                }
                i
            });
            return Some(Took::Fact(fact));
        }
        if let Some(names) = t.strip_prefix("Attaching to ") {
            for n in names.split(", ") {
                facts.know_name(n.trim());
            }
            self.attaching = names.rsplit(", ").next().map(String::from);
            return Some(Took::Attaching);
        }
        if let Some(c) = V1_PROGRESS.captures(t) {
            let name = c.name("name").or_else(|| c.name("name2")).expect("a name");
            facts.know_name(name.as_str());
            return Some(Took::Progress);
        }
        if let Some(c) = V2_PROGRESS.captures(line) {
            if &c["what"] == "Container" {
                let name = &c["name"];
                facts.know_name(name);
                match &c["state"] {
                    "Error" => self.failed = Some(name.to_owned()),
                    "Healthy" => {
                        if let Some((_, p)) = facts.of(&Subject::name(name)) {
                            p.health_status(Rank::ComposeUp, "healthy");
                        }
                    }
                    _ => {}
                }
            }
            return Some(Took::Progress);
        }
        if NOISE.is_match(t) {
            return Some(Took::Progress);
        }
        if OWN.is_match(t) {
            return Some(Took::Fact(own_line(facts, t)));
        }
        None
    }
}

fn start_failed(facts: &mut Facts, subject: &Subject, error: &str) -> Option<usize> {
    let (i, p) = facts.of(subject)?;
    p.failed_start(Rank::ComposeUp, error.trim());
    Some(i)
}

fn exited(p: &mut super::facts::Partial, code: i64) {
    let rank = Rank::ComposeUp;
    tell(&mut p.status, rank, "exited".into());
    tell(&mut p.running, rank, false);
    tell(&mut p.exit_code, rank, code);
}

/// One of compose's own warnings or errors, kept as the `compose` service's log.
fn own_line(facts: &mut Facts, line: &str) -> Option<usize> {
    let subject = Subject::service(COMPOSE_SERVICE);
    facts
        .log(&subject, line)
        .then(|| facts.of(&subject).map(|(i, _)| i))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::collect::LogLimits;
    use crate::stack::snapshot::ContainerSnapshot;

    fn read(text: &str) -> (Vec<Option<Took>>, Vec<ContainerSnapshot>) {
        let mut f = Facts::new(LogLimits::default());
        let mut r = Reader::default();
        let default = Subject::fallback("app");
        let took = text.lines().map(|l| r.take(l, &default, &mut f)).collect();
        (took, f.resolve("").containers)
    }

    #[test]
    fn v1_daemon_error_names_container_and_service() {
        // docker-compose 1.29, captured (fixtures/transcripts/entrypoint-not-executable.up.log).
        let up = "Creating network \"p_default\" with the default driver\n\
Creating p_db_1 ... \n\
Creating p_db_1    ... done\n\
Creating p_web_1   ... error\n\
\n\
ERROR: for p_web_1  Cannot start service web: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"./entrypoint.sh\": permission denied: unknown\n\
\n\
ERROR: for web  Cannot start service web: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"./entrypoint.sh\": permission denied: unknown\n\
Encountered errors while bringing up the project.";
        let (took, cs) = read(up);
        assert!(
            took.iter()
                .zip(up.lines())
                .all(|(t, l)| t.is_some() || l.is_empty()),
            "{took:?}"
        );
        assert_eq!(cs.len(), 1, "{cs:#?}");
        let web = &cs[0];
        assert_eq!(
            (web.service.as_str(), web.name.as_str()),
            ("web", "p_web_1")
        );
        assert_eq!(
            (web.state.status.as_str(), web.state.exit_code),
            ("created", 126)
        );
        assert!(web.state.error.starts_with("failed to create shim task"));
    }

    #[test]
    fn port_conflicts_and_dependencies_v1_and_v2() {
        // Hand-written from FAILURES.md's texts (v1) and compose v2's wording: no lab stack
        // publishes a fixed port, and there is no compose v2 on the lab machine.
        let v1 = "ERROR: for analylit_web  Cannot start service web: driver failed programming external connectivity on endpoint analylit_web (4b1f): Bind for 0.0.0.0:8080 failed: port is already allocated\n\
ERROR: for worker  Container \"3f2a4b5c6d7e\" is unhealthy.\n\
ERROR: Encountered errors while bringing up the project.";
        let (_, cs) = read(v1);
        let web = cs.iter().find(|c| c.service == "web").unwrap();
        assert_eq!(web.name, "analylit_web");
        assert_eq!(web.state.exit_code, 128);
        assert!(web.state.error.contains("port is already allocated"));
        let dep = cs.iter().find(|c| c.id == "3f2a4b5c6d7e").unwrap();
        assert_eq!(dep.health.as_ref().unwrap().status, "unhealthy");

        let v2 = "[+] Running 3/4\n \
✔ Network analylit_default  Created   0.1s\n \
✔ Container analylit_db     Healthy   5.3s\n \
✘ Container analylit_web    Error     0.4s\n\
Error response from daemon: driver failed programming external connectivity on endpoint analylit_web (4b1f): Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use\n\
dependency failed to start: container analylit_db is unhealthy\n\
WARN[0000] The \"POSTGRES_PASSWORD\" variable is not set. Defaulting to a blank string.";
        let (took, cs) = read(v2);
        assert!(took.iter().all(Option::is_some), "{took:?}");
        let web = cs.iter().find(|c| c.name == "analylit_web").unwrap();
        assert_eq!(
            (web.state.status.as_str(), web.state.exit_code),
            ("created", 128)
        );
        assert!(web.state.error.contains("bind: address already in use"));
        let db = cs.iter().find(|c| c.name == "analylit_db").unwrap();
        assert_eq!(
            db.health.as_ref().unwrap().status,
            "unhealthy",
            "the later line wins"
        );
        let compose = cs.iter().find(|c| c.service == COMPOSE_SERVICE).unwrap();
        assert_eq!(compose.logs.lines.len(), 1);
        assert_eq!(compose.state.status, "unknown");
    }

    #[test]
    fn exits_and_completions() {
        let (_, cs) = read(
            "p_web_1 exited with code 3\nservice \"migrate\" didn't complete successfully: exit 2",
        );
        let got: Vec<(&str, Option<i64>)> = cs
            .iter()
            .map(|c| (c.service.as_str(), c.telling_exit_code()))
            .collect();
        assert_eq!(
            got,
            [("migrate", Some(2)), ("p_web", Some(3))],
            "one name alone cannot tell its project"
        );
    }

    #[test]
    fn log_lines_are_not_compose_lines() {
        let (took, _) = read(
            "[2024-05-02 10:00:00 +0000] [1] [ERROR] Exception in worker process\n\
Error: could not connect\n\
Worker exited with code 3 after 2 retries\n\
Creating tables...",
        );
        assert!(took.iter().all(Option::is_none), "{took:?}");
    }
}
