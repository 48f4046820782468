//! The failure catalogue: every failure class analylit-doctor may name, as listed in
//! `shared/FAILURES.md`.
//!
//! A catalogue id is the shared vocabulary of the project: the rule that diagnoses a class uses it
//! as its rule id (`rules/<id>.toml`), `explain <id>` looks it up, JSON output and tests speak it.
//! A class that needs more than one rule gets extra rules named `<id>-<suffix>`.
//!
//! This table is the Rust mirror of the catalogue. It records, for each class, where its symptom
//! shows ([`Seen`]) — which tells whether a rule file can diagnose it from a stack snapshot — and
//! the auto-fix level exactly as the catalogue writes it.

/// Where a failure class shows itself (the catalogue's "where" column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Container logs.
    Log,
    /// `docker inspect` `.State` and `.RestartCount`.
    State,
    /// The health-check results (`.State.Health.Log[].Output`).
    Health,
    /// An HTTP request to the service (needs a probe).
    Http,
    /// Docker Compose's own stderr: invisible in a stack snapshot.
    Cli,
}

/// One failure class of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct CatalogueEntry {
    /// Kebab-case catalogue id.
    pub id: &'static str,
    /// Section letter of FAILURES.md (`A` application initialisation … `F` unclassified).
    pub section: char,
    /// The auto-fix level as written in the catalogue (`safe`, `unsafe`, `manual`,
    /// `safe (with backup)`, `–` …).
    pub fix_level: &'static str,
    /// Where the symptom shows.
    pub seen: &'static [Seen],
}

impl CatalogueEntry {
    /// Whether a rule can see this class in a stack snapshot (logs, state or health output).
    pub fn observable(&self) -> bool {
        self.seen
            .iter()
            .any(|s| matches!(s, Seen::Log | Seen::State | Seen::Health))
    }
}

const fn entry(
    id: &'static str,
    section: char,
    fix_level: &'static str,
    seen: &'static [Seen],
) -> CatalogueEntry {
    CatalogueEntry {
        id,
        section,
        fix_level,
        seen,
    }
}

use Seen::{Cli, Health, Http, Log, State};

/// Every failure class of `shared/FAILURES.md`, in catalogue order, plus `unclassified-failure`
/// (section F: the finding the engine makes when no rule matches; it has no rule file).
pub const CATALOGUE: &[CatalogueEntry] = &[
    // A. Application initialisation
    entry(
        "gunicorn-worker-reinit",
        'A',
        "unsafe (source patch)",
        &[Log, Health, Cli],
    ),
    entry("init-ddl-race", 'A', "manual", &[Log]),
    entry(
        "engine-used-before-init",
        'A',
        "unsafe (source patch)",
        &[Log],
    ),
    entry(
        "import-name-missing",
        'A',
        "unsafe (source patch)",
        &[Log, State],
    ),
    entry(
        "blueprint-prefix-mismatch",
        'A',
        "unsafe (source patch)",
        &[Health, Http],
    ),
    entry(
        "name-not-defined",
        'A',
        "unsafe (source patch)",
        &[Log, State],
    ),
    entry(
        "route-not-decorated",
        'A',
        "unsafe (source patch)",
        &[Health, Http],
    ),
    entry("wsgi-app-not-found", 'A', "unsafe", &[Log, State]),
    entry("app-context-at-import", 'A', "manual", &[Log, State]),
    entry("gunicorn-worker-timeout", 'A', "unsafe", &[Log, Health]),
    entry("port-in-use-in-container", 'A', "manual", &[Log, State]),
    entry("python-syntax-newer", 'A', "manual", &[Log, State]),
    entry(
        "flask-extension-registered-twice",
        'A',
        "manual",
        &[Log, State],
    ),
    // B. Flower / GDBM
    entry(
        "flower-db-needs-recovery",
        'B',
        "safe (with backup)",
        &[Log, State],
    ),
    entry("flower-db-bad-header", 'B', "safe (move)", &[Log]),
    entry("flower-db-empty", 'B', "safe", &[Log]),
    entry("volume-permission-denied", 'B', "unsafe", &[Log]),
    entry("volume-read-only", 'B', "unsafe", &[Log]),
    entry("mount-is-directory", 'B', "unsafe", &[Log]),
    entry("flower-db-locked", 'B', "manual", &[Log]),
    // C. Containers and health checks
    entry("entrypoint-crlf", 'C', "safe", &[Log, State]),
    entry("entrypoint-not-executable", 'C', "safe", &[State, Cli]),
    entry(
        "exec-format-error",
        'C',
        "safe (BOM/shebang), manual (arch)",
        &[Log, State],
    ),
    entry("host-port-conflict", 'C', "unsafe", &[State, Cli]),
    entry("oom-killed", 'C', "unsafe", &[State]),
    entry("killed-after-grace", 'C', "unsafe", &[State]),
    entry("restart-loop", 'C', "–", &[State]),
    entry(
        "healthcheck-tool-missing",
        'C',
        "safe (rewrite test, backup compose file)",
        &[Health],
    ),
    entry(
        "healthcheck-start-period-short",
        'C',
        "safe (backup compose file)",
        &[Health, Cli],
    ),
    entry(
        "healthcheck-port-mismatch",
        'C',
        "safe (compose edit)",
        &[Health, Log],
    ),
    entry("health-route-missing", 'C', "manual", &[Health, Http]),
    // Not in FAILURES.md's tables: seen in the users' compose files (REAL-SHAPES.md), an
    // `ollama` / AI worker reserving NVIDIA GPUs on a host without the runtime. The engine's
    // refusal is in the container's state error, or compose's stderr.
    entry("gpu-runtime-missing", 'C', "manual", &[State, Cli]),
    // Compose's warning is CLI-only, but its consequences are in the logs: the PostgreSQL image
    // refusing to initialise without a password, libpq's `fe_sendauth: no password supplied`.
    entry("env-var-unset", 'C', "unsafe", &[Cli, Log]),
    // D. Ordering, networking, PostgreSQL
    entry(
        "depends-on-not-healthy",
        'D',
        "safe (backup compose file)",
        &[Log],
    ),
    entry("host-unresolvable", 'D', "unsafe", &[Log]),
    entry("pg-auth-failed", 'D', "unsafe", &[Log]),
    entry("pg-role-missing", 'D', "unsafe", &[Log]),
    entry("pg-database-missing", 'D', "unsafe", &[Log]),
    entry("pg-starting-up", 'D', "safe", &[Log]),
    entry("pg-version-mismatch", 'D', "manual", &[Log, State]),
    entry("pg-data-permissions", 'D', "safe", &[Log]),
    entry("pg-data-ownership", 'D', "unsafe", &[Log]),
    entry("tables-missing", 'D', "unsafe", &[Log]),
    entry("alembic-revision-missing", 'D', "unsafe", &[Log]),
    // E. Redis, Celery, RQ, Socket.IO
    entry("redis-misconf-rdb", 'E', "unsafe", &[Log]),
    entry("redis-noauth", 'E', "unsafe", &[Log]),
    entry("redis-wrongpass", 'E', "unsafe", &[Log]),
    entry("redis-protected-mode", 'E', "unsafe", &[Log]),
    entry("redis-bind-localhost", 'E', "unsafe", &[Log]),
    entry("broker-unreachable", 'E', "unsafe", &[Log]),
    entry("celery-unregistered-task", 'E', "manual", &[Log]),
    entry("rq-localhost-url", 'E', "unsafe", &[Log]),
    entry("socketio-redis-publish", 'E', "unsafe", &[Log]),
    // F. When no class matches
    entry("unclassified-failure", 'F', "–", &[]),
    // G. Swarm stacks: what only `docker stack deploy` does (read from the manager's service and
    // task states, the task error as `.State.Error`; the ignored keys from the compose model).
    entry("swarm-replicas-none-running", 'G', "manual", &[State]),
    entry("swarm-placement-impossible", 'G', "manual", &[State]),
    entry("swarm-update-rolled-back", 'G', "manual", &[State]),
    entry("swarm-ingress-port-taken", 'G', "manual", &[State, Cli]),
    entry("swarm-image-missing", 'G', "manual", &[State]),
    entry("swarm-compose-keys-ignored", 'G', "manual", &[State]),
];

/// The ids of `shared/FAILURES.md`'s tables, in its order: the catalogue's own text, kept here so
/// the tests need no file outside the repository (when the file is there, a test checks that
/// this list is still its list).
pub const FAILURES_MD_IDS: &[&str] = &[
    "gunicorn-worker-reinit",
    "init-ddl-race",
    "engine-used-before-init",
    "import-name-missing",
    "blueprint-prefix-mismatch",
    "name-not-defined",
    "route-not-decorated",
    "wsgi-app-not-found",
    "app-context-at-import",
    "gunicorn-worker-timeout",
    "port-in-use-in-container",
    "python-syntax-newer",
    "flask-extension-registered-twice",
    "flower-db-needs-recovery",
    "flower-db-bad-header",
    "flower-db-empty",
    "volume-permission-denied",
    "volume-read-only",
    "mount-is-directory",
    "flower-db-locked",
    "entrypoint-crlf",
    "entrypoint-not-executable",
    "exec-format-error",
    "host-port-conflict",
    "oom-killed",
    "killed-after-grace",
    "restart-loop",
    "healthcheck-tool-missing",
    "healthcheck-start-period-short",
    "healthcheck-port-mismatch",
    "health-route-missing",
    "env-var-unset",
    "depends-on-not-healthy",
    "host-unresolvable",
    "pg-auth-failed",
    "pg-role-missing",
    "pg-database-missing",
    "pg-starting-up",
    "pg-version-mismatch",
    "pg-data-permissions",
    "pg-data-ownership",
    "tables-missing",
    "alembic-revision-missing",
    "redis-misconf-rdb",
    "redis-noauth",
    "redis-wrongpass",
    "redis-protected-mode",
    "redis-bind-localhost",
    "broker-unreachable",
    "celery-unregistered-task",
    "rq-localhost-url",
    "socketio-redis-publish",
];

/// The section headings of `shared/FAILURES.md`, as written there: the rules' `references`
/// point at their anchors ([`section_anchor`]).
pub const SECTION_HEADINGS: &[(char, &str)] = &[
    ('A', "A. Application initialisation (seeds 1 and 2)"),
    ('B', "B. Flower / GDBM (seed 3)"),
    ('C', "C. Containers and health checks"),
    ('D', "D. Ordering, networking, PostgreSQL"),
    ('E', "E. Redis, Celery, RQ, Socket.IO"),
    ('F', "F. When no class matches"),
];

/// The anchor GitHub gives a section's heading (lowercase, punctuation dropped, spaces to
/// `-`): what a rule's `references = ["FAILURES.md#…"]` names.
pub fn section_anchor(section: char) -> Option<String> {
    let (_, heading) = SECTION_HEADINGS.iter().find(|(s, _)| *s == section)?;
    Some(heading_anchor(heading))
}

/// GitHub's anchor for a heading.
pub fn heading_anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The title of a catalogue section, by its letter.
pub fn section_title(section: char) -> &'static str {
    match section {
        'A' => "Application initialisation",
        'B' => "Flower / GDBM",
        'C' => "Containers and health checks",
        'D' => "Ordering, networking, PostgreSQL",
        'E' => "Redis, Celery, RQ, Socket.IO",
        'F' => "When no class matches",
        'G' => "Swarm stacks",
        _ => "Other",
    }
}

/// The catalogue entry with exactly this id.
pub fn entry_for(id: &str) -> Option<&'static CatalogueEntry> {
    CATALOGUE.iter().find(|e| e.id == id)
}

/// The catalogue class a rule id belongs to: the entry whose id equals `id`, or is its prefix
/// followed by `-<suffix>` (`flower-db-needs-recovery-numsync`). The longest match wins.
pub fn class_of(id: &str) -> Option<&'static CatalogueEntry> {
    CATALOGUE
        .iter()
        .filter(|e| {
            id == e.id
                || id
                    .strip_prefix(e.id)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|suffix| !suffix.is_empty())
        })
        .max_by_key(|e| e.id.len())
}

/// Whether `id` is a catalogue id, exactly or as `<id>-<suffix>`.
pub fn is_catalogue_id(id: &str) -> bool {
    class_of(id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut seen = BTreeSet::new();
        for e in CATALOGUE {
            assert!(seen.insert(e.id), "duplicate catalogue id {}", e.id);
            assert!(
                e.id.split('-').all(|w| !w.is_empty()
                    && w.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "{} is not kebab-case",
                e.id
            );
            assert!(('A'..='G').contains(&e.section), "{}: section", e.id);
        }
    }

    #[test]
    fn every_id_of_failures_md_is_listed() {
        // The catalogue's ids as kept in the repository: each has its entry, once.
        assert!(FAILURES_MD_IDS.len() >= 50, "{}", FAILURES_MD_IDS.len());
        let unique: BTreeSet<&str> = FAILURES_MD_IDS.iter().copied().collect();
        assert_eq!(unique.len(), FAILURES_MD_IDS.len(), "an id listed twice");
        for id in FAILURES_MD_IDS {
            assert!(
                entry_for(id).is_some(),
                "{id} is in FAILURES.md, not in CATALOGUE"
            );
        }
        for (section, heading) in SECTION_HEADINGS {
            assert!(heading.starts_with(&format!("{section}. ")), "{heading}");
        }
        assert_eq!(
            section_anchor('B').as_deref(),
            Some("b-flower--gdbm-seed-3")
        );
        // Where the shared file is at hand (the lead's checkout), the repository's copy of its
        // ids and headings must still be what it says.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/FAILURES.md");
        if let Ok(text) = std::fs::read_to_string(path) {
            let ids: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("| `"))
                .map(|l| l[3..].split('`').next().unwrap_or_default())
                .collect();
            assert_eq!(
                ids, FAILURES_MD_IDS,
                "FAILURES.md's ids changed: update FAILURES_MD_IDS"
            );
            let headings: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("## ")).collect();
            let ours: Vec<&str> = SECTION_HEADINGS.iter().map(|(_, h)| *h).collect();
            assert_eq!(
                headings, ours,
                "FAILURES.md's headings changed: update SECTION_HEADINGS"
            );
        }
    }

    #[test]
    fn suffixed_ids_belong_to_their_class() {
        assert!(is_catalogue_id("name-not-defined"));
        assert!(is_catalogue_id("flower-db-needs-recovery-numsync"));
        assert_eq!(
            class_of("import-name-missing-cycle").map(|e| e.id),
            Some("import-name-missing")
        );
        assert!(!is_catalogue_id("name-not"));
        assert!(!is_catalogue_id("name-not-defined-"));
        assert!(!is_catalogue_id("name-not-definedx"));
        assert!(!is_catalogue_id("unknown-thing"));
    }
}
