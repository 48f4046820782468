//! The project's source as the interpreter would import it: files named by their dotted module
//! name, each parsed once.
//!
//! Python finds `utils.database` under the working directory (`/app/utils/database.py` or
//! `/app/utils/database/__init__.py`), so a [`SourceTree`] is built from a root and the files read
//! from the image. It keeps only what an analysis can afford: at most [`MAX_FILES`] files of at
//! most [`MAX_FILE_BYTES`] each and [`MAX_TOTAL_BYTES`] together; what it leaves out is listed in
//! [`SourceTree::skipped`], so a report can say which files were not looked at.
use serde::Serialize;
use std::collections::BTreeMap;
use tree_sitter::{Parser, Tree};

/// The most files a tree keeps.
pub const MAX_FILES: usize = 2000;
/// The largest file a tree keeps (1 MiB).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// The most source bytes a tree keeps in all (16 MiB: an application's own source is far
/// smaller; this keeps a whole analysis to seconds).
pub const MAX_TOTAL_BYTES: usize = 16 * 1024 * 1024;

/// The bounds of a tree (the constants above, smaller in tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub files: usize,
    pub file_bytes: usize,
    pub total_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            files: MAX_FILES,
            file_bytes: MAX_FILE_BYTES,
            total_bytes: MAX_TOTAL_BYTES,
        }
    }
}

/// One file read from the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path in the image: `/app/utils/database.py`.
    pub path: String,
    pub text: String,
}

/// Why a file is not part of a [`SourceTree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Not a `.py` file.
    NotPython,
    /// Not under the root, so not importable from it.
    OutsideRoot,
    /// `__init__.py` of the root itself: no module name.
    RootInit,
    /// A dot or a hyphen in its name or a directory's (`gunicorn.conf.py`): no `import` reaches
    /// it. (gunicorn runs such a config file by path: [`SourceTree::add_script`].)
    NotImportable,
    /// Another file of the same path came first.
    Duplicate,
    /// Over [`MAX_FILE_BYTES`].
    TooLarge,
    /// Over [`MAX_FILES`] or [`MAX_TOTAL_BYTES`].
    OverLimit,
    /// The parser gave no tree (it never does for text; kept so nothing is dropped silently).
    Unparsed,
}

/// A file left out of a tree, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: SkipReason,
}

/// One module of the tree: its source and its syntax tree.
pub struct Module {
    name: String,
    path: String,
    is_package: bool,
    text: String,
    tree: Tree,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("is_package", &self.is_package)
            .finish_non_exhaustive()
    }
}

impl Module {
    /// The dotted name: `utils.database` (`api` for `api/__init__.py`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path in the image.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether this is a package's `__init__.py`.
    pub fn is_package(&self) -> bool {
        self.is_package
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn root(&self) -> tree_sitter::Node<'_> {
        self.tree.root_node()
    }

    /// The 1-based line of the first syntax error, if the parser had to recover from any.
    pub fn syntax_error_line(&self) -> Option<u32> {
        let root = self.tree.root_node();
        if !root.has_error() {
            return None;
        }
        let mut first: Option<u32> = None;
        super::syntax::walk(root, |n| {
            if first.is_some() {
                return false;
            }
            if n.is_error() || n.is_missing() {
                first = Some(super::syntax::line(n));
                return false;
            }
            n.has_error()
        });
        first.or(Some(1))
    }

    /// The package this module's relative imports start from: itself for a package, else its
    /// parent (`""` for a top-level module).
    pub(crate) fn package(&self) -> &str {
        if self.is_package {
            &self.name
        } else {
            self.name.rsplit_once('.').map_or("", |(p, _)| p)
        }
    }
}

/// The modules of a project, by dotted name.
#[derive(Debug)]
pub struct SourceTree {
    root: String,
    modules: BTreeMap<String, Module>,
    skipped: Vec<Skipped>,
}

impl SourceTree {
    /// `root` = the directory imports resolve from (the container's working directory, `/app`).
    /// Files are taken in path order until a limit is reached; the rest are listed in
    /// [`SourceTree::skipped`].
    pub fn new(root: &str, files: Vec<SourceFile>) -> SourceTree {
        SourceTree::with_limits(root, files, Limits::default())
    }

    pub(crate) fn with_limits(root: &str, files: Vec<SourceFile>, limits: Limits) -> SourceTree {
        let root = root.trim_end_matches('/').to_owned();
        let mut files = files;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .expect("the bundled Python grammar matches the tree-sitter version");
        let mut modules = BTreeMap::new();
        let mut skipped = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut total = 0usize;
        for file in files {
            let skip = |reason| Skipped {
                path: file.path.clone(),
                reason,
            };
            let Some(rel) = relative(&root, &file.path) else {
                let reason = if file.path.ends_with(".py") {
                    SkipReason::OutsideRoot
                } else {
                    SkipReason::NotPython
                };
                skipped.push(skip(reason));
                continue;
            };
            let Some(stem) = rel.strip_suffix(".py") else {
                skipped.push(skip(SkipReason::NotPython));
                continue;
            };
            if stem
                .split('/')
                .any(|part| part.is_empty() || part.contains(['.', '-']))
            {
                skipped.push(skip(SkipReason::NotImportable));
                continue;
            }
            if !seen.insert(file.path.clone()) {
                skipped.push(skip(SkipReason::Duplicate));
                continue;
            }
            let (name, is_package) = match stem.strip_suffix("__init__") {
                Some("") => {
                    skipped.push(skip(SkipReason::RootInit));
                    continue;
                }
                Some(dir) => (dir.trim_end_matches('/').replace('/', "."), true),
                None => (stem.replace('/', "."), false),
            };
            if file.text.len() > limits.file_bytes {
                skipped.push(skip(SkipReason::TooLarge));
                continue;
            }
            if modules.len() >= limits.files || total + file.text.len() > limits.total_bytes {
                skipped.push(skip(SkipReason::OverLimit));
                continue;
            }
            // `utils/database.py` and `utils/database/__init__.py` both claim `utils.database`:
            // Python takes the package.
            if let Some(other) = modules.get(&name) {
                let other: &Module = other;
                if other.is_package || !is_package {
                    skipped.push(skip(SkipReason::Duplicate));
                    continue;
                }
            }
            let Some(tree) = parser.parse(&file.text, None) else {
                skipped.push(skip(SkipReason::Unparsed));
                continue;
            };
            total += file.text.len();
            if let Some(replaced) = modules.insert(
                name.clone(),
                Module {
                    name,
                    path: file.path,
                    is_package,
                    text: file.text,
                    tree,
                },
            ) {
                total -= replaced.text.len();
                skipped.push(Skipped {
                    path: replaced.path,
                    reason: SkipReason::Duplicate,
                });
            }
        }
        SourceTree {
            root,
            modules,
            skipped,
        }
    }

    /// Add a file Python executes by path rather than imports by name — gunicorn runs its config
    /// file as a module named `__config__` — under `name`, whatever its path. When the tree
    /// already holds that path as a module, that module stands for it. Returns the module's
    /// name. Over [`MAX_FILE_BYTES`], the file is listed in [`SourceTree::skipped`] and left out.
    pub fn add_script(&mut self, name: &str, file: SourceFile) -> Option<String> {
        if let Some(m) = self.modules.values().find(|m| m.path == file.path) {
            return Some(m.name.clone());
        }
        self.skipped
            .retain(|s| !(s.path == file.path && s.reason == SkipReason::NotImportable));
        if file.text.len() > MAX_FILE_BYTES {
            self.skipped.push(Skipped {
                path: file.path,
                reason: SkipReason::TooLarge,
            });
            return None;
        }
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .expect("the bundled Python grammar matches the tree-sitter version");
        let Some(tree) = parser.parse(&file.text, None) else {
            self.skipped.push(Skipped {
                path: file.path,
                reason: SkipReason::Unparsed,
            });
            return None;
        };
        self.modules.insert(
            name.to_owned(),
            Module {
                name: name.to_owned(),
                path: file.path,
                is_package: false,
                text: file.text,
                tree,
            },
        );
        Some(name.to_owned())
    }

    /// The directory imports resolve from, without a trailing slash.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// `"utils.database"` → `/app/utils/database.py` or `/app/utils/database/__init__.py`.
    pub fn module(&self, dotted: &str) -> Option<&Module> {
        self.modules.get(dotted)
    }

    /// Whether `dotted` can be imported from the tree: a module, or a directory of modules
    /// without `__init__.py` (a namespace package).
    pub fn importable(&self, dotted: &str) -> bool {
        if self.modules.contains_key(dotted) {
            return true;
        }
        let prefix = format!("{dotted}.");
        self.modules
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    /// Every module, in name order.
    pub fn modules(&self) -> impl Iterator<Item = &Module> {
        self.modules.values()
    }

    /// Files left out, and why.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }
}

/// `path` relative to `root`, if it lies under it.
fn relative<'p>(root: &str, path: &'p str) -> Option<&'p str> {
    if root.is_empty() {
        return path
            .strip_prefix('/')
            .or(Some(path))
            .filter(|r| !r.is_empty());
    }
    path.strip_prefix(root)?
        .strip_prefix('/')
        .filter(|r| !r.is_empty())
}

/// The absolute module a relative import names: `level` dots from `package`, then `rest`.
/// `None` when the dots climb above the top.
pub(crate) fn resolve_relative(package: &str, level: usize, rest: &str) -> Option<String> {
    // A top-level module has no package: `attempted relative import with no known parent package`.
    if package.is_empty() {
        return None;
    }
    let mut base: Vec<&str> = package.split('.').collect();
    // `beyond top-level package` when the dots climb past the first part.
    if base.len() < level {
        return None;
    }
    base.truncate(base.len() + 1 - level);
    if !rest.is_empty() {
        base.push(rest);
    }
    if base.is_empty() {
        return None;
    }
    Some(base.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
    }

    #[test]
    fn names_modules_from_paths_under_the_root() {
        let tree = SourceTree::new(
            "/app/",
            vec![
                file("/app/utils/database.py", "x = 1\n"),
                file("/app/api/__init__.py", ""),
                file("/app/server.py", ""),
                file("/app/__init__.py", ""),
                file("/srv/other.py", ""),
                file("/app/README.md", ""),
            ],
        );
        let names: Vec<_> = tree.modules().map(|m| m.name()).collect();
        assert_eq!(names, ["api", "server", "utils.database"]);
        assert!(tree.module("api").unwrap().is_package());
        assert_eq!(
            tree.module("utils.database").unwrap().path(),
            "/app/utils/database.py"
        );
        let reasons: Vec<_> = tree.skipped().iter().map(|s| s.reason).collect();
        assert!(reasons.contains(&SkipReason::OutsideRoot));
        assert!(reasons.contains(&SkipReason::NotPython));
        assert!(reasons.contains(&SkipReason::RootInit));
    }

    #[test]
    fn dotted_file_names_are_not_modules_but_can_be_added_as_scripts() {
        let mut tree = SourceTree::new(
            "/app",
            vec![
                file("/app/gunicorn.conf.py", "workers = 2\n"),
                file("/app/my-tools/x.py", ""),
                file("/app/server.py", ""),
            ],
        );
        assert!(
            !tree.importable("gunicorn"),
            "the real gunicorn is not shadowed"
        );
        let names: Vec<_> = tree.modules().map(|m| m.name()).collect();
        assert_eq!(names, ["server"]);
        let name = tree.add_script("__config__", file("/app/gunicorn.conf.py", "workers = 2\n"));
        assert_eq!(name.as_deref(), Some("__config__"));
        assert_eq!(
            tree.module("__config__").unwrap().path(),
            "/app/gunicorn.conf.py"
        );
        assert_eq!(tree.skipped().len(), 1, "{:?}", tree.skipped());
        // A path the tree holds as a module already stands for itself.
        let again = tree.add_script("__other__", file("/app/server.py", ""));
        assert_eq!(again.as_deref(), Some("server"));
    }

    #[test]
    fn namespace_packages_are_importable() {
        let tree = SourceTree::new(
            "/app",
            vec![file("/app/ns/sub/mod.py", ""), file("/app/nsx.py", "")],
        );
        assert!(tree.importable("ns"));
        assert!(tree.importable("ns.sub"));
        assert!(tree.importable("ns.sub.mod"));
        assert!(tree.importable("nsx"));
        assert!(!tree.importable("ns.other"));
        assert!(!tree.importable("n"));
    }

    #[test]
    fn a_package_wins_over_a_module_of_the_same_name() {
        let tree = SourceTree::new(
            "/app",
            vec![
                file("/app/utils.py", ""),
                file("/app/utils/__init__.py", "x = 1\n"),
            ],
        );
        assert!(tree.module("utils").unwrap().is_package());
        assert_eq!(tree.skipped()[0].path, "/app/utils.py");
    }

    #[test]
    fn caps_file_size_and_notes_it() {
        let big = "x = 1\n".repeat(MAX_FILE_BYTES / 6 + 1);
        let tree = SourceTree::new("/app", vec![file("/app/big.py", &big)]);
        assert!(tree.module("big").is_none());
        assert_eq!(tree.skipped()[0].reason, SkipReason::TooLarge);
    }

    #[test]
    fn caps_files_and_total_bytes_and_notes_what_is_left_out() {
        let files = |n: usize| -> Vec<SourceFile> {
            (0..n)
                .map(|i| file(&format!("/app/m{i:02}.py"), "x = 1\n"))
                .collect()
        };
        let small = |files, total_bytes| Limits {
            files,
            file_bytes: 100,
            total_bytes,
        };
        let tree = SourceTree::with_limits("/app", files(10), small(4, 1000));
        assert_eq!(tree.modules().count(), 4);
        assert_eq!(tree.skipped().len(), 6);
        assert!(
            tree.skipped()
                .iter()
                .all(|s| s.reason == SkipReason::OverLimit)
        );
        // The first files by path are the ones kept.
        assert!(tree.module("m00").is_some() && tree.module("m04").is_none());
        let tree = SourceTree::with_limits("/app", files(10), small(100, 6 * 3));
        assert_eq!(tree.modules().count(), 3);
        assert_eq!(tree.skipped().len(), 7);
    }

    #[test]
    fn relative_imports_resolve_from_the_package() {
        assert_eq!(
            resolve_relative("api", 1, "health").as_deref(),
            Some("api.health")
        );
        assert_eq!(resolve_relative("a.b", 2, "c").as_deref(), Some("a.c"));
        assert_eq!(resolve_relative("a", 1, "").as_deref(), Some("a"));
        assert_eq!(resolve_relative("", 1, "x"), None);
        assert_eq!(resolve_relative("a", 3, "x"), None);
    }

    #[test]
    fn reports_the_first_syntax_error_line() {
        let tree = SourceTree::new(
            "/app",
            vec![
                file("/app/ok.py", "x = 1\n"),
                file("/app/bad.py", "x = 1\ndef f(:\n    pass\n"),
            ],
        );
        assert_eq!(tree.module("ok").unwrap().syntax_error_line(), None);
        assert_eq!(tree.module("bad").unwrap().syntax_error_line(), Some(2));
    }
}
