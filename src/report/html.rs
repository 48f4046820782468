//! `--format html`: one page someone can open — from a CI artefact, a bundle, a ticket — and see
//! the cascade: which service failed first, what it took down with it, and what to do.
//!
//! The page is one self-contained file: inline CSS and SVG, no script, no font, no image, no
//! URL it would fetch, so it reads the same offline, in a mail client's preview or years later.
//! `<details>` folds what is long; SVG `<title>`s name every mark on hover.
//!
//! It holds, in order: the verdict; the services' states; the causal graph ([`Cascade`]); the
//! timeline of every container ([`Timeline`]), with a list of its key moments that reads without
//! the picture; and each finding with its evidence, probes, what was ruled out, the fix with its
//! safety level and the diff it would apply. Every text passes the redactor before it is escaped
//! (escaping first could hide a secret from it). The output depends on nothing but its input:
//! ids are derived from names, and no clock is read.
use super::cascade::{Cascade, How, Role};
use super::timeline::{self, Kind, Timeline};
use super::{Anchors, Context, Report, slug, verdict};
use crate::engine::{Confirmation, Diagnosis, Evidence, Finding};
use crate::probes::Outcome;
use crate::redact::Redactor;
use crate::rules::Severity;
use std::fmt::Write as _;
use std::io::{self, Write};

pub struct Html<'a> {
    pub context: Context<'a>,
}

impl Report for Html<'_> {
    fn render(&self, d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
        let redactor = self.context.redactor();
        let page = Page {
            d,
            ctx: &self.context,
            r: &redactor,
            anchors: Anchors::of(d),
        };
        out.write_all(page.render().as_bytes())
    }
}

struct Page<'a> {
    d: &'a Diagnosis,
    ctx: &'a Context<'a>,
    r: &'a Redactor,
    anchors: Anchors<'a>,
}

/// Escape for text and attribute values alike.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// At most `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// A number for SVG: at most one decimal, no trailing `.0`.
fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

const STYLE: &str = r#"
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#fff; --panel:#f6f8fa;
  --red:#c62828; --red-bg:#fde2e1; --orange:#e65100; --orange-bg:#fff3e0; --green:#2e7d32;
  --green-bg:#e8f5e9; --blue:#1565c0; --blue-bg:#e3f2fd; --grey:#9e9e9e; --purple:#6a1b9a; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg);
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 20px 40px; }
h1 { font-size: 1.6em; margin: .2em 0; overflow-wrap: anywhere; }
h2 { font-size: 1.25em; margin: 1.6em 0 .5em; padding-bottom: .2em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.08em; margin: 0 0 .4em; overflow-wrap: anywhere; }
h4 { font-size: .95em; margin: .9em 0 .3em; color: var(--muted); }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--panel); padding: 8px 10px;
  border-radius: 6px; margin: .3em 0; }
a { color: var(--blue); }
.meta, .hint { color: var(--muted); font-size: .9em; }
header.verdict { border-left: 6px solid var(--green); padding: 6px 14px; background: var(--green-bg); border-radius: 6px; }
header.verdict.problems { border-color: var(--red); background: var(--red-bg); }
header .line { font-weight: 600; font-size: 1.1em; margin: .2em 0; }
nav ul { list-style: none; padding: 0; margin: .8em 0 0; display: flex; flex-wrap: wrap; gap: 6px 16px; }
table { border-collapse: collapse; width: 100%; font-size: .92em; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--panel); }
td.when { white-space: nowrap; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: .8em; font-weight: 600;
  border: 1px solid currentColor; vertical-align: 1px; }
.badge.sev-critical, .badge.sev-error { color: var(--red); }
.badge.sev-warning { color: var(--orange); }
.badge.sev-info { color: var(--blue); }
.role-root { color: var(--red); } .role-effect { color: var(--orange); } .role-failing { color: var(--red); }
.role-not-started { color: var(--muted); } .role-note { color: var(--blue); } .role-ok { color: var(--green); }
.safety-safe { color: var(--green); } .safety-unsafe { color: var(--orange); } .safety-manual { color: var(--muted); }
.outcome-confirmed { color: var(--green); } .outcome-ruled_out { color: var(--red); } .outcome-unknown { color: var(--muted); }
figure { margin: 0; }
figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
.legend { list-style: none; padding: 0; margin: .5em 0; display: flex; flex-wrap: wrap; gap: 4px 18px;
  font-size: .85em; color: var(--muted); }
.legend svg { vertical-align: middle; margin-right: 4px; }
article.finding { border: 1px solid var(--line); border-left: 6px solid var(--grey); border-radius: 6px;
  padding: 10px 14px; margin: 12px 0; }
article.finding.sev-critical, article.finding.sev-error { border-left-color: var(--red); }
article.finding.sev-warning { border-left-color: var(--orange); }
article.finding.sev-info { border-left-color: var(--blue); }
article.finding article.finding { margin-left: 0; }
article.finding p { margin: .3em 0; }
.summary { font-weight: 600; overflow-wrap: anywhere; }
p code, li code { background: var(--panel); border-radius: 4px; padding: 0 3px; }
ul.evidence, ul.probes, ul.ruled-out { padding-left: 1.2em; margin: .2em 0; }
ul.evidence li { margin: .15em 0; }
ul.evidence code { white-space: pre-wrap; overflow-wrap: anywhere; }
.diff .add { color: var(--green); } .diff .del { color: var(--red); } .diff .hunk { color: var(--blue); }
.effects { border-top: 1px dashed var(--line); margin-top: .8em; padding-top: .3em; }
footer { margin-top: 2em; color: var(--muted); font-size: .85em; }
svg text { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--fg); }
svg .muted { fill: var(--muted); }
svg .halo { paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.node rect { stroke-width: 1.5; }
.node.role-root rect { fill: var(--red-bg); stroke: var(--red); stroke-width: 3; }
.node.role-effect rect { fill: var(--orange-bg); stroke: var(--orange); stroke-width: 2; }
.node.role-failing rect { fill: var(--red-bg); stroke: #e57373; }
.node.role-not-started rect { fill: #f5f5f5; stroke: var(--grey); stroke-dasharray: 5 3; }
.node.role-note rect { fill: var(--blue-bg); stroke: #64b5f6; }
.node.role-ok rect { fill: var(--green-bg); stroke: #66bb6a; }
.node .role { font-size: 10px; font-weight: 700; letter-spacing: .06em; fill: currentColor; }
.edge { fill: none; stroke: #8c959f; stroke-width: 1.5; }
.edge.url { stroke-dasharray: 2 4; }
.link { fill: none; stroke: var(--red); stroke-width: 2.5; stroke-dasharray: 7 4; }
.link.minor { stroke: var(--blue); stroke-width: 1.5; }
.lane-label { font-size: 13px; font-weight: 600; }
.lane-status { font-size: 11px; }
.axis line { stroke: #eaeef2; }
.axis text { font-size: 11px; fill: var(--muted); }
.baseline { stroke: #c6ccd2; stroke-width: 1.5; stroke-dasharray: 3 3; }
.run { fill: #90caf9; stroke: var(--blue); stroke-width: 1; }
.run.inferred { fill: #e3f2fd; stroke-dasharray: 3 2; }
.collected { stroke: var(--muted); stroke-dasharray: 4 3; }
.m-health-pass { fill: #66bb6a; } .m-health-fail { fill: #e53935; }
.m-healthy { fill: var(--green); stroke: #fff; stroke-width: 1.5; }
.m-unhealthy { fill: var(--red); stroke: #fff; stroke-width: 1.5; }
.m-created { fill: #fff; stroke: var(--muted); stroke-width: 1.5; }
.m-started { fill: var(--blue); } .m-restarted { fill: var(--orange); }
.m-exited line { stroke: var(--muted); stroke-width: 2.5; } .m-exited.failed line { stroke: var(--red); }
.m-oom { fill: var(--purple); } .m-killed { fill: #000; }
.m-first-error path { fill: #ffeb3b; stroke: var(--red); stroke-width: 1.5; }
.m-first-error line { stroke: var(--red); stroke-dasharray: 2 2; }
.m-first-note path { fill: #fff; stroke: var(--muted); stroke-width: 1.5; }
.m-first-note line { stroke: var(--muted); stroke-dasharray: 2 2; }
.code-tag { font-size: 10px; font-weight: 700; }
@media (max-width: 860px) {
  main { padding: 10px 12px 30px; }
  body { font-size: 14px; }
  th, td { padding: 4px 5px; }
}
"#;

impl Page<'_> {
    /// Redact, then escape.
    fn t(&self, s: &str) -> String {
        esc(&self.r.text(s))
    }

    /// [`Page::t`] for prose whose balanced `backticks` mark code, as the rules write it.
    fn prose(&self, s: &str) -> String {
        let text = self.r.text(s);
        let parts: Vec<&str> = text.split('`').collect();
        if parts.len().is_multiple_of(2) {
            return esc(&text);
        }
        parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i % 2 == 1 {
                    format!("<code>{}</code>", esc(p))
                } else {
                    esc(p)
                }
            })
            .collect()
    }

    fn render(&self) -> String {
        let d = self.d;
        let cascade = Cascade::of(d, self.ctx.snapshot, &self.anchors);
        let timeline = self.ctx.snapshot.and_then(|s| Timeline::of(s, d, self.r));
        let (problems, line) = verdict(d);
        let mut h = String::new();
        h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        let _ = writeln!(
            h,
            "<title>{} — analylit-doctor</title>",
            self.t(&format!("{}: {line}", d.project))
        );
        let _ = writeln!(h, "<style>{STYLE}</style>\n</head>\n<body>\n<main>");

        // The verdict, and the root causes by name.
        let _ = writeln!(
            h,
            "<header id=\"summary\" class=\"verdict{}\">",
            if problems { " problems" } else { "" }
        );
        let _ = writeln!(h, "<h1>{}</h1>", self.t(&d.project));
        let _ = writeln!(h, "<p class=\"line\" id=\"verdict\">{}</p>", self.t(&line));
        let roots: Vec<&Finding> = d
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .collect();
        if !roots.is_empty() {
            h.push_str("<ul class=\"roots\">\n");
            for f in roots {
                let _ = writeln!(
                    h,
                    "<li><a href=\"#{}\"><code>{}</code> on <strong>{}</strong></a>: {}</li>",
                    self.anchors.of_finding(f),
                    self.t(&f.id),
                    self.t(&f.service),
                    self.prose(&f.summary)
                );
            }
            h.push_str("</ul>\n");
        }
        let mut meta = vec![format!("{} service(s)", d.services.len())];
        if let Some(s) = self.ctx.snapshot {
            meta.push(format!("collected {}", self.t(&s.collected_at)));
            if let Some(v) = &s.engine_version {
                meta.push(format!("Docker Engine {}", self.t(v)));
            }
        }
        let _ = writeln!(h, "<p class=\"meta\">{}</p>", meta.join(" · "));
        h.push_str(
            "<nav><ul><li><a href=\"#services\">Services</a></li>\
             <li><a href=\"#graph\">Causal graph</a></li>\
             <li><a href=\"#timeline\">Timeline</a></li>\
             <li><a href=\"#findings\">Findings</a></li></ul></nav>\n</header>\n",
        );

        self.services(&mut h, &cascade);
        self.graph(&mut h, &cascade);
        self.timeline(&mut h, timeline.as_ref());
        self.findings(&mut h);

        h.push_str(
            "<footer>Written by analylit-doctor. This page is self-contained: no script, no \
             external resource; secrets are masked.</footer>\n</main>\n</body>\n</html>\n",
        );
        h
    }

    fn services(&self, h: &mut String, cascade: &Cascade) {
        h.push_str("<section id=\"services\">\n<h2>Services</h2>\n<div class=\"scroll\"><table>\n");
        h.push_str(
            "<thead><tr><th>service</th><th>state</th><th>health</th><th>restarts</th>\
             <th>exit code</th><th>role</th></tr></thead>\n<tbody>\n",
        );
        for s in &self.d.services {
            let node = cascade.node(&s.name);
            let role = node.map_or(Role::Ok, |n| n.role);
            let name = match node.and_then(|n| n.finding.as_deref()) {
                Some(a) => format!("<a href=\"#{a}\">{}</a>", self.t(&s.name)),
                None => self.t(&s.name),
            };
            let _ = writeln!(
                h,
                "<tr id=\"service-{}\"><td><strong>{name}</strong></td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td><span class=\"badge role-{}\">{}</span></td></tr>",
                slug(&s.name),
                self.t(&s.state),
                self.t(s.health.as_deref().unwrap_or("-")),
                s.restarts.map_or("-".to_owned(), |n| n.to_string()),
                s.exit_code.map_or("-".to_owned(), |c| c.to_string()),
                role.slug(),
                role.words()
            );
        }
        // Services compose never created: part of the cascade all the same.
        for node in cascade
            .nodes
            .iter()
            .filter(|n| !self.d.services.iter().any(|s| s.name == n.service))
        {
            let _ = writeln!(
                h,
                "<tr id=\"service-{}\" class=\"hint\"><td><strong>{}</strong></td><td>{}</td>\
                 <td>-</td><td>-</td><td>-</td><td><span class=\"badge role-{}\">{}</span></td></tr>",
                slug(&node.service),
                self.t(&node.service),
                self.t(&node.status),
                node.role.slug(),
                node.role.words()
            );
        }
        h.push_str("</tbody></table></div>\n</section>\n");
    }

    fn graph(&self, h: &mut String, c: &Cascade) {
        const W: f64 = 170.0;
        const H: f64 = 58.0;
        const GAP_X: f64 = 34.0;
        const GAP_Y: f64 = 62.0;
        const M: f64 = 14.0;
        h.push_str("<section id=\"graph\">\n<h2>Causal graph</h2>\n");
        if c.nodes.is_empty() {
            h.push_str("<p class=\"hint\">No service to draw.</p>\n</section>\n");
            return;
        }
        h.push_str(
            "<p class=\"hint\">Each service sits below what it depends on. Grey arrows: \
             <code>depends_on</code> (labelled with what compose waits for) or a URL; red dashed \
             arrows: a failure folded under its cause. Click a service for its finding.</p>\n",
        );
        let widest = c.layer_sizes.iter().copied().max().unwrap_or(1) as f64;
        let width = (widest * (W + GAP_X) - GAP_X + 2.0 * M).max(360.0);
        let height = c.layer_sizes.len() as f64 * (H + GAP_Y) - GAP_Y + 2.0 * M;
        let pos = |service: &str| -> Option<(f64, f64)> {
            let node = c.node(service)?;
            let count = c.layer_sizes[node.layer] as f64;
            let row = count * (W + GAP_X) - GAP_X;
            let x = (width - row) / 2.0 + node.slot as f64 * (W + GAP_X);
            let y = M + node.layer as f64 * (H + GAP_Y);
            Some((x, y))
        };
        let _ = writeln!(
            h,
            "<figure><svg id=\"graph-svg\" role=\"img\" \
             aria-labelledby=\"graph-title\" viewBox=\"0 0 {w} {ht}\" width=\"{w}\" height=\"{ht}\">",
            w = n(width),
            ht = n(height)
        );
        let _ = writeln!(
            h,
            "<title id=\"graph-title\">Services of {} and what they depend on</title>",
            self.t(&self.d.project)
        );
        h.push_str(
            "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
             markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
             <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#8c959f\"/></marker>\
             <marker id=\"arrow-cause\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
             markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\">\
             <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#c62828\"/></marker>\
             <marker id=\"arrow-minor\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
             markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\">\
             <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1565c0\"/></marker></defs>\n",
        );
        // Dependency edges: from the dependency's bottom to the dependent's top.
        for e in &c.edges {
            let (Some((x1, y1)), Some((x2, y2))) = (pos(&e.dependency), pos(&e.dependent)) else {
                continue;
            };
            let (sx, sy) = (x1 + W / 2.0, y1 + H);
            let (ex, ey) = (x2 + W / 2.0, y2 - 2.0);
            let bend = ((ey - sy).abs() / 2.0).max(30.0);
            let class = match e.how {
                How::Url => "edge url",
                How::DependsOn(_) => "edge",
            };
            let _ = writeln!(
                h,
                "<g id=\"edge-{}-{}\"><title>{} depends on {} ({})</title>\
                 <path class=\"{class}\" d=\"M{} {} C{} {} {} {} {} {}\" marker-end=\"url(#arrow)\"/>\
                 <text class=\"muted halo\" x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text></g>",
                slug(&e.dependency),
                slug(&e.dependent),
                self.t(&e.dependent),
                self.t(&e.dependency),
                match e.how {
                    How::Url => "a URL names it".to_owned(),
                    How::DependsOn(cond) => format!("depends_on, {}", cond.as_str()),
                },
                n(sx),
                n(sy),
                n(sx),
                n(sy + bend),
                n(ex),
                n(ey - bend),
                n(ex),
                n(ey),
                n((sx + ex) / 2.0),
                n((sy + ey) / 2.0 + 3.0),
                e.how.label()
            );
        }
        // Causal links: from the cause's side to the effect's, bowed so they do not hide edges.
        for l in &c.links {
            let (Some((x1, y1)), Some((x2, y2))) = (pos(&l.cause), pos(&l.effect)) else {
                continue;
            };
            let (c1, c2) = ((x1 + W / 2.0, y1 + H / 2.0), (x2 + W / 2.0, y2 + H / 2.0));
            let (s, e) = (
                border(c1, c2, W / 2.0 + 3.0, H / 2.0 + 3.0),
                border(c2, c1, W / 2.0 + 5.0, H / 2.0 + 5.0),
            );
            let (dx, dy) = (e.0 - s.0, e.1 - s.1);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let bow = 28.0;
            let (qx, qy) = (
                (s.0 + e.0) / 2.0 + dy / len * bow,
                (s.1 + e.1) / 2.0 - dx / len * bow,
            );
            let _ = writeln!(
                h,
                "<g id=\"link-{}-{}\"><title>{}: {} on {} is explained by {}</title>\
                 <path class=\"link{}\" d=\"M{} {} Q{} {} {} {}\" marker-end=\"url(#{})\"/></g>",
                slug(&l.cause),
                slug(&l.effect),
                if l.minor {
                    "seen as a consequence"
                } else {
                    "effect"
                },
                self.t(&l.finding),
                self.t(&l.effect),
                self.t(&l.cause),
                if l.minor { " minor" } else { "" },
                n(s.0),
                n(s.1),
                n(qx),
                n(qy),
                n(e.0),
                n(e.1),
                if l.minor {
                    "arrow-minor"
                } else {
                    "arrow-cause"
                }
            );
        }
        for node in &c.nodes {
            let Some((x, y)) = pos(&node.service) else {
                continue;
            };
            let open = node
                .finding
                .as_deref()
                .map(|a| format!("<a href=\"#{a}\">"))
                .unwrap_or_default();
            let close = if node.finding.is_some() { "</a>" } else { "" };
            let _ = writeln!(
                h,
                "{open}<g id=\"node-{}\" class=\"node role-{}\"><title>{}: {} ({})</title>\
                 <rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\"/>\
                 <text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"700\">{}</text>\
                 <text class=\"muted\" x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\
                 <text class=\"role role-{}\" x=\"{}\" y=\"{}\">{}</text></g>{close}",
                slug(&node.service),
                node.role.slug(),
                self.t(&node.service),
                self.t(&node.status),
                node.role.words(),
                n(x),
                n(y),
                n(W),
                n(H),
                n(x + 10.0),
                n(y + 18.0),
                self.t(&clip(&node.service, 20)),
                n(x + 10.0),
                n(y + 34.0),
                self.t(&clip(&node.status, 27)),
                node.role.slug(),
                n(x + 10.0),
                n(y + 49.0),
                node.role.words().to_uppercase()
            );
        }
        h.push_str("</svg></figure>\n");
        h.push_str(
            "<ul class=\"legend\">\
             <li><svg width=\"22\" height=\"12\"><rect x=\"1\" y=\"1\" width=\"20\" height=\"10\" rx=\"3\" fill=\"#fde2e1\" stroke=\"#c62828\" stroke-width=\"2\"/></svg>root cause</li>\
             <li><svg width=\"22\" height=\"12\"><rect x=\"1\" y=\"1\" width=\"20\" height=\"10\" rx=\"3\" fill=\"#fff3e0\" stroke=\"#e65100\" stroke-width=\"2\"/></svg>effect</li>\
             <li><svg width=\"22\" height=\"12\"><rect x=\"1\" y=\"1\" width=\"20\" height=\"10\" rx=\"3\" fill=\"#f5f5f5\" stroke=\"#9e9e9e\" stroke-dasharray=\"3 2\"/></svg>never started</li>\
             <li><svg width=\"22\" height=\"12\"><rect x=\"1\" y=\"1\" width=\"20\" height=\"10\" rx=\"3\" fill=\"#e8f5e9\" stroke=\"#66bb6a\"/></svg>ok</li>\
             <li><svg width=\"26\" height=\"12\"><line x1=\"1\" y1=\"6\" x2=\"25\" y2=\"6\" stroke=\"#c62828\" stroke-width=\"2.5\" stroke-dasharray=\"7 4\"/></svg>caused</li>\
             <li><svg width=\"26\" height=\"12\"><line x1=\"1\" y1=\"6\" x2=\"25\" y2=\"6\" stroke=\"#8c959f\" stroke-width=\"1.5\"/></svg>depends_on</li>\
             <li><svg width=\"26\" height=\"12\"><line x1=\"1\" y1=\"6\" x2=\"25\" y2=\"6\" stroke=\"#8c959f\" stroke-width=\"1.5\" stroke-dasharray=\"2 4\"/></svg>URL</li>\
             </ul>\n</section>\n",
        );
    }

    fn timeline(&self, h: &mut String, t: Option<&Timeline>) {
        h.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
        let Some(t) = t else {
            h.push_str(
                "<p class=\"hint\">Nothing in what was collected is dated: no timeline.</p>\n\
                 </section>\n",
            );
            return;
        };
        let _ = writeln!(
            h,
            "<p class=\"hint\">From {} (+0s){}. Bars: the container running (pale: its start \
             dated only by its first log line). Marks: created ○, started ▶ (restarted: orange), \
             exited ✕ (red: non-zero, with its code), OOM ■, health checks • (green passed, red \
             failed), turned healthy/unhealthy ●, first error line ▲ (hollow: a line the diagnosis judged \
             harmless).</p>",
            self.t(&t.origin),
            t.collected
                .map(|c| format!(", collected at {}", timeline::offset(c)))
                .unwrap_or_default()
        );
        const WIDTH: f64 = 1000.0;
        const LABEL: f64 = 200.0;
        const RIGHT: f64 = 24.0;
        const TOP: f64 = 26.0;
        const ROW: f64 = 40.0;
        let plot = WIDTH - LABEL - RIGHT;
        let span = t.span.max(1.0);
        let x = |s: f64| LABEL + s / span * plot;
        let height = TOP + t.lanes.len() as f64 * ROW + 8.0;
        let _ = writeln!(
            h,
            "<figure><svg id=\"timeline-svg\" role=\"img\" \
             aria-labelledby=\"timeline-title\" viewBox=\"0 0 {w} {ht}\" width=\"{w}\" height=\"{ht}\">\
             <title id=\"timeline-title\">What each container did, from {}</title>",
            self.t(&t.origin),
            w = n(WIDTH),
            ht = n(height)
        );
        // The time axis: a tick every "nice" step, at most about ten of them.
        h.push_str("<g class=\"axis\">");
        let step = [
            0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
        ]
        .into_iter()
        .find(|s| span / s <= 10.0)
        .unwrap_or(7200.0);
        let mut tick = 0.0;
        while tick <= span + 1e-9 {
            let _ = write!(
                h,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/><text x=\"{x}\" y=\"{}\" \
                 text-anchor=\"middle\">{}</text>",
                n(TOP - 6.0),
                n(height - 4.0),
                n(TOP - 10.0),
                tick_label(tick),
                x = n(x(tick))
            );
            tick += step;
        }
        h.push_str("</g>\n");
        if let Some(c) = t.collected {
            let _ = writeln!(
                h,
                "<g id=\"collected\"><title>snapshot taken at {}</title><line class=\"collected\" \
                 x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/></g>",
                timeline::offset(c),
                n(TOP - 4.0),
                n(height - 4.0),
                x = n(x(c))
            );
        }
        for (i, lane) in t.lanes.iter().enumerate() {
            let y = TOP + i as f64 * ROW;
            let mid = y + 18.0;
            let _ = writeln!(
                h,
                "<g id=\"lane-{}\" class=\"lane\"><title>{} ({}): {}</title>\
                 <text class=\"lane-label\" x=\"8\" y=\"{}\">{}</text>\
                 <text class=\"lane-status muted\" x=\"8\" y=\"{}\">{}</text>",
                slug(&lane.container),
                self.t(&lane.service),
                self.t(&lane.container),
                self.t(&lane.status),
                n(y + 15.0),
                self.t(&clip(&lane.service, 24)),
                n(y + 30.0),
                self.t(&clip(&lane.status, 32)),
            );
            let first = lane.moments.first().map(|m| m.at);
            let born = lane
                .runs
                .first()
                .map(|r| r.from)
                .into_iter()
                .chain(first)
                .fold(f64::INFINITY, f64::min);
            if lane.runs.is_empty() && !lane.moments.iter().any(|m| m.kind == Kind::Exited) {
                let _ = writeln!(
                    h,
                    "<text class=\"muted\" x=\"{}\" y=\"{}\" font-size=\"11\" \
                     font-style=\"italic\">never ran</text>",
                    n(if born.is_finite() { x(born) } else { LABEL } + 12.0),
                    n(mid + 4.0)
                );
            }
            if born.is_finite() {
                let _ = writeln!(
                    h,
                    "<line class=\"baseline\" x1=\"{}\" y1=\"{m}\" x2=\"{}\" y2=\"{m}\"/>",
                    n(x(born)),
                    n(x(t.span)),
                    m = n(mid)
                );
            }
            for r in &lane.runs {
                let _ = writeln!(
                    h,
                    "<rect class=\"run{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"12\" rx=\"2\">\
                     <title>running {} → {}{}</title></rect>",
                    if r.inferred { " inferred" } else { "" },
                    n(x(r.from)),
                    n(mid - 6.0),
                    n((x(r.to) - x(r.from)).max(2.0)),
                    timeline::offset(r.from),
                    timeline::offset(r.to),
                    if r.open { " (still running)" } else { "" }
                );
            }
            // Exit codes are written beside their mark when there is room since the last one.
            let mut last_tag = f64::NEG_INFINITY;
            for m in &lane.moments {
                let mx = x(m.at);
                let title = format!(
                    "<title>{} {}{}</title>",
                    timeline::offset(m.at),
                    m.kind.word(),
                    if m.detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", self.t(&m.detail))
                    }
                );
                let class = format!("m m-{}", m.kind.slug());
                let id = if matches!(m.kind, Kind::FirstError | Kind::FirstNote) {
                    format!(" id=\"first-error-{}\"", slug(&lane.container))
                } else {
                    String::new()
                };
                let shape = match m.kind {
                    Kind::Created => {
                        format!("<circle cx=\"{}\" cy=\"{}\" r=\"4\"/>", n(mx), n(mid))
                    }
                    Kind::Started | Kind::Restarted => {
                        format!("<path d=\"M{} {} l8 6 l-8 6 z\"/>", n(mx), n(mid - 6.0))
                    }
                    Kind::HealthPassed | Kind::HealthFailed => {
                        format!(
                            "<circle cx=\"{}\" cy=\"{}\" r=\"2.6\"/>",
                            n(mx),
                            n(mid + 11.0)
                        )
                    }
                    Kind::Healthy | Kind::Unhealthy => {
                        format!("<circle cx=\"{}\" cy=\"{}\" r=\"5\"/>", n(mx), n(mid))
                    }
                    Kind::FirstError | Kind::FirstNote => format!(
                        "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"/>\
                         <path d=\"M{x} {} l-6 10 h12 z\"/>",
                        n(mid - 8.0),
                        n(mid + 14.0),
                        n(mid - 19.0),
                        x = n(mx)
                    ),
                    Kind::Oom => format!(
                        "<rect x=\"{}\" y=\"{}\" width=\"9\" height=\"9\"/>",
                        n(mx - 4.5),
                        n(mid + 6.0)
                    ),
                    Kind::Killed => format!(
                        "<path d=\"M{} {} l4 4 l-4 4 l-4 -4 z\"/>",
                        n(mx),
                        n(mid + 5.0)
                    ),
                    Kind::Exited => {
                        let failed =
                            !m.detail.starts_with("exit 0") && m.detail.starts_with("exit ");
                        let code = m.detail.strip_prefix("exit ").unwrap_or("");
                        let tag = if mx - last_tag > 22.0 && !code.is_empty() {
                            last_tag = mx;
                            format!(
                                "<text class=\"code-tag halo\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                                n(mx),
                                n(mid - 9.0),
                                esc(code)
                            )
                        } else {
                            String::new()
                        };
                        format!(
                            "<g class=\"{}\"><line x1=\"{a}\" y1=\"{b}\" x2=\"{c}\" y2=\"{d}\"/>\
                             <line x1=\"{a}\" y1=\"{d}\" x2=\"{c}\" y2=\"{b}\"/></g>{tag}",
                            if failed {
                                "m-exited failed"
                            } else {
                                "m-exited"
                            },
                            a = n(mx - 5.0),
                            b = n(mid - 5.0),
                            c = n(mx + 5.0),
                            d = n(mid + 5.0)
                        )
                    }
                };
                let _ = writeln!(h, "<g class=\"{class}\"{id}>{title}{shape}</g>");
            }
            h.push_str("</g>\n");
        }
        h.push_str("</svg></figure>\n");

        // The same story in words: readable at any width, and with no picture at all.
        h.push_str(
            "<details id=\"key-moments\" open><summary>Key moments</summary>\n\
             <div class=\"scroll\"><table><thead><tr><th>when</th><th>service</th><th>container</th>\
             <th>what</th></tr></thead>\n<tbody>\n",
        );
        for k in t.key_moments() {
            let what = match (k.moment.detail.is_empty(), k.times) {
                (true, 1) => k.moment.kind.word().to_owned(),
                (true, times) => format!("{} ×{times}", k.moment.kind.word()),
                (false, 1) => format!("{}: {}", k.moment.kind.word(), k.moment.detail),
                (false, times) => {
                    format!("{} ×{times}: {}", k.moment.kind.word(), k.moment.detail)
                }
            };
            let _ = writeln!(
                h,
                "<tr class=\"k-{}\"><td class=\"when\">{}</td><td>{}</td><td class=\"mono\">{}</td>\
                 <td>{}</td></tr>",
                k.moment.kind.slug(),
                timeline::offset(k.moment.at),
                self.t(&k.lane.service),
                self.t(&k.lane.container),
                self.t(&what)
            );
        }
        h.push_str("</tbody></table></div></details>\n</section>\n");
    }

    fn findings(&self, h: &mut String) {
        h.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
        if self.d.findings.is_empty() {
            h.push_str("<p>No finding: every service looks healthy.</p>\n");
        }
        for f in &self.d.findings {
            self.finding(h, f);
        }
        h.push_str("</section>\n");
    }

    fn finding(&self, h: &mut String, f: &Finding) {
        let sev = f.severity.as_str();
        let anchor = self.anchors.of_finding(f);
        let _ = writeln!(
            h,
            "<article class=\"finding sev-{sev}\" id=\"{anchor}\">\n<h3><span class=\"badge \
             sev-{sev}\">{sev}</span> {}<code>{}</code> on <strong>{}</strong></h3>",
            if f.caused_by.is_some() {
                "<span class=\"hint\">effect:</span> "
            } else {
                ""
            },
            self.t(&f.id),
            self.t(&f.service)
        );
        let _ = writeln!(h, "<p class=\"summary\">{}</p>", self.prose(&f.summary));
        if f.title != f.id {
            let _ = writeln!(h, "<p class=\"hint\">{}</p>", self.prose(&f.title));
        }
        if let Some(cause) = &f.caused_by {
            let link = match self.anchors.of_cause(cause) {
                Some(a) => format!("<a href=\"#{a}\">{}</a>", self.t(cause)),
                None => self.t(cause),
            };
            let _ = writeln!(h, "<p class=\"caused-by\">Caused by {link}.</p>");
        }
        if !f.evidence.is_empty() {
            h.push_str("<h4>Evidence</h4>\n<ul class=\"evidence\">\n");
            for e in &f.evidence {
                let item = match e {
                    Evidence::Log {
                        container,
                        ts,
                        text,
                        occurrences,
                        first_ts,
                        ..
                    } => format!(
                        "<span class=\"badge\">log</span> <span class=\"hint\">{}{}</span> \
                         <code>{}</code>{}",
                        self.t(container),
                        super::log_times(first_ts.as_deref(), ts.as_deref(), "–")
                            .map(|ts| format!(" {}", self.t(&ts)))
                            .unwrap_or_default(),
                        self.t(text),
                        if *occurrences > 1 {
                            format!(" <span class=\"hint\">×{occurrences}</span>")
                        } else {
                            String::new()
                        }
                    ),
                    Evidence::Health {
                        container,
                        exit_code,
                        text,
                    } => format!(
                        "<span class=\"badge\">health</span> <span class=\"hint\">{} exit \
                         {exit_code}</span> <code>{}</code>",
                        self.t(container),
                        self.t(text)
                    ),
                    Evidence::State {
                        container,
                        field,
                        value,
                    } => format!(
                        "<span class=\"badge\">state</span> <span class=\"hint\">{}</span> \
                         <code>{} = {}</code>",
                        self.t(container),
                        self.t(field),
                        self.t(value)
                    ),
                };
                let _ = writeln!(h, "<li>{item}</li>");
            }
            h.push_str("</ul>\n");
        }
        if !f.probes.is_empty() {
            h.push_str("<h4>Probes</h4>\n<ul class=\"probes\">\n");
            for p in &f.probes {
                let _ = write!(
                    h,
                    "<li><span class=\"badge outcome-{o}\">{o}</span> <strong>{}</strong> \
                     <span class=\"hint\">({})</span> — {}",
                    self.t(&p.kind),
                    self.t(&p.expect),
                    self.prose(&p.summary),
                    o = p.outcome.as_str()
                );
                if let Outcome::Unknown(why) = &p.outcome
                    && why != &p.summary
                {
                    let _ = write!(h, " <span class=\"hint\">({})</span>", self.t(why));
                }
                if !p.facts.is_empty() {
                    let _ = write!(
                        h,
                        "<details><summary>what it saw ({})</summary><ul>",
                        p.facts.len()
                    );
                    for fact in &p.facts {
                        let _ = write!(h, "<li><code>{}</code></li>", self.t(fact));
                    }
                    h.push_str("</ul></details>");
                }
                h.push_str("</li>\n");
            }
            h.push_str("</ul>\n");
        }
        match &f.confirmation {
            Some(Confirmation::Confirmed { by }) => {
                let _ = writeln!(
                    h,
                    "<p class=\"confirmation outcome-confirmed\">Confirmed by {}.</p>",
                    self.t(&by.join(", "))
                );
            }
            Some(Confirmation::Unconfirmed { reason })
                if f.severity > Severity::Info && f.caused_by.is_none() =>
            {
                let _ = writeln!(
                    h,
                    "<p class=\"confirmation outcome-unknown\"><strong>Not confirmed:</strong> {}</p>",
                    self.t(reason)
                );
            }
            _ => {}
        }
        if !f.ruled_out.is_empty() {
            h.push_str("<h4>Ruled out</h4>\n<ul class=\"ruled-out\">\n");
            for r in &f.ruled_out {
                let _ = writeln!(h, "<li>{}</li>", self.prose(r));
            }
            h.push_str("</ul>\n");
        }
        if let Some(fix) = &f.fix {
            let safety = fix.safety.as_str();
            let _ = writeln!(
                h,
                "<h4>Fix <span class=\"badge safety-{safety}\">{safety}</span></h4>\n\
                 <p class=\"fix-title\">{}</p>",
                self.prose(&fix.title)
            );
            if !fix.steps.is_empty() {
                h.push_str("<ol class=\"steps\">\n");
                for s in &fix.steps {
                    let _ = writeln!(h, "<li>{}</li>", self.prose(s));
                }
                h.push_str("</ol>\n");
            }
            for p in self.ctx.diffs_of(f) {
                h.push_str("<pre class=\"diff\">");
                for line in self.r.text(&p.diff).lines() {
                    let class = if line.starts_with("+++") || line.starts_with("---") {
                        "file"
                    } else if line.starts_with('+') {
                        "add"
                    } else if line.starts_with('-') {
                        "del"
                    } else if line.starts_with("@@") {
                        "hunk"
                    } else {
                        "ctx"
                    };
                    let _ = writeln!(h, "<span class=\"{class}\">{}</span>", esc(line));
                }
                h.push_str("</pre>\n");
            }
        }
        if !f.effects.is_empty() {
            let _ = writeln!(
                h,
                "<div class=\"effects\"><h4>Effects ({}): explained by this finding</h4>",
                f.effects.len()
            );
            for e in &f.effects {
                self.finding(h, e);
            }
            h.push_str("</div>\n");
        }
        h.push_str("</article>\n");
    }
}

/// An axis tick: `+0s`, `+2.5s`, `+2m00s`.
fn tick_label(t: f64) -> String {
    if t < 120.0 && t == t.trunc() {
        format!("+{}s", t as i64)
    } else {
        timeline::offset(t)
    }
}

/// Where the segment from the centre `from` towards `to` leaves a box of half-sizes `hw`, `hh`.
fn border(from: (f64, f64), to: (f64, f64), hw: f64, hh: f64) -> (f64, f64) {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    if dx == 0.0 && dy == 0.0 {
        return from;
    }
    let scale = (hw / dx.abs()).min(hh / dy.abs());
    (from.0 + dx * scale, from.1 + dy * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_elements_and_attributes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(n(12.0), "12");
        assert_eq!(n(12.345), "12.3");
        assert_eq!(n(-0.04), "0");
    }

    #[test]
    fn a_link_leaves_its_box_at_the_border() {
        assert_eq!(border((0.0, 0.0), (100.0, 0.0), 10.0, 5.0), (10.0, 0.0));
        assert_eq!(border((0.0, 0.0), (0.0, -50.0), 10.0, 5.0), (0.0, -5.0));
    }
}
