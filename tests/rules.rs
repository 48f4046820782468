//! Rule files: the loader's diagnostics (snapshots of exactly what a user sees), overrides, and
//! each embedded rule's patterns against example lines quoting the catalogue's wordings.
use analylit_doctor::engine::matcher;
use analylit_doctor::rules::{
    self, Code, Rule, RuleSet, RulesError, StateFacts, Symptom, load_embedded, load_files,
    load_with_overrides,
};
use analylit_doctor::stack::snapshot::{
    ContainerSnapshot, Health as HealthState, HealthResult, LogLine, Stream,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Diagnostics
// ---------------------------------------------------------------------------------------------

fn render(err: &RulesError) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, err)
        .expect("render");
    out
}

/// Every file under `fixtures/rules-bad/<case>`, sorted, named relative to the crate root.
fn fixture_files(case: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("fixture dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    walk(&root.join("fixtures/rules-bad").join(case), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture");
            (
                p.strip_prefix(root).expect("under root").to_path_buf(),
                text,
            )
        })
        .collect()
}

fn load_case(case: &str) -> RulesError {
    match load_files(&fixture_files(case)) {
        Ok(set) => panic!("{case}: loaded {} rules, expected problems", set.len()),
        Err(e) => e,
    }
}

fn codes(err: &RulesError) -> Vec<Code> {
    err.problems().iter().map(|p| p.code()).collect()
}

#[test]
fn one_file_reports_all_its_problems_at_once() {
    let err = load_case("several-problems");
    let found: BTreeSet<&str> = codes(&err).iter().map(|c| c.as_str()).collect();
    for code in [
        Code::BadValue,
        Code::UnknownKey,
        Code::WrongType,
        Code::BadRegex,
        Code::SymptomKind,
        Code::MisplacedKey,
        Code::UnknownPlaceholder,
        Code::UnknownConfirms,
    ] {
        assert!(
            found.contains(code.as_str()),
            "{code} not reported: {found:?}"
        );
    }
    insta::assert_snapshot!("several_problems", render(&err));
}

#[test]
fn toml_syntax_error_is_one_diagnostic_on_its_span() {
    let err = load_case("syntax-error");
    assert_eq!(codes(&err), [Code::TomlSyntax]);
    insta::assert_snapshot!("syntax_error", render(&err));
}

#[test]
fn missing_keys_wrong_types_and_empty_kinds() {
    let err = load_case("missing-keys");
    insta::assert_snapshot!("missing_keys", render(&err));
}

#[test]
fn ids_must_be_kebab_case_and_match_the_file_name() {
    let err = load_case("id-mismatch");
    let found = codes(&err);
    assert!(found.contains(&Code::BadId));
    assert!(found.contains(&Code::IdFileMismatch));
    assert!(found.contains(&Code::EmptySymptoms));
    insta::assert_snapshot!("id_mismatch", render(&err));
}

#[test]
fn duplicate_ids_are_labelled_in_both_files() {
    let err = load_case("duplicate-id");
    assert_eq!(codes(&err), [Code::DuplicateId]);
    let rendered = render(&err);
    assert!(rendered.contains("duplicate-id/a/redis-noauth.toml"));
    assert!(rendered.contains("duplicate-id/b/redis-noauth.toml"));
    insta::assert_snapshot!("duplicate_id", rendered);
}

#[test]
fn test_tables_are_checked_on_their_spans() {
    let err = load_case("bad-tests");
    let found = codes(&err);
    assert!(found.contains(&Code::MissingKey), "{found:?}");
    assert!(found.contains(&Code::BadValue), "{found:?}");
    assert!(found.contains(&Code::UnknownKey), "{found:?}");
    insta::assert_snapshot!("bad_tests", render(&err));
}

// ---------------------------------------------------------------------------------------------
// Embedded rules and overrides
// ---------------------------------------------------------------------------------------------

fn embedded() -> RuleSet {
    load_embedded().unwrap_or_else(|e| panic!("embedded rules:\n{}", render(&e)))
}

#[test]
fn embedded_rules_load_and_are_catalogue_ids() {
    let set = embedded();
    assert!(set.len() >= 47, "only {} rules", set.len());
    for rule in &set {
        assert!(
            analylit_doctor::catalogue::is_catalogue_id(&rule.id),
            "{}",
            rule.id
        );
    }
}

#[test]
fn embedded_rules_equal_the_rules_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("rules/")
        .filter_map(|e| {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            name.strip_suffix(".toml").map(str::to_owned)
        })
        .collect();
    on_disk.sort();
    let loaded: Vec<String> = embedded().iter().map(|r| r.id.clone()).collect();
    assert_eq!(loaded, on_disk);
}

const NEW_RULE: &str = r#"
id = "worker-custom"
title = "A site-specific failure"
severity = "warning"
summary = "{service} says {what}"
explanation = "Added by an override directory."
services = ["worker*"]
confirms = ["restart-loop"]

[[symptom]]
logs = '''CUSTOM FAILURE: (?P<what>.+)'''

[fix]
title = "Do the site-specific thing"
safety = "manual"
steps = ["Ask the operator."]
"#;

#[test]
fn an_override_directory_replaces_and_adds_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let embedded_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/name-not-defined.toml"),
    )
    .expect("rule");
    let replaced = embedded_text.replace("severity = \"error\"", "severity = \"critical\"");
    std::fs::write(dir.path().join("name-not-defined.toml"), replaced).expect("write");
    std::fs::write(dir.path().join("worker-custom.toml"), NEW_RULE).expect("write");
    std::fs::write(dir.path().join("README.md"), "not a rule").expect("write");

    let set = load_with_overrides(Some(dir.path())).unwrap_or_else(|e| panic!("{}", render(&e)));
    assert_eq!(set.len(), embedded().len() + 1);
    let overridden = set.get("name-not-defined").expect("rule");
    assert_eq!(overridden.severity, rules::Severity::Critical);
    assert!(!overridden.source.embedded);
    assert!(overridden.source.path.ends_with("name-not-defined.toml"));
    let custom = set.get("worker-custom").expect("new rule");
    assert!(custom.applies_to("worker-2") && !custom.applies_to("web"));
    assert_eq!(
        custom.render_summary(
            &BTreeMap::from([("what".into(), "disk on fire".into())]),
            "worker"
        ),
        "worker says disk on fire"
    );
    // No directory = the embedded rules.
    assert_eq!(
        load_with_overrides(None).expect("embedded").len(),
        embedded().len()
    );
}

#[test]
fn an_override_is_validated_like_the_embedded_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("worker-custom.toml"),
        NEW_RULE.replace("restart-loop", "restart-looop"),
    )
    .expect("write");
    let err = load_with_overrides(Some(dir.path())).expect_err("bad confirms");
    assert_eq!(codes(&err), [Code::UnknownConfirms]);
    assert!(
        err.problems()[0]
            .file()
            .is_some_and(|f| f.ends_with("worker-custom.toml"))
    );

    let missing = dir.path().join("nope");
    let err = load_with_overrides(Some(&missing)).expect_err("no such directory");
    assert_eq!(codes(&err), [Code::Io]);
}

// ---------------------------------------------------------------------------------------------
// Patterns: each rule against positive and negative example lines
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum In {
    Log,
    Health,
}
use In::{Health, Log};

/// `(rule, where, line, expected)`: `Some(captures)` = one of the rule's symptoms of that kind
/// matches the line with (at least) these captures; `None` = none of them matches it.
type LineCase = (
    &'static str,
    In,
    &'static str,
    Option<&'static [(&'static str, &'static str)]>,
);

const NONE: Option<&[(&str, &str)]> = None;
const YES: Option<&[(&str, &str)]> = Some(&[]);

#[rustfmt::skip]
const LINES: &[LineCase] = &[
    // --- A. Application initialisation ---
    ("gunicorn-worker-reinit", Health, "curl: (22) The requested URL returned error: 404", YES),
    ("gunicorn-worker-reinit", Health, "urllib.error.HTTPError: HTTP Error 404: NOT FOUND", YES),
    ("gunicorn-worker-reinit", Log, "[2024-05-01 10:00:00 +0000] [9] [INFO] Booting worker with pid: 9", Some(&[("pid", "9")])),
    ("gunicorn-worker-reinit", Log, "sqlalchemy.exc.IntegrityError: (psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint \"analysis_profiles_name_key\"", Some(&[("error", "sqlalchemy.exc.IntegrityError")])),
    ("gunicorn-worker-reinit", Log, "2024-05-01 10:00:01,200 ERROR analylit: Échec de l'initialisation (pid 9)", YES),
    ("gunicorn-worker-reinit", Log, "172.18.0.1 - - [01/May/2024:10:00:05 +0000] \"GET /api/settings/profiles HTTP/1.1\" 404 207 \"-\" \"curl/7.88.1\"", NONE),
    ("gunicorn-worker-reinit", Health, "curl: (7) Failed to connect to localhost port 5001 after 0 ms: Connection refused", NONE),
    ("init-ddl-race", Log, "sqlalchemy.exc.IntegrityError: (psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint \"pg_type_typname_nsp_index\"", Some(&[("constraint", "pg_type_typname_nsp_index")])),
    ("init-ddl-race", Log, "2024-05-01 10:00:00.100 UTC [40] ERROR:  duplicate key value violates unique constraint \"pg_class_relname_nsp_index\"", Some(&[("constraint", "pg_class_relname_nsp_index")])),
    ("init-ddl-race", Log, "2024-05-01 10:00:00.100 UTC [40] DETAIL:  Key (typname, typnamespace)=(projects, 2200) already exists.", Some(&[("table", "projects")])),
    ("init-ddl-race", Log, "duplicate key value violates unique constraint \"analysis_profiles_name_key\"", NONE),
    ("engine-used-before-init", Log, "AttributeError: 'NoneType' object has no attribute 'begin'", Some(&[("attr", "begin")])),
    ("engine-used-before-init", Log, "AttributeError: 'NoneType' object has no attribute 'connect'", Some(&[("attr", "connect")])),
    ("engine-used-before-init", Log, "AttributeError: 'NoneType' object has no attribute 'execute'", Some(&[("attr", "execute")])),
    ("engine-used-before-init", Log, "AttributeError: 'NoneType' object has no attribute 'split'", NONE),
    ("engine-used-before-init", Log, "AttributeError: 'NoneType' object has no attribute 'beginning'", NONE),
    ("import-name-missing", Log, "ImportError: cannot import name 'Session' from 'utils.database' (/app/utils/database.py)", Some(&[("name", "Session"), ("module", "utils.database"), ("file", "/app/utils/database.py")])),
    ("import-name-missing", Log, "ImportError: cannot import name 'Session'", Some(&[("name", "Session")])),
    ("import-name-missing", Log, "ImportError: cannot import name 'Session' from partially initialized module 'utils.database' (most likely due to a circular import) (/app/utils/database.py)", NONE),
    ("import-name-missing", Log, "ModuleNotFoundError: No module named 'utils'", NONE),
    ("import-name-missing-cycle", Log, "ImportError: cannot import name 'Session' from partially initialized module 'utils.database' (most likely due to a circular import) (/app/utils/database.py)", Some(&[("name", "Session"), ("module", "utils.database")])),
    ("import-name-missing-cycle", Log, "AttributeError: partially initialized module 'utils.app_globals' has no attribute 'redis_conn' (most likely due to a circular import)", Some(&[("module", "utils.app_globals"), ("name", "redis_conn")])),
    ("import-name-missing-cycle", Log, "ImportError: cannot import name 'Session' from 'utils.database' (/app/utils/database.py)", NONE),
    ("blueprint-prefix-mismatch", Health, "curl: (22) The requested URL returned error: 404 NOT FOUND", YES),
    ("blueprint-prefix-mismatch", Log, "172.18.0.1 - - [01/May/2024:10:00:05 +0000] \"GET /api/settings/profiles HTTP/1.1\" 404 207 \"-\" \"curl/7.88.1\"", Some(&[("path", "/api/settings/profiles")])),
    ("blueprint-prefix-mismatch", Health, "curl: (22) The requested URL returned error: 500", NONE),
    ("blueprint-prefix-mismatch", Log, "172.18.0.1 - - [01/May/2024:10:00:05 +0000] \"GET /api/settings/profiles HTTP/1.1\" 200 91 \"-\" \"curl/7.88.1\"", NONE),
    ("python-syntax-newer", Log, "SyntaxError: f-string: expecting '}'", Some(&[("error", "f-string: expecting '}'")])),
    ("python-syntax-newer", Log, "    log.info(f\"project {p[\"name\"]} ready\")", NONE),
    ("flask-extension-registered-twice", Log, "RuntimeError: A 'SQLAlchemy' instance has already been registered on this Flask app. Import and use that instance instead.", Some(&[("extension", "SQLAlchemy")])),
    ("flask-extension-registered-twice", Log, "RuntimeError: Working outside of application context.", NONE),
    ("health-route-missing", Health, "curl: (22) The requested URL returned error: 404", YES),
    ("health-route-missing", Health, "curl: (22) The requested URL returned error: 500", NONE),
    ("healthcheck-port-mismatch", Health, "curl: (7) Failed to connect to localhost port 5000 after 0 ms: Couldn't connect to server", Some(&[("port", "5000")])),
    ("healthcheck-port-mismatch", Log, "[2024-05-02 10:00:01 +0000] [1] [INFO] Listening at: http://0.0.0.0:80 (1)", Some(&[("bound", "80")])),
    ("healthcheck-port-mismatch", Health, "curl: (22) The requested URL returned error: 404", NONE),
    ("gpu-runtime-missing", Log, "Error response from daemon: could not select device driver \"nvidia\" with capabilities: [[gpu]]", Some(&[("driver", "nvidia")])),
    ("gpu-runtime-missing", Log, "Error response from daemon: could not select device driver \"\" with capabilities: [[gpu]]", Some(&[("driver", "")])),
    ("gpu-runtime-missing", Log, "Error response from daemon: driver failed programming external connectivity on endpoint web", NONE),
    ("pg-auth-failed-client-url", Log, "psycopg2.OperationalError: connection to server at \"db\" (172.18.0.2), port 5432 failed: FATAL:  password authentication failed for user \"analylit_user\"", Some(&[("user", "analylit_user")])),
    ("pg-auth-failed-client-url", Log, "FATAL:  database \"analylit\" does not exist", NONE),
    ("tables-missing-migration-order", Log, "psycopg2.errors.UndefinedTable: relation \"analysis_profiles\" does not exist", Some(&[("table", "analysis_profiles")])),
    ("tables-missing-migration-order", Log, "Migrations finished.", NONE),
    ("broker-unreachable-port-mismatch", Log, "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.", Some(&[("host", "redis"), ("port", "6379")])),
    ("broker-unreachable-port-mismatch", Log, "redis.exceptions.ConnectionError: Error 99 connecting to localhost:6379. Cannot assign requested address.", NONE),
    ("healthcheck-port-mismatch", Health, "Could not connect to Redis at 127.0.0.1:6379: Connection refused", Some(&[("redis_port", "6379")])),
    ("healthcheck-port-mismatch", Log, "1:M 06 Dec 2026 05:00:00.000 * Running mode=standalone, port=6380.", Some(&[("bound_redis", "6380")])),
    ("gunicorn-worker-timeout-lock", Log, "[2024-05-02 10:00:13 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:9)", Some(&[("pid", "9")])),
    ("gunicorn-worker-timeout-lock", Log, "[2024-05-02 10:00:13 +0000] [1] [INFO] Worker exiting (pid: 9)", NONE),
    ("name-not-defined", Log, "NameError: name 'init_db' is not defined", Some(&[("name", "init_db")])),
    ("name-not-defined", Log, "NameError: name 'init_db' is not defined. Did you mean: 'get_db'?", Some(&[("name", "init_db")])),
    ("name-not-defined", Log, "[2024-05-01 10:00:00 +0000] [1] [INFO] Reason: Worker failed to boot.", YES),
    ("name-not-defined", Log, "UnboundLocalError: local variable 'init_db' referenced before assignment", NONE),
    ("route-not-decorated", Health, "<!doctype html><html lang=en><title>404 Not Found</title>", YES),
    ("route-not-decorated", Health, "{\"status\": \"ok\"}", NONE),
    ("wsgi-app-not-found", Log, "Failed to find attribute 'application' in 'server_v4_complete'.", Some(&[("attr", "application"), ("module", "server_v4_complete")])),
    ("wsgi-app-not-found", Log, "Failed to find application object 'app' in 'server'", Some(&[("attr", "app"), ("module", "server")])),
    ("wsgi-app-not-found", Log, "[2024-05-01 10:00:00 +0000] [1] [INFO] Reason: App failed to load.", YES),
    ("wsgi-app-not-found", Log, "[2024-05-01 10:00:00 +0000] [1] [INFO] Reason: Worker failed to boot.", NONE),
    ("app-context-at-import", Log, "RuntimeError: Working outside of application context.", Some(&[("context", "application")])),
    ("app-context-at-import", Log, "RuntimeError: Working outside of request context.", Some(&[("context", "request")])),
    ("app-context-at-import", Log, "RuntimeError: dictionary changed size during iteration", NONE),
    ("gunicorn-worker-timeout", Log, "[2024-05-01 10:00:31 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:8)", Some(&[("pid", "8")])),
    ("gunicorn-worker-timeout", Log, "[2024-05-01 10:00:32 +0000] [1] [ERROR] Worker (pid:8) was sent SIGKILL! Perhaps out of memory?", YES),
    // gunicorn 20.x (hand-written from its arbiter.py).
    ("gunicorn-worker-timeout", Log, "[2024-05-01 10:00:32 +0000] [1] [WARNING] Worker with pid 8 was terminated due to signal 9", YES),
    ("gunicorn-worker-timeout", Log, "[2024-05-01 10:00:32 +0000] [1] [WARNING] Worker with pid 8 was terminated due to signal 15", NONE),
    ("gunicorn-worker-timeout", Log, "[2024-05-01 10:00:31 +0000] [8] [INFO] Worker exiting (pid: 8)", NONE),
    ("port-in-use-in-container", Log, "[2024-05-01 10:00:00 +0000] [7] [ERROR] Connection in use: ('0.0.0.0', 5000)", Some(&[("addr", "0.0.0.0"), ("port", "5000")])),
    ("port-in-use-in-container", Log, "[2024-05-01 10:00:05 +0000] [7] [ERROR] Can't connect to ('0.0.0.0', 5000)", Some(&[("port", "5000")])),
    ("port-in-use-in-container", Log, "OSError: [Errno 98] Address already in use", YES),
    ("port-in-use-in-container", Log, "[2024-05-01 10:00:00 +0000] [7] [ERROR] Retrying in 1 second.", NONE),
    // --- B. Flower / GDBM ---
    ("env-var-unset", Log, "Error: Database is uninitialized and superuser password is not specified.", YES),
    ("env-var-unset", Log, "psycopg2.OperationalError: connection to server at \"db\" (172.18.0.2), port 5432 failed: fe_sendauth: no password supplied", YES),
    ("env-var-unset", Log, "WARNING: The POSTGRES_PASSWORD variable is not set. Defaulting to a blank string.", Some(&[("var", "POSTGRES_PASSWORD")])),
    // Compose v2 on a terminal, and without one (logfmt, quotes escaped); hand-written.
    ("env-var-unset", Log, "WARN[0000] The \"POSTGRES_PASSWORD\" variable is not set. Defaulting to a blank string.", Some(&[("var", "POSTGRES_PASSWORD")])),
    ("env-var-unset", Log, "time=\"2024-05-01T10:00:00Z\" level=warning msg=\"The \\\"POSTGRES_PASSWORD\\\" variable is not set. Defaulting to a blank string.\"", Some(&[("var", "POSTGRES_PASSWORD")])),
    ("env-var-unset", Log, "FATAL:  password authentication failed for user \"analylit\"", NONE),
    // rq's CLI prints the redis-py error's message alone.
    ("redis-noauth", Log, "Authentication required.", YES),
    ("flower-db-needs-recovery", Log, "_gdbm.error: Database needs recovery", YES),
    ("flower-db-needs-recovery", Log, "dbm.gnu.error: [Errno 0] Database needs recovery", YES),
    ("flower-db-needs-recovery", Log, "  File \"/usr/local/lib/python3.11/site-packages/flower/events.py\", line 139, in __init__", YES),
    ("flower-db-needs-recovery", Log, "_gdbm.error: Malformed database file header", NONE),
    ("flower-db-bad-header", Log, "_gdbm.error: Malformed database file header", Some(&[("reason", "Malformed database file header")])),
    ("flower-db-bad-header", Log, "_gdbm.error: Malformed avail_block", Some(&[("reason", "Malformed avail_block")])),
    ("flower-db-bad-header", Log, "_gdbm.error: Database needs recovery", NONE),
    ("flower-db-empty", Log, "dbm.error: db type could not be determined", YES),
    ("flower-db-empty", Log, "_gdbm.error: [Errno 11] Resource temporarily unavailable", NONE),
    ("volume-permission-denied", Log, "_gdbm.error: [Errno 13] Permission denied: '/data/flower.db'", Some(&[("path", "/data/flower.db")])),
    ("volume-permission-denied", Log, "initdb: error: could not access directory \"/var/lib/postgresql/data\": Permission denied", Some(&[("path", "/var/lib/postgresql/data")])),
    ("volume-permission-denied", Log, "1:M 01 May 2024 10:00:00.000 # Failed opening the temp RDB file temp-26.rdb (in server root dir /data) for saving: Permission denied", Some(&[("path", "temp-26.rdb")])),
    ("volume-permission-denied", Log, "exec: \"./entrypoint.sh\": permission denied", NONE),
    ("volume-permission-denied", Log, "1:M 01 May 2024 10:00:00.000 # Failed opening the temp RDB file temp-26.rdb (in server root dir /data) for saving: No space left on device", NONE),
    ("volume-read-only", Log, "OSError: [Errno 30] Read-only file system: '/data/flower.db'", Some(&[("path", "/data/flower.db")])),
    ("volume-read-only", Log, "touch: cannot touch '/data/x': Read-only file system", YES),
    ("volume-read-only", Log, "PermissionError: [Errno 13] Permission denied: '/data/flower.db'", NONE),
    ("mount-is-directory", Log, "IsADirectoryError: [Errno 21] Is a directory: '/data/flower.db'", Some(&[("path", "/data/flower.db")])),
    ("mount-is-directory", Log, "NotADirectoryError: [Errno 20] Not a directory: '/data/flower.db'", NONE),
    ("flower-db-locked", Log, "_gdbm.error: [Errno 11] Resource temporarily unavailable", YES),
    ("flower-db-locked", Log, "_gdbm.error: Can't be writer", YES),
    ("flower-db-locked", Log, "BlockingIOError: [Errno 11] Resource temporarily unavailable", NONE),
    // --- C. Containers and health checks ---
    ("entrypoint-crlf", Log, "exec ./entrypoint.sh: no such file or directory", Some(&[("path", "./entrypoint.sh")])),
    ("entrypoint-crlf", Log, "standard_init_linux.go:211: exec user process caused \"no such file or directory\"", YES),
    ("entrypoint-crlf", Log, "standard_init_linux.go:228: exec user process caused: no such file or directory", YES),
    // crun (hand-written from its container.c): the file is there, its interpreter is not.
    ("entrypoint-crlf", Log, "Error: crun: exec container process (missing dynamic library?) `/app/./entrypoint.sh`: No such file or directory: OCI runtime attempted to invoke a command that was not found", Some(&[("path", "/app/./entrypoint.sh")])),
    // busybox (Alpine): ash's `set -e\r`, env's `#!/usr/bin/env bash\r`.
    ("entrypoint-crlf", Log, "./entrypoint.sh: set: line 2: illegal option -", YES),
    ("entrypoint-crlf", Log, "env: can't execute 'bash\r': No such file or directory", Some(&[("interpreter", "bash")])),
    // A file that is not there at all is no CRLF: crun's and runc's create-time words for it.
    ("entrypoint-crlf", Log, "Error: crun: executable file `./entrypoint.sh` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found", NONE),
    ("entrypoint-crlf", Log, "OCI runtime create failed: runc create failed: unable to start container process: exec: \"./entrypoint.sh\": stat ./entrypoint.sh: no such file or directory: unknown", NONE),
    ("entrypoint-crlf", Log, "bash: ./entrypoint.sh: /bin/sh^M: bad interpreter: No such file or directory", Some(&[("interpreter", "/bin/sh")])),
    ("entrypoint-crlf", Log, "bash: ./entrypoint.sh: /bin/sh\r: bad interpreter: No such file or directory", Some(&[("interpreter", "/bin/sh")])),
    ("entrypoint-crlf", Log, "bash: ./entrypoint.sh: cannot execute: required file not found", YES),
    ("entrypoint-crlf", Log, "./entrypoint.sh: 3: set: Illegal option -", YES),
    ("entrypoint-crlf", Log, "/usr/bin/env: 'bash\\r': No such file or directory", Some(&[("interpreter", "bash")])),
    ("entrypoint-crlf", Log, "/usr/bin/env: ‘bash\\r’: No such file or directory", Some(&[("interpreter", "bash")])),
    ("entrypoint-crlf", Log, "./entrypoint.sh: line 2: $'\\r': command not found", YES),
    ("entrypoint-crlf", Log, "exec ./entrypoint.sh: exec format error", NONE),
    ("entrypoint-crlf", Log, "/usr/bin/env: 'bash': No such file or directory", NONE),
    ("entrypoint-not-executable", Log, "exec /entrypoint.sh: permission denied", Some(&[("path", "/entrypoint.sh")])),
    // The create-time errors in pasted CLI output: runc 1.0, its release candidates (quotes
    // escaped), 1.1+, crun 1.21+ and older crun with Podman's suffix (hand-written).
    ("entrypoint-not-executable", Log, "ERROR: for web  Cannot start service web: OCI runtime create failed: container_linux.go:380: starting container process caused: exec: \"./entrypoint.sh\": permission denied: unknown", Some(&[("path", "./entrypoint.sh")])),
    ("entrypoint-not-executable", Log, "ERROR: for web  Cannot start service web: OCI runtime create failed: container_linux.go:349: starting container process caused \"exec: \\\"./entrypoint.sh\\\": permission denied\": unknown", Some(&[("path", "./entrypoint.sh")])),
    ("entrypoint-not-executable", Log, "Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/entrypoint.sh\": permission denied: unknown", Some(&[("path", "/entrypoint.sh")])),
    ("entrypoint-not-executable", Log, "Error: crun: the path `/app/./entrypoint.sh` exists but it is not executable: Operation not permitted: OCI permission denied", Some(&[("path", "/app/./entrypoint.sh")])),
    ("entrypoint-not-executable", Log, "Error: crun: open executable: Permission denied: OCI permission denied", YES),
    // A health check's exec, not the container's start.
    ("entrypoint-not-executable", Log, "OCI runtime exec failed: exec failed: unable to start container process: exec: \"/healthcheck.sh\": permission denied: unknown", NONE),
    ("entrypoint-not-executable", Log, "PermissionError: [Errno 13] Permission denied: '/data/flower.db'", NONE),
    ("exec-format-error", Log, "exec ./entrypoint.sh: exec format error", Some(&[("path", "./entrypoint.sh")])),
    ("exec-format-error", Log, "standard_init_linux.go:228: exec user process caused: exec format error", YES),
    ("exec-format-error", Log, "standard_init_linux.go:190: exec user process caused \"exec format error\"", YES),
    // crun, with glibc's capitalised strerror (hand-written from its container.c).
    ("exec-format-error", Log, "Error: crun: exec container process `/app/./entrypoint.sh`: Exec format error: OCI runtime error", Some(&[("path", "/app/./entrypoint.sh")])),
    ("exec-format-error", Log, "exec ./entrypoint.sh: no such file or directory", NONE),
    ("oom-killed", Log, "Killed", YES),
    ("oom-killed", Log, "/app/entrypoint.sh: line 12:    42 Killed                  python3 seed.py", YES),
    ("oom-killed", Log, "[2024-05-01 10:00:32 +0000] [1] [ERROR] Worker (pid:8) was sent SIGKILL! Perhaps out of memory?", YES),
    // gunicorn 20.x (hand-written from its arbiter.py).
    ("oom-killed", Log, "[2024-05-01 10:00:32 +0000] [1] [WARNING] Worker with pid 8 was terminated due to signal 9", YES),
    ("oom-killed", Log, "[2024-05-01 10:00:32 +0000] [1] [WARNING] Worker with pid 8 was terminated due to signal 11", NONE),
    ("oom-killed", Log, "Killed 3 idle connections", NONE),
    ("healthcheck-tool-missing", Health, "/bin/sh: 1: curl: not found", Some(&[("tool", "curl")])),
    ("healthcheck-tool-missing", Health, "/bin/sh: line 1: wget: command not found", Some(&[("tool", "wget")])),
    ("healthcheck-tool-missing", Health, "OCI runtime exec failed: exec failed: unable to start container process: exec: \"curl\": executable file not found in $PATH: unknown", Some(&[("tool", "curl")])),
    ("healthcheck-tool-missing", Health, "curl: (22) The requested URL returned error: 404", NONE),
    ("healthcheck-start-period-short", Health, "curl: (7) Failed to connect to localhost port 5001 after 0 ms: Connection refused", YES),
    ("healthcheck-start-period-short", Health, "{\"profiles\": []}", NONE),
    // --- D. Ordering, networking, PostgreSQL ---
    ("depends-on-not-healthy", Log, "psycopg2.OperationalError: connection to server at \"db\" (172.18.0.2), port 5432 failed: Connection refused", Some(&[("host", "db"), ("port", "5432")])),
    ("depends-on-not-healthy", Log, "\tIs the server running on host \"db\" (172.18.0.2) and accepting", Some(&[("host", "db")])),
    // psycopg 3 (libpq 16), hand-written: the same libpq words behind its own prefix.
    ("depends-on-not-healthy", Log, "psycopg.OperationalError: connection failed: connection to server at \"db\" (172.18.0.2), port 5432 failed: Connection refused", Some(&[("host", "db"), ("port", "5432")])),
    ("depends-on-not-healthy", Log, "psycopg2.OperationalError: connection to server at \"db\" (172.18.0.2), port 5432 failed: FATAL:  the database system is starting up", NONE),
    ("host-unresolvable", Log, "psycopg2.OperationalError: could not translate host name \"postgres\" to address: Name or service not known", Some(&[("host", "postgres")])),
    ("host-unresolvable", Log, "redis.exceptions.ConnectionError: Error -2 connecting to redis:6379. Name or service not known.", Some(&[("host", "redis"), ("port", "6379")])),
    ("host-unresolvable", Log, "redis.exceptions.ConnectionError: Error -3 connecting to redis:6379. Temporary failure in name resolution.", Some(&[("host", "redis")])),
    // Hand-written for other resolvers. musl (Alpine: postgres:15-alpine, redis:7-alpine,
    // python:3.11-alpine), through libpq and redis-py:
    ("host-unresolvable", Log, "psycopg2.OperationalError: could not translate host name \"db\" to address: Name does not resolve", Some(&[("host", "db")])),
    ("host-unresolvable", Log, "psycopg2.OperationalError: could not translate host name \"db\" to address: Try again", Some(&[("host", "db")])),
    ("host-unresolvable", Log, "redis.exceptions.ConnectionError: Error -2 connecting to redis:6379. Name does not resolve.", Some(&[("host", "redis"), ("port", "6379")])),
    ("host-unresolvable", Log, "redis.exceptions.ConnectionError: Error -5 connecting to redis:6379. Name has no usable address.", Some(&[("host", "redis")])),
    // glibc's EAI_NODATA; redis-py 5 on macOS (a positive code).
    ("host-unresolvable", Log, "redis.exceptions.ConnectionError: Error -5 connecting to redis:6379. No address associated with hostname.", Some(&[("host", "redis")])),
    ("host-unresolvable", Log, "redis.exceptions.ConnectionError: Error 8 connecting to redis:6379. nodename nor servname provided, or not known.", Some(&[("host", "redis"), ("port", "6379")])),
    // Celery/kombu: redis-py's words inside the consumer's line; py-amqp's socket error.
    ("host-unresolvable", Log, "[2024-05-01 10:00:00,000: ERROR/MainProcess] consumer: Cannot connect to redis://redis:6379/0: Error -2 connecting to redis:6379. Name does not resolve..", Some(&[("host", "redis")])),
    ("host-unresolvable", Log, "[2024-05-01 10:00:00,000: ERROR/MainProcess] consumer: Cannot connect to amqp://guest:**@rabbitmq:5672//: [Errno -3] Try again.", Some(&[("host", "rabbitmq")])),
    ("host-unresolvable", Log, "[2024-05-01 10:00:00,000: ERROR/MainProcess] consumer: Cannot connect to amqp://guest:**@rabbitmq:5672//: [Errno 111] Connection refused.", NONE),
    // urllib3 2 (requests).
    ("host-unresolvable", Log, "urllib3.exceptions.NameResolutionError: <urllib3.connection.HTTPConnection object at 0x7f>: Failed to resolve 'api' ([Errno -2] Name does not resolve)", Some(&[("host", "api")])),
    ("host-unresolvable", Log, "redis.exceptions.ConnectionError: Error 113 connecting to redis:6379. No route to host.", NONE),
    ("host-unresolvable", Log, "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.", NONE),
    ("pg-auth-failed", Log, "psycopg2.OperationalError: connection to server at \"db\" (172.18.0.2), port 5432 failed: FATAL:  password authentication failed for user \"analylit\"", Some(&[("user", "analylit")])),
    ("pg-auth-failed", Log, "2024-05-01 10:00:00.000 UTC [60] DETAIL:  Connection matched pg_hba.conf line 100: \"host all all all scram-sha-256\"", YES),
    ("pg-auth-failed", Log, "2024-05-01 10:00:00.000 UTC [60] DETAIL:  Role \"x\" does not exist.", NONE),
    ("pg-auth-failed", Log, "\tConnection matched pg_hba.conf line 100: \"host all all all scram-sha-256\"", NONE),
    ("pg-role-missing", Log, "2024-05-01 10:00:00.000 UTC [60] DETAIL:  Role \"bob\" does not exist.", Some(&[("role", "bob")])),
    ("pg-role-missing", Log, "psql: error: connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: FATAL:  role \"bob\" does not exist", Some(&[("role", "bob")])),
    ("pg-role-missing", Log, "FATAL:  database \"bob\" does not exist", NONE),
    ("pg-database-missing", Log, "psycopg2.OperationalError: connection to server at \"db\" (172.18.0.2), port 5432 failed: FATAL:  database \"analylit_v4\" does not exist", Some(&[("database", "analylit_v4")])),
    ("pg-database-missing", Log, "FATAL:  role \"analylit\" does not exist", NONE),
    ("pg-starting-up", Log, "FATAL:  the database system is starting up", YES),
    ("pg-starting-up", Log, "2024-05-01 10:00:00.000 UTC [30] FATAL:  the database system is not yet accepting connections", YES),
    ("pg-starting-up", Log, "2024-05-01 10:00:00.000 UTC [1] LOG:  database system is ready to accept connections", NONE),
    ("pg-version-mismatch", Log, "2024-05-01 10:00:00.000 UTC [1] FATAL:  database files are incompatible with server", YES),
    ("pg-version-mismatch", Log, "2024-05-01 10:00:00.000 UTC [1] DETAIL:  The data directory was initialized by PostgreSQL version 14, which is not compatible with this version 15.6 (Debian 15.6-0+deb12u1).", Some(&[("data_version", "14"), ("server_version", "15.6")])),
    ("pg-version-mismatch", Log, "PostgreSQL Database directory appears to contain a database; Skipping initialization", NONE),
    ("pg-data-permissions", Log, "2024-05-01 10:00:00.000 UTC [1] FATAL:  data directory \"/var/lib/postgresql/data\" has invalid permissions", Some(&[("path", "/var/lib/postgresql/data")])),
    ("pg-data-permissions", Log, "2024-05-01 10:00:00.000 UTC [1] DETAIL:  Permissions should be u=rwx (0700) or u=rwx,g=rx (0750).", YES),
    ("pg-data-permissions", Log, "FATAL:  data directory \"/var/lib/postgresql/data\" has wrong ownership", NONE),
    ("pg-data-ownership", Log, "FATAL:  data directory \"/var/lib/postgresql/data\" has wrong ownership", Some(&[("path", "/var/lib/postgresql/data")])),
    ("pg-data-ownership", Log, "postgres: could not open configuration file \"/var/lib/postgresql/data/postgresql.conf\": Permission denied", Some(&[("path", "/var/lib/postgresql/data/postgresql.conf")])),
    ("pg-data-ownership", Log, "initdb: error: could not change permissions of directory \"/var/lib/postgresql/data\": Operation not permitted", Some(&[("path", "/var/lib/postgresql/data")])),
    ("pg-data-ownership", Log, "chmod: changing permissions of '/var/lib/postgresql/data': Operation not permitted", Some(&[("path", "/var/lib/postgresql/data")])),
    ("pg-data-ownership", Log, "initdb: error: could not access directory \"/var/lib/postgresql/data\": Permission denied", NONE),
    ("tables-missing", Log, "sqlalchemy.exc.ProgrammingError: (psycopg2.errors.UndefinedTable) relation \"projects\" does not exist", Some(&[("table", "projects")])),
    ("tables-missing", Log, "2024-05-01 10:00:00.000 UTC [70] ERROR:  relation \"analysis_profiles\" does not exist at character 22", Some(&[("table", "analysis_profiles")])),
    ("tables-missing", Log, "FATAL:  database \"projects\" does not exist", NONE),
    ("alembic-revision-missing", Log, "alembic.util.exc.CommandError: Can't locate revision identified by 'deadbeef0001'", Some(&[("revision", "deadbeef0001")])),
    ("alembic-revision-missing", Log, "INFO  [alembic.runtime.migration] Running upgrade  -> deadbeef0001", NONE),
    // --- E. Redis, Celery, RQ, Socket.IO ---
    ("redis-misconf-rdb", Log, "redis.exceptions.ResponseError: MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.", YES),
    ("redis-misconf-rdb", Log, "1:M 01 May 2024 10:00:00.000 # Background saving error", YES),
    ("redis-misconf-rdb", Log, "26:C 01 May 2024 10:00:00.000 # Failed opening the temp RDB file temp-26.rdb (in server root dir /data) for saving: Permission denied", Some(&[("file", "temp-26.rdb"), ("dir", "/data"), ("reason", "Permission denied")])),
    ("redis-misconf-rdb", Log, "1:M 01 May 2024 10:00:00.000 * Background saving terminated with success", NONE),
    ("redis-noauth", Log, "redis.exceptions.AuthenticationError: Authentication required.", YES),
    ("redis-noauth", Log, "NOAUTH Authentication required.", YES),
    ("redis-noauth", Log, "[2024-05-01 10:00:00,000: ERROR/MainProcess] consumer: Cannot connect to redis://redis:6379/0: Authentication required..", YES),
    ("redis-noauth", Log, "WRONGPASS invalid username-password pair or user is disabled.", NONE),
    ("redis-wrongpass", Log, "WRONGPASS invalid username-password pair or user is disabled.", YES),
    ("redis-wrongpass", Log, "redis.exceptions.AuthenticationError: invalid username-password pair or user is disabled.", YES),
    ("redis-wrongpass", Log, "redis.exceptions.AuthenticationError: Authentication required.", NONE),
    ("redis-protected-mode", Log, "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.", YES),
    ("redis-protected-mode", Log, "redis.exceptions.ConnectionError: Connection not ready", YES),
    ("redis-protected-mode", Log, "Connection not ready", YES),
    ("redis-protected-mode", Log, "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.", NONE),
    ("redis-protected-mode", Log, "WebSocket connection not ready, retrying", NONE),
    ("redis-bind-localhost", Log, "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.", Some(&[("host", "redis"), ("port", "6379")])),
    ("redis-bind-localhost", Log, "redis.exceptions.ConnectionError: Error -2 connecting to redis:6379. Name or service not known.", NONE),
    ("broker-unreachable", Log, "[2024-05-01 10:00:00,000: ERROR/MainProcess] consumer: Cannot connect to redis://redis:6379/0: Error -2 connecting to redis:6379. Name or service not known..", Some(&[("scheme", "redis"), ("host", "redis"), ("reason", "Error -2 connecting to redis:6379. Name or service not known..")])),
    ("broker-unreachable", Log, "[2024-05-01 10:00:00,000: ERROR/MainProcess] consumer: Cannot connect to redis://:**@redis:6379/0: Error 111 connecting to redis:6379. Connection refused..", Some(&[("host", "redis")])),
    ("broker-unreachable", Log, "[E 240501 10:00:00 events:191] Failed to capture events: 'Error -2 connecting to redis:6379. Name or service not known.', trying again in 1 seconds.", Some(&[("reason", "Error -2 connecting to redis:6379. Name or service not known.")])),
    // musl (Alpine), hand-written: the same lines with the resolver's other words.
    ("broker-unreachable", Log, "[2024-05-01 10:00:00,000: ERROR/MainProcess] consumer: Cannot connect to redis://redis:6379/0: Error -2 connecting to redis:6379. Name does not resolve..", Some(&[("host", "redis"), ("reason", "Error -2 connecting to redis:6379. Name does not resolve..")])),
    ("broker-unreachable", Log, "[E 240501 10:00:00 events:191] Failed to capture events: 'Error -3 connecting to redis:6379. Try again.', trying again in 1 seconds.", Some(&[("reason", "Error -3 connecting to redis:6379. Try again.")])),
    // celery beat (hand-written from celery/beat.py).
    ("broker-unreachable", Log, "[2024-05-01 10:00:00,000: ERROR/MainProcess] beat: Connection error: Error -2 connecting to redis:6379. Name or service not known.. Trying again in 2.0 seconds...", Some(&[("reason", "Error -2 connecting to redis:6379. Name or service not known.")])),
    ("broker-unreachable", Log, "[2024-05-01 10:00:00,000: INFO/MainProcess] Connected to redis://redis:6379/0", NONE),
    ("celery-unregistered-task", Log, "[2024-05-01 10:00:00,000: ERROR/MainProcess] Received unregistered task of type 'tasks.analyse'.", Some(&[("task", "tasks.analyse")])),
    ("celery-unregistered-task", Log, "KeyError: 'tasks.analyse'", YES),
    ("celery-unregistered-task", Log, "[2024-05-01 10:00:00,000: INFO/MainProcess] Task tasks.analyse[1f2e] received", NONE),
    ("rq-localhost-url", Log, "redis.exceptions.ConnectionError: Error 99 connecting to localhost:6379. Cannot assign requested address.", Some(&[("host", "localhost"), ("port", "6379")])),
    ("rq-localhost-url", Log, "redis.exceptions.ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.", Some(&[("host", "127.0.0.1")])),
    // musl's strerror(EADDRNOTAVAIL) (Alpine), hand-written; redis-py 5 says it the same way.
    ("rq-localhost-url", Log, "redis.exceptions.ConnectionError: Error 99 connecting to localhost:6379. Address not available.", Some(&[("host", "localhost"), ("port", "6379")])),
    ("rq-localhost-url", Log, "redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. Connection refused.", NONE),
    ("socketio-redis-publish", Log, "ERROR:socketio:Cannot publish to redis... retrying", Some(&[("outcome", "retrying")])),
    ("socketio-redis-publish", Log, "ERROR:socketio:Cannot publish to redis... giving up", Some(&[("outcome", "giving up")])),
    ("socketio-redis-publish", Log, "INFO:socketio:emitting event \"progress\" to all [/]", NONE),
    // --- G. Swarm stacks (the deploy's own error, pasted) ---
    ("swarm-ingress-port-taken", Log, "failed to create service lab_web: Error response from daemon: rpc error: code = InvalidArgument desc = port '8080' is already in use by service 'other_web' (ptw9z2qk) as an ingress port", Some(&[("port", "8080"), ("other", "other_web")])),
    ("swarm-ingress-port-taken", Log, "Bind for 0.0.0.0:8080 failed: port is already allocated", NONE),
];

/// `(rule, state, expected)`: whether one of the rule's `state` symptoms holds.
#[rustfmt::skip]
fn state_cases() -> Vec<(&'static str, StateFacts, bool)> {
    let exited = |code: i64| StateFacts {
        status: "exited".into(),
        exit_code: Some(code),
        ..StateFacts::default()
    };
    let with_error = |error: &str| StateFacts {
        status: "created".into(),
        exit_code: Some(128),
        error: error.into(),
        ..StateFacts::default()
    };
    let running = StateFacts {
        status: "running".into(),
        exit_code: Some(0),
        health: Some("healthy".into()),
        ..StateFacts::default()
    };
    // A Swarm task in `state` with `error`, its service running `replicas` of 1.
    let task = |state: &str, error: &str, replicas: u64| StateFacts {
        status: if state == "running" { "running" } else { "created" }.into(),
        error: error.into(),
        task_state: Some(state.into()),
        replicas: Some((replicas, 1)),
        ..StateFacts::default()
    };
    vec![
        ("import-name-missing", exited(3), true),
        ("import-name-missing", exited(4), false),
        ("name-not-defined", exited(3), true),
        ("name-not-defined", exited(1), false),
        ("app-context-at-import", exited(3), true),
        ("app-context-at-import", running.clone(), false),
        ("gunicorn-worker-reinit", StateFacts { health: Some("unhealthy".into()), ..running.clone() }, true),
        ("gunicorn-worker-reinit", running.clone(), false),
        ("mount-is-directory", with_error("failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting \"/srv/flower.db\" to rootfs at \"/data/flower.db\": mount /srv/flower.db:/data/flower.db (via /proc/self/fd/6), flags: 0x5000: not a directory: unknown: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type"), true),
        ("mount-is-directory", with_error("driver failed programming external connectivity"), false),
        ("entrypoint-not-executable", StateFacts { exit_code: Some(126), ..with_error("OCI runtime create failed: container_linux.go:380: starting container process caused: exec: \"./entrypoint.sh\": permission denied: unknown") }, true),
        // runc's release candidates escaped the quotes; runc 1.1+; crun 1.21+ and older (hand-written).
        ("entrypoint-not-executable", with_error("OCI runtime create failed: container_linux.go:349: starting container process caused \"exec: \\\"./entrypoint.sh\\\": permission denied\": unknown"), true),
        ("entrypoint-not-executable", with_error("failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/entrypoint.sh\": permission denied: unknown"), true),
        ("entrypoint-not-executable", with_error("crun: the path `/app/./entrypoint.sh` exists but it is not executable: Operation not permitted: OCI permission denied"), true),
        ("entrypoint-not-executable", with_error("crun: open executable: Permission denied: OCI permission denied"), true),
        ("entrypoint-not-executable", exited(1), false),
        ("exec-format-error", with_error("failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/entrypoint.sh\": exec format error: unknown"), true),
        ("exec-format-error", with_error("crun: exec container process `/app/./x`: Exec format error: OCI runtime error"), true),
        ("exec-format-error", exited(1), false),
        ("host-port-conflict", with_error("driver failed programming external connectivity on endpoint lab-web-1 (3f2a): Bind for 0.0.0.0:5001 failed: port is already allocated"), true),
        ("host-port-conflict", with_error("Error starting userland proxy: listen tcp4 0.0.0.0:5432: bind: address already in use"), true),
        ("host-port-conflict", with_error("network lab_default not found"), false),
        ("oom-killed", StateFacts { oom_killed: true, ..exited(137) }, true),
        ("oom-killed", exited(137), false),
        ("killed-after-grace", exited(137), true),
        ("killed-after-grace", StateFacts { oom_killed: true, ..exited(137) }, false),
        ("killed-after-grace", exited(0), false),
        ("restart-loop", StateFacts { status: "restarting".into(), restarting: true, restarts: 1, ..exited(1) }, true),
        ("restart-loop", StateFacts { restarts: 5, ..exited(1) }, true),
        ("restart-loop", StateFacts { restarts: 1, ..exited(1) }, false),
        ("healthcheck-start-period-short", running.clone(), true),
        ("healthcheck-start-period-short", StateFacts { health: Some("unhealthy".into()), ..running.clone() }, false),
        // G. Swarm stacks: task states and errors as `docker service ps` shows them (Docker 20.10).
        ("swarm-replicas-none-running", task("failed", "task: non-zero exit (1)", 0), true),
        ("swarm-replicas-none-running", task("running", "", 1), false),
        ("swarm-replicas-none-running", exited(1), false),
        ("swarm-placement-impossible", task("pending", "no suitable node (scheduling constraints not satisfied on 1 node)", 0), true),
        ("swarm-placement-impossible", task("pending", "no suitable node (insufficient resources on 1 node)", 0), true),
        ("swarm-placement-impossible", task("pending", "", 0), false),
        ("swarm-placement-impossible", with_error("no suitable node (insufficient resources on 1 node)"), false),
        ("swarm-image-missing", task("rejected", "No such image: analylit-lab/app:4.1", 0), true),
        ("swarm-image-missing", task("rejected", "invalid mount config for type \"bind\": bind source path does not exist: /srv", 0), false),
        ("swarm-image-missing", with_error("No such image: analylit-lab/app:4.1"), false),
        ("swarm-ingress-port-taken", task("failed", "starting container failed: container f4b2: endpoint join on GW Network failed: driver failed programming external connectivity on endpoint gateway_8f2b (3431): Error starting userland proxy: listen tcp4 0.0.0.0:18080: bind: address already in use", 0), true),
        ("swarm-ingress-port-taken", with_error("Error starting userland proxy: listen tcp4 0.0.0.0:5432: bind: address already in use"), false),
        ("swarm-update-rolled-back", StateFacts { update_state: Some("rollback_completed".into()), ..task("running", "", 1) }, true),
        ("swarm-update-rolled-back", StateFacts { update_state: Some("paused".into()), ..task("running", "", 1) }, true),
        ("swarm-update-rolled-back", StateFacts { update_state: Some("completed".into()), ..task("running", "", 1) }, false),
        ("swarm-compose-keys-ignored", task("failed", "task: non-zero exit (1)", 0), true),
        ("swarm-compose-keys-ignored", exited(1), false),
    ]
}

fn line_symptoms(rule: &Rule, kind: In) -> impl Iterator<Item = &regex::Regex> {
    rule.symptoms.iter().filter_map(move |s| match (s, kind) {
        (Symptom::Logs { regex, .. }, In::Log) | (Symptom::Health { regex, .. }, In::Health) => {
            Some(regex)
        }
        _ => None,
    })
}

fn captures_of(re: &regex::Regex, line: &str) -> Option<BTreeMap<String, String>> {
    let caps = re.captures(line)?;
    Some(
        re.capture_names()
            .flatten()
            .filter_map(|n| caps.name(n).map(|m| (n.to_owned(), m.as_str().to_owned())))
            .collect(),
    )
}

#[test]
fn rule_patterns_match_their_examples() {
    let set = embedded();
    let mut failures = Vec::new();
    for &(id, kind, line, expected) in LINES {
        let rule = set
            .get(id)
            .unwrap_or_else(|| panic!("no rule {id} for example {line:?}"));
        let matches: Vec<BTreeMap<String, String>> = line_symptoms(rule, kind)
            .filter_map(|re| captures_of(re, line))
            .collect();
        match expected {
            None if !matches.is_empty() => {
                failures.push(format!("{id}: must not match {kind:?} line {line:?}"))
            }
            Some(want) => {
                let ok = matches.iter().any(|caps| {
                    want.iter()
                        .all(|(k, v)| caps.get(*k).map(String::as_str) == Some(*v))
                });
                if !ok {
                    failures.push(format!(
                        "{id}: {kind:?} line {line:?} should match with {want:?}, got {matches:?}"
                    ));
                }
            }
            None => {}
        }
    }
    for (id, facts, expected) in state_cases() {
        let rule = set.get(id).unwrap_or_else(|| panic!("no rule {id}"));
        let holds = rule.symptoms.iter().any(|s| match s {
            Symptom::State { predicate, .. } => predicate.holds(&facts),
            _ => false,
        });
        if holds != expected {
            failures.push(format!("{id}: state {facts:?} should hold = {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_positive_and_negative_examples() {
    let states = state_cases();
    let mut missing = Vec::new();
    for rule in &embedded() {
        let id = rule.id.as_str();
        let pos = LINES.iter().any(|c| c.0 == id && c.3.is_some())
            || states.iter().any(|c| c.0 == id && c.2);
        let neg = LINES.iter().any(|c| c.0 == id && c.3.is_none())
            || states.iter().any(|c| c.0 == id && !c.2);
        if !(pos && neg) {
            missing.push(id.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "rules without both kinds of example: {missing:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Look-alikes: whole rules against a service's evidence, with the documented semantics
// ---------------------------------------------------------------------------------------------

/// One container of service `web` with these log lines, health outputs and state: what the
/// matcher reads.
fn container(logs: &[&str], health: &[&str], state: &StateFacts) -> ContainerSnapshot {
    let mut c = ContainerSnapshot {
        id: "web-id".into(),
        name: "lab_web_1".into(),
        service: "web".into(),
        number: Some(1),
        image: "lab/web".into(),
        ..Default::default()
    };
    c.state.status = state.status.clone();
    c.state.running = matches!(state.status.as_str(), "running" | "restarting");
    c.state.restarting = state.restarting;
    c.state.oom_killed = state.oom_killed;
    c.state.exit_code = state.exit_code.unwrap_or(0);
    c.state.error = state.error.clone();
    c.state.started_at = if state.exit_code.is_some() || c.state.running {
        "2026-01-01T00:00:00Z".into()
    } else {
        "0001-01-01T00:00:00Z".into()
    };
    c.restart_count = state.restarts;
    c.logs.lines = logs
        .iter()
        .map(|text| LogLine {
            ts: None,
            stream: Stream::Stdout,
            text: (*text).to_owned(),
        })
        .collect();
    c.health = state.health.as_ref().map(|status| HealthState {
        status: status.clone(),
        failing_streak: if status == "unhealthy" { 3 } else { 0 },
        log: health
            .iter()
            .map(|output| HealthResult {
                start: "2026-01-01T00:00:30Z".into(),
                end: "2026-01-01T00:00:31Z".into(),
                exit_code: if status == "healthy" { 0 } else { 1 },
                output: (*output).to_owned(),
            })
            .collect(),
    });
    c
}

/// The ids of the rules the engine's own matcher fires on that container (whatever the rules'
/// `services` say: these tests are about symptoms), handled lines included.
fn firing(set: &RuleSet, logs: &[&str], health: &[&str], state: &StateFacts) -> Vec<String> {
    let c = container(logs, health, state);
    assert_eq!(
        matcher::facts(&c),
        *state,
        "the test container does not carry the state it was given"
    );
    let m = matcher::Matcher::new(set);
    let mut ids: Vec<String> = m
        .match_service("web", &[&c])
        .into_iter()
        .map(|f| f.rule.id.clone())
        .collect();
    // Rules limited to other services' names, matched as if this were one of theirs.
    for rule in set.iter().filter(|r| !r.applies_to("web")) {
        let mut other = c.clone();
        let name = ["db", "postgres", "redis", "worker", "flower", "celery"]
            .into_iter()
            .find(|n| rule.applies_to(n));
        if let Some(name) = name {
            other.service = name.into();
            ids.extend(
                m.match_service(name, &[&other])
                    .into_iter()
                    .filter(|f| f.rule.id == rule.id)
                    .map(|f| f.rule.id.clone()),
            );
        }
    }
    let order: Vec<&str> = set.iter().map(|r| r.id.as_str()).collect();
    ids.sort_by_key(|id| order.iter().position(|o| o == id));
    ids.dedup();
    ids
}

fn fires(set: &RuleSet, id: &str, logs: &[&str], health: &[&str], state: &StateFacts) -> bool {
    firing(set, logs, health, state).iter().any(|f| f == id)
}

const GUNICORN_UP: &[&str] = &[
    "Attente de la base de données...",
    "Base de données prête !",
    "Initialisation de la base de données (flask init-db)...",
    "Données par défaut déjà présentes.",
    "Base de données initialisée.",
    "[2024-05-01 10:00:00 +0000] [1] [INFO] Starting gunicorn 20.1.0",
    "[2024-05-01 10:00:00 +0000] [1] [INFO] Listening at: http://0.0.0.0:5001 (1)",
    "[2024-05-01 10:00:00 +0000] [1] [INFO] Using worker: sync",
    "[2024-05-01 10:00:00 +0000] [8] [INFO] Booting worker with pid: 8",
    "[2024-05-01 10:00:00 +0000] [9] [INFO] Booting worker with pid: 9",
    "[2024-05-01 10:00:00 +0000] [10] [INFO] Booting worker with pid: 10",
];

fn web_state(health: &str) -> StateFacts {
    StateFacts {
        status: "running".into(),
        exit_code: Some(0),
        health: Some(health.into()),
        ..StateFacts::default()
    }
}

#[test]
fn a_healthy_stack_fires_nothing() {
    let set = embedded();
    let services: &[(&str, Vec<&str>, &[&str])] = &[
        (
            "db",
            vec![
                "PostgreSQL Database directory appears to contain a database; Skipping initialization",
                "2024-05-01 10:00:00.000 UTC [1] LOG:  starting PostgreSQL 15.6 (Debian 15.6-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit",
                "2024-05-01 10:00:00.000 UTC [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432",
                "2024-05-01 10:00:00.010 UTC [1] LOG:  database system is ready to accept connections",
            ],
            &["/var/run/postgresql:5432 - accepting connections"],
        ),
        (
            "redis",
            vec![
                "1:M 01 May 2024 10:00:00.000 * Ready to accept connections tcp",
                "1:M 01 May 2024 10:05:00.000 * Background saving started by pid 20",
                "20:C 01 May 2024 10:05:00.010 * DB saved on disk",
                "1:M 01 May 2024 10:05:00.100 * Background saving terminated with success",
            ],
            &["PONG"],
        ),
        (
            "web",
            [GUNICORN_UP, &[
                "172.18.0.1 - - [01/May/2024:10:00:05 +0000] \"GET /api/settings/profiles HTTP/1.1\" 200 91 \"-\" \"curl/7.88.1\"",
            ]]
            .concat(),
            &["[{\"id\": 1, \"name\": \"standard\"}, {\"id\": 2, \"name\": \"rapide\"}]"],
        ),
        (
            "worker",
            vec![
                "10:00:00 Worker rq:worker:3c5e started with PID 1, version 1.13.0",
                "10:00:00 *** Listening on analysis, default...",
                "10:00:00 Cleaning registries for queue: analysis",
            ],
            &[],
        ),
        (
            "flower",
            vec![
                "[I 240501 10:00:00 command:168] Visit me at http://0.0.0.0:5555",
                "[I 240501 10:00:00 command:176] Broker: redis://redis:6379/0",
                "[I 240501 10:00:00 mixins:228] Connected to redis://redis:6379/0",
            ],
            &["OK"],
        ),
    ];
    for (service, logs, health) in services {
        let fired = firing(&set, logs, health, &web_state("healthy"));
        assert!(fired.is_empty(), "{service}: {fired:?}");
    }
}

#[test]
fn a_plain_404_is_not_a_worker_reinit() {
    let set = embedded();
    let logs = [GUNICORN_UP, &[
        "172.18.0.1 - - [01/May/2024:10:00:05 +0000] \"GET /api/settings/profiles HTTP/1.1\" 404 207 \"-\" \"curl/7.88.1\"",
        "127.0.0.1 - - [01/May/2024:10:00:07 +0000] \"GET /api/settings/profiles HTTP/1.1\" 404 207 \"-\" \"curl/7.88.1\"",
    ]]
    .concat();
    let health = ["curl: (22) The requested URL returned error: 404"];
    let fired = firing(&set, &logs, &health, &web_state("unhealthy"));
    assert_eq!(
        fired,
        [
            "blueprint-prefix-mismatch",
            "health-route-missing",
            "route-not-decorated"
        ]
    );
}

#[test]
fn a_404_with_an_init_error_per_worker_is_a_worker_reinit() {
    let set = embedded();
    // What the lab's app logs when its broad `except` swallows the second seeding.
    let error = "2024-05-01 10:00:01,200 ERROR server_v4_complete: Erreur pendant l'initialisation (ignorée) : (psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint \"analysis_profiles_name_key\"";
    let logs = [GUNICORN_UP, &[error, error, error]].concat();
    let health = ["curl: (22) The requested URL returned error: 404"];
    let fired = firing(&set, &logs, &health, &web_state("unhealthy"));
    assert!(
        fired.contains(&"gunicorn-worker-reinit".to_owned()),
        "{fired:?}"
    );
    let reinit = set.get("gunicorn-worker-reinit").expect("rule");
    // The look-alikes that also fire on the same service fold under it.
    for other in fired.iter().filter(|id| *id != "gunicorn-worker-reinit") {
        assert!(
            reinit.confirms.contains(other),
            "{other} does not fold under the reinit"
        );
    }
    // A single error line (the entrypoint's own init) is not enough.
    let once = [GUNICORN_UP, &[error]].concat();
    assert!(!fires(
        &set,
        &reinit.id,
        &once,
        &health,
        &web_state("unhealthy")
    ));
}

#[test]
fn a_missing_role_is_not_a_wrong_password() {
    let set = embedded();
    // A running container's exit code is inspect's 0.
    let exited = StateFacts {
        status: "running".into(),
        exit_code: Some(0),
        ..StateFacts::default()
    };
    let role_missing = [
        "2024-05-01 10:00:00.000 UTC [60] FATAL:  password authentication failed for user \"bob\"",
        "2024-05-01 10:00:00.000 UTC [60] DETAIL:  Role \"bob\" does not exist.",
        "\tConnection matched pg_hba.conf line 100: \"host all all all scram-sha-256\"",
    ];
    let fired = firing(&set, &role_missing, &[], &exited);
    assert_eq!(
        fired,
        [
            "pg-auth-failed",
            "pg-auth-failed-client-url",
            "pg-role-missing"
        ]
    );
    let role = set.get("pg-role-missing").expect("rule");
    for look_alike in ["pg-auth-failed", "pg-auth-failed-client-url"] {
        assert!(
            role.confirms.contains(&look_alike.to_owned()),
            "{look_alike}"
        );
    }
    // The only-DETAIL line of the wrong password is not claimed by pg-role-missing.
    let wrong_password = [
        "2024-05-01 10:00:00.000 UTC [61] FATAL:  password authentication failed for user \"analylit\"",
        "2024-05-01 10:00:00.000 UTC [61] DETAIL:  Connection matched pg_hba.conf line 100: \"host all all all scram-sha-256\"",
    ];
    assert_eq!(
        firing(&set, &wrong_password, &[], &exited),
        ["pg-auth-failed", "pg-auth-failed-client-url"]
    );
}

#[test]
fn a_worker_boot_failure_names_its_exception() {
    let set = embedded();
    let logs = [
        "[2024-05-01 10:00:00 +0000] [8] [INFO] Booting worker with pid: 8",
        "[2024-05-01 10:00:00 +0000] [8] [ERROR] Exception in worker process",
        "Traceback (most recent call last):",
        "  File \"/app/server_v4_complete.py\", line 42, in <module>",
        "    app = create_app()",
        "NameError: name 'init_db' is not defined",
        "[2024-05-01 10:00:00 +0000] [8] [INFO] Worker exiting (pid: 8)",
        "[2024-05-01 10:00:00 +0000] [1] [INFO] Shutting down: Master",
        "[2024-05-01 10:00:00 +0000] [1] [INFO] Reason: Worker failed to boot.",
    ];
    let state = StateFacts {
        status: "restarting".into(),
        exit_code: Some(3),
        restarting: true,
        restarts: 4,
        ..StateFacts::default()
    };
    assert_eq!(
        firing(&set, &logs, &[], &state),
        ["name-not-defined", "restart-loop"]
    );
    let rule = set.get("name-not-defined").expect("rule");
    let caps = captures_of(line_symptoms(rule, Log).next().expect("logs"), logs[5]).expect("match");
    assert_eq!(
        rule.render_summary(&caps, "web"),
        "`init_db` is used but never defined or imported"
    );
    assert!(rule.confirms.contains(&"restart-loop".to_owned()));
}
