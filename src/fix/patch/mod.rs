//! Patches to the project's own Python sources (and the file that names gunicorn's target), for
//! the code failures of the catalogue.
//!
//! A patch is the smallest text edit that removes the finding's cause, computed on the files as
//! the image holds them ([`Input::tree`]) and applied to the project's copy of those files: never
//! to the image. Each class has a module: [`names`] (`name-not-defined`: import the name from the
//! module that defines it), [`exports`] (`import-name-missing`: restore the renamed export),
//! [`decorators`] (`route-not-decorated`: restore `@bp.route(<health path>)`,
//! `@app.teardown_appcontext`, `@app.cli.command(...)` the way sibling functions are registered),
//! [`prefix`] (`blueprint-prefix-mismatch`: the rule so the effective URL is the health check's),
//! [`reinit`] (`gunicorn-worker-reinit`: remove the per-worker init call, the entrypoint's own
//! init staying the one), [`accessor`] (`engine-used-before-init`: the accessor instead of the
//! by-value copy of a `None` global), [`wsgi`] (`wsgi-app-not-found`: the `module:var` the module
//! binds).
//!
//! Every patch is proven before it is offered ([`propose`]): each changed Python file parses
//! with no new syntax error, and the analysis run again on the patched tree no longer shows the
//! finding's condition. A patch whose place is not unique is refused with the reason.
//! [`prepare`] reads the sources out of the service's container for a plan, and maps the proven
//! patch onto the project's files (refused when a file there is not the image's).
pub mod accessor;
pub mod decorators;
pub mod exports;
pub mod names;
pub mod prefix;
pub mod prepare;
pub mod reinit;
pub mod text;
pub mod wsgi;

use crate::probes::python::{Analysis, SourceFile, SourceTree, Startup, analyse_startup};
use std::collections::BTreeMap;

/// The classes a patch exists for.
pub const CLASSES: &[&str] = &[
    "name-not-defined",
    "import-name-missing",
    "route-not-decorated",
    "blueprint-prefix-mismatch",
    "gunicorn-worker-reinit",
    "engine-used-before-init",
    "wsgi-app-not-found",
];

/// What a patch is computed from.
pub struct Input<'a> {
    /// The app's Python files as the image holds them.
    pub tree: &'a SourceTree,
    pub analysis: &'a Analysis,
    /// How gunicorn loads the app (its target, for `wsgi-app-not-found` and the re-analysis).
    pub startup: Startup,
    /// The path the health check requests (`/api/health`).
    pub health_path: Option<String>,
    /// Other text files that may name the gunicorn target or run the app's init: the entrypoint
    /// script, the compose file, the Dockerfile (path as the caller names it → text).
    pub others: BTreeMap<String, String>,
    /// The finding's evidence texts (`name 'init_db' is not defined`): which one of several.
    pub hints: Vec<String>,
}

/// One file's change: `path` is an image path of [`Input::tree`] or a key of [`Input::others`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub old: String,
    pub new: String,
}

/// A proven patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePatch {
    pub class: String,
    pub changes: Vec<FileChange>,
    /// What the patch does and why this way (one line each).
    pub how: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The analysis does not show the condition the patch removes.
    #[error("the source shows no {0} to patch")]
    NothingFound(String),
    #[error("not patched: {0}")]
    Refused(String),
    #[error("the patch would not be right ({0}): not offered")]
    Unverified(String),
}

fn refuse(why: impl Into<String>) -> PatchError {
    PatchError::Refused(why.into())
}

/// The patch for `class`, proven on a re-analysis of the patched tree.
pub fn propose(class: &str, input: &Input<'_>) -> Result<SourcePatch, PatchError> {
    let patch = match class {
        "name-not-defined" => names::patch(input)?,
        "import-name-missing" => exports::patch(input)?,
        "route-not-decorated" => decorators::patch(input)?,
        "blueprint-prefix-mismatch" => prefix::patch(input)?,
        "gunicorn-worker-reinit" => reinit::patch(input)?,
        "engine-used-before-init" => accessor::patch(input)?,
        "wsgi-app-not-found" => wsgi::patch(input)?,
        "import-name-missing-cycle" => {
            return Err(refuse(
                "an import cycle: turning one of its imports into a late import changes when \
                 code runs, and which one is for a person to choose",
            ));
        }
        other => return Err(refuse(format!("no source patch for {other}"))),
    };
    if patch.changes.is_empty() || patch.changes.iter().all(|c| c.old == c.new) {
        return Err(PatchError::Unverified("it changes nothing".into()));
    }
    let (tree, analysis, startup) = reanalyse(input, &patch)?;
    let holds = match class {
        "name-not-defined" => names::holds(input, &analysis),
        "import-name-missing" => exports::holds(input, &analysis),
        "route-not-decorated" => decorators::holds(input, &analysis),
        "blueprint-prefix-mismatch" => prefix::holds(input, &analysis),
        "gunicorn-worker-reinit" => reinit::holds(input, &analysis),
        "engine-used-before-init" => accessor::holds(input, &analysis),
        "wsgi-app-not-found" => wsgi::holds(&tree, &startup, &analysis),
        _ => None,
    };
    if let Some(still) = holds {
        return Err(PatchError::Unverified(format!("after it, {still}")));
    }
    // A patch must not make a name undefined that was not before.
    let before: Vec<(&str, &str)> = input
        .analysis
        .undefined_names
        .iter()
        .map(|u| (u.name.as_str(), u.at.file.as_str()))
        .collect();
    if let Some(u) = analysis
        .undefined_names
        .iter()
        .find(|u| !before.contains(&(u.name.as_str(), u.at.file.as_str())))
    {
        return Err(PatchError::Unverified(format!(
            "`{}` would be undefined at {}",
            u.name, u.at
        )));
    }
    Ok(patch)
}

/// The tree with the patch's Python files replaced, parsed and analysed again; a changed file that
/// now has a syntax error (and had none) refuses the patch.
fn reanalyse(
    input: &Input<'_>,
    patch: &SourcePatch,
) -> Result<(SourceTree, Analysis, Startup), PatchError> {
    let mut files: Vec<SourceFile> = input
        .tree
        .modules()
        .filter(|m| m.path().ends_with(".py") && m.path().starts_with('/'))
        .map(|m| SourceFile {
            path: m.path().to_owned(),
            text: m.text().to_owned(),
        })
        .collect();
    for c in &patch.changes {
        if let Some(f) = files.iter_mut().find(|f| f.path == c.path) {
            f.text = c.new.clone();
        }
    }
    let tree = SourceTree::new(input.tree.root(), files);
    for c in patch.changes.iter().filter(|c| c.path.ends_with(".py")) {
        let Some(m) = tree.modules().find(|m| m.path() == c.path) else {
            continue;
        };
        let had = input
            .tree
            .modules()
            .find(|m| m.path() == c.path)
            .and_then(|m| m.syntax_error_line());
        if let (Some(line), None) = (m.syntax_error_line(), had) {
            return Err(PatchError::Unverified(format!(
                "{} would not parse (line {line})",
                c.path
            )));
        }
    }
    let mut startup = input.startup.clone();
    if patch.class == "wsgi-app-not-found"
        && let Some(t) = wsgi::new_target(patch)
    {
        startup.target = Some(t);
    }
    let analysis = analyse_startup(&tree, &startup);
    Ok((tree, analysis, startup))
}

/// The module of the tree at `path`.
fn module<'t>(
    tree: &'t SourceTree,
    path: &str,
) -> Result<&'t crate::probes::python::Module, PatchError> {
    tree.modules()
        .find(|m| m.path() == path)
        .ok_or_else(|| refuse(format!("{path} is not in the source read")))
}

/// The first capture of `re` in the hints.
fn hinted(hints: &[String], re: &str) -> Option<Vec<String>> {
    let re = regex::Regex::new(re).ok()?;
    hints.iter().find_map(|h| {
        let c = re.captures(h)?;
        Some(
            c.iter()
                .skip(1)
                .map(|m| m.map(|m| m.as_str().to_owned()).unwrap_or_default())
                .collect(),
        )
    })
}

/// The module-level `def name` / `class name` / `name = …` of `text`, as a regex.
fn binds_re(name: &str) -> regex::Regex {
    regex::Regex::new(&format!(
        r"(?m)^(?:async\s+)?(?:def|class)\s+{n}\b|^{n}\s*(?::[^=\n]*)?=[^=]",
        n = regex::escape(name)
    ))
    .expect("escaped")
}

/// The file name of an image path, for messages.
fn short(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests;
