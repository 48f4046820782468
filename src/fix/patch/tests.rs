//! Each class's patch on the lab stack's own sources: fixtures/app (the image the stacks build
//! from) with the stack's `app/` laid over it, as its Dockerfile does (`COPY app/ /app/`).
use super::*;
use crate::probes::python::WsgiTarget;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn read_dir(root: &Path, into: &mut BTreeMap<String, String>) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                into.insert(format!("/app/{rel}"), t);
            }
        }
    }
}

/// The image's files of a stack and its health path.
fn stack(name: &str) -> (BTreeMap<String, String>, String) {
    let mut files = BTreeMap::new();
    read_dir(&fixtures().join("app"), &mut files);
    read_dir(
        &fixtures().join("stacks").join(name).join("app"),
        &mut files,
    );
    let compose = std::fs::read_to_string(
        fixtures()
            .join("stacks")
            .join(name)
            .join("docker-compose.yml"),
    )
    .unwrap();
    let re = regex::Regex::new(r"http://localhost:5001(/[^ ]*)").unwrap();
    let health = re.captures(&compose).unwrap()[1].to_owned();
    (files, health)
}

fn propose_on(
    files: &BTreeMap<String, String>,
    health: &str,
    class: &str,
    target: &str,
) -> Result<SourcePatch, PatchError> {
    let tree = SourceTree::new(
        "/app",
        files
            .iter()
            .filter(|(p, _)| p.ends_with(".py"))
            .map(|(p, t)| SourceFile {
                path: p.clone(),
                text: t.clone(),
            })
            .collect(),
    );
    let startup = Startup {
        target: WsgiTarget::parse(target),
        config_module: None,
        preload: false,
    };
    let analysis = analyse_startup(&tree, &startup);
    let mut others = BTreeMap::new();
    others.insert(
        "/app/entrypoint.sh".to_owned(),
        files["/app/entrypoint.sh"].clone(),
    );
    let input = Input {
        tree: &tree,
        analysis: &analysis,
        startup,
        health_path: Some(health.to_owned()),
        others,
        hints: vec![],
    };
    propose(class, &input)
}

fn patched(name: &str, class: &str) -> SourcePatch {
    let (files, health) = stack(name);
    propose_on(&files, &health, class, "server_v4_complete:app")
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The diff lines of the patch's one change to `path`.
fn diff(p: &SourcePatch, path: &str) -> String {
    let c = p.changes.iter().find(|c| c.path == path).unwrap();
    crate::fix::diff::unified(path, &c.old, &c.new)
}

fn changed(d: &str) -> Vec<&str> {
    d.lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect()
}

#[test]
fn name_not_defined_imports_the_name_where_the_module_already_imports() {
    let p = patched("name-not-defined", "name-not-defined");
    let d = diff(&p, "/app/server_v4_complete.py");
    assert_eq!(
        changed(&d),
        [
            "-from utils.database import Session, has_default_data, seed_default_data",
            "+from utils.database import Session, has_default_data, init_db, seed_default_data",
        ],
        "{d}"
    );
    // Exactly the healthy app's line back.
    let healthy = std::fs::read_to_string(fixtures().join("app/server_v4_complete.py")).unwrap();
    assert_eq!(p.changes[0].new, healthy);
    assert!(p.how[0].contains("utils.database"), "{:?}", p.how);
}

#[test]
fn import_name_missing_restores_the_export() {
    let p = patched("import-name-missing", "import-name-missing");
    let d = diff(&p, "/app/utils/database.py");
    assert_eq!(changed(&d), ["+Session = ScopedSession"], "{d}");
    let at = p.changes[0].new.find("Session = ScopedSession").unwrap();
    assert!(p.changes[0].new[..at].contains("ScopedSession = scoped_session(SessionFactory)\n"));
    assert!(p.how[0].contains("restore the export"), "{:?}", p.how);
}

#[test]
fn route_not_decorated_restores_route_and_teardown() {
    let p = patched("route-not-decorated", "route-not-decorated");
    let d = diff(&p, "/app/api/health.py");
    assert_eq!(changed(&d), ["+@health_bp.route(\"/health\")"], "{d}");
    let d = diff(&p, "/app/server_v4_complete.py");
    assert_eq!(changed(&d), ["+    @app.teardown_appcontext"], "{d}");
    let healthy = std::fs::read_to_string(fixtures().join("app/server_v4_complete.py")).unwrap();
    let c = p
        .changes
        .iter()
        .find(|c| c.path.ends_with("server_v4_complete.py"))
        .unwrap();
    assert_eq!(c.new, healthy);
}

#[test]
fn blueprint_prefix_mismatch_gives_the_prefix_once() {
    let p = patched("blueprint-prefix-mismatch", "blueprint-prefix-mismatch");
    let d = diff(&p, "/app/api/settings.py");
    assert_eq!(
        changed(&d),
        [
            "-@settings_bp.route(\"/api/settings/profiles\")",
            "+@settings_bp.route(\"/settings/profiles\")",
        ],
        "{d}"
    );
}

#[test]
fn gunicorn_worker_reinit_removes_the_per_worker_call() {
    let p = patched("gunicorn-worker-reinit", "gunicorn-worker-reinit");
    let d = diff(&p, "/app/server_v4_complete.py");
    assert_eq!(
        changed(&d),
        ["-        app_globals.initialize_app()"],
        "{d}"
    );
    assert!(p.how[0].contains("flask init-db"), "{:?}", p.how);
}

#[test]
fn engine_used_before_init_reads_through_the_accessor() {
    let p = patched("engine-used-before-init", "engine-used-before-init");
    let d = diff(&p, "/app/api/settings.py");
    assert_eq!(
        changed(&d),
        [
            "-from utils.database import engine",
            "+from utils.database import get_engine",
            "-    with engine.begin() as conn:",
            "+    with get_engine().begin() as conn:",
        ],
        "{d}"
    );
}

#[test]
fn wsgi_app_not_found_points_at_the_bound_variable() {
    let (files, health) = stack("wsgi-app-not-found");
    let p = propose_on(
        &files,
        &health,
        "wsgi-app-not-found",
        "server_v4_complete:application",
    )
    .unwrap();
    let d = diff(&p, "/app/entrypoint.sh");
    assert_eq!(
        changed(&d),
        [
            "-exec gunicorn -w 3 -b 0.0.0.0:5001 --access-logfile - server_v4_complete:application",
            "+exec gunicorn -w 3 -b 0.0.0.0:5001 --access-logfile - server_v4_complete:app",
        ],
        "{d}"
    );
}

#[test]
fn the_healthy_app_gets_no_patch() {
    let (files, _) = stack("healthy");
    for class in CLASSES {
        let r = propose_on(
            &files,
            "/api/settings/profiles",
            class,
            "server_v4_complete:app",
        );
        assert!(
            matches!(r, Err(PatchError::NothingFound(_))),
            "{class}: {r:?}"
        );
    }
}

#[test]
fn a_target_written_twice_is_not_patched() {
    let (mut files, health) = stack("wsgi-app-not-found");
    let script = files["/app/entrypoint.sh"].clone();
    files.insert(
        "/app/entrypoint.sh".into(),
        format!("{script}# or: gunicorn server_v4_complete:application\n"),
    );
    let r = propose_on(
        &files,
        &health,
        "wsgi-app-not-found",
        "server_v4_complete:application",
    );
    assert!(
        matches!(&r, Err(PatchError::Refused(why)) if why.contains("more than one place")),
        "{r:?}"
    );
}

#[test]
fn a_name_defined_in_two_modules_is_not_guessed() {
    let (mut files, health) = stack("name-not-defined");
    files.insert(
        "/app/utils/other.py".into(),
        "def init_db():\n    pass\n".into(),
    );
    let r = propose_on(
        &files,
        &health,
        "name-not-defined",
        "server_v4_complete:app",
    );
    assert!(
        matches!(&r, Err(PatchError::Refused(why)) if why.contains("2 modules")),
        "{r:?}"
    );
}

/// A patch over two files, one of which changed since the plan was shown: nothing is written,
/// nothing is backed up, both files keep their bytes.
#[test]
fn a_patch_that_cannot_apply_leaves_every_file_as_it_was() {
    use crate::digest::sha256;
    use crate::fix::apply::HostFiles;
    use crate::fix::backup::Backup;
    use crate::fix::plan::{Plan, PreparedPatch};
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.py"), dir.path().join("b.py"));
    std::fs::write(&a, "import x\n").unwrap();
    std::fs::write(&b, "import y\n").unwrap();
    let edit = |path: &Path, old: &str, new: &str| {
        (
            path.to_path_buf(),
            crate::fix::edit::Edit {
                path: path.display().to_string(),
                old: old.into(),
                new: new.into(),
            },
        )
    };
    let patch = PreparedPatch {
        how: vec![],
        // b.py's text at plan time was not what it is now.
        edits: vec![
            edit(&a, "import x\n", "import x\nfrom m import n\n"),
            edit(&b, "import z\n", "import z\nfrom m import n\n"),
        ],
        services: vec!["web".into()],
    };
    let plan = Plan {
        finding: "name-not-defined".into(),
        service: "web".into(),
        title: String::new(),
        safety: crate::rules::Safety::Unsafe,
        words: vec![],
        steps: vec![],
        blocked: None,
        data: BTreeMap::new(),
        patch: Some(patch),
        hints: vec![],
    };
    let snapshot = crate::stack::snapshot::testing::stack(vec![]);
    let host = HostFiles {
        snapshot: &snapshot,
        compose_file: None,
    };
    let sums = || {
        [&a, &b]
            .map(|p| sha256(&std::fs::read(p).unwrap()))
            .to_vec()
    };
    let before = sums();
    let mut backup = Backup::create(
        &dir.path().join("backups"),
        "t".into(),
        "name-not-defined",
        "web",
        "p",
        "now",
    )
    .unwrap();
    let err = host
        .apply_patch(&mut backup, &plan)
        .unwrap_err()
        .to_string();
    assert!(err.contains("changed since the diagnosis"), "{err}");
    assert_eq!(sums(), before);
    assert!(backup.manifest.entries.is_empty());
}

#[test]
fn a_cli_command_gets_its_name_back() {
    let (mut files, health) = stack("healthy");
    let server = files["/app/server_v4_complete.py"].replace(
        "        \"\"\"Create the schema and the default data (idempotent).\"\"\"\n        _init_db_command()\n",
        "        _init_db_command()\n        click.echo(\"ok\")\n",
    ).replace("def init_db_command_wrapper", "def seed_command");
    let lost = server.replace("    @app.cli.command(\"init-db\")\n", "");
    assert_ne!(lost, server);
    files.insert("/app/server_v4_complete.py".into(), lost);
    let p = propose_on(
        &files,
        &health,
        "route-not-decorated",
        "server_v4_complete:app",
    )
    .unwrap();
    let d = diff(&p, "/app/server_v4_complete.py");
    assert_eq!(changed(&d), ["+    @app.cli.command(\"seed\")"], "{d}");
}

#[test]
fn without_the_entrypoints_own_init_the_worker_init_stays() {
    let (mut files, health) = stack("gunicorn-worker-reinit");
    let script = files["/app/entrypoint.sh"].replace("flask init-db", "true");
    files.insert("/app/entrypoint.sh".into(), script);
    let r = propose_on(
        &files,
        &health,
        "gunicorn-worker-reinit",
        "server_v4_complete:app",
    );
    assert!(
        matches!(&r, Err(PatchError::Refused(why)) if why.contains("no `flask` init")),
        "{r:?}"
    );
}

#[test]
fn an_import_cycle_is_left_to_a_person() {
    let (files, health) = stack("import-name-missing");
    let r = propose_on(
        &files,
        &health,
        "import-name-missing-cycle",
        "server_v4_complete:app",
    );
    assert!(
        matches!(&r, Err(PatchError::Refused(why)) if why.contains("cycle")),
        "{r:?}"
    );
}
