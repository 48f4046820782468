//! When a line of the app runs: while the worker imports it (a start-up failure), or only when
//! a function is called (a request, a job).
//!
//! An undefined name in module-level code, a decorator, a default value, or a function the
//! import calls (`app = create_app()`) stops every gunicorn worker from booting. The same name
//! inside a request handler is a 500 on that one route: a bug, not why the stack does not
//! start. Pre-flight reports the first at the rule's severity and the second as a warning that
//! says when it fails.
//!
//! "The import calls it" is read by name, across the modules a service runs: calls written
//! where they run at import, then the calls in the bodies of the functions so named, a few
//! levels deep. A name shared by two functions counts for both: the error is on the side of
//! saying a line runs at start. The trees are the python probe's own (parsed once).
use crate::probes::python::{Module, SourceTree};
use std::collections::{HashMap, HashSet};
use tree_sitter::Node;

/// How many levels of calls are followed from import-time code.
const MAX_DEPTH: usize = 6;

/// Where a line runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runs {
    AtImport,
    /// Only when this function is called.
    When(String),
}

/// The functions (by name) that run while the modules are imported.
#[derive(Debug, Default)]
pub struct Timing {
    at_import: HashSet<String>,
}

impl Timing {
    /// `roots`: functions the server itself calls at load (a gunicorn `module:create_app()`).
    pub fn new(tree: &SourceTree, roots: &[String]) -> Timing {
        // Per function name, the calls its bodies make; and the calls written at import time.
        let mut calls_of: HashMap<String, Vec<String>> = HashMap::new();
        let mut frontier: Vec<String> = roots.to_vec();
        for m in tree.modules() {
            let text = m.text();
            // Innermost enclosing function of each call, tracked on the walk's own stack.
            let mut stack: Vec<(Node, Option<usize>)> = vec![(m.root(), None)];
            let mut names: Vec<String> = Vec::new();
            while let Some((n, owner)) = stack.pop() {
                if let Some(c) = callee(n, text) {
                    match owner {
                        Some(i) => calls_of.entry(names[i].clone()).or_default().push(c),
                        None => frontier.push(c),
                    }
                }
                // The body of a `def` runs as that function; a lambda's, never here.
                let body: Option<(usize, Option<usize>)> = match n.kind() {
                    "function_definition" => {
                        let name = n
                            .child_by_field_name("name")
                            .map_or("?", |x| &text[x.byte_range()]);
                        names.push(name.to_owned());
                        n.child_by_field_name("body")
                            .map(|b| (b.id(), Some(names.len() - 1)))
                    }
                    "lambda" => n.child_by_field_name("body").map(|b| (b.id(), None)),
                    _ => None,
                };
                let mut cursor = n.walk();
                for c in n.children(&mut cursor) {
                    match body {
                        Some((id, Some(i))) if id == c.id() => stack.push((c, Some(i))),
                        Some((id, None)) if id == c.id() => {}
                        _ => stack.push((c, owner)),
                    }
                }
            }
        }
        let mut at_import: HashSet<String> = HashSet::new();
        for _ in 0..MAX_DEPTH {
            let mut next = Vec::new();
            for name in frontier {
                let Some(calls) = calls_of.get(&name) else {
                    continue;
                };
                if at_import.insert(name) {
                    next.extend(calls.iter().cloned());
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        Timing { at_import }
    }

    /// When the code at `file:line` runs (the first identifier `name` on that line, when given).
    pub fn runs(&self, tree: &SourceTree, file: &str, line: u32, name: Option<&str>) -> Runs {
        let Some(m) = tree.modules().find(|m| m.path() == file) else {
            return Runs::AtImport;
        };
        let Some(node) = identifier_at(m, line, name) else {
            return Runs::AtImport;
        };
        let text = m.text();
        let mut node = node;
        while let Some(parent) = node.parent() {
            if parent.kind() == "function_definition"
                && parent.child_by_field_name("body").is_some_and(|b| {
                    b.start_byte() <= node.start_byte() && node.end_byte() <= b.end_byte()
                })
            {
                let fname = parent
                    .child_by_field_name("name")
                    .map_or("?", |n| &text[n.byte_range()])
                    .to_owned();
                return if self.at_import.contains(&fname) {
                    Runs::AtImport
                } else {
                    Runs::When(fname)
                };
            }
            node = parent;
        }
        Runs::AtImport
    }
}

/// The first identifier on `line` (named `name`, when given).
fn identifier_at<'t>(m: &'t Module, line: u32, name: Option<&str>) -> Option<Node<'t>> {
    let row = line.saturating_sub(1) as usize;
    let text = m.text();
    let mut stack = vec![m.root()];
    while let Some(n) = stack.pop() {
        if n.start_position().row > row || n.end_position().row < row {
            continue;
        }
        if n.start_position().row == row
            && n.kind() == "identifier"
            && name.is_none_or(|want| &text[n.byte_range()] == want)
        {
            return Some(n);
        }
        let mut cursor = n.walk();
        let kids: Vec<Node> = n.children(&mut cursor).collect();
        stack.extend(kids.into_iter().rev());
    }
    None
}

/// The simple name a call calls (`f(...)`, `module.f(...)` → `f`).
fn callee(n: Node, text: &str) -> Option<String> {
    if n.kind() != "call" {
        return None;
    }
    let f = n.child_by_field_name("function")?;
    let f = match f.kind() {
        "attribute" => f.child_by_field_name("attribute")?,
        "identifier" => f,
        _ => return None,
    };
    Some(text[f.byte_range()].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::python::SourceFile;

    fn tree(files: &[(&str, &str)]) -> SourceTree {
        SourceTree::new(
            "/app",
            files
                .iter()
                .map(|(p, t)| SourceFile {
                    path: format!("/app/{p}"),
                    text: t.to_string(),
                })
                .collect(),
        )
    }

    const SERVER: &str = "\
from api import register
def create_app():
    init_db()
    register(app)

    @app.teardown_appcontext
    def shutdown(exception=None):
        cleanup()
    return app

def view():
    return missing_in_view()

@decorate(default_thing)
def other(x=default_value):
    pass

handler = lambda: in_lambda()

app = create_app()
";

    #[test]
    fn module_level_code_and_what_it_calls_run_at_import() {
        let t = tree(&[
            ("server.py", SERVER),
            ("api.py", "def register(app):\n    use(blueprint)\n"),
        ]);
        let timing = Timing::new(&t, &[]);
        let at = |line, name| timing.runs(&t, "/app/server.py", line, Some(name));
        assert_eq!(
            at(3, "init_db"),
            Runs::AtImport,
            "create_app() runs at import"
        );
        assert_eq!(at(8, "cleanup"), Runs::When("shutdown".into()));
        assert_eq!(at(12, "missing_in_view"), Runs::When("view".into()));
        assert_eq!(at(14, "default_thing"), Runs::AtImport, "decorators run");
        assert_eq!(at(15, "default_value"), Runs::AtImport, "defaults run");
        assert_eq!(
            timing.runs(&t, "/app/api.py", 2, Some("blueprint")),
            Runs::AtImport,
            "called from create_app, in another module"
        );
        assert!(!timing.at_import.contains("in_lambda"));
    }

    #[test]
    fn a_factory_the_server_calls_is_a_root() {
        let t = tree(&[("server.py", "def create_app():\n    init_db()\n")]);
        assert_eq!(
            Timing::new(&t, &[]).runs(&t, "/app/server.py", 2, Some("init_db")),
            Runs::When("create_app".into())
        );
        assert_eq!(
            Timing::new(&t, &["create_app".into()]).runs(&t, "/app/server.py", 2, None),
            Runs::AtImport
        );
    }
}
