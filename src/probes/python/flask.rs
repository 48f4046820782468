//! Flask, read statically: the route map (blueprint prefixes, registration prefixes and
//! `@route` paths joined as Flask joins them), handlers that lost their decorator, request and
//! application context proxies used at import, and the WSGI `module:var` checked against the
//! module.
//!
//! Prefix rules are Flask 2.x's (`BlueprintSetupState`): a `url_prefix` given to
//! `register_blueprint` replaces the blueprint's own; prefix and rule are joined as
//! `prefix.rstrip("/") + "/" + rule.lstrip("/")`; nested blueprints join their parent's prefix
//! the same way. A prefix that is not a literal (nor a module-level string constant) is kept as
//! `{expression}` in the URL, so it matches nothing rather than something wrong.
use super::project::{Project, Target};
use super::syntax::{self, CallArgs, children, text};
use super::tree::Module;
use super::{Handler, HandlerKind, Location, NameUse, Route, RouteMatch, WsgiCheck, WsgiTarget};
use std::collections::{BTreeSet, HashMap, HashSet};
use tree_sitter::Node;

/// How many levels of nested blueprints are followed.
const MAX_NESTING: usize = 8;

/// Decorator methods that declare a route, with the methods they imply.
const ROUTE_METHODS: &[(&str, Option<&str>)] = &[
    ("route", None),
    ("get", Some("GET")),
    ("post", Some("POST")),
    ("put", Some("PUT")),
    ("delete", Some("DELETE")),
    ("patch", Some("PATCH")),
];

/// The Flask proxies that need an application or request context.
const CONTEXT_PROXIES: &[&str] = &["current_app", "g", "request", "session"];

/// A prefix as written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Prefix {
    /// Not given.
    Absent,
    /// A literal string (or a module-level string constant).
    Literal(String),
    /// Something else: kept as `{text}`.
    Dynamic(String),
}

impl Prefix {
    fn as_option(&self) -> Option<String> {
        match self {
            Prefix::Absent => None,
            Prefix::Literal(s) => Some(s.clone()),
            Prefix::Dynamic(t) => Some(format!("{{{t}}}")),
        }
    }
}

/// A blueprint: `(module, variable)` identifies it.
#[derive(Debug, Clone)]
struct Blueprint {
    name: String,
    url_prefix: Prefix,
}

type BpKey = (String, String);

#[derive(Debug, Clone)]
struct Registration {
    blueprint: BpKey,
    /// `None`: on the application; `Some`: nested in that blueprint.
    parent: Option<BpKey>,
    url_prefix: Prefix,
}

/// What a `.route` receiver is.
enum Owner {
    App,
    Blueprint(BpKey),
}

struct RouteDecl {
    owner: Owner,
    rule: String,
    methods: Vec<String>,
    function: String,
    at: Location,
}

/// Join a prefix and a rule the way Flask does.
pub(crate) fn join(prefix: Option<&str>, rule: &str) -> String {
    match prefix {
        None => rule.to_owned(),
        Some(p) if rule.is_empty() => p.to_owned(),
        Some(p) => format!(
            "{}/{}",
            p.trim_end_matches('/'),
            rule.trim_start_matches('/')
        ),
    }
}

/// The value of a prefix expression.
fn prefix_value<'a>(p: &Project<'a>, m: &'a Module, node: Option<Node<'a>>) -> Prefix {
    let Some(node) = node else {
        return Prefix::Absent;
    };
    let src = m.text();
    if node.kind() == "none" {
        return Prefix::Absent;
    }
    if let Some(s) = syntax::string_value(node, src) {
        return Prefix::Literal(s);
    }
    if let Target::Value { module, value, .. } = p.resolve_at(m, node)
        && let Some(s) = syntax::string_value(value, module.text())
    {
        return Prefix::Literal(s);
    }
    Prefix::Dynamic(text(node, src).to_owned())
}

fn is_call_to(node: Node, src: &str, last: &str) -> bool {
    node.kind() == "call"
        && syntax::callee(node, src).is_some_and(|c| syntax::last_segment(&c) == last)
}

/// Every blueprint assigned at module level: `bp = Blueprint("name", __name__, url_prefix=..)`.
fn blueprints<'a>(p: &Project<'a>) -> HashMap<BpKey, Blueprint> {
    let mut out = HashMap::new();
    for m in p.tree.modules() {
        let src = m.text();
        for (var, value) in p.module_values(m) {
            if !is_call_to(value, src, "Blueprint") {
                continue;
            }
            let args = CallArgs::of(value, src);
            let name = args
                .positional
                .first()
                .copied()
                .or(args.keyword("name"))
                .and_then(|n| syntax::string_value(n, src))
                .unwrap_or_else(|| var.clone());
            let url_prefix = prefix_value(p, m, args.keyword("url_prefix"));
            out.insert(
                (m.name().to_owned(), var.clone()),
                Blueprint { name, url_prefix },
            );
        }
    }
    out
}

/// The blueprint an expression names, if it is one.
fn blueprint_of<'a>(
    p: &Project<'a>,
    m: &'a Module,
    node: Node<'a>,
    bps: &HashMap<BpKey, Blueprint>,
) -> Option<BpKey> {
    match p.resolve_at(m, node) {
        Target::Value { module, name, .. } => {
            let key = (module.name().to_owned(), name);
            bps.contains_key(&key).then_some(key)
        }
        _ => None,
    }
}

/// The values a loop variable takes when the loop runs over a literal list or tuple:
/// `for bp in (a_bp, b_bp): app.register_blueprint(bp)`.
fn loop_values<'a>(node: Node<'a>, src: &str) -> Vec<Node<'a>> {
    if node.kind() != "identifier" {
        return Vec::new();
    }
    let name = text(node, src);
    let mut cur = node;
    while let Some(parent) = cur.parent() {
        if parent.kind() == "for_statement" {
            let left = parent.child_by_field_name("left");
            let right = parent.child_by_field_name("right");
            if let (Some(l), Some(r)) = (left, right)
                && l.kind() == "identifier"
                && text(l, src) == name
            {
                return match r.kind() {
                    "list" | "tuple" => children(r),
                    _ => Vec::new(),
                };
            }
        }
        if parent.kind() == "function_definition" {
            break;
        }
        cur = parent;
    }
    Vec::new()
}

fn registrations<'a>(p: &Project<'a>, bps: &HashMap<BpKey, Blueprint>) -> Vec<Registration> {
    let mut out = Vec::new();
    for m in p.tree.modules() {
        let src = m.text();
        let mut calls = Vec::new();
        syntax::walk(m.root(), |n| {
            if is_call_to(n, src, "register_blueprint") {
                calls.push(n);
            }
            true
        });
        for call in calls {
            let args = CallArgs::of(call, src);
            let Some(arg) = args
                .positional
                .first()
                .copied()
                .or(args.keyword("blueprint"))
            else {
                continue;
            };
            let parent = call
                .child_by_field_name("function")
                .and_then(|f| f.child_by_field_name("object"))
                .and_then(|recv| blueprint_of(p, m, recv, bps));
            let url_prefix = prefix_value(p, m, args.keyword("url_prefix"));
            let mut targets: Vec<BpKey> = blueprint_of(p, m, arg, bps).into_iter().collect();
            if targets.is_empty() {
                targets = loop_values(arg, src)
                    .into_iter()
                    .filter_map(|v| blueprint_of(p, m, v, bps))
                    .collect();
            }
            for blueprint in targets {
                out.push(Registration {
                    blueprint,
                    parent: parent.clone(),
                    url_prefix: url_prefix.clone(),
                });
            }
        }
    }
    out
}

/// Whether a `.route` receiver is a Flask application.
fn is_app<'a>(p: &Project<'a>, m: &'a Module, recv: Node<'a>) -> bool {
    match p.resolve_at(m, recv) {
        Target::Value { module, value, .. } => {
            let src = module.text();
            is_call_to(value, src, "Flask")
                || (value.kind() == "call"
                    && syntax::callee(value, src)
                        .is_some_and(|c| app_factory_name(syntax::last_segment(&c))))
        }
        Target::External(path) => path.ends_with(".app") || path.ends_with(".application"),
        _ => matches!(text(recv, m.text()), "app" | "application"),
    }
}

fn app_factory_name(name: &str) -> bool {
    matches!(
        name,
        "create_app" | "make_app" | "get_app" | "build_app" | "app_factory"
    )
}

fn route_decls<'a>(p: &Project<'a>, bps: &HashMap<BpKey, Blueprint>) -> Vec<RouteDecl> {
    let mut out = Vec::new();
    for m in p.tree.modules() {
        let src = m.text();
        // (call, the function it decorates): decorator calls are found from their
        // `decorated_definition`, `add_url_rule` calls anywhere.
        let mut calls: Vec<(Node<'a>, Option<Node<'a>>)> = Vec::new();
        syntax::walk(m.root(), |n| {
            match n.kind() {
                "decorated_definition" => {
                    let def = n
                        .child_by_field_name("definition")
                        .filter(|d| d.kind() == "function_definition");
                    for d in children(n).into_iter().filter(|c| c.kind() == "decorator") {
                        if let Some(call) = children(d).into_iter().find(|c| c.kind() == "call") {
                            calls.push((call, def));
                        }
                    }
                }
                "call" if is_call_to(n, src, "add_url_rule") => calls.push((n, None)),
                _ => {}
            }
            true
        });
        for (call, decorated) in calls {
            let Some(func) = call.child_by_field_name("function") else {
                continue;
            };
            let (Some(recv), Some(method)) = (
                func.child_by_field_name("object"),
                func.child_by_field_name("attribute"),
            ) else {
                continue;
            };
            let method = text(method, src);
            let args = CallArgs::of(call, src);
            let (function, implied) = if method == "add_url_rule" {
                let view = args
                    .keyword("view_func")
                    .or(args.positional.get(2).copied())
                    .or(args.keyword("endpoint"))
                    .or(args.positional.get(1).copied());
                let name = view.map_or_else(String::new, |v| {
                    syntax::dotted(v, src)
                        .or_else(|| syntax::string_value(v, src))
                        .unwrap_or_else(|| text(v, src).to_owned())
                });
                (name, None)
            } else {
                let Some(&(_, implied)) = ROUTE_METHODS.iter().find(|(n, _)| *n == method) else {
                    continue;
                };
                // Only as a decorator: `@bp.route("/x")` directly on a `def`.
                let Some(def) = decorated else {
                    continue;
                };
                let name = def
                    .child_by_field_name("name")
                    .map_or("", |n| text(n, src))
                    .to_owned();
                (name, implied)
            };
            let Some(rule) = args
                .positional
                .first()
                .copied()
                .or(args.keyword("rule"))
                .and_then(|r| syntax::string_value(r, src))
            else {
                continue;
            };
            let owner = if let Some(bp) = blueprint_of(p, m, recv, bps) {
                Owner::Blueprint(bp)
            } else if is_app(p, m, recv) {
                Owner::App
            } else {
                continue;
            };
            let methods = match (args.keyword("methods"), implied) {
                (Some(list), _) => children(list)
                    .into_iter()
                    .filter_map(|i| syntax::string_value(i, src))
                    .map(|s| s.to_ascii_uppercase())
                    .collect(),
                (None, Some(m)) => vec![m.to_owned()],
                (None, None) => vec!["GET".to_owned()],
            };
            out.push(RouteDecl {
                owner,
                rule,
                methods,
                function,
                at: p.location(m, call),
            });
        }
    }
    out
}

/// The prefixes a blueprint ends up under, one per registration path (empty: never
/// registered).
fn effective_prefixes(
    key: &BpKey,
    bps: &HashMap<BpKey, Blueprint>,
    regs: &[Registration],
    depth: usize,
) -> Vec<Option<String>> {
    if depth > MAX_NESTING {
        return Vec::new();
    }
    let Some(bp) = bps.get(key) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in regs.iter().filter(|r| &r.blueprint == key) {
        let own = match &r.url_prefix {
            Prefix::Absent => bp.url_prefix.as_option(),
            given => given.as_option(),
        };
        match &r.parent {
            None => out.push(own),
            Some(parent) => {
                for pp in effective_prefixes(parent, bps, regs, depth + 1) {
                    out.push(match (pp, &own) {
                        (Some(pp), Some(own)) => Some(join(Some(&pp), own)),
                        (None, Some(own)) => Some(own.clone()),
                        (pp, None) => pp,
                    });
                }
            }
        }
    }
    out
}

/// The static route map of the tree.
pub(crate) fn routes(p: &Project) -> Vec<Route> {
    let bps = blueprints(p);
    let regs = registrations(p, &bps);
    let mut out = Vec::new();
    for decl in route_decls(p, &bps) {
        match &decl.owner {
            Owner::App => out.push(Route {
                url: decl.rule.clone(),
                rule: decl.rule.clone(),
                prefix: None,
                methods: decl.methods.clone(),
                function: decl.function.clone(),
                blueprint: None,
                registered: true,
                at: decl.at.clone(),
            }),
            Owner::Blueprint(key) => {
                let bp = &bps[key];
                let prefixes = effective_prefixes(key, &bps, &regs, 0);
                let registered = !prefixes.is_empty();
                let prefixes = if registered {
                    prefixes
                } else {
                    vec![bp.url_prefix.as_option()]
                };
                let mut seen = BTreeSet::new();
                for prefix in prefixes {
                    if !seen.insert(prefix.clone()) {
                        continue;
                    }
                    out.push(Route {
                        url: join(prefix.as_deref(), &decl.rule),
                        rule: decl.rule.clone(),
                        prefix,
                        methods: decl.methods.clone(),
                        function: decl.function.clone(),
                        blueprint: Some(bp.name.clone()),
                        registered,
                        at: decl.at.clone(),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.url, &a.at.file, a.at.line).cmp(&(&b.url, &b.at.file, b.at.line)));
    out
}

/// Split a URL path into segments; a trailing slash gives a trailing empty segment.
fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

/// Whether a request path reaches a route rule (converters match any segment, `<path:..>` the
/// rest; a rule ending in `/` also takes the path without it, through Flask's redirect).
fn rule_matches(rule: &str, path: &str) -> bool {
    let r = segments(rule);
    let q = segments(path);
    let same = |r: &[&str], q: &[&str]| -> bool {
        let mut i = 0;
        while i < r.len() {
            let seg = r[i];
            if seg.starts_with("<path:") && seg.ends_with('>') {
                return q.len() > i && q[i..].iter().all(|s| !s.is_empty());
            }
            let Some(qs) = q.get(i) else {
                return false;
            };
            let conv = seg.starts_with('<') && seg.ends_with('>');
            if !(seg == *qs || (conv && !qs.is_empty())) {
                return false;
            }
            i += 1;
        }
        i == q.len()
    };
    if same(&r, &q) {
        return true;
    }
    r.len() >= 2 && r.last() == Some(&"") && same(&r[..r.len() - 1], &q)
}

/// The path part of what a health check requests (no query, no fragment).
fn path_only(path: &str) -> String {
    let p = path.split(['?', '#']).next().unwrap_or("");
    if p.starts_with('/') {
        p.to_owned()
    } else {
        format!("/{p}")
    }
}

/// Compare a URL path (from a health check) with the route map: a registered route it reaches;
/// else a route of a blueprint never registered; else the registered route it would reach with
/// its first segment doubled (`/api/x` → `/api/api/x`) or dropped (`/api/x` → `/x`); else
/// nothing.
pub fn match_route<'a>(routes: &'a [Route], path: &str) -> RouteMatch<'a> {
    let path = path_only(path);
    let find = |p: &str, registered: bool| {
        let mut hits: Vec<&'a Route> = routes
            .iter()
            .filter(|r| r.registered == registered && rule_matches(&r.url, p))
            .collect();
        // Prefer a route that answers GET, as a health check asks.
        hits.sort_by_key(|r| !r.methods.iter().any(|m| m == "GET"));
        hits.first().copied()
    };
    if let Some(r) = find(&path, true) {
        return RouteMatch::Exact(r);
    }
    if let Some(r) = find(&path, false) {
        return RouteMatch::Unregistered(r);
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let Some(first) = segs.first().filter(|s| !s.is_empty()) {
        let doubled = format!("/{first}{path}");
        if let Some(route) = find(&doubled, true) {
            return RouteMatch::PrefixDoubled { route };
        }
        if segs.len() > 1 {
            let dropped = format!("/{}", segs[1..].join("/"));
            if let Some(route) = find(&dropped, true) {
                return RouteMatch::PrefixMissing { route };
            }
        }
    }
    RouteMatch::NoRoute
}

/// Whether a module does Flask routing (builds a Flask app or a Blueprint, declares routes or
/// registers blueprints).
fn uses_routing(m: &Module) -> bool {
    let src = m.text();
    let mut found = false;
    syntax::walk(m.root(), |n| {
        if found {
            return false;
        }
        if n.kind() == "call"
            && let Some(c) = syntax::callee(n, src)
        {
            let last = syntax::last_segment(&c);
            if matches!(last, "Flask" | "Blueprint" | "register_blueprint")
                || (last == "route" && c.contains('.'))
            {
                found = true;
            }
        }
        true
    });
    found
}

/// How often each name is referred to anywhere in the tree: read (`f`, `f()`, `view_func=f`),
/// imported (`from views import f`), read as a module attribute (`views.f`) or listed in
/// `__all__`. Definitions, parameters, keyword names and attributes of other objects
/// (`redis_conn.ping`) do not count.
fn references(p: &Project, wanted: &HashSet<&str>) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for m in p.tree.modules() {
        let src = m.text();
        let mut counted = Vec::new();
        syntax::walk_ctx(m.root(), |v| {
            match v.node.kind() {
                // `from views import f` uses `f` (the module name does not count).
                "import_from_statement" => {
                    for name in syntax::field_all(v.node, "name") {
                        let id = match name.kind() {
                            "aliased_import" => name.child_by_field_name("name"),
                            _ => Some(name),
                        };
                        counted.extend(id);
                    }
                    return false;
                }
                "identifier" if wanted.contains(text(v.node, src)) => {
                    let Some(parent) = v.parent else {
                        return false;
                    };
                    let yes = if parent.kind() == "attribute" && v.field == Some("attribute") {
                        parent
                            .child_by_field_name("object")
                            .is_some_and(|o| matches!(p.resolve_at(m, o), Target::ModulePath(_)))
                    } else {
                        is_load(v)
                    };
                    if yes {
                        counted.push(v.node);
                    }
                }
                _ => {}
            }
            true
        });
        for n in counted {
            *counts.entry(text(n, src).to_owned()).or_default() += 1;
        }
        for (name, _) in &p.scope(m.name()).all_names {
            *counts.entry(name.clone()).or_default() += 1;
        }
    }
    counts
}

/// Teardown-like: the name says teardown/shutdown/close and the one parameter is the
/// exception Flask passes.
fn teardown_like(name: &str, params: &[String]) -> bool {
    let n = name.to_lowercase();
    (n.contains("teardown") || n.contains("shutdown") || n.contains("close"))
        && params.len() == 1
        && matches!(
            params[0].as_str(),
            "exception" | "exc" | "error" | "err" | "e" | "exc_info"
        )
}

/// Command-like: named like a CLI command (`init_db_command`, `cmd_seed`) and talking to the
/// terminal through `click.echo`/`click.secho`.
fn command_like(name: &str, def: Node, src: &str) -> bool {
    let n = name.to_lowercase();
    let named = n.ends_with("_command") || n.starts_with("cmd_") || n.starts_with("command_");
    let Some(body) = syntax::body(def) else {
        return false;
    };
    let mut echoes = false;
    syntax::walk_body(body, |s| {
        if s.kind() == "call"
            && syntax::callee(s, src).is_some_and(|c| c == "click.echo" || c == "click.secho")
        {
            echoes = true;
        }
    });
    named && echoes
}

/// Route-like: returns what a view returns (`jsonify(..)`, a `(body, status)` tuple, a
/// `Response`), or is named like a health or index endpoint.
fn route_like(name: &str, def: Node, src: &str) -> bool {
    let n = name.to_lowercase();
    if n.starts_with("health")
        || n.ends_with("_check")
        || matches!(
            n.as_str(),
            "status" | "ping" | "index" | "ready" | "readiness" | "liveness"
        )
    {
        return true;
    }
    let Some(body) = syntax::body(def) else {
        return false;
    };
    let mut found = false;
    syntax::walk_body(body, |s| {
        if s.kind() != "return_statement" {
            return;
        }
        let Some(v) = children(s).into_iter().next() else {
            return;
        };
        let view_call = v.kind() == "call"
            && syntax::callee(v, src).is_some_and(|c| {
                matches!(
                    syntax::last_segment(&c),
                    "jsonify"
                        | "make_response"
                        | "Response"
                        | "render_template"
                        | "send_file"
                        | "send_from_directory"
                )
            });
        let pair =
            matches!(v.kind(), "expression_list" | "tuple") && (2..=3).contains(&children(v).len());
        if view_call || pair {
            found = true;
        }
    });
    found
}

/// Functions of routing modules that look like handlers but have no decorator and are never
/// referenced (called, passed to `add_url_rule` or `teardown_appcontext(...)`, listed in
/// `__all__`). Methods are left out: they are reached through their class.
pub(crate) fn undecorated_handlers(p: &Project) -> Vec<Handler> {
    // Undecorated functions (not methods) of routing modules: the candidates.
    let mut candidates = Vec::new();
    for m in p.tree.modules().filter(|m| uses_routing(m)) {
        syntax::walk_ctx(m.root(), |v| {
            if v.node.kind() == "function_definition" {
                let decorated = v.parent.is_some_and(|p| p.kind() == "decorated_definition");
                if !decorated && p.enclosing_class(m, v.node).is_none() {
                    candidates.push((m, v.node));
                }
            }
            true
        });
    }
    let wanted: HashSet<&str> = candidates
        .iter()
        .filter_map(|(m, def)| def.child_by_field_name("name").map(|n| text(n, m.text())))
        .collect();
    let refs = references(p, &wanted);
    let mut out = Vec::new();
    for (m, def) in candidates {
        let src = m.text();
        let Some(name) = def.child_by_field_name("name").map(|n| text(n, src)) else {
            continue;
        };
        if refs.get(name).copied().unwrap_or(0) > 0 {
            continue;
        }
        let params = def
            .child_by_field_name("parameters")
            .map(|ps| syntax::parameter_names(ps, src))
            .unwrap_or_default();
        let kind = if teardown_like(name, &params) {
            HandlerKind::Teardown
        } else if route_like(name, def, src) {
            HandlerKind::Route
        } else if command_like(name, def, src) {
            HandlerKind::Command
        } else {
            continue;
        };
        let suggested_decorator = match kind {
            HandlerKind::Route => {
                let blueprints: Vec<String> = p
                    .module_values(m)
                    .into_iter()
                    .filter(|(_, v)| is_call_to(*v, src, "Blueprint"))
                    .map(|(name, _)| name)
                    .collect();
                match blueprints.as_slice() {
                    [one] => Some(format!("@{one}.route(...)")),
                    _ => app_var(p, m, def).map(|a| format!("@{a}.route(...)")),
                }
            }
            HandlerKind::Teardown => {
                app_var(p, m, def).map(|a| format!("@{a}.teardown_appcontext"))
            }
            HandlerKind::Command => app_var(p, m, def).map(|a| format!("@{a}.cli.command(...)")),
        };
        out.push(Handler {
            function: name.to_owned(),
            kind,
            at: p.location(m, def),
            suggested_decorator,
        });
    }
    out
}

/// The Flask application variable visible from `def`: assigned from `Flask(...)` in an
/// enclosing function, else at module level.
fn app_var<'a>(p: &Project<'a>, m: &'a Module, def: Node<'a>) -> Option<String> {
    let src = m.text();
    let mut scope = p.enclosing_function(m, def);
    while let Some(f) = scope {
        if let Some(body) = syntax::body(f) {
            let mut found = None;
            syntax::walk_body(body, |n| {
                if found.is_none()
                    && n.kind() == "assignment"
                    && let (Some(l), Some(r)) = (
                        n.child_by_field_name("left"),
                        n.child_by_field_name("right"),
                    )
                    && l.kind() == "identifier"
                    && is_call_to(r, src, "Flask")
                {
                    found = Some(text(l, src).to_owned());
                }
            });
            if found.is_some() {
                return found;
            }
        }
        scope = p.enclosing_function(m, f);
    }
    p.module_values(m)
        .into_iter()
        .find(|(_, v)| is_call_to(*v, src, "Flask"))
        .map(|(name, _)| name)
}

/// `current_app`, `g`, `request`, `session` (Flask's) used where the module runs at import,
/// outside a `with app.app_context():` / `test_request_context()` block.
pub(crate) fn app_context_at_import(p: &Project) -> Vec<NameUse> {
    let mut out = Vec::new();
    for m in p.tree.modules() {
        let src = m.text();
        let mut uses = Vec::new();
        syntax::walk_import_time(m.root(), src, |v| {
            let n = v.node;
            let candidate = match n.kind() {
                "identifier" => is_load(v),
                "attribute" => n
                    .child_by_field_name("attribute")
                    .is_some_and(|a| CONTEXT_PROXIES.contains(&text(a, src))),
                _ => false,
            };
            if !candidate {
                return;
            }
            if let Target::External(path) = p.resolve_expr(m, n)
                && let Some(proxy) = path.strip_prefix("flask.")
                && CONTEXT_PROXIES.contains(&proxy)
                && !in_context_block(n, src)
            {
                uses.push(NameUse {
                    name: proxy.to_owned(),
                    at: p.location(m, n),
                });
            }
        });
        out.extend(uses);
    }
    out
}

/// Whether an identifier is read where it stands (not a name being bound or imported, not the
/// attribute part of `x.name`, not a keyword argument's name).
fn is_load(v: syntax::Visit) -> bool {
    let Some(parent) = v.parent else {
        return false;
    };
    match parent.kind() {
        "attribute" => v.field == Some("object"),
        "keyword_argument" => v.field == Some("value"),
        "assignment" | "augmented_assignment" => v.field != Some("left"),
        "function_definition"
        | "class_definition"
        | "parameters"
        | "lambda_parameters"
        | "default_parameter"
        | "typed_parameter"
        | "typed_default_parameter" => v.field == Some("value"),
        "dotted_name"
        | "aliased_import"
        | "import_from_statement"
        | "import_statement"
        | "global_statement"
        | "nonlocal_statement"
        | "as_pattern_target" => false,
        "for_statement" | "for_in_clause" => v.field != Some("left"),
        "named_expression" => v.field != Some("name"),
        _ => true,
    }
}

fn in_context_block(n: Node, src: &str) -> bool {
    let mut cur = n;
    while let Some(parent) = cur.parent() {
        if parent.kind() == "with_statement" {
            let head = children(parent)
                .into_iter()
                .find(|c| c.kind() == "with_clause")
                .map_or("", |c| text(c, src));
            if head.contains("app_context(") || head.contains("request_context(") {
                return true;
            }
        }
        cur = parent;
    }
    false
}

/// Check a gunicorn target against its module: is the module in the tree, is the variable bound
/// at module level (for a factory target `create_app()`, the function), and if not, which
/// module-level names look like the app.
pub(crate) fn wsgi_check(p: &Project, target: &WsgiTarget) -> WsgiCheck {
    let Some(m) = p.tree.module(&target.module) else {
        return WsgiCheck {
            target: target.clone(),
            module_found: false,
            var_bound: false,
            bound_at: None,
            candidates: Vec::new(),
        };
    };
    let src = m.text();
    let var = target.var.split('(').next().unwrap_or(&target.var).trim();
    let scope = p.scope(m.name());
    let var_bound = scope.bindings.contains(var);
    let bound_at = scope.bound_at.get(var).map(|l| Location {
        file: m.path().to_owned(),
        line: *l,
    });
    let mut candidates = BTreeSet::new();
    if !var_bound {
        for (name, value) in p.module_values(m) {
            if value.kind() == "call"
                && let Some(c) = syntax::callee(value, src)
            {
                let last = syntax::last_segment(&c);
                if last == "Flask" || app_factory_name(last) {
                    candidates.insert(name);
                }
            }
        }
        for stmt in syntax::module_statements(m.root(), src) {
            let def = syntax::undecorated(stmt);
            if def.kind() == "function_definition"
                && let Some(n) = def.child_by_field_name("name")
                && app_factory_name(text(n, src))
            {
                candidates.insert(format!("{}()", text(n, src)));
            }
        }
    }
    WsgiCheck {
        target: target.clone(),
        module_found: true,
        var_bound,
        bound_at,
        candidates: candidates.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::python::project::tests::tree;

    fn route_map(files: &[(&str, &str)]) -> Vec<(String, bool, Option<String>)> {
        let t = tree(files);
        let p = Project::new(&t);
        routes(&p)
            .into_iter()
            .map(|r| (r.url, r.registered, r.blueprint))
            .collect()
    }

    fn r(url: &str, registered: bool, bp: Option<&str>) -> (String, bool, Option<String>) {
        (url.to_owned(), registered, bp.map(str::to_owned))
    }

    #[test]
    fn flask_joins_prefixes_and_rules() {
        assert_eq!(join(Some("/api/"), "/x"), "/api/x");
        assert_eq!(join(Some("/api"), "x"), "/api/x");
        assert_eq!(join(Some("/api"), ""), "/api");
        assert_eq!(join(Some(""), "/x"), "/x");
        assert_eq!(join(None, "/x"), "/x");
    }

    #[test]
    fn registration_prefix_replaces_the_blueprint_one() {
        let got = route_map(&[
            (
                "bps.py",
                "\
from flask import Blueprint
API = '/api'
a = Blueprint('a', __name__, url_prefix='/own')
b = Blueprint('b', __name__, url_prefix='/bee')
c = Blueprint('c', __name__)
d = Blueprint('d', __name__)
lost = Blueprint('lost', __name__, url_prefix='/lost')
@a.route('/x')
def ax():
    pass
@b.get('/y')
def by():
    pass
@c.route('/z', methods=['POST'])
def cz():
    pass
@d.route('/w')
def dw():
    pass
@lost.route('/q')
def lq():
    pass
",
            ),
            (
                "app.py",
                "\
from flask import Flask
from bps import a, b, c, d, API
def create_app():
    app = Flask(__name__)
    app.register_blueprint(a, url_prefix=API)
    app.register_blueprint(b, url_prefix=None)
    for bp in (c,):
        app.register_blueprint(bp, url_prefix=settings.PREFIX)
    app.register_blueprint(d)
    @app.route('/')
    def index():
        return 'ok'
    app.add_url_rule('/rule', 'rule', view)
    return app
",
            ),
        ]);
        assert_eq!(
            got,
            [
                r("/", true, None),
                r("/api/x", true, Some("a")),
                r("/bee/y", true, Some("b")),
                r("/lost/q", false, Some("lost")),
                r("/rule", true, None),
                r("/w", true, Some("d")),
                r("{settings.PREFIX}/z", true, Some("c")),
            ]
        );
    }

    #[test]
    fn nested_blueprints_join_prefixes() {
        let got = route_map(&[(
            "app.py",
            "\
from flask import Flask, Blueprint
app = Flask(__name__)
parent = Blueprint('parent', __name__, url_prefix='/api')
child = Blueprint('child', __name__, url_prefix='/v1')
@child.route('/items/<int:item_id>')
def item(item_id):
    pass
parent.register_blueprint(child)
app.register_blueprint(parent)
",
        )]);
        assert_eq!(got, [r("/api/v1/items/<int:item_id>", true, Some("child"))]);
    }

    fn route(url: &str, registered: bool) -> Route {
        Route {
            url: url.into(),
            rule: url.into(),
            prefix: None,
            methods: vec!["GET".into()],
            function: "f".into(),
            blueprint: None,
            registered,
            at: Location {
                file: "/app/x.py".into(),
                line: 1,
            },
        }
    }

    #[test]
    fn matching_a_health_path() {
        let routes = vec![
            route("/api/api/settings/profiles", true),
            route("/items/<int:id>", true),
            route("/slash/", true),
            route("/api/ghost", false),
            route("/health", true),
            route("/files/<path:rest>", true),
        ];
        let url = |m: RouteMatch| match m {
            RouteMatch::Exact(r) => format!("exact {}", r.url),
            RouteMatch::Unregistered(r) => format!("unregistered {}", r.url),
            RouteMatch::PrefixDoubled { route } => format!("doubled {}", route.url),
            RouteMatch::PrefixMissing { route } => format!("missing {}", route.url),
            RouteMatch::NoRoute => "none".into(),
        };
        assert_eq!(
            url(match_route(&routes, "/api/settings/profiles?x=1")),
            "doubled /api/api/settings/profiles"
        );
        assert_eq!(
            url(match_route(&routes, "/items/3")),
            "exact /items/<int:id>"
        );
        assert_eq!(url(match_route(&routes, "/items/")), "none");
        assert_eq!(url(match_route(&routes, "/slash")), "exact /slash/");
        assert_eq!(url(match_route(&routes, "/health/")), "none");
        assert_eq!(
            url(match_route(&routes, "/api/ghost")),
            "unregistered /api/ghost"
        );
        assert_eq!(url(match_route(&routes, "/api/health")), "missing /health");
        assert_eq!(
            url(match_route(&routes, "/files/a/b")),
            "exact /files/<path:rest>"
        );
        assert_eq!(url(match_route(&routes, "/nothing")), "none");
    }

    fn handlers(files: &[(&str, &str)]) -> Vec<(String, HandlerKind)> {
        let t = tree(files);
        let p = Project::new(&t);
        undecorated_handlers(&p)
            .into_iter()
            .map(|h| (h.function, h.kind))
            .collect()
    }

    #[test]
    fn undecorated_handlers_and_what_is_not_one() {
        let got = handlers(&[
            (
                "views.py",
                "\
from flask import Blueprint, jsonify
bp = Blueprint('v', __name__)
__all__ = ['exported_status']
def ping():
    return 'pong'
def lost_view():
    return jsonify({})
def tuple_view():
    return {'a': 1}, 201
def called_somewhere():
    return jsonify({})
def passed_to_add_url_rule():
    return jsonify({})
bp.add_url_rule('/p', view_func=passed_to_add_url_rule)
def exported_status():
    return jsonify({})
def helper(x):
    return x + 1
def health():
    return redis_conn.health()
def index():
    return 'x'
def close_db(e=None):
    pass
def close_all(a, b):
    pass
class View:
    def index(self):
        return jsonify({})
@bp.route('/ok')
def ok():
    return called_somewhere()
",
            ),
            (
                "plain.py",
                "import views\nviews.index()\ndef status():\n    return 'not a flask module', 200\n",
            ),
        ]);
        assert_eq!(
            got,
            [
                ("ping".to_owned(), HandlerKind::Route),
                ("lost_view".to_owned(), HandlerKind::Route),
                ("tuple_view".to_owned(), HandlerKind::Route),
                ("health".to_owned(), HandlerKind::Route),
                ("close_db".to_owned(), HandlerKind::Teardown),
            ]
        );
    }

    #[test]
    fn a_teardown_registered_by_call_is_referenced() {
        let got = handlers(&[(
            "app.py",
            "\
from flask import Flask
def create_app():
    app = Flask(__name__)
    def shutdown_session(exception=None):
        pass
    app.teardown_appcontext(shutdown_session)
    return app
",
        )]);
        assert!(got.is_empty(), "{got:?}");
    }
}
