//! Python's name binding rules, enough to say which names a module uses but never binds.
//!
//! One pass over the syntax tree builds the scopes (module, class, function, lambda,
//! comprehension) with what each binds and what each loads; loads are resolved afterwards, so a
//! name bound anywhere in a visible scope counts (no flow analysis: `NameError` only when the
//! name is bound nowhere, which is what `name 'init_db' is not defined` at import means).
//!
//! The rules followed: class scopes are invisible to the functions, lambdas and comprehensions
//! inside them; `global` sends a binding to the module and `nonlocal` to the enclosing function;
//! a comprehension's first iterable is evaluated in the enclosing scope and a walrus in a
//! comprehension binds in the enclosing function; parameters, `for`/`with`/`except ... as`,
//! imports, `def`, `class`, `match` captures and walrus targets bind. Annotations count as uses
//! where Python evaluates them (not under `from __future__ import annotations`, not on local
//! variables). A module with `from x import *` binds unknown names: nothing is reported for it.
//! Identifiers in regions the parser could not read are taken as bound, never as uses.
use super::builtins::is_builtin;
use super::syntax::{children, field_all, line, text};
use super::tree::Module;
use std::collections::{HashMap, HashSet};
use tree_sitter::Node;

/// How deep the binder follows nested syntax before giving up on a module.
const MAX_DEPTH: usize = 400;

/// What a module binds and which of its loads bind to nothing.
#[derive(Debug, Default)]
pub(crate) struct ModuleScope {
    /// Names bound at module level, including by `global` in functions and the identifiers of
    /// unreadable regions.
    pub bindings: HashSet<String>,
    /// The first line each module-level name is bound on (where known).
    pub bound_at: HashMap<String, u32>,
    /// Loads of names bound in no visible scope: (name, line), in source order.
    pub undefined: Vec<(String, u32)>,
    /// `from x import *` somewhere: the module binds names this analysis cannot know.
    pub star_import: bool,
    /// `globals()[name] = …` or `globals().update(…)`: the module binds names at run time.
    pub dynamic_globals: bool,
    /// The binder went too deep and stopped: bindings may be missing.
    pub truncated: bool,
    /// Strings of `__all__ = [...]` / `__all__ += [...]`: (name, line).
    pub all_names: Vec<(String, u32)>,
    /// Assignments to module names from functions under `global NAME`: name → lines.
    pub global_rebinds: HashMap<String, Vec<u32>>,
}

impl ModuleScope {
    /// Whether the module's bindings are all known (no star import, no writes through
    /// `globals()`, not truncated).
    pub(crate) fn complete(&self) -> bool {
        !self.star_import && !self.dynamic_globals && !self.truncated
    }

    /// Whether `name` is bound at module level, as far as can be known. A module with a star
    /// import or a module-level `__getattr__` may provide anything.
    pub(crate) fn may_bind(&self, name: &str) -> bool {
        !self.complete() || self.bindings.contains(name) || self.bindings.contains("__getattr__")
    }
}

/// Bind and resolve every name of `module`.
pub(crate) fn analyse(module: &Module) -> ModuleScope {
    let src = module.text();
    let mut b = Binder {
        src,
        scopes: vec![Scope::new(Kind::Module, None)],
        loads: Vec::new(),
        future_annotations: false,
        depth: 0,
        out: ModuleScope::default(),
    };
    b.visit(module.root(), 0);
    b.out.dynamic_globals = writes_globals(src);
    b.finish()
}

/// Whether the source binds module names through `globals()` (`globals()["x"] = 1`,
/// `globals().update(...)`, `globals().setdefault(...)`).
fn writes_globals(src: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    src.contains("globals()")
        && RE
            .get_or_init(|| {
                regex::Regex::new(
                    r"globals\(\)\s*(?:\[[^\]\n]*\]\s*=[^=]|\.(?:update|setdefault)\s*\()",
                )
                .expect("regex")
            })
            .is_match(src)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Module,
    Class,
    Function,
    Lambda,
    Comprehension,
}

#[derive(Debug)]
struct Scope {
    kind: Kind,
    parent: Option<usize>,
    bound: HashSet<String>,
    globals: HashSet<String>,
    nonlocals: HashSet<String>,
}

impl Scope {
    fn new(kind: Kind, parent: Option<usize>) -> Scope {
        Scope {
            kind,
            parent,
            bound: HashSet::new(),
            globals: HashSet::new(),
            nonlocals: HashSet::new(),
        }
    }
}

struct Binder<'s> {
    src: &'s str,
    scopes: Vec<Scope>,
    loads: Vec<(String, usize, u32)>,
    future_annotations: bool,
    depth: usize,
    out: ModuleScope,
}

impl<'s> Binder<'s> {
    fn new_scope(&mut self, kind: Kind, parent: usize) -> usize {
        self.scopes.push(Scope::new(kind, Some(parent)));
        self.scopes.len() - 1
    }

    fn bind(&mut self, name: &str, s: usize, at: u32) {
        let scope = &self.scopes[s];
        if scope.kind == Kind::Module || scope.globals.contains(name) {
            if scope.kind != Kind::Module {
                self.out
                    .global_rebinds
                    .entry(name.to_owned())
                    .or_default()
                    .push(at);
            }
            self.out.bindings.insert(name.to_owned());
            self.out.bound_at.entry(name.to_owned()).or_insert(at);
        }
        self.scopes[s].bound.insert(name.to_owned());
    }

    fn load(&mut self, node: Node, s: usize) {
        let name = text(node, self.src);
        if !name.is_empty() {
            self.loads.push((name.to_owned(), s, line(node)));
        }
    }

    /// The scope a walrus binds in: the nearest one that is not a comprehension.
    fn walrus_scope(&self, mut s: usize) -> usize {
        while self.scopes[s].kind == Kind::Comprehension {
            match self.scopes[s].parent {
                Some(p) => s = p,
                None => break,
            }
        }
        s
    }

    fn visit_all(&mut self, nodes: impl IntoIterator<Item = Node<'s>>, s: usize) {
        for n in nodes {
            self.visit(n, s);
        }
    }

    /// Visit a node evaluated in scope `s`.
    fn visit(&mut self, node: Node<'s>, s: usize) {
        if self.depth >= MAX_DEPTH {
            self.out.truncated = true;
            return;
        }
        self.depth += 1;
        self.visit_inner(node, s);
        self.depth -= 1;
    }

    fn visit_inner(&mut self, node: Node<'s>, s: usize) {
        if node.is_error() {
            self.bind_unreadable(node);
            return;
        }
        match node.kind() {
            "identifier" => self.load(node, s),
            "comment" | "string_start" | "string_content" | "string_end" | "escape_sequence" => {}
            "attribute" => {
                if let Some(obj) = node.child_by_field_name("object") {
                    self.visit(obj, s);
                }
            }
            "keyword_argument" => {
                if let Some(v) = node.child_by_field_name("value") {
                    self.visit(v, s);
                }
            }
            "dotted_name" => {
                if let Some(first) = children(node).first() {
                    self.load(*first, s);
                }
            }
            "member_type" => {
                if let Some(first) = children(node).first() {
                    self.visit(*first, s);
                }
            }
            "assignment" => self.assignment(node, s),
            // `a + b + c + ...` nests to the left: walk the spine without recursing, so a long
            // sum or string concatenation does not hit the depth bound.
            "binary_operator" | "boolean_operator" => {
                let mut rights = Vec::new();
                let mut cur = node;
                while matches!(cur.kind(), "binary_operator" | "boolean_operator") {
                    rights.extend(cur.child_by_field_name("right"));
                    match cur.child_by_field_name("left") {
                        Some(l) => cur = l,
                        None => break,
                    }
                }
                self.visit(cur, s);
                for r in rights.into_iter().rev() {
                    self.visit(r, s);
                }
            }
            "augmented_assignment" => {
                self.visit_all(node.child_by_field_name("right"), s);
                if let Some(left) = node.child_by_field_name("left") {
                    self.visit(left, s);
                    self.bind_target(left, s);
                }
            }
            "named_expression" => {
                self.visit_all(node.child_by_field_name("value"), s);
                if let Some(name) = node.child_by_field_name("name") {
                    let target = self.walrus_scope(s);
                    self.bind(text(name, self.src), target, line(name));
                }
            }
            "for_statement" => {
                self.visit_all(node.child_by_field_name("right"), s);
                if let Some(left) = node.child_by_field_name("left") {
                    self.bind_target(left, s);
                }
                self.visit_all(node.child_by_field_name("body"), s);
                self.visit_all(node.child_by_field_name("alternative"), s);
            }
            "as_pattern" => {
                for c in children(node) {
                    if c.kind() == "as_pattern_target" {
                        for t in children(c) {
                            self.bind_target(t, s);
                        }
                    } else {
                        self.visit(c, s);
                    }
                }
            }
            "function_definition" => self.function(node, s),
            "lambda" => self.lambda(node, s),
            "class_definition" => self.class(node, s),
            "list_comprehension"
            | "set_comprehension"
            | "generator_expression"
            | "dictionary_comprehension" => self.comprehension(node, s),
            "global_statement" => {
                for id in children(node) {
                    let name = text(id, self.src).to_owned();
                    self.scopes[s].globals.insert(name);
                }
            }
            "nonlocal_statement" => {
                for id in children(node) {
                    let name = text(id, self.src).to_owned();
                    self.scopes[s].nonlocals.insert(name);
                }
            }
            "import_statement" => {
                for name in field_all(node, "name") {
                    let (bound, at) = match name.kind() {
                        "aliased_import" => match name.child_by_field_name("alias") {
                            Some(a) => (text(a, self.src), line(a)),
                            None => continue,
                        },
                        // `import a.b.c` binds `a`.
                        _ => match children(name).first() {
                            Some(first) => (text(*first, self.src), line(*first)),
                            None => continue,
                        },
                    };
                    self.bind(bound, s, at);
                }
            }
            "import_from_statement" => {
                if children(node).iter().any(|c| c.kind() == "wildcard_import") {
                    self.out.star_import = true;
                }
                for name in field_all(node, "name") {
                    let bound = match name.kind() {
                        "aliased_import" => name.child_by_field_name("alias"),
                        _ => Some(name),
                    };
                    if let Some(b) = bound {
                        self.bind(text(b, self.src), s, line(b));
                    }
                }
            }
            "future_import_statement" => {
                if field_all(node, "name")
                    .iter()
                    .any(|n| text(*n, self.src) == "annotations")
                {
                    self.future_annotations = true;
                }
            }
            "match_statement" => {
                self.visit_all(field_all(node, "subject"), s);
                if let Some(body) = node.child_by_field_name("body") {
                    for case in field_all(body, "alternative") {
                        for c in children(case) {
                            match c.kind() {
                                "case_pattern" => self.pattern(c, s),
                                _ => self.visit(c, s),
                            }
                        }
                    }
                }
            }
            "type_alias_statement" => {
                if let Some(left) = node.child_by_field_name("left") {
                    let mut first = None;
                    super::syntax::walk(left, |n| {
                        if first.is_none() && n.kind() == "identifier" {
                            first = Some(n);
                        }
                        first.is_none()
                    });
                    if let Some(id) = first {
                        self.bind(text(id, self.src), s, line(id));
                    }
                }
                self.visit_all(node.child_by_field_name("right"), s);
            }
            _ => {
                let mut cursor = node.walk();
                let kids: Vec<Node<'s>> = node.named_children(&mut cursor).collect();
                self.visit_all(kids, s);
            }
        }
    }

    fn assignment(&mut self, node: Node<'s>, s: usize) {
        self.visit_all(node.child_by_field_name("right"), s);
        if let Some(ty) = node.child_by_field_name("type") {
            // Local variable annotations are never evaluated; module and class ones are.
            if self.scopes[s].kind != Kind::Function && !self.future_annotations {
                self.visit(ty, s);
            }
        }
        if let Some(left) = node.child_by_field_name("left") {
            self.bind_target(left, s);
            if self.scopes[s].kind == Kind::Module && text(left, self.src) == "__all__" {
                self.collect_all(node);
            }
        }
    }

    fn collect_all(&mut self, assignment: Node<'s>) {
        let Some(right) = assignment.child_by_field_name("right") else {
            return;
        };
        if matches!(right.kind(), "list" | "tuple") {
            for item in children(right) {
                if let Some(v) = super::syntax::string_value(item, self.src) {
                    self.out.all_names.push((v, line(item)));
                }
            }
        }
    }

    /// Bind what an assignment target binds; the objects of attribute and subscript targets
    /// are loads.
    fn bind_target(&mut self, node: Node<'s>, s: usize) {
        if self.depth >= MAX_DEPTH {
            self.out.truncated = true;
            return;
        }
        self.depth += 1;
        match node.kind() {
            "identifier" => self.bind(text(node, self.src), s, line(node)),
            "tuple"
            | "list"
            | "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "parenthesized_expression"
            | "list_splat_pattern"
            | "list_splat"
            | "as_pattern_target"
            | "expression_list" => {
                for c in children(node) {
                    self.bind_target(c, s);
                }
            }
            _ => self.visit(node, s),
        }
        self.depth -= 1;
    }

    /// A `case` pattern: captures bind, dotted names and class names are loads.
    fn pattern(&mut self, node: Node<'s>, s: usize) {
        if self.depth >= MAX_DEPTH {
            self.out.truncated = true;
            return;
        }
        self.depth += 1;
        match node.kind() {
            "identifier" => {
                if text(node, self.src) != "_" {
                    self.bind(text(node, self.src), s, line(node));
                }
            }
            "dotted_name" => {
                let parts = children(node);
                match parts.as_slice() {
                    [one] => self.pattern(*one, s),
                    [first, ..] => self.load(*first, s),
                    [] => {}
                }
            }
            "class_pattern" => {
                for (i, c) in children(node).into_iter().enumerate() {
                    if i == 0 && c.kind() == "dotted_name" {
                        if let Some(first) = children(c).first() {
                            self.load(*first, s);
                        }
                    } else {
                        self.pattern(c, s);
                    }
                }
            }
            "keyword_pattern" => {
                // `x=<pattern>`: `x` names an attribute, not a variable.
                for c in children(node).into_iter().skip(1) {
                    self.pattern(c, s);
                }
            }
            "dict_pattern" => {
                for c in children(node) {
                    if super::syntax::is_field(c, node, "key") && c.kind() == "dotted_name" {
                        if let Some(first) = children(c).first() {
                            self.load(*first, s);
                        }
                    } else {
                        self.pattern(c, s);
                    }
                }
            }
            "case_pattern" | "as_pattern" | "list_pattern" | "tuple_pattern" | "union_pattern"
            | "splat_pattern" => {
                for c in children(node) {
                    self.pattern(c, s);
                }
            }
            _ => self.visit(node, s),
        }
        self.depth -= 1;
    }

    /// Defaults, annotations and decorators belong to the enclosing scope; parameters and the
    /// body to the function's own.
    fn parameters(&mut self, params: Node<'s>, outer: usize, inner: usize) {
        for p in children(params) {
            match p.kind() {
                "identifier" => self.bind(text(p, self.src), inner, line(p)),
                "default_parameter" | "typed_default_parameter" => {
                    self.visit_all(p.child_by_field_name("value"), outer);
                    self.annotation(p.child_by_field_name("type"), outer);
                    if let Some(n) = p.child_by_field_name("name") {
                        self.bind_target(n, inner);
                    }
                }
                "typed_parameter" => {
                    self.annotation(p.child_by_field_name("type"), outer);
                    for c in children(p) {
                        if c.kind() != "type" {
                            self.bind_target(c, inner);
                        }
                    }
                }
                "list_splat_pattern" | "dictionary_splat_pattern" | "tuple_pattern" => {
                    for c in children(p) {
                        self.bind_target(c, inner);
                    }
                }
                _ => {}
            }
        }
    }

    fn annotation(&mut self, ty: Option<Node<'s>>, s: usize) {
        if let Some(ty) = ty
            && !self.future_annotations
        {
            self.visit(ty, s);
        }
    }

    fn function(&mut self, node: Node<'s>, s: usize) {
        if let Some(name) = node.child_by_field_name("name") {
            self.bind(text(name, self.src), s, line(name));
        }
        let f = self.new_scope(Kind::Function, s);
        if let Some(params) = node.child_by_field_name("parameters") {
            self.parameters(params, s, f);
        }
        self.annotation(node.child_by_field_name("return_type"), s);
        self.visit_all(node.child_by_field_name("body"), f);
    }

    fn lambda(&mut self, node: Node<'s>, s: usize) {
        let l = self.new_scope(Kind::Lambda, s);
        if let Some(params) = node.child_by_field_name("parameters") {
            self.parameters(params, s, l);
        }
        self.visit_all(node.child_by_field_name("body"), l);
    }

    fn class(&mut self, node: Node<'s>, s: usize) {
        if let Some(name) = node.child_by_field_name("name") {
            self.bind(text(name, self.src), s, line(name));
        }
        self.visit_all(node.child_by_field_name("superclasses"), s);
        let c = self.new_scope(Kind::Class, s);
        self.visit_all(node.child_by_field_name("body"), c);
    }

    fn comprehension(&mut self, node: Node<'s>, s: usize) {
        let c = self.new_scope(Kind::Comprehension, s);
        let mut first = true;
        for part in children(node) {
            match part.kind() {
                "for_in_clause" => {
                    let scope = if first { s } else { c };
                    first = false;
                    self.visit_all(field_all(part, "right"), scope);
                    if let Some(left) = part.child_by_field_name("left") {
                        self.bind_target(left, c);
                    }
                }
                _ => self.visit(part, c),
            }
        }
    }

    /// Identifiers in a region the parser could not read: assume they bind (at module level),
    /// so that nothing else in the module is reported for want of them.
    fn bind_unreadable(&mut self, node: Node<'s>) {
        let src = self.src;
        let mut names = Vec::new();
        super::syntax::walk(node, |n| {
            if n.kind() == "identifier" {
                names.push(text(n, src).to_owned());
            }
            true
        });
        for name in names {
            self.scopes[0].bound.insert(name.clone());
            self.out.bindings.insert(name);
        }
    }

    fn defined(&self, name: &str, start: usize) -> bool {
        if is_builtin(name) {
            return true;
        }
        let mut cur = Some(start);
        let mut first = true;
        while let Some(i) = cur {
            let sc = &self.scopes[i];
            if sc.kind == Kind::Module {
                return sc.bound.contains(name) || self.out.bindings.contains(name);
            }
            if sc.globals.contains(name) {
                return self.out.bindings.contains(name);
            }
            let visible = first || sc.kind != Kind::Class;
            if visible && sc.bound.contains(name) && !sc.nonlocals.contains(name) {
                return true;
            }
            first = false;
            cur = sc.parent;
        }
        false
    }

    fn finish(mut self) -> ModuleScope {
        if self.out.complete() {
            let loads = std::mem::take(&mut self.loads);
            for (name, s, at) in loads {
                if !self.defined(&name, s) {
                    self.out.undefined.push((name, at));
                }
            }
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::python::tree::{SourceFile, SourceTree};

    fn undefined(src: &str) -> Vec<(String, u32)> {
        let tree = SourceTree::new(
            "/app",
            vec![SourceFile {
                path: "/app/m.py".into(),
                text: src.into(),
            }],
        );
        analyse(tree.module("m").unwrap()).undefined
    }

    fn names(src: &str) -> Vec<String> {
        undefined(src).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn reports_an_unbound_call_with_its_line() {
        let src = "from utils.database import Session\n\ndef create_app():\n    init_db()\n    return Session\n";
        assert_eq!(undefined(src), [("init_db".to_owned(), 4)]);
    }

    #[test]
    fn later_bindings_and_builtins_count() {
        let src = "def f():\n    return g(len([]))\n\ndef g(x):\n    return x\n";
        assert!(names(src).is_empty());
    }

    #[test]
    fn comprehension_except_walrus_and_global_bind() {
        let src = "\
def f(items):
    out = [x * y for x in items for y in x if (z := y)]
    try:
        pass
    except ValueError as exc:
        print(exc, z)
    with open('f') as (a, b):
        print(a, b)
    for i, (j, *k) in items:
        print(i, j, k)
    return out

def setup():
    global ENGINE
    ENGINE = 1

def use():
    return ENGINE
";
        assert_eq!(names(src), Vec::<String>::new());
    }

    #[test]
    fn comprehension_variables_do_not_leak() {
        let src = "xs = [x for x in range(3)]\nprint(x)\n";
        assert_eq!(names(src), ["x"]);
    }

    #[test]
    fn class_scope_is_invisible_to_methods_but_not_to_its_body() {
        let src = "\
class A:
    size = 3
    double = size * 2
    def m(self):
        return size
";
        assert_eq!(undefined(src), [("size".to_owned(), 5)]);
    }

    #[test]
    fn nonlocal_and_closures() {
        let src = "\
def outer():
    count = 0
    def inner():
        nonlocal count
        count += 1
        return count
    return inner
";
        assert!(names(src).is_empty());
    }

    #[test]
    fn attributes_keywords_and_strings_are_not_names() {
        let src = "import os\nos.environ.get('X', default=value_missing)\nf'{os.sep}{nope}'\n";
        assert_eq!(names(src), ["value_missing", "nope"]);
    }

    #[test]
    fn lambda_params_and_defaults() {
        let src = "k = 1\nf = lambda a, b=k: a + b + c\n";
        assert_eq!(names(src), ["c"]);
    }

    #[test]
    fn names_bound_through_globals_are_not_reported() {
        let src = "for n in ('a', 'b'):\n    globals()[n] = n\nprint(a)\n";
        assert!(names(src).is_empty());
        let src = "globals().update(x=1)\nprint(x)\n";
        assert!(names(src).is_empty());
        let src = "print(globals()['y'])\nprint(z)\n";
        assert_eq!(names(src), ["z"], "reading globals() binds nothing");
    }

    #[test]
    fn star_import_gives_up() {
        let src = "from os.path import *\nprint(join('a', 'b'))\n";
        assert!(names(src).is_empty());
    }

    #[test]
    fn annotations_follow_python_rules() {
        let src = "def f(x: Missing) -> Other:\n    y: Local = 1\n    return y\n";
        assert_eq!(names(src), ["Missing", "Other"]);
        let src = "from __future__ import annotations\ndef f(x: Missing) -> Other:\n    return x\n";
        assert!(names(src).is_empty());
    }

    #[test]
    fn match_captures_bind_and_values_load() {
        let src = "\
def f(cmd):
    match cmd:
        case Point(x=0, y=yy) as p:
            return yy, p
        case [a, *rest]:
            return a, rest
        case Color.RED:
            return None
        case {'k': v, **kw}:
            return v, kw
";
        assert_eq!(names(src), ["Point", "Color"]);
    }

    #[test]
    fn dunders_and_all() {
        let src =
            "__all__ = ['f', 'ghost']\nprint(__name__, __file__)\ndef f():\n    return __class__\n";
        let tree = SourceTree::new(
            "/app",
            vec![SourceFile {
                path: "/app/m.py".into(),
                text: src.into(),
            }],
        );
        let scope = analyse(tree.module("m").unwrap());
        assert!(scope.undefined.is_empty());
        assert_eq!(
            scope.all_names,
            [("f".to_owned(), 1), ("ghost".to_owned(), 1)]
        );
    }

    #[test]
    fn unreadable_regions_bind_and_the_rest_still_resolves() {
        let src = "def f(:\n    return x\n\ndef g():\n    return missing_name\nclass A(\n";
        let found = names(src);
        assert!(found.contains(&"missing_name".to_owned()), "{found:?}");
    }

    #[test]
    fn long_sums_do_not_nest_the_binder() {
        let sum = format!(
            "x = {}\nprint(undefined_after_sum)\n",
            vec!["1"; 5000].join(" + ")
        );
        assert_eq!(names(&sum), ["undefined_after_sum"]);
    }

    #[test]
    fn global_rebinds_are_recorded() {
        let src = "engine = None\ndef get():\n    global engine\n    engine = object()\n    return engine\n";
        let tree = SourceTree::new(
            "/app",
            vec![SourceFile {
                path: "/app/m.py".into(),
                text: src.into(),
            }],
        );
        let scope = analyse(tree.module("m").unwrap());
        assert_eq!(scope.global_rebinds["engine"], [4]);
        assert_eq!(scope.bound_at["engine"], 1);
    }
}
