//! Locate: turn what the probes located inside the stack into places in the project, so a SARIF
//! result or a GitHub annotation points at a file of the repository.
//!
//! Probes see the stack: `/app/utils/database.py` line 12 in the image, the `healthcheck` key of a
//! service, line 9 of the compose file. For each probe result this stage sets its
//! `project_location` (the file relative to the current directory when it is under it, and the
//! line) when it can tell:
//! - a compose line (`compose_line`) or key (`compose_key`, looked up in the compose model) is in
//!   the compose file;
//! - an image path (the probe's `location`, else its `path`) under the container's working
//!   directory is the same path under the service's build context, when that file exists.
//!
//! It reads the local file system (does the file exist?), so it runs on live diagnoses only.
use super::{Diagnosis, Finding};
use crate::probes::{Location, ProbeResult};
use crate::stack::snapshot::StackSnapshot;
use std::path::{Path, PathBuf};

/// Set the `project_location` of the probe results of every finding, where known.
pub fn locate(diagnosis: &mut Diagnosis, snapshot: &StackSnapshot) {
    let cwd = std::env::current_dir().unwrap_or_default();
    super::walk_mut(&mut diagnosis.findings, &mut |f: &mut Finding| {
        for p in &mut f.probes {
            if let Some((file, line)) = place(p, &f.service, snapshot) {
                let file = file
                    .strip_prefix(&cwd)
                    .map(Path::to_path_buf)
                    .unwrap_or(file);
                p.project_location = Some(Location::new(file.display().to_string(), line));
            }
        }
    });
}

fn place(
    p: &ProbeResult,
    service: &str,
    snapshot: &StackSnapshot,
) -> Option<(PathBuf, Option<u32>)> {
    let model = snapshot.compose.as_ref()?;
    let compose_line = p
        .data
        .get("compose_line")
        .and_then(|l| l.parse::<u32>().ok())
        .or_else(|| {
            let key = p.data.get("compose_key")?;
            Some(model.service(service)?.key_pos.get(key)?.line)
        });
    if let Some(line) = compose_line {
        return Some((model.file.clone(), Some(line)));
    }
    let in_image = p
        .location
        .as_ref()
        .map(|l| &l.file)
        .or_else(|| p.data.get("path"))?;
    let context = model.service(service)?.build.as_ref()?;
    let dir = model.file.parent().unwrap_or_else(|| Path::new("."));
    // `components` drops the `.` of `build: ./app`.
    let context: PathBuf = dir.join(context).components().collect();
    let line = p.location.as_ref().and_then(|l| l.line);
    // `COPY . /app` with `WORKDIR /app`: the same path under the context.
    let container = snapshot.containers.iter().find(|c| c.service == service)?;
    if let Ok(relative) = Path::new(in_image).strip_prefix(&container.working_dir) {
        let candidate = context.join(relative);
        if candidate.is_file() {
            return Some((candidate, line));
        }
    }
    // `COPY app/ /app/` and the like: the one file of the context whose path ends the most like
    // the image path.
    best_suffix_match(&context, Path::new(in_image)).map(|file| (file, line))
}

/// The file under `root` whose path shares the longest tail with `in_image` (its name at least),
/// when one file alone shares it. The walk is bounded (depth, entries) and skips hidden folders.
fn best_suffix_match(root: &Path, in_image: &Path) -> Option<PathBuf> {
    let name = in_image.file_name()?;
    let tail: Vec<_> = in_image.components().rev().collect();
    let shared = |p: &Path| {
        p.components()
            .rev()
            .zip(&tail)
            .take_while(|(a, b)| a == *b)
            .count()
    };
    let mut best: Vec<(usize, PathBuf)> = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            seen += 1;
            if seen > 20_000 {
                return None;
            }
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if path.is_dir() {
                if depth < 8 && !hidden {
                    stack.push((path, depth + 1));
                }
            } else if entry.file_name() == name {
                best.push((shared(&path), path));
            }
        }
    }
    let top = best.iter().map(|(n, _)| *n).max()?;
    let mut winners = best.into_iter().filter(|(n, _)| *n == top);
    let (_, first) = winners.next()?;
    winners.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::compose;
    use crate::stack::snapshot::testing::{container, stack};

    #[test]
    fn image_paths_and_compose_keys_become_project_places() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("app/utils")).unwrap();
        std::fs::write(dir.path().join("app/utils/database.py"), "x = 1\n").unwrap();
        let file = dir.path().join("docker-compose.yml");
        let text = "services:\n  web:\n    build: ./app\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:5000/\"]\n";
        std::fs::write(&file, text).unwrap();
        let model = compose::parse(&file, text, &|_| None).expect("compose parses");
        let mut snap = stack(vec![container("web")]);
        snap.compose = Some(model);

        let result = |pairs: &[(&str, &str)]| ProbeResult {
            kind: "python".into(),
            expect: "x".into(),
            outcome: crate::probes::Outcome::Confirmed,
            summary: String::new(),
            facts: vec![],
            location: None,
            project_location: None,
            data: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let at = |file: &str, line: Option<u32>| ProbeResult {
            location: Some(Location::new(file, line)),
            ..result(&[])
        };
        let source = at("/app/utils/database.py", Some(1));
        let (path, line) = place(&source, "web", &snap).expect("mapped");
        assert_eq!(path, dir.path().join("app/utils/database.py"));
        assert_eq!(line, Some(1));

        let key = result(&[("compose_key", "healthcheck")]);
        assert_eq!(place(&key, "web", &snap), Some((file.clone(), Some(4))));

        let missing = at("/app/nowhere.py", None);
        assert_eq!(place(&missing, "web", &snap), None);
        let outside = result(&[("path", "/data/flower.db")]);
        assert_eq!(place(&outside, "web", &snap), None);

        // `COPY app/ /srv/` with another working directory: found by the path's tail.
        std::fs::create_dir_all(dir.path().join("app/other")).unwrap();
        std::fs::write(dir.path().join("app/other/database.py"), "y = 2\n").unwrap();
        let tail = at("/srv/utils/database.py", Some(3));
        assert_eq!(
            place(&tail, "web", &snap),
            Some((dir.path().join("app/utils/database.py"), Some(3)))
        );
    }
}
