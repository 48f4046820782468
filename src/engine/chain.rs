//! Chain: fold what a failing dependency did to its clients under the dependency's own finding.
//!
//! A database that will not start makes every client fail to connect; a Redis that cannot save
//! makes every client's write fail with MISCONF. Reported side by side, those look like five
//! problems; there is one. This pass builds the stack's dependency graph and, when a finding on a
//! client is explained by a finding on a service it depends on, moves it under that cause as an
//! effect (`caused_by`), so the report leads with the root cause.
//!
//! The graph's edges come from what the stack itself declares: `depends_on` (the compose file's
//! model when there is one, Compose v2's `com.docker.compose.depends_on` label otherwise) and the
//! URLs in each container's environment and command line whose host is another service.
//!
//! A client finding is explained by a dependency's finding when
//! - both are the same failure class, seen from both ends of the edge: the rule's `side` says
//!   where the cause is (`server`: MISCONF seen by the clients and by Redis itself folds under
//!   Redis; `client`, the default: a missing table in the app's log and echoed in the database's
//!   folds under the app), or
//! - the dependency is failing (exited, restarting, unhealthy) and the client's evidence names it
//!   (`connection to server at "db"`, `Error -2 connecting to redis:6379`), or the client's
//!   finding is the built-in `unclassified-failure` / an effect rule, or
//! - the client's finding is `unclassified-failure` and a probe confirmed the dependency's
//!   finding (a Redis that cannot save, running all the same).
//!
//! A client's own fault that merely mentions a healthy dependency (a wrong password, a missing
//! table) stays a root cause of its own.
use super::{Confirmation, Evidence, Finding, unclassified};
use crate::rules::{RuleSet, Severity, Side};
use crate::stack::graph::{depends_on, graph};
use crate::stack::snapshot::StackSnapshot;

/// Whether `text` names `service` as a word (`"db"`, `db:5432`, `redis://redis:6379`).
fn names(text: &str, service: &str) -> bool {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    text.match_indices(service).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + service.len()).copied();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// Fold every top-level finding explained by a finding on one of its service's dependencies under
/// that finding, root causes last to move. Findings keep their order otherwise.
pub fn chain(findings: &mut Vec<Finding>, snapshot: &StackSnapshot, rules: &RuleSet) {
    let g = graph(snapshot);
    let failing = |service: &str| {
        snapshot
            .containers
            .iter()
            .any(|c| c.service == service && unclassified::is_failing(c))
    };
    let is_effect_rule =
        |f: &Finding| f.id == unclassified::ID || rules.get(&f.id).is_some_and(|r| r.effect);
    let explains = |cause: &Finding, effect: &Finding| {
        if cause.service == effect.service || cause.severity <= Severity::Info {
            return false;
        }
        let cause_is_server = depends_on(&g, &effect.service).contains(&cause.service);
        // A server's cause whose rule names the client's class among those it explains (a role
        // that does not exist explains the client's `password authentication failed`), unless a
        // probe confirmed the client's own class. Before the same-class test: the server may
        // have ruled that class out on its own side, which says nothing of the client's.
        let named = rules
            .get(&cause.id)
            .is_some_and(|r| r.confirms.contains(&effect.id))
            && !matches!(effect.confirmation, Some(Confirmation::Confirmed { .. }));
        if cause_is_server && named {
            return true;
        }
        // The cause's own class, or a look-alike it ruled out on its service (the generic
        // `tables-missing` a migration-order finding replaced), seen at the other end.
        let same_class = cause.id == effect.id
            || cause.ruled_out.iter().any(|r| {
                r.strip_prefix(effect.id.as_str())
                    .is_some_and(|rest| rest.starts_with(": "))
            });
        if same_class {
            // One class seen from both ends of an edge: the rule says which end holds the cause.
            let side = rules.get(&effect.id).map_or(Side::Client, |r| r.side);
            return match side {
                Side::Server => cause_is_server,
                Side::Client => depends_on(&g, &cause.service).contains(&effect.service),
            };
        }
        let confirmed = matches!(cause.confirmation, Some(Confirmation::Confirmed { .. }));
        cause_is_server
            && ((failing(&cause.service)
                && (is_effect_rule(effect)
                    || effect
                        .evidence
                        .iter()
                        .any(|e| names(&e.text(), &cause.service))))
                // A failure no rule explains, on a client of a dependency with a confirmed
                // cause: that cause is the likelier answer than none.
                || (effect.id == unclassified::ID && confirmed))
    };
    // Fold one finding at a time, always into a cause that nothing explains (a root), so chains
    // a → b → c end with everything under c, and a cycle of mutual explanations folds nothing.
    loop {
        let roots: Vec<bool> = findings
            .iter()
            .map(|c| !findings.iter().any(|o| explains(o, c)))
            .collect();
        let fold = (0..findings.len()).find_map(|i| {
            (0..findings.len())
                .find(|&j| j != i && roots[j] && explains(&findings[j], &findings[i]))
                .map(|j| (i, j))
        });
        let Some((i, j)) = fold else { break };
        let mut effect = findings.remove(i);
        let j = if j > i { j - 1 } else { j };
        let cause = &mut findings[j];
        effect.caused_by = Some(format!("{} on {}", cause.id, cause.service));
        cause.effects.push(effect);
    }
    note_gated(findings, snapshot);
    super::rank(findings, snapshot);
}

/// The services a root cause keeps from starting. Compose starts a service only once each of its
/// `depends_on` conditions holds; when a dependency exits non-zero, never turns healthy or keeps
/// restarting, the services behind it are never started (compose v1 does not even create them,
/// v2 leaves them `Created`). They have no log and no state to match, so no rule sees them: the
/// cause says so itself, one state line per service kept waiting, transitively.
fn note_gated(findings: &mut [Finding], snapshot: &StackSnapshot) {
    let Some(model) = &snapshot.compose else {
        return;
    };
    let file = model
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let started = |service: &str| {
        snapshot
            .containers
            .iter()
            .any(|c| c.service == service && c.state.status != "created")
    };
    for f in findings.iter_mut() {
        if f.severity <= Severity::Info
            || !snapshot
                .containers
                .iter()
                .any(|c| c.service == f.service && unclassified::is_failing(c))
        {
            continue;
        }
        // Breadth first from the failing service, over "waits for" edges.
        let mut waiting: Vec<(String, String)> = Vec::new();
        let mut frontier = vec![f.service.clone()];
        while let Some(blocker) = frontier.pop() {
            for svc in &model.services {
                let Some(dep) = svc.depends_on.iter().find(|d| d.service == blocker) else {
                    continue;
                };
                if started(&svc.name) || waiting.iter().any(|(s, _)| *s == svc.name) {
                    continue;
                }
                waiting.push((
                    svc.name.clone(),
                    format!(
                        "not started: waits for {blocker} ({}, {file}:{})",
                        dep.condition.as_str(),
                        dep.pos.line
                    ),
                ));
                frontier.push(svc.name.clone());
            }
        }
        for (service, value) in waiting {
            let e = Evidence::State {
                container: service,
                field: "status".into(),
                value,
            };
            if !f.evidence.contains(&e) {
                f.evidence.push(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Evidence;
    use crate::stack::snapshot::testing::{container, exited, stack, with_env};

    fn finding(id: &str, service: &str, line: &str) -> Finding {
        Finding {
            evidence: vec![Evidence::Log {
                container: format!("{service}_1"),
                ts: None,
                text: line.into(),
                occurrences: 1,
                first_ts: None,
                more: 0,
            }],
            ..Finding::bare(id, service)
        }
    }

    fn rules() -> RuleSet {
        crate::rules::load_embedded().expect("embedded rules")
    }

    #[test]
    fn a_failed_one_shot_names_the_services_it_keeps_from_starting() {
        let yaml = "services:\n  db:\n    image: pg\n  migrate:\n    image: app\n    depends_on:\n      db:\n        condition: service_healthy\n  web:\n    image: app\n    depends_on:\n      migrate:\n        condition: service_completed_successfully\n  front:\n    image: app\n    depends_on:\n      web:\n        condition: service_healthy\n  worker:\n    image: app\n";
        let model = crate::stack::compose::parse(
            std::path::Path::new("/p/docker-compose.yml"),
            yaml,
            &|_| None,
        )
        .expect("compose");
        let mut migrate = exited(container("migrate"), 1, false);
        migrate.state.started_at = "2026-11-21T10:00:00Z".into();
        let mut snapshot = stack(vec![container("db"), migrate, container("worker")]);
        snapshot.compose = Some(model);
        let mut findings = vec![finding(
            "tables-missing",
            "migrate",
            "relation \"x\" does not exist",
        )];
        chain(&mut findings, &snapshot, &rules());
        let gated: Vec<String> = findings[0]
            .evidence
            .iter()
            .filter_map(|e| match e {
                Evidence::State {
                    container, value, ..
                } if value.starts_with("not started") => Some(format!("{container}: {value}")),
                _ => None,
            })
            .collect();
        assert_eq!(
            gated,
            [
                "web: not started: waits for migrate (service_completed_successfully, docker-compose.yml:12)",
                "front: not started: waits for web (service_healthy, docker-compose.yml:17)",
            ]
        );
    }

    fn lab(db_down: bool) -> StackSnapshot {
        let db = container("db");
        let db = if db_down { exited(db, 1, true) } else { db };
        stack(vec![
            db,
            with_env(
                container("web"),
                "DATABASE_URL",
                "postgresql://u:p@db:5432/x",
            ),
            with_env(container("worker"), "REDIS_URL", "redis://redis:6379/0"),
            container("redis"),
        ])
    }

    #[test]
    fn a_client_error_naming_a_failing_dependency_folds_under_it() {
        let mut list = vec![
            finding(
                "unclassified-failure",
                "web",
                r#"connection to server at "db" (172.18.0.2), port 5432 failed"#,
            ),
            finding(
                "pg-version-mismatch",
                "db",
                "database files are incompatible",
            ),
        ];
        chain(&mut list, &lab(true), &rules());
        assert_eq!(list.len(), 1, "{list:#?}");
        assert_eq!(list[0].id, "pg-version-mismatch");
        assert_eq!(list[0].effects[0].service, "web");
        assert_eq!(
            list[0].effects[0].caused_by.as_deref(),
            Some("pg-version-mismatch on db")
        );
    }

    #[test]
    fn the_same_class_seen_by_a_client_folds_under_the_server_even_when_it_runs() {
        let mut list = vec![
            finding(
                "redis-misconf-rdb",
                "worker",
                "MISCONF Redis is configured to save",
            ),
            finding("redis-misconf-rdb", "redis", "Background saving error"),
        ];
        chain(&mut list, &lab(false), &rules());
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].service, "redis");
        assert_eq!(list[0].effects[0].service, "worker");
    }

    #[test]
    fn a_client_class_echoed_in_the_servers_log_folds_under_the_client() {
        let mut list = vec![
            finding(
                "tables-missing",
                "db",
                r#"ERROR:  relation "projects" does not exist"#,
            ),
            finding(
                "tables-missing",
                "web",
                r#"UndefinedTable: relation "projects" does not exist"#,
            ),
        ];
        chain(&mut list, &lab(false), &rules());
        assert_eq!(list.len(), 1, "{list:#?}");
        assert_eq!(list[0].service, "web");
        assert_eq!(list[0].effects[0].service, "db");
    }

    #[test]
    fn a_client_fault_that_names_a_healthy_dependency_stays_a_cause() {
        let mut list = vec![
            finding(
                "pg-auth-failed",
                "web",
                r#"connection to server at "db" failed: FATAL:  password authentication failed"#,
            ),
            finding("pg-starting-up", "db", "the database system is starting up"),
        ];
        chain(&mut list, &lab(false), &rules());
        assert_eq!(list.len(), 2, "{list:#?}");
    }

    /// Seen on the lab's group-postgres: a role missing on the server explains the client's
    /// `password authentication failed`, which alone reads like a stale URL.
    #[test]
    fn a_client_class_the_servers_cause_names_folds_under_it_unless_confirmed() {
        let list = |client_confirmed: bool| {
            let mut client = finding(
                "pg-auth-failed-client-url",
                "web",
                r#"FATAL:  password authentication failed for user "app""#,
            );
            if client_confirmed {
                client.confirmation = Some(Confirmation::Confirmed {
                    by: vec!["postgres".into()],
                });
            }
            // As live: the server's own log matched the client's class too, and a probe ruled
            // it out there.
            let mut server = finding(
                "pg-role-missing",
                "db",
                r#"DETAIL:  Role "app" does not exist."#,
            );
            server
                .ruled_out
                .push("pg-auth-failed-client-url: the server's password works".into());
            let mut list = vec![client, server];
            chain(&mut list, &lab(false), &rules());
            list
        };
        let folded = list(false);
        assert_eq!(folded.len(), 1, "{folded:#?}");
        assert_eq!(folded[0].id, "pg-role-missing");
        assert_eq!(folded[0].effects[0].id, "pg-auth-failed-client-url");
        assert_eq!(
            list(true).len(),
            2,
            "a confirmed client class stays a cause"
        );
    }

    #[test]
    fn a_failure_no_rule_explains_folds_under_a_confirmed_cause_of_a_running_dependency() {
        let unexplained = || {
            finding(
                "unclassified-failure",
                "worker",
                "[1] [ERROR] Worker (pid:9) exited with code 1",
            )
        };
        let misconf = |confirmed: bool| Finding {
            confirmation: Some(if confirmed {
                Confirmation::Confirmed {
                    by: vec!["redis (misconf)".into()],
                }
            } else {
                Confirmation::Unconfirmed {
                    reason: "no probe".into(),
                }
            }),
            ..finding("redis-misconf-rdb", "redis", "Background saving error")
        };
        let mut list = vec![unexplained(), misconf(true)];
        chain(&mut list, &lab(false), &rules());
        assert_eq!(list.len(), 1, "{list:#?}");
        assert_eq!(list[0].id, "redis-misconf-rdb");
        assert_eq!(
            list[0].effects[0].caused_by.as_deref(),
            Some("redis-misconf-rdb on redis")
        );

        // Unconfirmed, on a dependency that runs: the failure stays a cause of its own.
        let mut list = vec![unexplained(), misconf(false)];
        chain(&mut list, &lab(false), &rules());
        assert_eq!(list.len(), 2, "{list:#?}");
    }

    #[test]
    fn no_fold_without_a_dependency_edge() {
        let mut list = vec![
            finding("unclassified-failure", "worker", r#"server at "db" failed"#),
            finding("pg-version-mismatch", "db", "incompatible"),
        ];
        chain(&mut list, &lab(true), &rules());
        assert_eq!(list.len(), 2, "worker talks to redis only: {list:#?}");
    }

    #[test]
    fn a_service_is_named_only_as_a_whole_word() {
        assert!(names(r#"connection to server at "db" (172.18.0.2)"#, "db"));
        assert!(names("Error -2 connecting to redis:6379.", "redis"));
        assert!(!names("redis_data volume", "redis"));
        assert!(!names("dbname=analylit", "db"));
    }
}
