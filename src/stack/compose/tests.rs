//! Whole-file tests: the lab's stacks and the small files in `fixtures/compose/`.
use super::*;
use std::time::Duration;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn no_vars(_: &str) -> Option<String> {
    None
}

fn parse_fixture(rel: &str, vars: &dyn Fn(&str) -> Option<String>) -> ComposeModel {
    let path = fixture(rel);
    let text = std::fs::read_to_string(&path).expect("fixture exists");
    parse(&path, &text, vars).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_error(text: &str) -> ComposeError {
    parse(Path::new("docker-compose.yml"), text, &no_vars).expect_err("should be refused")
}

fn pos(line: u32, col: u32) -> Pos {
    Pos { line, col }
}

fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

fn deps(svc: &ComposeService) -> Vec<(&str, Condition, bool)> {
    svc.depends_on
        .iter()
        .map(|d| (d.service.as_str(), d.condition, d.long_form))
        .collect()
}

/// 1-based line of the first line of `text` equal to `line`.
fn line_of(text: &str, line: &str) -> u32 {
    text.lines().position(|l| l == line).expect("line present") as u32 + 1
}

#[test]
fn every_lab_stack_parses_with_its_conditions_and_health_checks() {
    let stacks = std::fs::read_dir(fixture("stacks")).expect("fixtures/stacks");
    let mut seen = 0;
    for stack in stacks {
        let path = stack.unwrap().path().join("docker-compose.yml");
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let model = parse(&path, &text, &no_vars).unwrap_or_else(|e| panic!("{e}"));
        let at = path.display();
        // The first lab's stacks use the 2.4 format; the real-shape ones the Compose
        // Specification (no `version:`), like the users' own files.
        let real_shape = at.to_string().contains("/real-");
        assert_eq!(
            model.version.as_deref(),
            (!real_shape).then_some("2.4"),
            "{at}"
        );
        // Only the stack that reproduces `env-var-unset` leaves a variable unset, on purpose.
        let scenario =
            std::fs::read_to_string(path.with_file_name("scenario.toml")).unwrap_or_default();
        assert_eq!(
            model.unset_vars.is_empty(),
            !scenario.contains("id = \"env-var-unset\""),
            "{at}"
        );
        let names: Vec<&str> = model.services.iter().map(|s| s.name.as_str()).collect();
        // The stacks of the first lab share the full five-service layout; later ones keep only
        // the services their class needs: for those, parsing is the test.
        if names != ["db", "redis", "web", "worker", "flower"]
            || !text.contains("curl -fsS http://localhost:5001/api/")
        {
            continue;
        }
        seen += 1;

        let web = model.service("web").unwrap();
        assert_eq!(web.pos, pos(line_of(&text, "  web:"), 3), "{at}");
        assert_eq!(web.build.as_deref(), Some("."));
        assert_eq!(
            deps(web),
            [
                ("db", Condition::Healthy, true),
                ("redis", Condition::Healthy, true)
            ],
            "{at}"
        );
        let db_dep = &web.depends_on[0];
        let cond_line = line_of(&text, "        condition: service_healthy");
        assert_eq!(db_dep.condition_pos, Some(pos(cond_line, 9)), "{at}");
        let hc = web.healthcheck.as_ref().unwrap();
        assert_eq!(hc.test[0], "CMD-SHELL");
        assert!(hc.test[1].starts_with("curl -fsS http://localhost:5001/api/"));
        assert_eq!(hc.start_period, secs(10), "{at}");
        assert_eq!(
            (hc.interval, hc.timeout, hc.retries),
            (secs(2), secs(3), Some(3))
        );
        assert_eq!(web.restart.as_deref(), Some("on-failure"));
        // Published on 127.0.0.1, or not at all (probes then go through the network).
        assert!(
            web.ports.is_empty() || web.ports == ["127.0.0.1::5001"],
            "{at}: {:?}",
            web.ports
        );
        let password = web
            .environment
            .iter()
            .find(|e| e.key == "DATABASE_URL")
            .unwrap();
        assert!(
            password
                .value
                .as_deref()
                .unwrap()
                .starts_with("postgresql://")
        );

        let db = model.service("db").unwrap();
        let hc = db.healthcheck.as_ref().unwrap();
        assert_eq!(hc.test, ["CMD-SHELL", "pg_isready -U analylit -d analylit"]);
        assert_eq!((hc.start_period, hc.retries), (secs(5), Some(20)), "{at}");
        let start_line = line_of(&text, "      start_period: 5s");
        assert_eq!(hc.key_pos["start_period"], pos(start_line, 7), "{at}");
        assert_eq!(db.volumes.len(), 1);
        assert_eq!(db.volumes[0].kind, VolumeKind::Volume);
        assert_eq!(db.volumes[0].source.as_deref(), Some("db-data"));

        let redis = model.service("redis").unwrap();
        let hc = redis.healthcheck.as_ref().unwrap();
        assert_eq!(hc.test, ["CMD", "redis-cli", "ping"]);
        assert_eq!(hc.start_period, None, "{at}: redis has no start_period");

        let worker = model.service("worker").unwrap();
        assert_eq!(deps(worker), [("redis", Condition::Healthy, true)], "{at}");
        assert!(worker.healthcheck.is_none());
        assert_eq!(
            worker.command.as_deref().unwrap()[..3],
            ["rq", "worker", "--url"]
        );

        let flower = model.service("flower").unwrap();
        assert_eq!(flower.image.as_deref(), Some("analylit-lab/app:4.1"));
        assert!(
            flower
                .command
                .as_ref()
                .unwrap()
                .contains(&"--db=/data/flower.db".to_string())
        );
    }
    assert!(seen >= 7, "found {seen} five-service lab stacks");
}

#[test]
fn version_3_short_depends_on_waits_only_for_started() {
    let model = parse_fixture("compose/v3-short-depends.yml", &no_vars);
    assert_eq!(model.version.as_deref(), Some("3.8"));
    let web = model.service("web").unwrap();
    assert_eq!(
        deps(web),
        [
            ("db", Condition::Started, false),
            ("redis", Condition::Started, false)
        ]
    );
    assert_eq!(web.depends_on[0].pos, pos(18, 9));
    assert_eq!(web.depends_on[1].pos, pos(19, 9));
    assert_eq!(web.depends_on[0].condition_pos, None);
    assert_eq!(web.key_pos["depends_on"], pos(17, 5));
    assert_eq!(web.build.as_deref(), Some("./app"));
    assert_eq!(web.user.as_deref(), Some("1000:1000"));
    assert_eq!(web.stop_grace_period, secs(60));
    assert_eq!(web.ports, ["127.0.0.1:5001:5001", "5555:5555/udp"]);
    assert_eq!(
        web.command.as_deref().unwrap(),
        ["gunicorn", "-b", "0.0.0.0:5001", "server_v4_complete:app"]
    );

    let hc = model.service("db").unwrap().healthcheck.clone().unwrap();
    assert_eq!(hc.test, ["CMD-SHELL", "pg_isready -U analylit"]);
    assert_eq!(hc.interval, secs(90));
    assert_eq!(hc.timeout, Some(Duration::from_millis(500)));
    assert_eq!(
        (hc.retries, hc.start_period, hc.disable),
        (Some(5), None, false)
    );
    assert_eq!(hc.pos, pos(7, 5));
    assert_eq!(hc.key_pos["interval"], pos(9, 7));

    let redis = model.service("redis").unwrap();
    assert_eq!(
        redis.entrypoint.as_deref().unwrap(),
        [
            "redis-server",
            "--appendonly",
            "yes",
            "--requirepass",
            "two words"
        ]
    );
}

#[test]
fn compose_spec_anchors_and_merge_keys() {
    let model = parse_fixture("compose/spec-anchors.yml", &no_vars);
    assert_eq!(model.version, None);
    assert_eq!(model.name.as_deref(), Some("analylit"));
    let names: Vec<&str> = model.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["web", "worker", "db", "redis", "init"]);

    let web = model.service("web").unwrap();
    assert_eq!(
        web.restart.as_deref(),
        Some("on-failure"),
        "written key wins"
    );
    assert_eq!(web.key_pos["restart"], pos(22, 5));
    assert_eq!(
        web.key_pos["environment"],
        pos(7, 3),
        "merged: at the anchor"
    );
    let tz = &web.environment[0];
    assert_eq!(
        (tz.key.as_str(), tz.value.as_deref()),
        ("TZ", Some("Europe/Paris"))
    );
    assert_eq!(tz.pos, pos(8, 5));
    assert_eq!(web.networks, ["backend"]);
    assert_eq!(web.aliases, ["shared"]);
    assert_eq!(
        deps(web),
        [
            ("redis", Condition::Started, true),
            ("init", Condition::CompletedSuccessfully, true),
            ("db", Condition::Healthy, true),
        ]
    );
    let db_dep = &web.depends_on[2];
    assert_eq!(
        (db_dep.pos, db_dep.condition_pos),
        (pos(15, 3), Some(pos(16, 5)))
    );

    let worker = model.service("worker").unwrap();
    assert_eq!(worker.restart.as_deref(), Some("unless-stopped"));
    assert_eq!(worker.key_pos["restart"], pos(6, 3));
    assert_eq!(deps(worker), [("db", Condition::Healthy, true)]);
    assert_eq!(worker.environment.len(), 2);

    let db = model.service("db").unwrap().healthcheck.clone().unwrap();
    assert_eq!(db.start_period, Some(Duration::from_millis(2500)));
    assert!(!db.disable);
    let redis = model.service("redis").unwrap().healthcheck.clone().unwrap();
    assert!(redis.disable, "test: [NONE] disables the check");
}

#[test]
fn environment_list_and_map_forms() {
    let vars = |name: &str| match name {
        "FROM_SHELL" => Some("shell".to_string()),
        "DB_PASSWORD" => Some("s3cret".to_string()),
        _ => None,
    };
    let model = parse_fixture("compose/env-forms.yml", &vars);
    let rows = |svc: &str| -> Vec<(String, Option<String>, Option<String>)> {
        model
            .service(svc)
            .unwrap()
            .environment
            .iter()
            .map(|e| (e.key.clone(), e.value.clone(), e.raw.clone()))
            .collect()
    };
    let row = |k: &str, v: Option<&str>, r: Option<&str>| {
        (k.to_string(), v.map(str::to_string), r.map(str::to_string))
    };
    assert_eq!(
        rows("list"),
        [
            row("PLAIN", Some("value"), Some("value")),
            row("QUOTED", Some("with spaces"), Some("with spaces")),
            row("EMPTY", Some(""), Some("")),
            row("FROM_SHELL", Some("shell"), None),
            row("WITH_EQUALS", Some("a=b"), Some("a=b")),
            row("PASSWORD", Some("s3cret"), Some("${DB_PASSWORD}")),
        ]
    );
    assert_eq!(
        rows("map"),
        [
            row("PLAIN", Some("value"), Some("value")),
            row("NUMBER", Some("5432"), Some("5432")),
            row("BOOL", Some("true"), Some("true")),
            row("FROM_SHELL", Some("shell"), None),
            row("PASSWORD", Some("s3cret"), Some("${DB_PASSWORD}")),
        ]
    );
    let list = &model.service("list").unwrap().environment;
    assert_eq!(
        (list[0].pos, list[0].value_pos),
        (pos(5, 9), Some(pos(5, 15)))
    );
    assert_eq!(
        (list[1].pos, list[1].value_pos),
        (pos(6, 9), Some(pos(6, 17)))
    );
    assert_eq!(list[3].value_pos, None);
    let map = &model.service("map").unwrap().environment;
    assert_eq!(
        (map[0].pos, map[0].value_pos),
        (pos(14, 7), Some(pos(14, 14)))
    );
    assert_eq!((map[3].pos, map[3].value_pos), (pos(17, 7), None));
}

#[test]
fn volumes_short_and_long_forms_with_flags() {
    let model = parse_fixture("compose/volumes-long.yml", &no_vars);
    let got: Vec<_> = model.services[0]
        .volumes
        .iter()
        .map(|v| {
            (
                v.source.as_deref(),
                v.target.as_str(),
                v.read_only,
                v.kind,
                v.flags.join(","),
                v.pos,
            )
        })
        .collect();
    use VolumeKind::*;
    assert_eq!(
        got,
        [
            (
                Some("flower-data"),
                "/data",
                false,
                Volume,
                String::new(),
                pos(5, 9)
            ),
            (
                Some("./config"),
                "/etc/app",
                true,
                Bind,
                "ro,z".into(),
                pos(6, 9)
            ),
            (
                None,
                "/var/cache/app",
                false,
                Volume,
                String::new(),
                pos(7, 9)
            ),
            (
                Some("./secrets"),
                "/run/secrets",
                true,
                Bind,
                "ro,Z".into(),
                pos(8, 9)
            ),
            (
                Some("db-data"),
                "/var/lib/postgresql/data",
                false,
                Volume,
                "nocopy".into(),
                pos(14, 9)
            ),
            (None, "/tmp", false, Tmpfs, String::new(), pos(19, 9)),
            (
                None,
                "/run",
                false,
                Tmpfs,
                "size=64m,mode=1777".into(),
                pos(22, 9)
            ),
        ]
    );
}

#[test]
fn unset_variables_are_reported_where_they_are_written() {
    let model = parse_fixture("compose/unset-var.yml", &no_vars);
    let got: Vec<(&str, Pos)> = model
        .unset_vars
        .iter()
        .map(|u| (u.name.as_str(), u.pos))
        .collect();
    assert_eq!(
        got,
        [
            ("POSTGRES_PASSWORD", pos(6, 26)),
            ("REPLICA_HOST", pos(7, 17)),
            ("MAX_CONN", pos(10, 26)),
        ]
    );
    let db = model.service("db").unwrap();
    assert_eq!(
        db.image.as_deref(),
        Some("postgres:15"),
        "a default is not unset"
    );
    let env = |k: &str| db.environment.iter().find(|e| e.key == k).unwrap();
    assert_eq!(env("POSTGRES_PASSWORD").value.as_deref(), Some(""));
    assert_eq!(
        env("POSTGRES_PASSWORD").raw.as_deref(),
        Some("${POSTGRES_PASSWORD}")
    );
    assert_eq!(env("REPLICA").value.as_deref(), Some(":5432 and $LITERAL"));
    assert_eq!(
        db.command.as_deref().unwrap(),
        ["postgres", "-c", "max_connections="]
    );
}

#[test]
fn unset_variables_in_literal_blocks_and_aliases() {
    let text = "\
x-cmd: &cmd |
  echo start
  echo ${A} ${B} ${A}
services:
  one:
    entrypoint: *cmd
  two:
    entrypoint: *cmd
";
    let model = parse(Path::new("c.yml"), text, &no_vars).unwrap();
    let got: Vec<(&str, Pos)> = model
        .unset_vars
        .iter()
        .map(|u| (u.name.as_str(), u.pos))
        .collect();
    // Once per place, even though two services use the anchored text.
    assert_eq!(
        got,
        [("A", pos(3, 8)), ("B", pos(3, 13)), ("A", pos(3, 18))]
    );
}

#[test]
fn dotenv_beside_the_file_fills_what_the_shell_does_not() {
    let file = fixture("compose/dotenv/docker-compose.yml");
    let shell = |name: &str| (name == "APP_TAG").then(|| "9.9".to_string());
    let model = load_with(&file, &shell).unwrap_or_else(|e| panic!("{e}"));
    let web = model.service("web").unwrap();
    assert_eq!(
        web.image.as_deref(),
        Some("analylit-lab/app:9.9"),
        "shell wins"
    );
    let env = |k: &str| web.environment.iter().find(|e| e.key == k).unwrap();
    assert_eq!(
        env("DATABASE_URL").value.as_deref(),
        Some("postgresql://analylit:Lab-Pg-Secret-7f3a9c@db:5432/analylit"),
        ".env value, quotes removed"
    );
    assert_eq!(env("FROM_ENV_FILE").value.as_deref(), Some("dotenv"));
    assert_eq!(web.ports, ["127.0.0.1::5001"]);
    assert!(model.unset_vars.is_empty(), "{:?}", model.unset_vars);

    let model = load_with(&file, &no_vars).unwrap();
    let web = model.service("web").unwrap();
    assert_eq!(web.image.as_deref(), Some("analylit-lab/app:4.1"), ".env");
}

#[test]
fn without_dotenv_the_variables_are_unset() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, "services:\n  web:\n    image: app:${APP_TAG}\n").unwrap();
    let model = load_with(&file, &no_vars).unwrap();
    assert_eq!(model.services[0].image.as_deref(), Some("app:"));
    assert_eq!(model.unset_vars.len(), 1);
    assert_eq!(model.unset_vars[0].pos, pos(3, 16));
}

#[test]
fn memory_limits_from_mem_limit_or_deploy() {
    let model = parse_fixture("compose/deploy-memory.yml", &no_vars);
    assert_eq!(model.service("worker").unwrap().mem_limit, Some(512 << 20));
    assert_eq!(
        model.service("web").unwrap().mem_limit,
        Some(1 << 30),
        "mem_limit wins over deploy"
    );
}

#[test]
fn broken_yaml_is_an_error_with_line_and_column() {
    let path = fixture("compose/broken.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let err = parse(Path::new("broken.yml"), &text, &no_vars).unwrap_err();
    let at = err.pos.expect("a position");
    assert_eq!(at.line, 4, "{err}");
    assert!(at.col > 1, "{err}");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("broken.yml:4:{}: this is not valid YAML", at.col)),
        "{shown}"
    );
}

#[test]
fn services_that_are_not_a_mapping_are_a_clear_error() {
    let path = fixture("compose/services-list.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let err = parse(Path::new("docker-compose.yml"), &text, &no_vars).unwrap_err();
    assert_eq!(err.pos, Some(pos(2, 1)));
    assert_eq!(
        err.to_string(),
        "docker-compose.yml:2:1: `services` must be a mapping of service names to their \
         settings (`web:` then indented keys), found a list"
    );
}

#[test]
fn files_compose_would_refuse() {
    let err = parse_error("");
    assert_eq!(err.pos, None);
    assert!(
        err.to_string()
            .starts_with("docker-compose.yml: the file is empty")
    );

    let err = parse_error("- a\n- b\n");
    assert!(err.message.contains("found a list"), "{err}");

    let err = parse_error("version: '3'\nvolumes: {}\n");
    assert!(err.message.contains("no `services:`"), "{err}");

    let err = parse_error("services:\n  web: nginx\n");
    assert_eq!(err.pos, Some(pos(2, 3)));
    assert!(
        err.message.contains("service `web` must be a mapping"),
        "{err}"
    );

    let err = parse_error("services:\n  db:\n    healthcheck:\n      interval: 10\n");
    assert_eq!(err.pos, Some(pos(4, 17)));
    assert!(
        err.message.contains("`interval: 10` is not a duration"),
        "{err}"
    );

    let err =
        parse_error("services:\n  web:\n    depends_on:\n      db:\n        condition: healthy\n");
    assert_eq!(err.pos, Some(pos(5, 20)));
    assert!(err.message.contains("found `healthy`"), "{err}");

    let err = parse_error("services:\n  web:\n    mem_limit: lots\n");
    assert!(err.message.contains("not a size"), "{err}");

    let err = parse_error("services:\n  web:\n    image: [a]\n");
    assert_eq!(err.message, "`image` must be text, found a list");
}

#[test]
fn interpolation_refusals_point_at_the_dollar_and_hide_the_value() {
    let text = "services:\n  db:\n    environment:\n      PASSWORD: hunter2${PW:?set PW in .env}\n";
    let err = parse_error(text);
    assert_eq!(err.pos, Some(pos(4, 24)));
    assert_eq!(
        err.message,
        "required variable PW is missing a value: set PW in .env"
    );

    let err = parse_error("services:\n  db:\n    command: echo hunter2 $1\n");
    assert_eq!(err.pos, Some(pos(3, 27)));
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn empty_services_and_null_service() {
    let model = parse(Path::new("c.yml"), "services:\n", &no_vars).unwrap();
    assert!(model.services.is_empty());
    let model = parse(Path::new("c.yml"), "services:\n  web:\n", &no_vars).unwrap();
    assert_eq!(model.services[0].name, "web");
    assert_eq!(model.services[0].image, None);
}

#[test]
fn load_reports_a_missing_file() {
    let err = load(Path::new("/nonexistent/analylit/docker-compose.yml")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/nonexistent/analylit/docker-compose.yml: no such file"
    );
}

#[test]
fn model_round_trips_through_json() {
    let model = parse_fixture("compose/spec-anchors.yml", &no_vars);
    let json = serde_json::to_string(&model).unwrap();
    let back: ComposeModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back, model);
}
