//! Migrations in the order they run: which table each one creates and which it uses.
//!
//! A one-shot `migrate` service that fails on `relation "x" does not exist` is not an init that
//! never ran: re-running it fails the same way. The usual cause is order — a migration references
//! a table (a foreign key, an `ALTER TABLE`, an `INSERT`) that a later migration creates. Reading
//! the migration files settles it and names both files, which is the fix.
//!
//! Two shapes are read, without running anything: numbered SQL files in a `migrations/` folder
//! (run in file-name order, the way such runners sort them) and Alembic revisions (run along their
//! `down_revision` chain). Statements are found with patterns, not a SQL parser: `CREATE TABLE`
//! creates; `REFERENCES`, `ALTER TABLE`, `INSERT INTO`, `UPDATE`, `FROM`, `JOIN` and Alembic's
//! `op.create_table`, `sa.ForeignKey("t.c")`, `op.add_column("t", …)` use.
use regex::Regex;
use std::sync::LazyLock;

/// One migration file, with what it creates and uses (table name, 1-based line), in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub path: String,
    pub creates: Vec<(String, u32)>,
    pub uses: Vec<(String, u32)>,
}

/// What the migrations say about one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableOrder {
    /// `used_by` uses the table before `created_by`, which runs later, creates it.
    Misordered {
        used_by: (String, u32),
        created_by: (String, u32),
    },
    /// A migration uses the table and none creates it.
    NeverCreated { used_by: (String, u32) },
    /// Created before any use.
    InOrder { created_by: (String, u32) },
    /// No migration mentions it.
    Unmentioned,
}

static CREATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\bcreate\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?(?:"?\w+"?\.)?"?(\w+)"?|\bop\.create_table\(\s*['"](\w+)['"]"#)
        .expect("create pattern")
});
static USE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?i)\breferences\s+(?:"?\w+"?\.)?"?(\w+)"?"#,
        r#"|\balter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?(?:"?\w+"?\.)?"?(\w+)"?"#,
        r#"|\binsert\s+into\s+(?:"?\w+"?\.)?"?(\w+)"?"#,
        r#"|\bupdate\s+(?:only\s+)?(?:"?\w+"?\.)?"?(\w+)"?\s+set\b"#,
        r#"|\b(?:from|join)\s+(?:"?\w+"?\.)?"?(\w+)"?"#,
        r#"|ForeignKey\(\s*['"](\w+)\.\w+['"]"#,
        r#"|\bop\.(?:add_column|alter_column|drop_column|create_index|create_foreign_key)\(\s*['"](\w+)['"]"#,
    ))
    .expect("use pattern")
});
static REVISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^revision\s*(?::\s*\w+\s*)?=\s*['"]([^'"]+)['"]"#).expect("revision")
});
static DOWN_REVISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^down_revision\s*(?::[^=]*)?=\s*(?:['"]([^'"]+)['"]|None)"#)
        .expect("down revision")
});

/// Words a `FROM`/`JOIN` pattern may catch that are no table.
const NOT_TABLES: &[&str] = &[
    "select",
    "where",
    "the",
    "a",
    "an",
    "import",
    "typing",
    "sqlalchemy",
    "alembic",
    "lateral",
    "unnest",
    "generate_series",
    "information_schema",
    "pg_catalog",
    "values",
];

/// Whether `path` is a migration file: a `.sql` file under a `migrations` folder, or a Python file
/// there that is an Alembic revision.
pub fn is_migration(path: &str, text: &str) -> bool {
    in_migrations_folder(path)
        && (path.ends_with(".sql") || (path.ends_with(".py") && REVISION.is_match(text)))
}

/// Whether a service runs the migrations: its command names a migration tool or module
/// (`alembic upgrade head`, `flask db upgrade`, `python -m app.migrate`, `manage.py migrate`), or
/// the Python it runs drives Alembic or opens the migrations folder by name. A service that only
/// has the folder in its image (the web app beside a one-shot `migrate`) does not.
pub fn runs_migrations<'a>(command: &str, sources: impl IntoIterator<Item = &'a str>) -> bool {
    static COMMAND: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\balembic\b|\bdb\s+upgrade\b|migrat(?:e|ions?)\b").expect("command regex")
    });
    static SOURCE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?m)^\s*(?:from|import)\s+(?:alembic|flask_migrate)\b|['"](?:\./)?(?:migrations?|alembic)/?['"]"#,
        )
        .expect("source regex")
    });
    COMMAND.is_match(command) || sources.into_iter().any(|t| SOURCE.is_match(t))
}

/// Whether `path` lies under a folder migrations live in (`migrations`, `versions`, `alembic`).
pub fn in_migrations_folder(path: &str) -> bool {
    path.split('/')
        .any(|seg| matches!(seg, "migrations" | "migration" | "versions" | "alembic"))
}

/// The migration files among `files` (path, text), in the order they run.
pub fn in_run_order(files: &[(String, String)]) -> Vec<Migration> {
    let mut sql: Vec<&(String, String)> = files
        .iter()
        .filter(|(p, t)| p.ends_with(".sql") && is_migration(p, t))
        .collect();
    sql.sort_by_key(|f| natural(&f.0));
    let alembic: Vec<&(String, String)> = files
        .iter()
        .filter(|(p, t)| p.ends_with(".py") && is_migration(p, t))
        .collect();
    let mut ordered: Vec<&(String, String)> = sql;
    ordered.extend(alembic_chain(&alembic));
    ordered.into_iter().map(|(p, t)| read(p, t)).collect()
}

/// Alembic revisions from the base (no `down_revision`) along the chain; revisions off the chain
/// follow in file-name order.
fn alembic_chain<'a>(revs: &[&'a (String, String)]) -> Vec<&'a (String, String)> {
    let id = |t: &str| REVISION.captures(t).map(|c| c[1].to_owned());
    let down = |t: &str| {
        DOWN_REVISION
            .captures(t)
            .and_then(|c| c.get(1).map(|m| m.as_str().to_owned()))
    };
    let mut used = vec![false; revs.len()];
    let mut out: Vec<&(String, String)> = Vec::new();
    let mut at: Option<String> = None;
    // Each step takes one unused revision: at most `revs.len()` steps.
    while let Some(i) = (0..revs.len()).find(|&i| !used[i] && down(&revs[i].1) == at) {
        used[i] = true;
        at = id(&revs[i].1);
        out.push(revs[i]);
    }
    let mut rest: Vec<&(String, String)> = (0..revs.len())
        .filter(|&i| !used[i])
        .map(|i| revs[i])
        .collect();
    rest.sort_by_key(|f| natural(&f.0));
    out.extend(rest);
    out
}

/// `0002_x.sql` before `0010_y.sql`, whatever the zero padding.
fn natural(path: &str) -> (u64, String) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    (digits.parse().unwrap_or(u64::MAX), name.to_owned())
}

fn read(path: &str, text: &str) -> Migration {
    let mut m = Migration {
        path: path.to_owned(),
        creates: Vec::new(),
        uses: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split("--").next().unwrap_or(raw);
        let line = if path.ends_with(".py") {
            line.split('#').next().unwrap_or(line)
        } else {
            line
        };
        let n = i as u32 + 1;
        let created: Vec<String> = CREATE
            .captures_iter(line)
            .filter_map(|c| {
                c.iter()
                    .skip(1)
                    .flatten()
                    .next()
                    .map(|m| m.as_str().to_ascii_lowercase())
            })
            .collect();
        for t in &created {
            m.creates.push((t.clone(), n));
        }
        for c in USE.captures_iter(line) {
            if let Some(t) = c.iter().skip(1).flatten().next() {
                let t = t.as_str().to_ascii_lowercase();
                if !created.contains(&t) && !NOT_TABLES.contains(&t.as_str()) {
                    m.uses.push((t, n));
                }
            }
        }
    }
    m
}

/// Where `table` is created and first used along `migrations` (in run order).
pub fn order_of(migrations: &[Migration], table: &str) -> TableOrder {
    let table = table
        .rsplit('.')
        .next()
        .unwrap_or(table)
        .to_ascii_lowercase();
    let mut first_use: Option<(String, u32)> = None;
    for m in migrations {
        // A migration that creates the table may use it after creating it.
        if let Some((_, line)) = m.creates.iter().find(|(t, _)| *t == table) {
            return match first_use {
                Some(used_by) => TableOrder::Misordered {
                    used_by,
                    created_by: (m.path.clone(), *line),
                },
                None => TableOrder::InOrder {
                    created_by: (m.path.clone(), *line),
                },
            };
        }
        if first_use.is_none()
            && let Some((_, line)) = m.uses.iter().find(|(t, _)| *t == table)
        {
            first_use = Some((m.path.clone(), *line));
        }
    }
    match first_use {
        Some(used_by) => TableOrder::NeverCreated { used_by },
        None => TableOrder::Unmentioned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_runs_the_migrations() {
        for cmd in [
            "alembic upgrade head",
            "flask db upgrade",
            "python3 -m backend.migrate",
            "python manage.py migrate --noinput",
        ] {
            assert!(runs_migrations(cmd, []), "{cmd}");
        }
        let web = "gunicorn -c backend/config/gunicorn.conf.py backend.server:app";
        assert!(!runs_migrations(
            web,
            ["\"\"\"The schema belongs to migrations/.\"\"\""]
        ));
        assert!(runs_migrations(web, ["HERE = ROOT / \"migrations\"\n"]));
        assert!(runs_migrations(web, ["from alembic import command\n"]));
    }

    fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn a_foreign_key_to_a_table_a_later_file_creates_is_misordered() {
        let m = in_run_order(&files(&[
            (
                "/app/migrations/0002_analysis_profiles.sql",
                "CREATE TABLE analysis_profiles (\n  id serial PRIMARY KEY\n);\n",
            ),
            (
                "/app/migrations/0001_projects.sql",
                "-- projects belong to a profile\nCREATE TABLE projects (\n  id serial PRIMARY KEY,\n  profile_id integer REFERENCES analysis_profiles (id)\n);\n",
            ),
            ("/app/backend/server.py", "x = 1\n"),
        ]));
        assert_eq!(
            m.iter().map(|m| m.path.as_str()).collect::<Vec<_>>(),
            [
                "/app/migrations/0001_projects.sql",
                "/app/migrations/0002_analysis_profiles.sql"
            ]
        );
        assert_eq!(
            order_of(&m, "analysis_profiles"),
            TableOrder::Misordered {
                used_by: ("/app/migrations/0001_projects.sql".into(), 4),
                created_by: ("/app/migrations/0002_analysis_profiles.sql".into(), 1),
            }
        );
        assert!(matches!(
            order_of(&m, "projects"),
            TableOrder::InOrder { .. }
        ));
        assert_eq!(order_of(&m, "users"), TableOrder::Unmentioned);
    }

    #[test]
    fn alembic_revisions_run_along_their_chain_and_numbers_sort_naturally() {
        let m = in_run_order(&files(&[
            (
                "/app/migrations/versions/b_second.py",
                "revision = 'b2'\ndown_revision = 'a1'\nfrom alembic import op\ndef upgrade():\n    op.create_table('profiles')\n",
            ),
            (
                "/app/migrations/versions/a_first.py",
                "revision = 'a1'\ndown_revision = None\nimport sqlalchemy as sa\ndef upgrade():\n    op.create_table('projects', sa.Column('p', sa.ForeignKey('profiles.id')))\n",
            ),
            ("/app/migrations/env.py", "from alembic import context\n"),
        ]));
        assert_eq!(m.len(), 2, "env.py is no revision: {m:?}");
        assert!(matches!(
            order_of(&m, "profiles"),
            TableOrder::Misordered { used_by, .. } if used_by.0.ends_with("a_first.py")
        ));
        assert!(natural("/m/0002_a.sql") < natural("/m/0010_b.sql"));
    }

    #[test]
    fn a_table_used_and_never_created_says_so() {
        let m = in_run_order(&files(&[(
            "/app/migrations/0001_seed.sql",
            "INSERT INTO settings (k) VALUES ('a');\n",
        )]));
        assert!(matches!(
            order_of(&m, "public.settings"),
            TableOrder::NeverCreated { .. }
        ));
    }
}
