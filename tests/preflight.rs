//! Pre-flight over the lab's stacks, before any of them is brought up: no Docker.
//!
//! Every failing stack whose cause is on disk (source, Dockerfile, compose file, `.env`,
//! entrypoint bytes and mode) must be caught with the catalogue id its live diagnosis has
//! (`class` in scenario.toml when the folder is named otherwise, else `id`), on its service;
//! the healthy stacks must give nothing above `info`. The stacks whose cause lives only in a
//! running stack are listed in [`NOT_ON_DISK`] with the reason.
//!
//! A lab stack's Dockerfile starts `FROM analylit-lab/app:4.1` or `FROM analylit-lab/real:4.1`,
//! images built from fixtures/app and fixtures/real by fixtures/images/build.sh. A real project's
//! Dockerfile copies its own context; for the lab, the tests say where those two images come
//! from ([`lab_bases`]), as `Inputs::bases` lets any caller do.
mod support;

use analylit_doctor::engine::Diagnosis;
use analylit_doctor::preflight::image::BuildSource;
use analylit_doctor::preflight::{self, EngineFacts, Inputs};
use analylit_doctor::rules::Severity;
use std::path::{Path, PathBuf};
use support::doctor::Doctor;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The lab's own images and their sources (fixtures/images/build.sh builds them so).
fn lab_bases() -> Vec<(String, BuildSource)> {
    let f = fixtures();
    let source = |dockerfile: &str, context: &str| BuildSource {
        dockerfile: f.join("images").join(dockerfile),
        context: f.join(context),
        args: vec![],
        target: None,
    };
    vec![
        (
            "analylit-lab/app:4.1".into(),
            source("app.Dockerfile", "app"),
        ),
        (
            "analylit-lab/real:4.1".into(),
            source("real.Dockerfile", "real"),
        ),
    ]
}

/// Stacks whose cause is not in any file pre-flight reads, and why.
const NOT_ON_DISK: &[(&str, &str)] = &[
    ("flower-db-empty", "the 0-byte state file lives in a volume"),
    (
        "flower-db-needs-recovery",
        "the damaged GDBM file lives in a volume",
    ),
    (
        "group-postgres",
        "the data directories' versions, modes and owners live in volumes; the databases and roles are the server's state",
    ),
    (
        "group-redis",
        "what each Redis refuses is its running state; the Flower state files live in volumes",
    ),
    (
        "volume-permission-denied",
        "the file's owner in the volume was set by an earlier run",
    ),
    (
        "pg-auth-failed",
        "the volume keeps the password it was initialised with; the configuration agrees with itself",
    ),
    (
        "redis-misconf-rdb",
        "the snapshot directory's owner in the volume",
    ),
    (
        "tables-missing",
        "whether the database has the schema is the database's state",
    ),
    (
        "oom-killed",
        "how much memory the worker takes is measured at run time",
    ),
    (
        "gunicorn-worker-timeout",
        "how long the import takes is measured at run time",
    ),
    (
        "healthcheck-start-period-short",
        "how long the boot takes is measured at run time",
    ),
    (
        "real-hung-lock",
        "a lock another session holds is the database's state at run time",
    ),
    (
        "unclassified-worker-crash",
        "a native extension segfaults at run time",
    ),
];

struct Scenario {
    dir: String,
    class: String,
    service: Option<String>,
    /// A grouped stack's other causes, `(id, service)`.
    also: Vec<(String, String)>,
}

fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures().join("stacks"))
        .expect("fixtures/stacks")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("scenario.toml").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let text = std::fs::read_to_string(d.join("scenario.toml")).expect("scenario");
        let t: toml::Table = toml::from_str(&text).expect("scenario parses");
        let id = t["id"].as_str().expect("id").to_owned();
        out.push(Scenario {
            dir: d.file_name().unwrap().to_string_lossy().into_owned(),
            class: t
                .get("class")
                .and_then(|c| c.as_str())
                .map_or(id, str::to_owned),
            service: t.get("service").and_then(|s| s.as_str()).map(str::to_owned),
            also: t
                .get("also")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
                .filter_map(|a| {
                    Some((
                        a.get("id")?.as_str()?.to_owned(),
                        a.get("service")?.as_str()?.to_owned(),
                    ))
                })
                .collect(),
        });
    }
    out
}

fn preflight(stack: &str) -> Diagnosis {
    let rules = analylit_doctor::rules::load_embedded().expect("rules");
    let inputs = Inputs {
        files: vec![
            fixtures()
                .join("stacks")
                .join(stack)
                .join("docker-compose.yml"),
        ],
        project_name: Some(stack.to_owned()),
        profiles: vec![],
        bases: lab_bases(),
    };
    // No shell variables: the stack's own `.env` only, as on a fresh machine.
    let prepared = preflight::prepare(&inputs, &|_| None).expect("prepared");
    preflight::diagnose(
        &prepared,
        &EngineFacts::offline("no engine in this test"),
        &rules,
    )
}

fn problems(d: &Diagnosis) -> Vec<(String, String)> {
    d.problems()
        .iter()
        .map(|f| (f.id.clone(), f.service.clone()))
        .collect()
}

#[test]
fn every_stack_whose_cause_is_on_disk_is_caught_before_it_is_brought_up() {
    let mut failures = Vec::new();
    for s in scenarios() {
        let d = preflight(&s.dir);
        let found = problems(&d);
        if s.class == "healthy" {
            if d.has_problems() {
                failures.push(format!("{}: healthy, but {found:?}", s.dir));
            }
            continue;
        }
        if NOT_ON_DISK.iter().any(|(id, _)| *id == s.dir) {
            continue;
        }
        let service = s.service.clone().unwrap_or_default();
        let first = d
            .findings
            .first()
            .map(|f| (f.id.clone(), f.service.clone()));
        // A grouped stack: the first may be any of its causes, each on its own service.
        let expected = first
            .as_ref()
            .is_some_and(|f| *f == (s.class.clone(), service.clone()) || s.also.contains(f));
        if !expected {
            failures.push(format!(
                "{}: expected {} on {service} first, got {found:?}",
                s.dir, s.class
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_stacks_not_on_disk_are_real_stacks() {
    let dirs: Vec<String> = scenarios().into_iter().map(|s| s.dir).collect();
    for (id, why) in NOT_ON_DISK {
        assert!(dirs.iter().any(|d| d == id), "{id} ({why}) is no stack");
    }
}

#[test]
fn the_healthy_stacks_say_which_engine_checks_were_skipped() {
    for stack in ["healthy", "real-healthy"] {
        let d = preflight(stack);
        assert!(!d.has_problems(), "{stack}: {:?}", problems(&d));
        let skipped: Vec<&str> = d
            .findings
            .iter()
            .filter(|f| f.id == "healthcheck-tool-missing")
            .map(|f| f.summary.as_str())
            .collect();
        assert!(
            skipped
                .iter()
                .any(|s| s.starts_with("not checked before start:") && s.contains("curl")),
            "{stack}: {skipped:?}"
        );
        assert!(d.findings.iter().all(|f| f.severity == Severity::Info));
    }
}

// ---------------------------------------------------------------------------------------------
// One check at a time, on small written projects
// ---------------------------------------------------------------------------------------------

/// A project written into a temporary folder: `files` as (path, text), a Dockerfile
/// `FROM python:3.11-slim`, `WORKDIR /app`, `COPY . .` unless the files give one.
struct Written {
    dir: tempfile::TempDir,
}

const COMPOSE: &str = "\
services:
  db:
    image: postgres:15
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: s3cret
    healthcheck:
      test: [\"CMD-SHELL\", \"pg_isready -U app\"]
  web:
    build: .
    command: gunicorn -w 3 -b 0.0.0.0:5000 server:app
    environment:
      DATABASE_URL: postgresql://app:s3cret@db:5432/app
    depends_on:
      db:
        condition: service_healthy
    healthcheck:
      test: [\"CMD\", \"python3\", \"-c\", \"import urllib.request; urllib.request.urlopen('http://localhost:5000/health')\"]
";

const DOCKERFILE: &str = "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\n";

const SERVER: &str = "\
from flask import Flask

def create_app():
    app = Flask(__name__)

    @app.route('/health')
    def health():
        return {'status': 'ok'}

    return app

app = create_app()
";

impl Written {
    fn new(files: &[(&str, &str)]) -> Written {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut all: Vec<(&str, &str)> = vec![
            ("docker-compose.yml", COMPOSE),
            ("Dockerfile", DOCKERFILE),
            ("server.py", SERVER),
        ];
        for (p, t) in files {
            all.retain(|(q, _)| q != p);
            all.push((p, t));
        }
        for (p, t) in all {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, t).unwrap();
        }
        Written { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    #[cfg(unix)]
    fn chmod(&self, rel: &str, mode: u32) -> &Self {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(self.path(rel), std::fs::Permissions::from_mode(mode)).unwrap();
        self
    }

    fn prepared(&self, profiles: &[&str]) -> preflight::Prepared {
        let inputs = Inputs {
            files: vec![self.path("docker-compose.yml")],
            project_name: Some("written".into()),
            profiles: profiles.iter().map(|p| p.to_string()).collect(),
            bases: vec![],
        };
        preflight::prepare(&inputs, &|_| None).expect("prepared")
    }

    fn run_with(&self, engine: &EngineFacts) -> Diagnosis {
        let rules = analylit_doctor::rules::load_embedded().expect("rules");
        preflight::diagnose(&self.prepared(&[]), engine, &rules)
    }

    fn run(&self) -> Diagnosis {
        self.run_with(&EngineFacts::offline("no engine in this test"))
    }
}

/// The first finding above info as (id, service, summary), if any.
fn first_problem(d: &Diagnosis) -> Option<(String, String, String)> {
    d.problems()
        .first()
        .map(|f| (f.id.clone(), f.service.clone(), f.summary.clone()))
}

fn ids(d: &Diagnosis) -> Vec<String> {
    d.problems().iter().map(|f| f.id.clone()).collect()
}

#[test]
fn a_written_healthy_project_is_quiet() {
    let d = Written::new(&[]).run();
    assert!(!d.has_problems(), "{:?}", problems(&d));
}

#[test]
fn an_undefined_name_at_import_names_the_project_file_and_line() {
    let w = Written::new(&[(
        "server.py",
        "from flask import Flask\n\ndef create_app():\n    init_db()\n    return Flask(__name__)\n\napp = create_app()\n",
    )]);
    let d = w.run();
    let (id, service, summary) = first_problem(&d).expect("a problem");
    assert_eq!((id.as_str(), service.as_str()), ("name-not-defined", "web"));
    assert!(
        summary.contains("server.py:4: `init_db` is used"),
        "{summary}"
    );
    let f = &d.findings[0];
    let p = f.probes.iter().find(|p| p.kind == "python").unwrap();
    let project = p.project_location.as_ref().expect("a project place");
    assert_eq!(project.line, Some(4));
    assert!(project.file.ends_with("server.py"), "{project:?}");
}

#[test]
fn names_bound_dynamically_are_no_alarm() {
    let server = "\
from flask import Flask
from helpers import *
try:
    from ujson import dumps
except ImportError:
    from json import dumps
if False:
    from typing import Any
else:
    Any = object
for name in ('alpha', 'beta'):
    globals()[name] = name
import lazy_mod
app = Flask(__name__)
print(star_name, dumps, Any, alpha, lazy_mod.anything)
";
    let w = Written::new(&[
        ("server.py", server),
        ("helpers.py", "star_name = 1\n"),
        ("lazy_mod.py", "def __getattr__(name):\n    return name\n"),
    ]);
    let d = w.run();
    assert!(!d.has_problems(), "{:?}", problems(&d));
}

#[test]
fn names_imported_from_a_module_that_lacks_them_follow_re_exports() {
    let pkg_ok = "from .database import Session\n";
    let db = "from sqlalchemy.orm import scoped_session, sessionmaker\nScopedSession = scoped_session(sessionmaker())\n";
    let server = "from flask import Flask\nfrom utils import Session\napp = Flask(__name__)\n";
    let w = Written::new(&[
        ("server.py", server),
        ("utils/__init__.py", pkg_ok),
        ("utils/database.py", db),
    ]);
    let d = w.run();
    let (id, service, summary) = first_problem(&d).expect("a problem");
    assert_eq!(
        (id.as_str(), service.as_str()),
        ("import-name-missing", "web")
    );
    assert!(summary.contains("utils/__init__.py:1"), "{summary}");
    assert!(
        summary.contains("ScopedSession"),
        "it names the near miss: {summary}"
    );

    // A star re-export may bind anything: no alarm.
    let w = Written::new(&[
        ("server.py", server),
        ("utils/__init__.py", "from .database import *\n"),
        ("utils/database.py", db),
    ]);
    assert!(!w.run().has_problems());
}

#[test]
fn an_import_cycle_that_bites_at_import() {
    let w = Written::new(&[
        (
            "server.py",
            "from flask import Flask\nfrom models import Model\napp = Flask(__name__)\n",
        ),
        (
            "models.py",
            "from services import helper\nclass Model:\n    pass\n",
        ),
        (
            "services.py",
            "from models import Model\ndef helper():\n    return Model\n",
        ),
    ]);
    let d = w.run();
    assert!(
        ids(&d).contains(&"import-name-missing-cycle".to_owned()),
        "{:?}",
        problems(&d)
    );
}

#[test]
fn none_copied_by_value_and_its_harmless_twin() {
    let db = "engine = None\n\ndef init_db():\n    global engine\n    engine = object()\n";
    let settings = "from database import engine\n\ndef profiles():\n    return engine.begin()\n";
    let server = "from flask import Flask\nimport settings\napp = Flask(__name__)\n";
    let w = Written::new(&[
        ("server.py", server),
        ("database.py", db),
        ("settings.py", settings),
    ]);
    let (id, _, _) = first_problem(&w.run()).expect("a problem");
    assert_eq!(id, "engine-used-before-init");
    // Rebound at module level right after: the copy is no None.
    let rebound = format!("{db}engine = object()\n");
    let w = Written::new(&[
        ("server.py", server),
        ("database.py", &rebound),
        ("settings.py", settings),
    ]);
    let d = w.run();
    assert!(!d.has_problems(), "{:?}", problems(&d));
}

#[test]
fn init_in_a_post_fork_hook_runs_in_every_worker() {
    let conf = "workers = 4\nfrom seed import seed_defaults\n\ndef post_fork(server, worker):\n    seed_defaults()\n";
    let seed = "def seed_defaults():\n    session.add(1)\n    session.commit()\n";
    let w = Written::new(&[("gunicorn.conf.py", conf), ("seed.py", seed)]);
    let (id, service, summary) = first_problem(&w.run()).expect("a problem");
    assert_eq!(
        (id.as_str(), service.as_str()),
        ("gunicorn-worker-reinit", "web")
    );
    assert!(summary.contains("post_fork"), "{summary}");
}

#[test]
fn routes_against_the_health_check() {
    // Lost decorator.
    let lost = SERVER.replace("    @app.route('/health')\n", "");
    let (id, _, summary) = first_problem(&Written::new(&[("server.py", &lost)]).run()).unwrap();
    assert_eq!(id, "route-not-decorated", "{summary}");
    // Prefix doubled: blueprint prefix + register prefix + rule.
    let server = "\
from flask import Flask
from api import bp

def create_app():
    app = Flask(__name__)
    app.register_blueprint(bp, url_prefix='/api')
    return app

app = create_app()
";
    let api = "from flask import Blueprint\nbp = Blueprint('api', __name__)\n\n@bp.route('/api/health')\ndef health():\n    return {'ok': True}\n";
    let compose = COMPOSE.replace("localhost:5000/health", "localhost:5000/api/health");
    let w = Written::new(&[
        ("server.py", server),
        ("api.py", api),
        ("docker-compose.yml", &compose),
    ]);
    let (id, _, summary) = first_problem(&w.run()).unwrap();
    assert_eq!(id, "blueprint-prefix-mismatch", "{summary}");
    assert!(summary.contains("/api/api/health"), "{summary}");
    // No route at all for the health path.
    let compose = COMPOSE.replace("localhost:5000/health", "localhost:5000/healthz");
    let (id, _, _) =
        first_problem(&Written::new(&[("docker-compose.yml", &compose)]).run()).unwrap();
    assert_eq!(id, "health-route-missing");
}

#[test]
fn the_gunicorn_target_and_bind_against_the_module_and_the_health_port() {
    let compose = COMPOSE.replace("server:app", "server:application");
    let (id, _, _) =
        first_problem(&Written::new(&[("docker-compose.yml", &compose)]).run()).unwrap();
    assert_eq!(id, "wsgi-app-not-found");

    let compose = COMPOSE
        .replace(
            "gunicorn -w 3 -b 0.0.0.0:5000 server:app",
            "gunicorn -c gunicorn.conf.py server:app",
        )
        .replace(
            "      DATABASE_URL",
            "      GUNICORN_CMD_ARGS: --bind=0.0.0.0:80\n      DATABASE_URL",
        );
    let w = Written::new(&[
        ("docker-compose.yml", &compose),
        ("gunicorn.conf.py", "bind = '0.0.0.0:5000'\nworkers = 2\n"),
    ]);
    let (id, _, summary) = first_problem(&w.run()).unwrap();
    assert_eq!(id, "healthcheck-port-mismatch", "{summary}");
    assert!(summary.contains("80"), "{summary}");
}

#[test]
fn entrypoint_bytes_and_modes() {
    let compose = COMPOSE.replace(
        "    command: gunicorn -w 3 -b 0.0.0.0:5000 server:app\n",
        "    entrypoint: [\"./entrypoint.sh\"]\n",
    );
    let script = "#!/bin/sh\nset -e\nexec gunicorn -w 3 -b 0.0.0.0:5000 server:app\n";
    let with = |script: &str| {
        let w = Written::new(&[("docker-compose.yml", &compose), ("entrypoint.sh", script)]);
        #[cfg(unix)]
        w.chmod("entrypoint.sh", 0o755);
        w
    };
    assert!(!with(script).run().has_problems());
    let crlf = script.replace('\n', "\r\n");
    assert_eq!(ids(&with(&crlf).run()), ["entrypoint-crlf"]);
    let bom = format!("\u{feff}{script}");
    assert_eq!(ids(&with(&bom).run()), ["exec-format-error"]);
    let no_shebang = script.replacen("#!/bin/sh\n", "", 1);
    assert_eq!(ids(&with(&no_shebang).run()), ["exec-format-error"]);
    // A Dockerfile that strips the CRs ships LF.
    let w = with(&crlf);
    std::fs::write(
        w.path("Dockerfile"),
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN sed -i 's/\\r$//' entrypoint.sh\n",
    )
    .unwrap();
    assert!(!w.run().has_problems(), "{:?}", problems(&w.run()));
}

#[cfg(unix)]
#[test]
fn the_execute_bit_from_the_context_a_chmod_or_a_bind_mount() {
    let compose = COMPOSE.replace(
        "    command: gunicorn -w 3 -b 0.0.0.0:5000 server:app\n",
        "    entrypoint: [\"./entrypoint.sh\"]\n",
    );
    let script = "#!/bin/sh\nexec gunicorn -w 3 -b 0.0.0.0:5000 server:app\n";
    let w = Written::new(&[("docker-compose.yml", &compose), ("entrypoint.sh", script)]);
    w.chmod("entrypoint.sh", 0o644);
    let d = w.run();
    assert_eq!(ids(&d), ["entrypoint-not-executable"]);
    assert_eq!(d.findings[0].severity, Severity::Error);
    // The Dockerfile gives it the bit.
    std::fs::write(
        w.path("Dockerfile"),
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nRUN chmod +x entrypoint.sh\n",
    )
    .unwrap();
    assert!(!w.run().has_problems());
    // A bind mount of the project over /app hides the image's chmod.
    let bound = compose.replace(
        "    build: .\n",
        "    build: .\n    volumes:\n      - .:/app\n",
    );
    std::fs::write(w.path("docker-compose.yml"), bound).unwrap();
    assert_eq!(ids(&w.run()), ["entrypoint-not-executable"]);
}

#[cfg(unix)]
#[test]
fn executable_here_but_not_in_git_is_a_warning_for_every_clone() {
    let compose = COMPOSE.replace(
        "    command: gunicorn -w 3 -b 0.0.0.0:5000 server:app\n",
        "    entrypoint: [\"./entrypoint.sh\"]\n",
    );
    let w = Written::new(&[
        ("docker-compose.yml", &compose),
        (
            "entrypoint.sh",
            "#!/bin/sh\nexec gunicorn -b 0.0.0.0:5000 server:app\n",
        ),
    ]);
    w.chmod("entrypoint.sh", 0o755);
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(w.dir.path())
            .args(args)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !git(&["init", "-q"]) {
        return; // no git on this machine: nothing to compare with
    }
    assert!(git(&["add", "."]));
    assert!(git(&["update-index", "--chmod=-x", "entrypoint.sh"]));
    let d = w.run();
    assert_eq!(ids(&d), ["entrypoint-not-executable"]);
    assert_eq!(d.findings[0].severity, Severity::Warning);
    assert!(
        d.findings[0].summary.contains("git records it as 100644"),
        "{}",
        d.findings[0].summary
    );
}

#[test]
fn depends_on_a_database_without_service_healthy() {
    let compose = COMPOSE.replace(
        "    depends_on:\n      db:\n        condition: service_healthy\n",
        "    depends_on:\n      - db\n",
    );
    let d = Written::new(&[("docker-compose.yml", &compose)]).run();
    let (id, service, _) = first_problem(&d).unwrap();
    assert_eq!(
        (id.as_str(), service.as_str()),
        ("depends-on-not-healthy", "web")
    );
    // An entrypoint that waits for the database itself: info, with the reason.
    let compose = compose.replace(
        "    command: gunicorn -w 3 -b 0.0.0.0:5000 server:app\n",
        "    entrypoint: [\"./entrypoint.sh\"]\n",
    );
    let script = "#!/bin/sh\nuntil pg_isready -d \"$DATABASE_URL\"; do sleep 1; done\nexec gunicorn -b 0.0.0.0:5000 server:app\n";
    let w = Written::new(&[("docker-compose.yml", &compose), ("entrypoint.sh", script)]);
    #[cfg(unix)]
    w.chmod("entrypoint.sh", 0o755);
    let d = w.run();
    assert!(!d.has_problems(), "{:?}", problems(&d));
    let f = d
        .findings
        .iter()
        .find(|f| f.id == "depends-on-not-healthy")
        .expect("kept as info");
    assert!(
        f.summary.contains("waits for the server itself"),
        "{}",
        f.summary
    );
    // With a cache listed first, the database is the dependency the class is about.
    let compose = COMPOSE
        .replace(
            "  web:\n",
            "  cache:\n    image: redis:7\n    healthcheck:\n      test: [\"CMD\", \"redis-cli\", \"ping\"]\n  web:\n",
        )
        .replace(
            "    depends_on:\n      db:\n        condition: service_healthy\n",
            "    depends_on:\n      cache:\n        condition: service_started\n      db:\n        condition: service_started\n",
        );
    let d = Written::new(&[("docker-compose.yml", &compose)]).run();
    let (id, service, summary) = first_problem(&d).unwrap();
    assert_eq!(
        (id.as_str(), service.as_str()),
        ("depends-on-not-healthy", "web")
    );
    assert!(summary.contains("waits only for db to start"), "{summary}");
    // A short depends_on on a service that is no server is no finding.
    let compose = COMPOSE.replace(
        "  web:\n",
        "  front:\n    image: nginx:1.25\n    depends_on:\n      - web\n  web:\n",
    );
    assert!(
        !Written::new(&[("docker-compose.yml", &compose)])
            .run()
            .has_problems()
    );
}

#[test]
fn unset_variables_belong_to_the_service_that_uses_them() {
    let compose = COMPOSE.replace(
        "      DATABASE_URL: postgresql://app:s3cret@db:5432/app",
        "      DATABASE_URL: postgresql://app:s3cret@db:5432/app\n      API_KEY: ${API_KEY}\n      MODE: ${MODE:-prod}",
    );
    let d = Written::new(&[("docker-compose.yml", &compose)]).run();
    assert_eq!(
        problems(&d),
        [("env-var-unset".to_owned(), "web".to_owned())]
    );
}

#[test]
fn client_urls_against_their_servers() {
    let compose = COMPOSE.replace("app:s3cret@db", "app:old-secret@db");
    let d = Written::new(&[("docker-compose.yml", &compose)]).run();
    assert_eq!(
        problems(&d),
        [("pg-auth-failed-client-url".to_owned(), "web".to_owned())]
    );
    assert!(
        !format!("{d:?}").contains("old-secret"),
        "no password shown"
    );
    let compose = COMPOSE.replace("@db:5432", "@postgres:5432");
    let d = Written::new(&[("docker-compose.yml", &compose)]).run();
    assert_eq!(
        problems(&d),
        [("host-unresolvable".to_owned(), "web".to_owned())]
    );
}

#[test]
fn syntax_newer_than_the_images_python() {
    let server = format!("{SERVER}name = {{'k': 1}}\nprint(f\"{{name[\"k\"]}}\")\n");
    let w = Written::new(&[("server.py", &server)]);
    let (id, _, summary) = first_problem(&w.run()).unwrap();
    assert_eq!(id, "python-syntax-newer");
    assert!(
        summary.contains("needs Python 3.12; the image has 3.11"),
        "{summary}"
    );
    std::fs::write(w.path("Dockerfile"), DOCKERFILE.replace("3.11", "3.12")).unwrap();
    assert!(!w.run().has_problems());
}

#[test]
fn one_extension_bound_twice() {
    let server = "\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
db = SQLAlchemy()

def create_app():
    app = Flask(__name__)
    db.init_app(app)
    init_extensions(app)
    return app

def init_extensions(application):
    db.init_app(application)

app = create_app()
";
    let (id, _, summary) = first_problem(&Written::new(&[("server.py", server)]).run()).unwrap();
    assert_eq!(id, "flask-extension-registered-twice");
    assert!(summary.contains("`SQLAlchemy`"), "{summary}");
}

#[test]
fn the_health_checks_program_in_the_image() {
    let compose = COMPOSE.replace(
        "      test: [\"CMD\", \"python3\", \"-c\", \"import urllib.request; urllib.request.urlopen('http://localhost:5000/health')\"]",
        "      test: [\"CMD-SHELL\", \"curl -f http://localhost:5000/health || exit 1\"]",
    );
    let w = Written::new(&[("docker-compose.yml", &compose)]);
    // Offline: said to be skipped, at info.
    let d = w.run();
    assert!(!d.has_problems());
    assert!(d.findings.iter().any(|f| f.id == "healthcheck-tool-missing"
        && f.service == "web"
        && f.summary.starts_with("not checked before start")));
    // The engine says python:3.11-slim has no curl.
    let mut engine = EngineFacts::offline("x");
    engine
        .programs
        .insert(("python:3.11-slim".into(), "curl".into()), Ok(None));
    let d = w.run_with(&engine);
    let (id, service, _) = first_problem(&d).unwrap();
    assert_eq!(
        (id.as_str(), service.as_str()),
        ("healthcheck-tool-missing", "web")
    );
    // A RUN that installs it settles it without the engine.
    std::fs::write(
        w.path("Dockerfile"),
        format!(
            "{DOCKERFILE}RUN apt-get update && apt-get install -y --no-install-recommends curl\n"
        ),
    )
    .unwrap();
    assert!(
        w.run_with(&engine)
            .findings
            .iter()
            .all(|f| f.service != "web" || f.id != "healthcheck-tool-missing")
    );
}

#[test]
fn gpu_reservations_against_the_engines_runtimes_and_profiles() {
    let compose = format!(
        "{COMPOSE}  worker-ai:\n    image: ollama/ollama\n    profiles: [\"gpu\"]\n    deploy:\n      resources:\n        reservations:\n          devices:\n            - driver: nvidia\n              count: 1\n              capabilities: [gpu]\n"
    );
    let w = Written::new(&[("docker-compose.yml", &compose)]);
    let rules = analylit_doctor::rules::load_embedded().unwrap();
    // Its profile is off: not started, not checked.
    let off = preflight::diagnose(&w.prepared(&[]), &EngineFacts::offline("x"), &rules);
    assert!(off.services.iter().all(|s| s.name != "worker-ai"));
    let on = w.prepared(&["gpu"]);
    let mut engine = EngineFacts::offline("x");
    engine.runtimes = Ok(vec!["runc".into()]);
    let d = preflight::diagnose(&on, &engine, &rules);
    assert_eq!(
        problems(&d),
        [("gpu-runtime-missing".to_owned(), "worker-ai".to_owned())]
    );
    engine.runtimes = Ok(vec!["nvidia".into(), "runc".into()]);
    assert!(!preflight::diagnose(&on, &engine, &rules).has_problems());
    let offline = preflight::diagnose(&on, &EngineFacts::offline("no engine"), &rules);
    assert!(!offline.has_problems());
    assert!(offline.findings.iter().any(
        |f| f.id == "gpu-runtime-missing" && f.summary.starts_with("not checked before start")
    ));
}

#[test]
fn only_what_the_entry_point_imports_is_analysed() {
    let w = Written::new(&[
        (
            "tests/test_server.py",
            "import server\nassert undefined_fixture\n",
        ),
        (
            "scripts/migrate_old.py",
            "from server import does_not_exist\n",
        ),
        (
            "notebooks/explore.py",
            "print(f\"{d[\"k\"]}\")\nplot(undefined)\n",
        ),
    ]);
    let d = w.run();
    assert!(!d.has_problems(), "{:?}", problems(&d));
}

#[test]
fn a_cli_command_that_lost_its_decorator() {
    let server = "\
import click
from flask import Flask

def create_app():
    app = Flask(__name__)

    @app.route('/health')
    def health():
        return {'status': 'ok'}

    def seed_command():
        click.echo('seeded')

    return app

app = create_app()
";
    let (id, _, summary) = first_problem(&Written::new(&[("server.py", server)]).run()).unwrap();
    assert_eq!(id, "route-not-decorated");
    assert!(
        summary.contains("`seed_command` looks like a CLI command")
            && summary.contains("@app.cli.command"),
        "{summary}"
    );
    let decorated = server.replace(
        "    def seed_command():",
        "    @app.cli.command('seed')\n    def seed_command():",
    );
    assert!(
        !Written::new(&[("server.py", &decorated)])
            .run()
            .has_problems()
    );
}

#[test]
fn a_name_that_fails_at_import_comes_before_one_that_fails_on_a_request() {
    let handler_only = "\
from flask import Flask

def create_app():
    app = Flask(__name__)

    @app.route('/health')
    def health():
        return {'status': 'ok'}

    @app.route('/jobs', methods=['POST'])
    def jobs():
        return {'id': job_queue.enqueue('x').id}, 202

    return app

app = create_app()
";
    let d = Written::new(&[("server.py", handler_only)]).run();
    let f = &d.problems()[0];
    assert_eq!(
        (f.id.as_str(), f.severity),
        ("name-not-defined", Severity::Warning)
    );
    assert!(
        f.summary.contains("`job_queue`") && f.summary.contains("inside `jobs`"),
        "{}",
        f.summary
    );
    let both = handler_only.replace(
        "    app = Flask(__name__)\n",
        "    app = Flask(__name__)\n    init_db()\n",
    );
    let d = Written::new(&[("server.py", &both)]).run();
    let f = &d.problems()[0];
    assert_eq!(
        (f.id.as_str(), f.severity),
        ("name-not-defined", Severity::Error)
    );
    assert!(f.summary.contains("`init_db`"), "{}", f.summary);
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

fn doctor(args: &[&str]) -> (i32, String, String) {
    let ran = Doctor::new()
        .args(args)
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_PROFILES")
        .env_remove("COMPOSE_PROJECT_NAME")
        .run();
    (ran.code, ran.stdout, ran.stderr)
}

fn stack_file(stack: &str) -> String {
    fixtures()
        .join("stacks")
        .join(stack)
        .join("docker-compose.yml")
        .display()
        .to_string()
}

#[test]
fn the_command_prints_json_and_exits_like_check() {
    // The purge is in the stack's own Dockerfile: no base mapping, no engine needed.
    let file = stack_file("healthcheck-tool-missing");
    let (code, out, err) = doctor(&["preflight", "--offline", "-f", &file, "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let first = &doc["findings"][0];
    assert_eq!(first["id"], "healthcheck-tool-missing");
    assert_eq!(first["service"], "web");
    assert_eq!(doc["services"][0]["state"], "not started");
    let (code, _, err) = doctor(&["preflight", "--offline", "-f", &stack_file("healthy")]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = doctor(&["preflight", "--offline", "-f", "/nonexistent/compose.yml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot be read"), "{err}");
}

#[test]
fn the_command_takes_base_images_and_annotates_lines() {
    let f = fixtures();
    let base = format!(
        "analylit-lab/app:4.1={},{}",
        f.join("images/app.Dockerfile").display(),
        f.join("app").display()
    );
    let (code, out, err) = doctor(&[
        "preflight",
        "--offline",
        "-q",
        "-f",
        &stack_file("name-not-defined"),
        "--base",
        &base,
        "--format",
        "github",
    ]);
    assert_eq!(code, 1, "{err}");
    let line = out.lines().next().unwrap_or_default();
    assert!(
        line.starts_with("::error title=name-not-defined on web,file=")
            && line.contains("server_v4_complete.py,line=14::"),
        "{out}"
    );
    let (code, _, err) = doctor(&["preflight", "--base", "nonsense"]);
    assert_eq!(code, 2);
    assert!(err.contains("NAME=DOCKERFILE"), "{err}");
}

#[test]
fn a_task_sent_by_name_that_the_worker_never_imports() {
    let compose =
        format!("{COMPOSE}  worker:\n    build: .\n    command: celery -A celery_app worker\n");
    let server = SERVER.replace(
        "        return {'status': 'ok'}",
        "        from celery_app import celery_app\n        return {'status': celery_app.send_task('tasks.ping').get(timeout=2)}",
    );
    let app = |include: &str| {
        format!("from celery import Celery\ncelery_app = Celery('a', include=[{include}])\n")
    };
    let tasks =
        "from celery_app import celery_app\n\n@celery_app.task\ndef ping():\n    return 'pong'\n";
    let w = Written::new(&[
        ("docker-compose.yml", &compose),
        ("server.py", &server),
        ("celery_app.py", &app("'tasks_export'")),
        ("tasks.py", tasks),
    ]);
    let d = w.run();
    assert_eq!(
        problems(&d),
        [("celery-unregistered-task".to_owned(), "worker".to_owned())]
    );
    std::fs::write(w.path("celery_app.py"), app("'tasks', 'tasks_export'")).unwrap();
    assert!(!w.run().has_problems());
}
