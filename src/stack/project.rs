//! Which compose project to check, found the way compose finds it.
//!
//! `-p/--project-name`, else `COMPOSE_PROJECT_NAME`, else the top-level `name:` of the compose
//! file (Compose v2), else the compose file's directory name, normalised like compose does
//! (lowercase, only `[a-z0-9_-]`, starting with a letter or digit). The compose file is `-f/--file`,
//! else the first of `COMPOSE_FILE`, else the first of compose.yaml / compose.yml /
//! docker-compose.yml / docker-compose.yaml in the working directory or a parent.
use std::path::{Path, PathBuf};

pub const COMPOSE_FILE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectChoice {
    pub name: String,
    /// How the name was found, for messages.
    pub how: String,
    pub compose_file: Option<PathBuf>,
}

#[derive(Debug, Default, Clone)]
pub struct ProjectInputs {
    pub project_name: Option<String>,
    pub files: Vec<PathBuf>,
    pub env_project_name: Option<String>,
    pub env_compose_file: Option<String>,
    pub cwd: PathBuf,
}

impl ProjectInputs {
    pub fn from_process(project_name: Option<String>, files: Vec<PathBuf>) -> Self {
        ProjectInputs {
            project_name,
            files,
            env_project_name: std::env::var("COMPOSE_PROJECT_NAME")
                .ok()
                .filter(|s| !s.is_empty()),
            env_compose_file: std::env::var("COMPOSE_FILE").ok().filter(|s| !s.is_empty()),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        }
    }
}

/// Compose's normalisation of a project name.
pub fn normalize(name: &str) -> String {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lowered.trim_start_matches(['_', '-']).to_string()
}

pub fn choose(inputs: &ProjectInputs) -> Option<ProjectChoice> {
    let compose_file = compose_file(inputs);
    if let Some(p) = &inputs.project_name {
        return Some(ProjectChoice {
            name: normalize(p),
            how: "from -p/--project-name".into(),
            compose_file,
        });
    }
    if let Some(p) = &inputs.env_project_name {
        return Some(ProjectChoice {
            name: normalize(p),
            how: "from COMPOSE_PROJECT_NAME".into(),
            compose_file,
        });
    }
    let file = compose_file?;
    if let Some(name) = top_level_name(&file) {
        return Some(ProjectChoice {
            name: normalize(&name),
            how: format!("from `name:` in {}", file.display()),
            compose_file: Some(file),
        });
    }
    let dir = file
        .parent()
        .map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        })
        .and_then(|d| d.canonicalize().ok())?;
    let name = normalize(&dir.file_name()?.to_string_lossy());
    Some(ProjectChoice {
        how: format!("from the directory of {}", file.display()),
        name,
        compose_file: Some(file),
    })
}

fn compose_file(inputs: &ProjectInputs) -> Option<PathBuf> {
    if let Some(f) = inputs.files.first() {
        return Some(inputs.cwd.join(f));
    }
    if let Some(list) = &inputs.env_compose_file {
        let sep = std::env::var("COMPOSE_PATH_SEPARATOR").unwrap_or_else(|_| ":".into());
        if let Some(first) = list.split(sep.as_str()).find(|s| !s.is_empty()) {
            return Some(inputs.cwd.join(first));
        }
    }
    let mut dir = Some(inputs.cwd.as_path());
    while let Some(d) = dir {
        for name in COMPOSE_FILE_NAMES {
            let candidate = d.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
        dir = d.parent();
    }
    None
}

/// The Compose Specification's top-level `name:` (a plain scalar on a line of its own).
fn top_level_name(file: &Path) -> Option<String> {
    let text = crate::capped::text(file, super::compose::MAX_FILE_BYTES as usize).ok()?;
    text.lines().find_map(|line| {
        let rest = line.strip_prefix("name:")?;
        let value = rest.split(" #").next()?.trim().trim_matches(['"', '\'']);
        (!value.is_empty() && !value.contains('$')).then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_matches_compose() {
        assert_eq!(normalize("AnalyLit V4.1"), "analylitv41");
        assert_eq!(
            normalize("gunicorn-worker-reinit"),
            "gunicorn-worker-reinit"
        );
        assert_eq!(normalize("_My_App"), "my_app");
    }

    #[test]
    fn flag_then_env_then_directory() {
        let dir = tempfile::tempdir().unwrap();
        let stack = dir.path().join("My Stack");
        std::fs::create_dir(&stack).unwrap();
        std::fs::write(stack.join("docker-compose.yml"), "services: {}\n").unwrap();
        let mut inputs = ProjectInputs {
            cwd: stack.join("."),
            ..Default::default()
        };
        let c = choose(&inputs).unwrap();
        assert_eq!(c.name, "mystack");
        assert!(c.compose_file.unwrap().ends_with("docker-compose.yml"));

        inputs.env_project_name = Some("FromEnv".into());
        assert_eq!(choose(&inputs).unwrap().name, "fromenv");
        inputs.project_name = Some("flag".into());
        assert_eq!(choose(&inputs).unwrap().name, "flag");
    }

    #[test]
    fn compose_v2_name_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            "name: analylit-prod # the team's\nservices: {}\n",
        )
        .unwrap();
        let inputs = ProjectInputs {
            cwd: dir.path().to_path_buf(),
            ..Default::default()
        };
        assert_eq!(choose(&inputs).unwrap().name, "analylit-prod");
    }

    #[test]
    fn found_from_a_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("analylit");
        std::fs::create_dir_all(root.join("app/utils")).unwrap();
        std::fs::write(root.join("docker-compose.yml"), "services: {}\n").unwrap();
        let inputs = ProjectInputs {
            cwd: root.join("app/utils"),
            ..Default::default()
        };
        assert_eq!(choose(&inputs).unwrap().name, "analylit");
    }
}
