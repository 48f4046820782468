//! The rule files compiled into the binary. `build.rs` is not used: the list is written out here
//! and a test fails when it and `rules/*.toml` differ, so adding a rule file means adding one line.

/// Expands to `&[(id, text)]`, each text read from `rules/<id>.toml` at compile time.
macro_rules! embed {
    ($($id:literal,)*) => {
        &[$(($id, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/", $id, ".toml"))),)*]
    };
}

/// `(id, file text)` of every embedded rule, sorted by id.
pub(crate) const EMBEDDED: &[(&str, &str)] = embed![
    "alembic-revision-missing",
    "app-context-at-import",
    "blueprint-prefix-mismatch",
    "broker-unreachable",
    "broker-unreachable-port-mismatch",
    "celery-unregistered-task",
    "depends-on-not-healthy",
    "engine-used-before-init",
    "entrypoint-crlf",
    "entrypoint-not-executable",
    "env-var-unset",
    "exec-format-error",
    "flask-extension-registered-twice",
    "flower-db-bad-header",
    "flower-db-empty",
    "flower-db-locked",
    "flower-db-needs-recovery",
    "gpu-runtime-missing",
    "gunicorn-worker-reinit",
    "gunicorn-worker-timeout",
    "gunicorn-worker-timeout-lock",
    "health-route-missing",
    "healthcheck-port-mismatch",
    "healthcheck-start-period-short",
    "healthcheck-tool-missing",
    "host-port-conflict",
    "host-unresolvable",
    "import-name-missing",
    "import-name-missing-cycle",
    "init-ddl-race",
    "killed-after-grace",
    "mount-is-directory",
    "name-not-defined",
    "oom-killed",
    "pg-auth-failed",
    "pg-auth-failed-client-url",
    "pg-data-ownership",
    "pg-data-permissions",
    "pg-database-missing",
    "pg-role-missing",
    "pg-starting-up",
    "pg-version-mismatch",
    "port-in-use-in-container",
    "python-syntax-newer",
    "redis-bind-localhost",
    "redis-misconf-rdb",
    "redis-noauth",
    "redis-protected-mode",
    "redis-wrongpass",
    "restart-loop",
    "route-not-decorated",
    "rq-localhost-url",
    "socketio-redis-publish",
    "swarm-compose-keys-ignored",
    "swarm-image-missing",
    "swarm-ingress-port-taken",
    "swarm-placement-impossible",
    "swarm-replicas-none-running",
    "swarm-update-rolled-back",
    "tables-missing",
    "tables-missing-migration-order",
    "volume-permission-denied",
    "volume-read-only",
    "wsgi-app-not-found",
];

#[cfg(test)]
mod tests {
    use super::EMBEDDED;

    #[test]
    fn embedded_list_equals_the_rules_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("rules/")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".toml"))
            .map(|name| name.trim_end_matches(".toml").to_owned())
            .collect();
        on_disk.sort();
        let listed: Vec<String> = EMBEDDED.iter().map(|(id, _)| id.to_string()).collect();
        let missing: Vec<_> = on_disk.iter().filter(|id| !listed.contains(id)).collect();
        let extra: Vec<_> = listed.iter().filter(|id| !on_disk.contains(id)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "rules/*.toml not in EMBEDDED: {missing:?}; in EMBEDDED without a file: {extra:?}"
        );
        assert!(
            listed.windows(2).all(|w| w[0] < w[1]),
            "keep EMBEDDED sorted and unique"
        );
    }
}
