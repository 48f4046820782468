//! Small questions asked of tree-sitter nodes over and over: a node's text and line, the dotted
//! name a call calls, the value of a string literal, and which code runs when a module is
//! imported.
//!
//! Walks here are iterative (a tree cursor), so a deeply nested file cannot exhaust the stack,
//! and hand each node its parent and field from the cursor: tree-sitter's `Node::parent` searches
//! down from the root, so calling it per node makes a walk quadratic.
use tree_sitter::Node;

/// The text of `node` (empty if the range is not on character boundaries, which tree-sitter
/// ranges always are).
pub(crate) fn text<'s>(node: Node, src: &'s str) -> &'s str {
    src.get(node.byte_range()).unwrap_or("")
}

/// The 1-based line `node` starts on.
pub(crate) fn line(node: Node) -> u32 {
    u32::try_from(node.start_position().row)
        .unwrap_or(u32::MAX - 1)
        .saturating_add(1)
}

/// Named children without comments (comments are "extras" that may sit anywhere).
pub(crate) fn children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .collect()
}

/// The children in field `name` (a field may hold several nodes).
pub(crate) fn field_all<'t>(node: Node<'t>, name: &str) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.children_by_field_name(name, &mut cursor)
        .filter(|c| c.is_named() && c.kind() != "comment")
        .collect()
}

/// Whether `node` is the child in `field` of `parent`.
pub(crate) fn is_field(node: Node, parent: Node, field: &str) -> bool {
    parent
        .child_by_field_name(field)
        .is_some_and(|c| c.id() == node.id())
}

/// Visit `root` and its descendants depth first, in source order. `visit` returns whether to
/// descend into the node it was given.
pub(crate) fn walk<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>) -> bool) {
    let mut cursor = root.walk();
    let mut descend = visit(cursor.node());
    loop {
        if descend && cursor.goto_first_child() {
            descend = visit(cursor.node());
            continue;
        }
        loop {
            if cursor.node().id() == root.id() {
                return;
            }
            if cursor.goto_next_sibling() {
                descend = visit(cursor.node());
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// A node met by [`walk_ctx`], with its parent and the field it fills there.
#[derive(Clone, Copy)]
pub(crate) struct Visit<'t> {
    pub node: Node<'t>,
    pub parent: Option<Node<'t>>,
    pub field: Option<&'static str>,
}

/// Like [`walk`], telling each node its parent and field.
pub(crate) fn walk_ctx<'t>(root: Node<'t>, mut visit: impl FnMut(Visit<'t>) -> bool) {
    let mut cursor = root.walk();
    let mut parents: Vec<Node<'t>> = Vec::new();
    let mut descend = visit(Visit {
        node: root,
        parent: None,
        field: None,
    });
    loop {
        if descend {
            let here = cursor.node();
            if cursor.goto_first_child() {
                parents.push(here);
                descend = visit(Visit {
                    node: cursor.node(),
                    parent: Some(here),
                    field: cursor.field_name(),
                });
                continue;
            }
        }
        loop {
            if parents.is_empty() {
                return;
            }
            if cursor.goto_next_sibling() {
                descend = visit(Visit {
                    node: cursor.node(),
                    parent: parents.last().copied(),
                    field: cursor.field_name(),
                });
                break;
            }
            cursor.goto_parent();
            parents.pop();
        }
    }
}

/// `foo` for `foo(...)`, `a.b.c` for `a.b.c(...)`; `None` for anything else (`x()()`, `d[k]()`).
pub(crate) fn dotted(node: Node, src: &str) -> Option<String> {
    let mut parts = Vec::new();
    let mut cur = node;
    loop {
        match cur.kind() {
            "identifier" => {
                parts.push(text(cur, src));
                break;
            }
            "attribute" => {
                parts.push(text(cur.child_by_field_name("attribute")?, src));
                cur = cur.child_by_field_name("object")?;
            }
            _ => return None,
        }
    }
    parts.reverse();
    Some(parts.join("."))
}

/// The last part of a dotted name: `commit` for `db.session.commit`.
pub(crate) fn last_segment(dotted: &str) -> &str {
    dotted.rsplit('.').next().unwrap_or(dotted)
}

/// The value of a plain string literal (no f-string interpolation), implicit concatenation and
/// parentheses included. Escapes are kept as written.
pub(crate) fn string_value(node: Node, src: &str) -> Option<String> {
    let mut node = node;
    while node.kind() == "parenthesized_expression" {
        match children(node).as_slice() {
            [one] => node = *one,
            _ => return None,
        }
    }
    match node.kind() {
        "string" => {
            let mut out = String::new();
            for c in children(node) {
                match c.kind() {
                    "string_content" => out.push_str(text(c, src)),
                    "interpolation" => return None,
                    _ => {}
                }
            }
            Some(out)
        }
        "concatenated_string" => children(node)
            .into_iter()
            .map(|c| string_value(c, src))
            .collect(),
        _ => None,
    }
}

/// A call's positional arguments and keyword arguments (`name`, value).
pub(crate) struct CallArgs<'t> {
    pub positional: Vec<Node<'t>>,
    pub keywords: Vec<(String, Node<'t>)>,
}

impl<'t> CallArgs<'t> {
    pub(crate) fn of(call: Node<'t>, src: &str) -> CallArgs<'t> {
        let mut args = CallArgs {
            positional: Vec::new(),
            keywords: Vec::new(),
        };
        let Some(list) = call.child_by_field_name("arguments") else {
            return args;
        };
        if list.kind() != "argument_list" {
            // `f(x for x in y)`: a lone generator argument.
            args.positional.push(list);
            return args;
        }
        for a in children(list) {
            if a.kind() == "keyword_argument" {
                if let (Some(n), Some(v)) = (
                    a.child_by_field_name("name"),
                    a.child_by_field_name("value"),
                ) {
                    args.keywords.push((text(n, src).to_owned(), v));
                }
            } else {
                args.positional.push(a);
            }
        }
        args
    }

    pub(crate) fn keyword(&self, name: &str) -> Option<Node<'t>> {
        self.keywords
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// The callee of a call as a dotted name, if it is one.
pub(crate) fn callee(call: Node, src: &str) -> Option<String> {
    dotted(call.child_by_field_name("function")?, src)
}

/// Whether `cond` is `__name__ == "__main__"` (either way round).
pub(crate) fn is_main_guard(cond: Node, src: &str) -> bool {
    let t: String = text(cond, src)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '\'' { '"' } else { c })
        .collect();
    t == "__name__==\"__main__\"" || t == "\"__main__\"==__name__"
}

/// Whether `cond` is `TYPE_CHECKING` / `typing.TYPE_CHECKING` (the block never runs).
pub(crate) fn is_type_checking(cond: Node, src: &str) -> bool {
    matches!(
        text(cond, src).trim(),
        "TYPE_CHECKING" | "typing.TYPE_CHECKING" | "t.TYPE_CHECKING"
    )
}

/// Whether a node in `field` of `parent` starts code that does not run when its module is
/// imported: a function or lambda body, or the body of `if __name__ == "__main__":` /
/// `if TYPE_CHECKING:`. Class bodies run.
pub(crate) fn deferred(parent: Node, field: Option<&str>, src: &str) -> bool {
    match (parent.kind(), field) {
        ("function_definition" | "lambda", Some("body")) => true,
        ("if_statement", Some("consequence")) => parent
            .child_by_field_name("condition")
            .is_some_and(|c| is_main_guard(c, src) || is_type_checking(c, src)),
        _ => false,
    }
}

/// Visit every node of `root` that runs at import time, in source order, with its parent and
/// field. Decorators, default values and class bodies run; function bodies do not.
pub(crate) fn walk_import_time<'t>(root: Node<'t>, src: &str, mut visit: impl FnMut(Visit<'t>)) {
    walk_ctx(root, |v| {
        if v.parent.is_some_and(|p| deferred(p, v.field, src)) {
            return false;
        }
        visit(v);
        true
    });
}

/// Visit every node of a function's body that runs when the function runs: nested function and
/// class bodies and lambdas are left out (their decorators and defaults are in).
pub(crate) fn walk_body<'t>(body: Node<'t>, mut visit: impl FnMut(Node<'t>)) {
    walk_ctx(body, |v| {
        let nested = v.node.id() != body.id()
            && v.field == Some("body")
            && v.parent.is_some_and(|p| {
                matches!(
                    p.kind(),
                    "function_definition" | "lambda" | "class_definition"
                )
            });
        if nested {
            return false;
        }
        visit(v.node);
        true
    });
}

/// The statements of a module that bind its top-level names: top-level statements, and those in
/// `if`/`try`/`with`/`for`/`while`/`match` blocks around them (not in functions or classes, not
/// under a `__main__` guard).
pub(crate) fn module_statements<'t>(root: Node<'t>, src: &str) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut stack: Vec<Node<'t>> = children(root).into_iter().rev().collect();
    while let Some(n) = stack.pop() {
        let nested: Vec<Node<'t>> = match n.kind() {
            "if_statement" => {
                let mut v = Vec::new();
                let guarded = n
                    .child_by_field_name("condition")
                    .is_some_and(|c| is_main_guard(c, src) || is_type_checking(c, src));
                if !guarded {
                    v.extend(n.child_by_field_name("consequence"));
                }
                for alt in field_all(n, "alternative") {
                    v.extend(
                        alt.child_by_field_name("consequence")
                            .or(alt.child_by_field_name("body")),
                    );
                }
                v
            }
            "try_statement" => {
                let mut v: Vec<Node<'t>> = n.child_by_field_name("body").into_iter().collect();
                for c in children(n) {
                    match c.kind() {
                        "except_clause" | "finally_clause" => {
                            v.extend(children(c).into_iter().filter(|b| b.kind() == "block"))
                        }
                        "else_clause" => v.extend(c.child_by_field_name("body")),
                        _ => {}
                    }
                }
                v
            }
            "with_statement" | "for_statement" | "while_statement" => {
                let mut v: Vec<Node<'t>> = n.child_by_field_name("body").into_iter().collect();
                if let Some(alt) = n.child_by_field_name("alternative") {
                    v.extend(alt.child_by_field_name("body"));
                }
                v
            }
            "match_statement" => n
                .child_by_field_name("body")
                .map(|b| {
                    field_all(b, "alternative")
                        .into_iter()
                        .filter_map(|c| c.child_by_field_name("consequence"))
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        out.push(n);
        for block in nested.into_iter().rev() {
            stack.extend(children(block).into_iter().rev());
        }
    }
    out
}

/// The definition inside a `decorated_definition`, or the node itself.
pub(crate) fn undecorated(node: Node) -> Node {
    if node.kind() == "decorated_definition" {
        node.child_by_field_name("definition").unwrap_or(node)
    } else {
        node
    }
}

/// The parameter names of a function or lambda, in order.
pub(crate) fn parameter_names(params: Node, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in children(params) {
        let ident = match p.kind() {
            "identifier" => Some(p),
            "default_parameter" | "typed_default_parameter" => p.child_by_field_name("name"),
            "typed_parameter" | "list_splat_pattern" | "dictionary_splat_pattern" => children(p)
                .into_iter()
                .find(|c| c.kind() == "identifier")
                .or_else(|| {
                    children(p)
                        .into_iter()
                        .flat_map(children)
                        .find(|c| c.kind() == "identifier")
                }),
            _ => None,
        };
        if let Some(i) = ident.filter(|i| i.kind() == "identifier") {
            out.push(text(i, src).to_owned());
        }
    }
    out
}

/// The statement list of a function or class body.
pub(crate) fn body(def: Node) -> Option<Node> {
    def.child_by_field_name("body")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tree_sitter::{Parser, Tree};

    pub(crate) fn parse(src: &str) -> Tree {
        let mut p = Parser::new();
        p.set_language(&tree_sitter_python::LANGUAGE.into())
            .unwrap();
        p.parse(src, None).unwrap()
    }

    fn first<'t>(root: Node<'t>, kind: &str) -> Node<'t> {
        let mut found = None;
        walk(root, |n| {
            if found.is_none() && n.kind() == kind {
                found = Some(n);
            }
            found.is_none()
        });
        found.unwrap_or_else(|| panic!("no {kind}"))
    }

    #[test]
    fn dotted_names_and_strings() {
        let src = "db.session.commit(\"a\" 'b', x=(\"c\"))\n";
        let tree = parse(src);
        let call = first(tree.root_node(), "call");
        assert_eq!(callee(call, src).as_deref(), Some("db.session.commit"));
        let args = CallArgs::of(call, src);
        assert_eq!(string_value(args.positional[0], src).as_deref(), Some("ab"));
        assert_eq!(
            string_value(args.keyword("x").unwrap(), src).as_deref(),
            Some("c")
        );
        let src = "f(f\"{x}\")\n";
        let tree = parse(src);
        let call = first(tree.root_node(), "call");
        assert_eq!(
            string_value(CallArgs::of(call, src).positional[0], src),
            None
        );
    }

    #[test]
    fn import_time_walk_skips_function_bodies_and_main_guard() {
        let src = "\
a()
@deco(b())
def f(x=c()):
    d()
class K:
    e()
    def m(self):
        g()
if __name__ == '__main__':
    h()
else:
    i()
";
        let tree = parse(src);
        let mut calls = Vec::new();
        walk_import_time(tree.root_node(), src, |v| {
            if v.node.kind() == "call" {
                calls.push(callee(v.node, src).unwrap());
            }
        });
        assert_eq!(calls, ["a", "deco", "b", "c", "e", "i"]);
    }

    #[test]
    fn walk_ctx_gives_parent_and_field() {
        let src = "x = f(a)\n";
        let tree = parse(src);
        let mut seen = Vec::new();
        walk_ctx(tree.root_node(), |v| {
            if v.node.kind() == "identifier" {
                seen.push((
                    text(v.node, src).to_owned(),
                    v.parent.map(|p| p.kind()),
                    v.field,
                ));
            }
            true
        });
        assert_eq!(
            seen,
            [
                ("x".to_owned(), Some("assignment"), Some("left")),
                ("f".to_owned(), Some("call"), Some("function")),
                ("a".to_owned(), Some("argument_list"), None),
            ]
        );
    }

    #[test]
    fn module_statements_flatten_blocks_but_not_bodies() {
        let src = "\
import a
try:
    import b
except ImportError:
    b = None
if x:
    c = 1
else:
    d = 2
def f():
    e = 3
";
        let tree = parse(src);
        let kinds: Vec<_> = module_statements(tree.root_node(), src)
            .into_iter()
            .map(|n| text(n, src).lines().next().unwrap().to_owned())
            .collect();
        assert_eq!(
            kinds,
            [
                "import a", "try:", "import b", "b = None", "if x:", "c = 1", "d = 2", "def f():"
            ]
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let src = format!("x = {}1{}\n", "(".repeat(20_000), ")".repeat(20_000));
        let tree = parse(&src);
        let mut count = 0usize;
        walk(tree.root_node(), |_| {
            count += 1;
            true
        });
        assert!(count > 20_000);
    }
}
