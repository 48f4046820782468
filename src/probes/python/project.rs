//! What each module binds and imports, and how a name used in one module leads to the function,
//! value or module it means in another: the cross-module view every query shares.
//!
//! Resolution is static and bounded: it follows `from m import x` chains, `import a.b as c`,
//! attribute access on modules and simple aliases (`x = y`), at most [`MAX_HOPS`] steps; what it
//! cannot follow is [`Target::Unknown`], never a guess.
use super::Location;
use super::scope::{self, ModuleScope};
use super::syntax::{self, children, field_all, line, text};
use super::tree::{Module, SourceTree, resolve_relative};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use tree_sitter::Node;

/// The most resolution steps followed for one name.
pub(crate) const MAX_HOPS: usize = 12;

/// A function definition in the tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Func<'a> {
    pub module: &'a Module,
    pub def: Node<'a>,
}

impl<'a> Func<'a> {
    #[cfg(test)]
    pub(crate) fn name(&self) -> &'a str {
        self.def
            .child_by_field_name("name")
            .map_or("", |n| text(n, self.module.text()))
    }

    pub(crate) fn key(&self) -> (&'a str, usize) {
        (self.module.name(), self.def.id())
    }
}

/// What a name or expression stands for.
#[derive(Debug, Clone)]
pub(crate) enum Target<'a> {
    Function(Func<'a>),
    Class,
    /// The right-hand side of `name = value` in `module`, with the name.
    Value {
        module: &'a Module,
        name: String,
        value: Node<'a>,
    },
    /// A module by dotted name, in the tree or not.
    ModulePath(String),
    /// Something outside the tree: `flask.Flask`.
    External(String),
    /// Bound by something this analysis does not follow (a parameter, a loop variable, ...).
    Unknown,
    /// Bound nowhere.
    Unbound,
}

/// One name of a `from m import a as b`.
#[derive(Debug, Clone)]
pub(crate) struct ImportedName {
    pub name: String,
    pub alias: Option<String>,
    pub line: u32,
}

/// An import statement.
#[derive(Debug, Clone)]
pub(crate) enum ImportKind {
    /// `import a.b.c` (binds `a`) or `import a.b as c` (binds `c`).
    Module {
        module: String,
        alias: Option<String>,
    },
    /// `from m import x, y as z` / `from m import *`; `module` is absolute (`None` when a
    /// relative import climbs above the top).
    From {
        module: Option<String>,
        names: Vec<ImportedName>,
        star: bool,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Import<'a> {
    pub node: Node<'a>,
    pub line: u32,
    /// Runs when its module is imported (not in a function, not under `TYPE_CHECKING`).
    pub at_import: bool,
    /// Inside `try:` with a handler that catches `ImportError` (a deliberate fallback).
    pub guarded: bool,
    pub kind: ImportKind,
}

impl Import<'_> {
    /// The modules this statement, written in module `importer`, makes Python execute (not the
    /// parent packages it imports on the way). `from pkg import sub` written inside `pkg` does
    /// not run `pkg` again when every name is a submodule: `pkg` is already being imported.
    pub(crate) fn targets(&self, tree: &SourceTree, importer: &str) -> Vec<String> {
        match &self.kind {
            ImportKind::Module { module, .. } => vec![module.clone()],
            ImportKind::From {
                module,
                names,
                star,
            } => {
                let Some(m) = module else {
                    return Vec::new();
                };
                let subs: Vec<String> = names
                    .iter()
                    .map(|n| format!("{m}.{}", n.name))
                    .filter(|sub| tree.importable(sub))
                    .collect();
                let ancestor = importer.starts_with(&format!("{m}."));
                let only_submodules = !star && !names.is_empty() && subs.len() == names.len();
                let mut out = Vec::new();
                if !(ancestor && only_submodules) {
                    out.push(m.clone());
                }
                out.extend(subs);
                out
            }
        }
    }
}

/// A module-level binding site.
#[derive(Debug, Clone, Copy)]
enum Site<'a> {
    Function(Node<'a>),
    Class,
    Value(Node<'a>),
    Import(usize, usize),
}

/// The whole tree with what each module binds and imports.
pub(crate) struct Project<'a> {
    pub tree: &'a SourceTree,
    pub scopes: HashMap<&'a str, ModuleScope>,
    pub imports: HashMap<&'a str, Vec<Import<'a>>>,
    sites: HashMap<&'a str, HashMap<String, Vec<Site<'a>>>>,
    regions: HashMap<&'a str, Regions<'a>>,
    locals: RefCell<HashMap<(&'a str, usize), Rc<Locals<'a>>>>,
}

impl<'a> Project<'a> {
    pub(crate) fn new(tree: &'a SourceTree) -> Project<'a> {
        let mut scopes = HashMap::new();
        let mut imports = HashMap::new();
        let mut sites = HashMap::new();
        let mut regions = HashMap::new();
        for m in tree.modules() {
            scopes.insert(m.name(), scope::analyse(m));
            let r = Regions::of(m);
            let imps = collect_imports(m, &r);
            sites.insert(m.name(), collect_sites(m, &imps, &r));
            imports.insert(m.name(), imps);
            regions.insert(m.name(), r);
        }
        Project {
            tree,
            scopes,
            imports,
            sites,
            regions,
            locals: RefCell::new(HashMap::new()),
        }
    }

    pub(crate) fn scope(&self, module: &str) -> &ModuleScope {
        static EMPTY: std::sync::OnceLock<ModuleScope> = std::sync::OnceLock::new();
        self.scopes
            .get(module)
            .unwrap_or_else(|| EMPTY.get_or_init(ModuleScope::default))
    }

    pub(crate) fn imports(&self, module: &str) -> &[Import<'a>] {
        self.imports.get(module).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn location(&self, module: &Module, node: Node) -> Location {
        Location {
            file: module.path().to_owned(),
            line: line(node),
        }
    }

    /// What `name` means at the top level of `module`.
    fn resolve_name_hops(&self, module: &'a Module, name: &str, hops: usize) -> Target<'a> {
        if hops > MAX_HOPS {
            return Target::Unknown;
        }
        let Some(sites) = self.sites.get(module.name()).and_then(|s| s.get(name)) else {
            return if self.scope(module.name()).bindings.contains(name) {
                Target::Unknown
            } else {
                Target::Unbound
            };
        };
        let mut fallback = Target::Unknown;
        for site in sites {
            let t = match *site {
                Site::Function(def) => Target::Function(Func { module, def }),
                Site::Class => Target::Class,
                Site::Value(value) => match value.kind() {
                    "identifier" | "attribute" => self.resolve_expr_hops(module, value, hops + 1),
                    _ => Target::Value {
                        module,
                        name: name.to_owned(),
                        value,
                    },
                },
                Site::Import(i, j) => self.resolve_import(module, i, j, hops),
            };
            match t {
                Target::Unknown | Target::Unbound => {}
                Target::External(_) => fallback = t,
                _ => return t,
            }
        }
        fallback
    }

    fn resolve_import(&self, module: &'a Module, i: usize, j: usize, hops: usize) -> Target<'a> {
        let Some(imp) = self.imports(module.name()).get(i) else {
            return Target::Unknown;
        };
        match &imp.kind {
            ImportKind::Module { module: m, alias } => match alias {
                Some(_) => Target::ModulePath(m.clone()),
                None => Target::ModulePath(m.split('.').next().unwrap_or(m).to_owned()),
            },
            ImportKind::From {
                module: Some(m),
                names,
                ..
            } => {
                let Some(n) = names.get(j) else {
                    return Target::Unknown;
                };
                self.attribute(Target::ModulePath(m.clone()), &n.name, hops + 1)
            }
            ImportKind::From { module: None, .. } => Target::Unknown,
        }
    }

    /// `target.attr`: a submodule, a name bound in a module of the tree, or an outside name.
    fn attribute(&self, target: Target<'a>, attr: &str, hops: usize) -> Target<'a> {
        match target {
            Target::ModulePath(p) => {
                let sub = format!("{p}.{attr}");
                match self.tree.module(&p) {
                    Some(m) if self.scope(m.name()).bindings.contains(attr) => {
                        self.resolve_name_hops(m, attr, hops + 1)
                    }
                    _ if self.tree.importable(&sub) => Target::ModulePath(sub),
                    Some(m) if !self.scope(m.name()).complete() => Target::Unknown,
                    Some(_) => Target::Unbound,
                    None if self.tree.importable(&p) => Target::Unbound,
                    None => Target::External(sub),
                }
            }
            Target::External(p) => Target::External(format!("{p}.{attr}")),
            _ => Target::Unknown,
        }
    }

    /// What an identifier or attribute chain means at the top level of `module`.
    pub(crate) fn resolve_expr(&self, module: &'a Module, node: Node<'a>) -> Target<'a> {
        self.resolve_expr_hops(module, node, 0)
    }

    fn resolve_expr_hops(&self, module: &'a Module, node: Node<'a>, hops: usize) -> Target<'a> {
        if hops > MAX_HOPS {
            return Target::Unknown;
        }
        let src = module.text();
        match node.kind() {
            "identifier" => self.resolve_name_hops(module, text(node, src), hops),
            "attribute" => {
                let (Some(obj), Some(attr)) = (
                    node.child_by_field_name("object"),
                    node.child_by_field_name("attribute"),
                ) else {
                    return Target::Unknown;
                };
                let base = self.resolve_expr_hops(module, obj, hops + 1);
                self.attribute(base, text(attr, src), hops + 1)
            }
            _ => Target::Unknown,
        }
    }

    /// What `node` (an identifier or attribute chain) means where it is written: inside a
    /// function, its nested `def`s and local assignments come first (parameters are unknown),
    /// then the module.
    pub(crate) fn resolve_at(&self, module: &'a Module, node: Node<'a>) -> Target<'a> {
        let src = module.text();
        let head = {
            let mut h = node;
            while h.kind() == "attribute" {
                match h.child_by_field_name("object") {
                    Some(o) => h = o,
                    None => break,
                }
            }
            h
        };
        if head.kind() != "identifier" {
            return Target::Unknown;
        }
        let name = text(head, src);
        let mut scope = self.enclosing_function(module, node);
        while let Some(func) = scope {
            let local = self.locals(module, func).names.get(name).copied();
            match local {
                Some(Local::Function(def)) if head.id() == node.id() => {
                    return Target::Function(Func { module, def });
                }
                Some(Local::Value(value)) if head.id() == node.id() => {
                    return Target::Value {
                        module,
                        name: name.to_owned(),
                        value,
                    };
                }
                // `from m import f` inside the function: resolved like a module-level import.
                Some(Local::Import(stmt)) => {
                    let mut attrs = Vec::new();
                    let mut cur = node;
                    while cur.id() != head.id() {
                        let (Some(obj), Some(attr)) = (
                            cur.child_by_field_name("object"),
                            cur.child_by_field_name("attribute"),
                        ) else {
                            return Target::Unknown;
                        };
                        attrs.push(text(attr, src));
                        cur = obj;
                    }
                    let base = self.resolve_local_import(module, stmt, name);
                    return attrs
                        .into_iter()
                        .rev()
                        .fold(base, |t, attr| self.attribute(t, attr, 1));
                }
                Some(_) => return Target::Unknown,
                None => scope = self.enclosing_function(module, func),
            }
        }
        self.resolve_expr(module, node)
    }

    /// What `name`, bound by the import statement `stmt` written inside a function, stands for.
    fn resolve_local_import(&self, module: &'a Module, stmt: Node<'a>, name: &str) -> Target<'a> {
        for (i, imp) in self.imports(module.name()).iter().enumerate() {
            if imp.node.id() != stmt.id() {
                continue;
            }
            match &imp.kind {
                ImportKind::Module { module: m, alias } => {
                    let first = m.split('.').next().unwrap_or(m);
                    match alias {
                        Some(a) if a == name => return Target::ModulePath(m.clone()),
                        None if first == name => return Target::ModulePath(first.to_owned()),
                        _ => {}
                    }
                }
                ImportKind::From { names, .. } => {
                    if let Some(j) = names
                        .iter()
                        .position(|n| n.alias.as_deref().unwrap_or(&n.name) == name)
                    {
                        return self.resolve_import(module, i, j, 0);
                    }
                }
            }
        }
        Target::Unknown
    }

    /// The function definition `node` is written in (in its body), if any.
    pub(crate) fn enclosing_function(&self, module: &'a Module, node: Node) -> Option<Node<'a>> {
        self.regions.get(module.name())?.enclosing_function(node)
    }

    /// The class `node` is written in, if no function body comes between them.
    pub(crate) fn enclosing_class(&self, module: &'a Module, node: Node) -> Option<Node<'a>> {
        self.regions.get(module.name())?.enclosing_class(node)
    }

    /// The local bindings of `func`, computed once.
    fn locals(&self, module: &'a Module, func: Node<'a>) -> Rc<Locals<'a>> {
        let key = (module.name(), func.id());
        if let Some(l) = self.locals.borrow().get(&key) {
            return Rc::clone(l);
        }
        let l = Rc::new(Locals::of(module, func));
        self.locals.borrow_mut().insert(key, Rc::clone(&l));
        l
    }

    /// The function a call calls, when it is a function of the tree.
    pub(crate) fn callee(&self, module: &'a Module, call: Node<'a>) -> Option<Func<'a>> {
        let f = call.child_by_field_name("function")?;
        match self.resolve_at(module, f) {
            Target::Function(func) => Some(func),
            _ => None,
        }
    }

    /// Whether `module` binds `name` itself (a `def`, `class` or assignment), not by import.
    pub(crate) fn defines(&self, module: &str, name: &str) -> bool {
        self.sites
            .get(module)
            .and_then(|s| s.get(name))
            .is_some_and(|list| list.iter().any(|s| !matches!(s, Site::Import(..))))
    }

    /// Every module-level `name = value` of `module` whose value is a call (`bp = Blueprint(..)`).
    pub(crate) fn module_values(&self, module: &Module) -> Vec<(String, Node<'a>)> {
        let mut out = Vec::new();
        if let Some(sites) = self.sites.get(module.name()) {
            for (name, list) in sites {
                for s in list {
                    if let Site::Value(v) = s {
                        out.push((name.clone(), *v));
                    }
                }
            }
        }
        out.sort_by_key(|(_, v)| v.start_byte());
        out
    }
}

#[derive(Debug, Clone, Copy)]
enum Local<'a> {
    Function(Node<'a>),
    Value(Node<'a>),
    /// Bound by this import statement.
    Import(Node<'a>),
    Other,
}

/// What a function binds locally: name → first binding (nested `def`, `name = value`, or
/// something not followed). Names declared `global` are the module's and left out.
#[derive(Debug, Default)]
struct Locals<'a> {
    names: HashMap<String, Local<'a>>,
}

impl<'a> Locals<'a> {
    /// One walk over `func`'s body (nested functions' own bodies excluded).
    fn of(module: &'a Module, func: Node<'a>) -> Locals<'a> {
        let src = module.text();
        let mut names: HashMap<String, Local<'a>> = HashMap::new();
        let mut globals = Vec::new();
        let mut add = |name: &str, local: Local<'a>| {
            names.entry(name.to_owned()).or_insert(local);
        };
        if let Some(params) = func.child_by_field_name("parameters") {
            for p in syntax::parameter_names(params, src) {
                add(&p, Local::Other);
            }
        }
        let Some(body) = func.child_by_field_name("body") else {
            return Locals { names };
        };
        // Identifiers of a binding target (`a, (b, *c)`), not of attributes or subscripts.
        let targets = |t: Node<'a>, out: &mut Vec<Node<'a>>| {
            syntax::walk(t, |c| {
                if c.kind() == "identifier" {
                    out.push(c);
                }
                !matches!(c.kind(), "attribute" | "subscript")
            });
        };
        syntax::walk_body(body, |n| {
            let mut bound = Vec::new();
            match n.kind() {
                "global_statement" => {
                    globals.extend(children(n).into_iter().map(|c| text(c, src).to_owned()));
                }
                "function_definition" if n.id() != func.id() => {
                    if let Some(id) = n.child_by_field_name("name") {
                        add(text(id, src), Local::Function(n));
                    }
                }
                "class_definition" => bound.extend(n.child_by_field_name("name")),
                "assignment" => match n.child_by_field_name("left") {
                    Some(left) if left.kind() == "identifier" => {
                        let local = n
                            .child_by_field_name("right")
                            .map_or(Local::Other, |v| Local::Value(final_value(v)));
                        add(text(left, src), local);
                    }
                    Some(left) => targets(left, &mut bound),
                    None => {}
                },
                "augmented_assignment" => {
                    if let Some(left) = n.child_by_field_name("left") {
                        targets(left, &mut bound);
                    }
                }
                // Refers to the enclosing function's binding: not followed.
                "nonlocal_statement" => bound.extend(children(n)),
                "for_statement" | "for_in_clause" => {
                    if let Some(left) = n.child_by_field_name("left") {
                        targets(left, &mut bound);
                    }
                }
                "named_expression" => bound.extend(n.child_by_field_name("name")),
                "as_pattern_target" => targets(n, &mut bound),
                "import_statement" | "import_from_statement" => {
                    for name in imported_names(n, src) {
                        add(&name, Local::Import(n));
                    }
                }
                _ => {}
            }
            for b in bound {
                add(text(b, src), Local::Other);
            }
        });
        for g in globals {
            names.remove(&g);
        }
        Locals { names }
    }
}

/// The names an import statement binds.
fn imported_names(node: Node, src: &str) -> Vec<String> {
    field_all(node, "name")
        .into_iter()
        .filter_map(|n| match n.kind() {
            "aliased_import" => n
                .child_by_field_name("alias")
                .map(|a| text(a, src).to_owned()),
            _ if node.kind() == "import_statement" => {
                children(n).first().map(|f| text(*f, src).to_owned())
            }
            _ => Some(text(n, src).to_owned()),
        })
        .collect()
}

/// `c` for `a = b = c`.
fn final_value(mut v: Node) -> Node {
    while v.kind() == "assignment" {
        match v.child_by_field_name("right") {
            Some(r) => v = r,
            None => break,
        }
    }
    v
}

fn collect_imports<'a>(module: &'a Module, regions: &Regions<'a>) -> Vec<Import<'a>> {
    let src = module.text();
    let mut out = Vec::new();
    syntax::walk(module.root(), |n| {
        let kind = match n.kind() {
            "import_statement" => {
                let mut v = Vec::new();
                for name in field_all(n, "name") {
                    let (dotted, alias) = match name.kind() {
                        "aliased_import" => (
                            name.child_by_field_name("name"),
                            name.child_by_field_name("alias")
                                .map(|a| text(a, src).to_owned()),
                        ),
                        _ => (Some(name), None),
                    };
                    if let Some(d) = dotted {
                        v.push(ImportKind::Module {
                            module: text(d, src).to_owned(),
                            alias,
                        });
                    }
                }
                v
            }
            "import_from_statement" => {
                let module_name = n.child_by_field_name("module_name").and_then(|m| {
                    if m.kind() == "relative_import" {
                        let parts = children(m);
                        let level = parts
                            .iter()
                            .find(|p| p.kind() == "import_prefix")
                            .map_or(0, |p| text(*p, src).matches('.').count());
                        let rest = parts
                            .iter()
                            .find(|p| p.kind() == "dotted_name")
                            .map_or("", |p| text(*p, src));
                        resolve_relative(module.package(), level.max(1), rest)
                    } else {
                        Some(text(m, src).to_owned())
                    }
                });
                let star = children(n).iter().any(|c| c.kind() == "wildcard_import");
                let names = field_all(n, "name")
                    .into_iter()
                    .filter_map(|name| {
                        let (id, alias) = match name.kind() {
                            "aliased_import" => (
                                name.child_by_field_name("name")?,
                                name.child_by_field_name("alias")
                                    .map(|a| text(a, src).to_owned()),
                            ),
                            _ => (name, None),
                        };
                        Some(ImportedName {
                            name: text(id, src).to_owned(),
                            alias,
                            line: line(id),
                        })
                    })
                    .collect();
                vec![ImportKind::From {
                    module: module_name,
                    names,
                    star,
                }]
            }
            _ => return !n.is_error(),
        };
        let at_import = regions.runs_at_import(n);
        let guarded = regions.guarded(n);
        for k in kind {
            out.push(Import {
                node: n,
                line: line(n),
                at_import,
                guarded,
                kind: k,
            });
        }
        false
    });
    out
}

/// Whether a `try` statement has a handler that catches `ImportError`.
fn catches_import_error(try_stmt: Node, src: &str) -> bool {
    children(try_stmt).into_iter().any(|c| {
        c.kind() == "except_clause" && {
            let caught = exception_names(c, src);
            caught.is_empty()
                || caught.iter().any(|e| {
                    matches!(
                        e.as_str(),
                        "ImportError" | "ModuleNotFoundError" | "Exception" | "BaseException"
                    )
                })
        }
    })
}

/// What kind of code a region of a module is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegionKind {
    /// A function body (runs when called).
    Function,
    /// A lambda body.
    Lambda,
    /// A class body (runs at import, binds class attributes).
    Class,
    /// Under `if __name__ == "__main__":` or `if TYPE_CHECKING:` (never runs on import).
    Deferred,
    /// The body of a `try` that catches `ImportError` (a deliberate import fallback).
    ImportGuard,
}

#[derive(Debug, Clone, Copy)]
struct Region<'a> {
    start: usize,
    end: usize,
    kind: RegionKind,
    /// The `def`, `class`, `lambda`, `if` or `try` the region belongs to.
    owner: Node<'a>,
    parent: Option<usize>,
}

/// The nested regions of a module, so "which function is this node in" is a binary search rather
/// than a climb through `Node::parent` (which tree-sitter answers by searching from the root).
#[derive(Debug, Default)]
struct Regions<'a> {
    /// In source order (pre-order), so sorted by start.
    list: Vec<Region<'a>>,
}

impl<'a> Regions<'a> {
    fn of(module: &'a Module) -> Regions<'a> {
        let src = module.text();
        let mut list: Vec<Region<'a>> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        syntax::walk_ctx(module.root(), |v| {
            let Some(parent) = v.parent else {
                return true;
            };
            let kind = match (parent.kind(), v.field) {
                ("function_definition", Some("body")) => Some(RegionKind::Function),
                ("lambda", Some("body")) => Some(RegionKind::Lambda),
                ("class_definition", Some("body")) => Some(RegionKind::Class),
                ("if_statement", Some("consequence")) if syntax::deferred(parent, v.field, src) => {
                    Some(RegionKind::Deferred)
                }
                ("try_statement", Some("body")) if catches_import_error(parent, src) => {
                    Some(RegionKind::ImportGuard)
                }
                _ => None,
            };
            if let Some(kind) = kind {
                let start = v.node.start_byte();
                while open.last().is_some_and(|&i| list[i].end <= start) {
                    open.pop();
                }
                list.push(Region {
                    start,
                    end: v.node.end_byte(),
                    kind,
                    owner: parent,
                    parent: open.last().copied(),
                });
                open.push(list.len() - 1);
            }
            true
        });
        Regions { list }
    }

    /// The regions containing `node`, innermost first.
    fn chain(&self, node: Node) -> impl Iterator<Item = &Region<'a>> {
        let (s, e) = (node.start_byte(), node.end_byte());
        let mut cur = self.list.partition_point(|r| r.start <= s).checked_sub(1);
        // The innermost region containing the node is the last one starting before it, or one
        // of that one's ancestors.
        while let Some(i) = cur {
            let r = &self.list[i];
            if r.start <= s && e <= r.end {
                break;
            }
            cur = r.parent;
        }
        std::iter::successors(cur, |&i| self.list[i].parent).map(|i| &self.list[i])
    }

    fn enclosing_function(&self, node: Node) -> Option<Node<'a>> {
        self.chain(node)
            .find(|r| r.kind == RegionKind::Function)
            .map(|r| r.owner)
    }

    fn enclosing_class(&self, node: Node) -> Option<Node<'a>> {
        self.chain(node)
            .find(|r| {
                matches!(
                    r.kind,
                    RegionKind::Function | RegionKind::Lambda | RegionKind::Class
                )
            })
            .filter(|r| r.kind == RegionKind::Class)
            .map(|r| r.owner)
    }

    fn runs_at_import(&self, node: Node) -> bool {
        !self.chain(node).any(|r| {
            matches!(
                r.kind,
                RegionKind::Function | RegionKind::Lambda | RegionKind::Deferred
            )
        })
    }

    fn guarded(&self, node: Node) -> bool {
        self.chain(node)
            .take_while(|r| !matches!(r.kind, RegionKind::Function | RegionKind::Lambda))
            .any(|r| r.kind == RegionKind::ImportGuard)
    }
}

/// The exception class names an `except` clause names (empty for a bare `except:`).
pub(crate) fn exception_names(clause: Node, src: &str) -> Vec<String> {
    let Some(value) = children(clause).into_iter().find(|c| c.kind() != "block") else {
        return Vec::new();
    };
    let value = if value.kind() == "as_pattern" {
        children(value).into_iter().next().unwrap_or(value)
    } else {
        value
    };
    let items = match value.kind() {
        "tuple" | "parenthesized_expression" => children(value),
        _ => vec![value],
    };
    items
        .into_iter()
        .filter_map(|i| syntax::dotted(i, src))
        .map(|d| syntax::last_segment(&d).to_owned())
        .collect()
}

fn collect_sites<'a>(
    module: &'a Module,
    imports: &[Import<'a>],
    regions: &Regions<'a>,
) -> HashMap<String, Vec<Site<'a>>> {
    let src = module.text();
    let mut sites: HashMap<String, Vec<Site<'a>>> = HashMap::new();
    let mut add = |name: &str, site| sites.entry(name.to_owned()).or_default().push(site);
    for stmt in syntax::module_statements(module.root(), src) {
        let def = syntax::undecorated(stmt);
        match def.kind() {
            "function_definition" => {
                if let Some(n) = def.child_by_field_name("name") {
                    add(text(n, src), Site::Function(def));
                }
            }
            "class_definition" => {
                if let Some(n) = def.child_by_field_name("name") {
                    add(text(n, src), Site::Class);
                }
            }
            "expression_statement" => {
                for a in children(def) {
                    if a.kind() != "assignment" {
                        continue;
                    }
                    let value = a.child_by_field_name("right").map(final_value);
                    let mut cur = Some(a);
                    while let Some(asg) = cur.filter(|c| c.kind() == "assignment") {
                        if let (Some(left), Some(v)) = (asg.child_by_field_name("left"), value)
                            && left.kind() == "identifier"
                        {
                            add(text(left, src), Site::Value(v));
                        }
                        cur = asg.child_by_field_name("right");
                    }
                }
            }
            _ => {}
        }
    }
    for (i, imp) in imports.iter().enumerate() {
        if !imp.at_import || regions.enclosing_class(imp.node).is_some() {
            continue;
        }
        match &imp.kind {
            ImportKind::Module { module: m, alias } => {
                let bound = alias
                    .clone()
                    .unwrap_or_else(|| m.split('.').next().unwrap_or(m).to_owned());
                add(&bound, Site::Import(i, 0));
            }
            ImportKind::From { names, .. } => {
                for (j, n) in names.iter().enumerate() {
                    add(n.alias.as_deref().unwrap_or(&n.name), Site::Import(i, j));
                }
            }
        }
    }
    sites
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::probes::python::tree::SourceFile;

    pub(crate) fn tree(files: &[(&str, &str)]) -> SourceTree {
        SourceTree::new(
            "/app",
            files
                .iter()
                .map(|(p, t)| SourceFile {
                    path: format!("/app/{p}"),
                    text: (*t).to_owned(),
                })
                .collect(),
        )
    }

    fn first_call<'a>(m: &'a Module, name: &str) -> Node<'a> {
        let mut found = None;
        syntax::walk(m.root(), |n| {
            if found.is_none()
                && n.kind() == "call"
                && syntax::callee(n, m.text()).as_deref() == Some(name)
            {
                found = Some(n);
            }
            true
        });
        found.unwrap()
    }

    #[test]
    fn follows_from_imports_and_module_attributes() {
        let t = tree(&[
            ("utils/__init__.py", ""),
            (
                "utils/app_globals.py",
                "from utils.database import init_db\ndef initialize_app():\n    init_db()\n",
            ),
            ("utils/database.py", "def init_db():\n    pass\n"),
            (
                "server.py",
                "from utils import app_globals\nfrom flask import Flask\napp_globals.initialize_app()\nFlask(__name__)\n",
            ),
        ]);
        let p = Project::new(&t);
        let server = t.module("server").unwrap();
        let f = p
            .callee(server, first_call(server, "app_globals.initialize_app"))
            .unwrap();
        assert_eq!(f.name(), "initialize_app");
        assert_eq!(f.module.name(), "utils.app_globals");
        let globals = t.module("utils.app_globals").unwrap();
        let g = p.callee(globals, first_call(globals, "init_db")).unwrap();
        assert_eq!(g.module.name(), "utils.database");
        let flask = first_call(server, "Flask");
        match p.resolve_expr(server, flask.child_by_field_name("function").unwrap()) {
            Target::External(e) => assert_eq!(e, "flask.Flask"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn imports_inside_a_function_resolve_like_module_level_ones() {
        let t = tree(&[
            ("utils/__init__.py", ""),
            ("utils/database.py", "def init_db():\n    pass\n"),
            (
                "server.py",
                "def create_app():\n    from utils.database import init_db as setup\n    import utils.database\n    setup()\n    utils.database.init_db()\n",
            ),
        ]);
        let p = Project::new(&t);
        let m = t.module("server").unwrap();
        for call in ["setup", "utils.database.init_db"] {
            let f = p.callee(m, first_call(m, call)).unwrap();
            assert_eq!(f.name(), "init_db", "{call}");
            assert_eq!(f.module.name(), "utils.database", "{call}");
        }
    }

    #[test]
    fn locals_shadow_module_names() {
        let t = tree(&[(
            "m.py",
            "def helper():\n    pass\ndef f(helper2):\n    def helper():\n        pass\n    helper()\n    helper2()\n",
        )]);
        let p = Project::new(&t);
        let m = t.module("m").unwrap();
        let f = p.callee(m, first_call(m, "helper")).unwrap();
        assert_eq!(syntax::line(f.def), 4);
        assert!(p.callee(m, first_call(m, "helper2")).is_none());
    }

    #[test]
    fn imports_know_where_they_run() {
        let t = tree(&[(
            "pkg/mod.py",
            "import os\nfrom . import sibling\nfrom ..up import x\ntry:\n    import ujson as json\nexcept ImportError:\n    import json\ndef f():\n    from pkg import late\nif TYPE_CHECKING:\n    from pkg import types\n",
        )]);
        let p = Project::new(&t);
        let imps = p.imports("pkg.mod");
        let summary: Vec<_> = imps
            .iter()
            .map(|i| {
                let m = match &i.kind {
                    ImportKind::Module { module, .. } => module.clone(),
                    ImportKind::From { module, .. } => module.clone().unwrap_or_else(|| "?".into()),
                };
                (m, i.at_import, i.guarded)
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("os".to_owned(), true, false),
                ("pkg".to_owned(), true, false),
                ("?".to_owned(), true, false),
                ("ujson".to_owned(), true, true),
                ("json".to_owned(), true, false),
                ("pkg".to_owned(), false, false),
                ("pkg".to_owned(), false, false),
            ]
        );
    }
}
