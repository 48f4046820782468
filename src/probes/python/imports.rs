//! Questions about imports between the project's modules: a name imported from a module that
//! does not bind it (`ImportError: cannot import name 'Session'`), cycles among module-level
//! imports (`partially initialized module`), and a `None` copied out of a module before the
//! function that sets it ran (`'NoneType' object has no attribute 'begin'`).
use super::project::{ImportKind, Project};
use super::{ImportCycle, Location, MissingImport, NoneRebound};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// The most close names offered for a missing one.
const MAX_NEARBY: usize = 5;

/// `from X import Y` where X is a module of the tree that binds no `Y` and has no submodule
/// `Y`. Imports inside `try: ... except ImportError` are deliberate fallbacks and are left out;
/// so are modules that may bind anything (`from z import *`, a module-level `__getattr__`).
pub(crate) fn missing_imports(p: &Project) -> Vec<MissingImport> {
    let mut out = Vec::new();
    for m in p.tree.modules() {
        for imp in p.imports(m.name()) {
            let ImportKind::From {
                module: Some(target),
                names,
                star: false,
            } = &imp.kind
            else {
                continue;
            };
            if imp.guarded || p.tree.module(target).is_none() {
                continue;
            }
            let scope = p.scope(target);
            for n in names {
                let submodule = format!("{target}.{}", n.name);
                if scope.may_bind(&n.name) || p.tree.importable(&submodule) {
                    continue;
                }
                out.push(MissingImport {
                    module: target.clone(),
                    name: n.name.clone(),
                    at: Location {
                        file: m.path().to_owned(),
                        line: n.line,
                    },
                    defined_nearby: nearby(
                        &n.name,
                        scope
                            .bindings
                            .iter()
                            .map(|b| (b.as_str(), p.defines(target, b))),
                    ),
                });
            }
        }
    }
    out
}

/// Names among `candidates` (name, defined by the module itself rather than imported) close to
/// `name`: one contains the other, or few edits apart. A renamed export is most likely defined
/// in the module and still contains the old name (`Session` → `ScopedSession`), so those come
/// first, then by edit distance.
pub(crate) fn nearby<'c>(
    name: &str,
    candidates: impl Iterator<Item = (&'c str, bool)>,
) -> Vec<String> {
    let lower = name.to_lowercase();
    let mut scored: Vec<(bool, bool, usize, String)> = candidates
        .filter(|(c, _)| *c != name)
        .filter_map(|(c, defined)| {
            let cl = c.to_lowercase();
            let d = strsim::levenshtein(&lower, &cl);
            let contains =
                lower.len() >= 3 && cl.len() >= 3 && (cl.contains(&lower) || lower.contains(&cl));
            let exact_part = c.contains(name) || name.contains(c);
            (contains || d <= (lower.len() / 3).max(1))
                .then(|| (!defined, !exact_part, d, c.to_owned()))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(MAX_NEARBY)
        .map(|(_, _, _, c)| c)
        .collect()
}

/// Cycles among the modules of the tree through imports that run at import time (imports in
/// functions run later and do not count). One cycle per strongly connected group, starting at
/// its first module by name, with the import line that leads to the next module.
pub(crate) fn import_cycles(p: &Project) -> Vec<ImportCycle> {
    // Edges m -> t with the first import line, in name order for stable output.
    let mut edges: BTreeMap<&str, BTreeMap<String, Location>> = BTreeMap::new();
    for m in p.tree.modules() {
        let out = edges.entry(m.name()).or_default();
        for imp in p.imports(m.name()).iter().filter(|i| i.at_import) {
            for t in imp.targets(p.tree, m.name()) {
                if t != m.name() && p.tree.module(&t).is_some() {
                    out.entry(t).or_insert_with(|| Location {
                        file: m.path().to_owned(),
                        line: imp.line,
                    });
                }
            }
        }
    }
    let names: Vec<&str> = edges.keys().copied().collect();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let adj: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            edges[n]
                .keys()
                .filter_map(|t| index.get(t.as_str()).copied())
                .collect()
        })
        .collect();
    let mut cycles = Vec::new();
    for group in strongly_connected(&adj) {
        if group.len() < 2 {
            continue;
        }
        let members: BTreeSet<usize> = group.iter().copied().collect();
        let Some(&start) = members.first() else {
            continue;
        };
        let Some(path) = shortest_cycle(&adj, &members, start) else {
            continue;
        };
        let modules: Vec<String> = path.iter().map(|&i| names[i].to_owned()).collect();
        let at = path
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let next = names[path[(k + 1) % path.len()]];
                edges[names[i]][next].clone()
            })
            .collect();
        cycles.push(ImportCycle { modules, at });
    }
    cycles.sort_by(|a, b| a.modules.cmp(&b.modules));
    cycles
}

/// Tarjan's algorithm, iterative (no recursion depth to worry about).
fn strongly_connected(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut groups = Vec::new();
    let mut next = 0usize;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = work.last_mut() {
            if let Some(&w) = adj[v].get(*i) {
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut group = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    group.push(w);
                    if w == v {
                        break;
                    }
                }
                groups.push(group);
            }
        }
    }
    groups
}

/// The shortest path `start -> ... -> start` inside `members` (breadth first).
fn shortest_cycle(
    adj: &[Vec<usize>],
    members: &BTreeSet<usize>,
    start: usize,
) -> Option<Vec<usize>> {
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &adj[v] {
            if !members.contains(&w) {
                continue;
            }
            if w == start {
                let mut path = vec![v];
                let mut cur = v;
                while cur != start {
                    cur = prev[&cur];
                    path.push(cur);
                }
                path.reverse();
                return Some(path);
            }
            if w != start && !prev.contains_key(&w) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    None
}

/// Module M binds `NAME = None` at top level, a function of M rebinds it under `global NAME`,
/// and another module copies it with a module-level `from M import NAME`: the copy stays `None`.
/// (A `from M import NAME` inside a function runs later and gets the new value.)
pub(crate) fn none_rebound(p: &Project) -> Vec<NoneRebound> {
    let mut out = Vec::new();
    for m in p.tree.modules() {
        let scope = p.scope(m.name());
        let mut seen = std::collections::HashSet::new();
        let values = p.module_values(m);
        for (name, value) in &values {
            let (name, value) = (name.clone(), *value);
            if value.kind() != "none" || !seen.insert(name.clone()) {
                continue;
            }
            // Bound again at module level (`engine = create_engine(...)` further down): an
            // importer copies that value, not the None.
            if values.iter().any(|(n, v)| {
                *n == name && v.start_byte() > value.start_byte() && v.kind() != "none"
            }) {
                continue;
            }
            let Some(rebound) = scope.global_rebinds.get(&name).and_then(|l| l.first()) else {
                continue;
            };
            let mut imported_at = Vec::new();
            for other in p.tree.modules().filter(|o| o.name() != m.name()) {
                for imp in p.imports(other.name()).iter().filter(|i| i.at_import) {
                    if let ImportKind::From {
                        module: Some(src),
                        names,
                        ..
                    } = &imp.kind
                        && src == m.name()
                    {
                        imported_at.extend(names.iter().filter(|n| n.name == name).map(|n| {
                            Location {
                                file: other.path().to_owned(),
                                line: n.line,
                            }
                        }));
                    }
                }
            }
            if imported_at.is_empty() {
                continue;
            }
            out.push(NoneRebound {
                module: m.name().to_owned(),
                name: name.clone(),
                bound_at: p.location(m, value),
                rebound_at: Location {
                    file: m.path().to_owned(),
                    line: *rebound,
                },
                imported_at,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::python::project::tests::tree;

    #[test]
    fn missing_name_with_close_alternatives() {
        let t = tree(&[
            ("utils/__init__.py", ""),
            (
                "utils/database.py",
                "SessionFactory = 1\nScopedSession = 2\nengine = None\n",
            ),
            (
                "app.py",
                "from utils.database import Session, engine\nfrom utils import database\nfrom flask import Nope\n",
            ),
        ]);
        let p = Project::new(&t);
        let missing = missing_imports(&p);
        assert_eq!(missing.len(), 1, "{missing:?}");
        assert_eq!(missing[0].module, "utils.database");
        assert_eq!(missing[0].name, "Session");
        assert_eq!(missing[0].at.line, 1);
        assert_eq!(
            missing[0].defined_nearby,
            ["ScopedSession", "SessionFactory"]
        );
    }

    #[test]
    fn nearby_prefers_own_definitions_containing_the_name() {
        let got = nearby(
            "Session",
            [
                ("sessionmaker", false),
                ("SessionFactory", true),
                ("ScopedSession", true),
                ("session", true),
                ("engine", true),
            ]
            .into_iter(),
        );
        assert_eq!(
            got,
            ["ScopedSession", "SessionFactory", "session", "sessionmaker"]
        );
    }

    #[test]
    fn star_getattr_guarded_and_global_bindings_are_not_missing() {
        let t = tree(&[
            ("a.py", "from os.path import *\n"),
            ("b.py", "def __getattr__(name):\n    return name\n"),
            ("c.py", "def setup():\n    global conn\n    conn = 1\n"),
            (
                "user.py",
                "from a import join\nfrom b import anything\nfrom c import conn\ntry:\n    from a import fast\nexcept ImportError:\n    fast = None\n",
            ),
        ]);
        let p = Project::new(&t);
        assert!(missing_imports(&p).is_empty());
    }

    #[test]
    fn cycles_count_only_import_time_imports() {
        let t = tree(&[
            ("a.py", "import b\n"),
            ("b.py", "from c import x\n"),
            ("c.py", "from a import y\nx = 1\n"),
            ("d.py", "import e\n"),
            ("e.py", "def f():\n    import d\n"),
        ]);
        let p = Project::new(&t);
        let cycles = import_cycles(&p);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert_eq!(cycles[0].modules, ["a", "b", "c"]);
        let lines: Vec<_> = cycles[0]
            .at
            .iter()
            .map(|l| (l.file.as_str(), l.line))
            .collect();
        assert_eq!(
            lines,
            [("/app/a.py", 1), ("/app/b.py", 1), ("/app/c.py", 1)]
        );
    }

    #[test]
    fn a_package_importing_its_submodules_is_no_cycle() {
        let t = tree(&[
            ("api/__init__.py", "from api.health import bp\n"),
            ("api/health.py", "from api.other import x\nbp = 1\n"),
            ("api/other.py", "x = 1\n"),
        ]);
        assert!(import_cycles(&Project::new(&t)).is_empty());
    }

    #[test]
    fn a_submodule_importing_a_sibling_through_its_package_is_no_cycle() {
        let t = tree(&[
            ("pkg/__init__.py", "from pkg.a import x\n"),
            ("pkg/a.py", "from pkg import b\nx = 1\n"),
            ("pkg/b.py", "y = 2\n"),
        ]);
        assert!(import_cycles(&Project::new(&t)).is_empty());
        // Taking a name (not a submodule) from the package that is still running is a cycle.
        let t = tree(&[
            ("pkg/__init__.py", "from pkg.a import x\nCONFIG = 1\n"),
            ("pkg/a.py", "from pkg import CONFIG\nx = 1\n"),
        ]);
        let cycles = import_cycles(&Project::new(&t));
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].modules, ["pkg", "pkg.a"]);
    }

    #[test]
    fn none_copied_before_rebinding() {
        let t = tree(&[
            (
                "db.py",
                "engine = None\ndef init():\n    global engine\n    engine = make()\n",
            ),
            ("user.py", "from db import engine\n"),
            (
                "late.py",
                "def f():\n    from db import engine\n    return engine\n",
            ),
        ]);
        let p = Project::new(&t);
        let found = none_rebound(&p);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "engine");
        assert_eq!(found[0].bound_at.line, 1);
        assert_eq!(found[0].rebound_at.line, 4);
        assert_eq!(found[0].imported_at.len(), 1);
        assert_eq!(found[0].imported_at[0].file, "/app/user.py");
    }

    #[test]
    fn none_never_rebound_is_not_reported() {
        let t = tree(&[
            ("db.py", "engine = None\n"),
            ("user.py", "from db import engine\n"),
        ]);
        assert!(none_rebound(&Project::new(&t)).is_empty());
    }
}
