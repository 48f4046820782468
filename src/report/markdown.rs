//! `--format markdown`: the HTML report's content where people already read Markdown — a GitHub
//! job summary (`$GITHUB_STEP_SUMMARY`), a pull-request comment, a ticket.
//!
//! GitHub renders Mermaid, so the causal graph is a `flowchart` (services as nodes, `depends_on`
//! edges labelled with their condition, dotted red arrows from a cause to its effects); the
//! timeline is its key moments as a table. Long parts (evidence, what a probe saw) fold into
//! `<details>`, which GitHub keeps folded. Text is redacted, then escaped: Markdown and HTML
//! specials outside the summaries' own `code spans`, and `@`, so a log line never pings anyone.
use super::cascade::{Cascade, How, Role};
use super::timeline::{self, Timeline};
use super::{Anchors, Context, Report, verdict};
use crate::engine::{Confirmation, Diagnosis, Evidence, Finding};
use crate::probes::Outcome;
use crate::redact::Redactor;
use crate::rules::Severity;
use std::fmt::Write as _;
use std::io::{self, Write};

pub struct Markdown<'a> {
    pub context: Context<'a>,
}

impl Report for Markdown<'_> {
    fn render(&self, d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
        let redactor = self.context.redactor();
        let doc = Doc {
            d,
            ctx: &self.context,
            r: &redactor,
        };
        out.write_all(doc.render().as_bytes())
    }
}

struct Doc<'a> {
    d: &'a Diagnosis,
    ctx: &'a Context<'a>,
    r: &'a Redactor,
}

/// Inline text: the specials escaped outside balanced `code spans`, which stay code.
fn md(s: &str) -> String {
    inline(s, false)
}

/// [`md`] for a table cell, where even a code span's pipe ends the cell unless escaped.
fn cell(s: &str) -> String {
    inline(s, true)
}

fn inline(s: &str, in_table: bool) -> String {
    let spans: Vec<&str> = s.split('`').collect();
    let balanced = spans.len() % 2 == 1;
    let mut out = String::with_capacity(s.len());
    for (i, part) in spans.iter().enumerate() {
        if i > 0 {
            out.push_str(if balanced { "`" } else { "\\`" });
        }
        if balanced && i % 2 == 1 {
            // Inside a code span nothing is special but a table's pipe.
            if in_table {
                out.push_str(&part.replace('|', "\\|"));
            } else {
                out.push_str(part);
            }
            continue;
        }
        for c in part.chars() {
            match c {
                '\\' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                    out.push('\\');
                    out.push(c);
                }
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '@' => out.push_str("&#64;"),
                '\n' | '\r' => out.push(' '),
                _ => out.push(c),
            }
        }
    }
    out
}

/// A fenced block whose fence no line of `body` can close.
fn fenced(lang: &str, body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}\n", body.trim_end_matches('\n'))
}

/// A Mermaid label: inside `"…"`, with its own entity codes.
fn mermaid_label(s: &str) -> String {
    s.replace('&', "#amp;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

impl Doc<'_> {
    fn t(&self, s: &str) -> String {
        md(&self.r.text(s))
    }

    fn tc(&self, s: &str) -> String {
        cell(&self.r.text(s))
    }

    fn render(&self) -> String {
        let d = self.d;
        let anchors = Anchors::of(d);
        let cascade = Cascade::of(d, self.ctx.snapshot, &anchors);
        let (_, line) = verdict(d);
        let mut m = String::new();
        let _ = writeln!(m, "## analylit-doctor: {}\n", self.t(&d.project));
        let _ = writeln!(m, "**{}**\n", self.t(&line));
        let roots: Vec<&Finding> = d
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .collect();
        for f in &roots {
            let _ = writeln!(
                m,
                "- `{}` on **{}**: {}",
                f.id.replace('`', "'"),
                self.t(&f.service),
                self.t(&f.summary)
            );
        }
        if !roots.is_empty() {
            m.push('\n');
        }
        let mut meta = vec![format!("{} service(s)", d.services.len())];
        if let Some(s) = self.ctx.snapshot {
            meta.push(format!("collected {}", self.t(&s.collected_at)));
        }
        let _ = writeln!(m, "{}\n", meta.join(" · "));

        self.services(&mut m, &cascade);
        self.graph(&mut m, &cascade);
        let timeline = self.ctx.snapshot.and_then(|s| Timeline::of(s, d, self.r));
        self.timeline(&mut m, timeline.as_ref());
        m.push_str("### Findings\n\n");
        if d.findings.is_empty() {
            m.push_str("No finding: every service looks healthy.\n");
        }
        for f in &d.findings {
            self.finding(&mut m, f, 0);
        }
        m
    }

    fn services(&self, m: &mut String, c: &Cascade) {
        m.push_str("### Services\n\n| service | state | health | restarts | exit code | role |\n");
        m.push_str("|---|---|---|---:|---:|---|\n");
        for s in &self.d.services {
            let role = c.node(&s.name).map_or(Role::Ok, |n| n.role);
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} |",
                self.tc(&s.name),
                self.tc(&s.state),
                self.tc(s.health.as_deref().unwrap_or("-")),
                s.restarts.map_or("-".to_owned(), |n| n.to_string()),
                s.exit_code.map_or("-".to_owned(), |c| c.to_string()),
                if role == Role::RootCause {
                    "**root cause**"
                } else {
                    role.words()
                }
            );
        }
        m.push('\n');
    }

    fn graph(&self, m: &mut String, c: &Cascade) {
        if c.nodes.is_empty() {
            return;
        }
        m.push_str("### Causal graph\n\n");
        let id = |service: &str| {
            c.nodes
                .iter()
                .position(|n| n.service == service)
                .map(|i| format!("s{i}"))
        };
        let mut g = String::from("flowchart TD\n");
        for (i, node) in c.nodes.iter().enumerate() {
            let mut label = mermaid_label(&self.r.text(&node.service));
            if !node.status.is_empty() {
                label.push_str(&format!(
                    "<br/>{}",
                    mermaid_label(&self.r.text(&node.status))
                ));
            }
            if matches!(node.role, Role::RootCause | Role::Effect | Role::NotStarted) {
                label.push_str(&format!("<br/><b>{}</b>", node.role.words()));
            }
            let _ = writeln!(g, "  s{i}[\"{label}\"]");
        }
        for e in &c.edges {
            let (Some(a), Some(b)) = (id(&e.dependency), id(&e.dependent)) else {
                continue;
            };
            let arrow = match e.how {
                How::Url => "-.->",
                How::DependsOn(_) => "-->",
            };
            let _ = writeln!(g, "  {a} {arrow}|{}| {b}", e.how.label());
        }
        let mut link_styles = Vec::new();
        let mut index = c
            .edges
            .iter()
            .filter(|e| id(&e.dependency).is_some() && id(&e.dependent).is_some())
            .count();
        for l in &c.links {
            let (Some(a), Some(b)) = (id(&l.cause), id(&l.effect)) else {
                continue;
            };
            let _ = writeln!(
                g,
                "  {a} -.->|\"{}\"| {b}",
                mermaid_label(&format!("caused: {}", self.r.text(&l.finding)))
            );
            link_styles.push((index, if l.minor { "#1565c0" } else { "#c62828" }));
            index += 1;
        }
        for (i, colour) in link_styles {
            let _ = writeln!(g, "  linkStyle {i} stroke:{colour},stroke-width:2px");
        }
        g.push_str(
            "  classDef root fill:#fde2e1,stroke:#c62828,stroke-width:3px\n\
             \x20 classDef effect fill:#fff3e0,stroke:#e65100,stroke-width:2px\n\
             \x20 classDef failing fill:#fde2e1,stroke:#e57373\n\
             \x20 classDef notstarted fill:#f5f5f5,stroke:#9e9e9e,stroke-dasharray:5 3\n\
             \x20 classDef note fill:#e3f2fd,stroke:#64b5f6\n\
             \x20 classDef ok fill:#e8f5e9,stroke:#66bb6a\n",
        );
        for role in [
            Role::RootCause,
            Role::Effect,
            Role::Failing,
            Role::NotStarted,
            Role::Note,
            Role::Ok,
        ] {
            let members: Vec<String> = c
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.role == role)
                .map(|(i, _)| format!("s{i}"))
                .collect();
            if !members.is_empty() {
                let _ = writeln!(
                    g,
                    "  class {} {}",
                    members.join(","),
                    role.slug().replace('-', "")
                );
            }
        }
        m.push_str(&fenced("mermaid", &g));
        m.push_str(
            "\nArrows go from a service to what needs it (`depends_on`, labelled with what \
             compose waits for; dotted: a URL names it); red dotted arrows go from a root cause to \
             the failures it explains.\n\n",
        );
    }

    fn timeline(&self, m: &mut String, t: Option<&Timeline>) {
        m.push_str("### Timeline\n\n");
        let Some(t) = t else {
            m.push_str("Nothing in what was collected is dated: no timeline.\n\n");
            return;
        };
        let _ = writeln!(
            m,
            "From {} (+0s){}.\n",
            self.t(&t.origin),
            t.collected
                .map(|c| format!(", collected at {}", timeline::offset(c)))
                .unwrap_or_default()
        );
        m.push_str("| when | service | what |\n|---:|---|---|\n");
        for k in t.key_moments() {
            let what = match k.times {
                1 => k.moment.kind.word().to_owned(),
                n => format!("{} ×{n}", k.moment.kind.word()),
            };
            let what = if k.moment.detail.is_empty() {
                cell(&what)
            } else {
                format!(
                    "{}: `{}`",
                    cell(&what),
                    code_span(&self.r.text(&k.moment.detail))
                )
            };
            let what = if k.moment.kind == timeline::Kind::FirstError {
                format!("**{what}**")
            } else {
                what
            };
            let _ = writeln!(
                m,
                "| {} | {} | {} |",
                timeline::offset(k.moment.at),
                self.tc(&k.lane.service),
                what
            );
        }
        m.push('\n');
    }

    fn finding(&self, m: &mut String, f: &Finding, depth: usize) {
        let heading = "#".repeat((4 + depth).min(6));
        let _ = writeln!(
            m,
            "{heading} {}{} `{}` on {}\n",
            if depth > 0 { "↳ effect: " } else { "" },
            f.severity.as_str(),
            f.id.replace('`', "'"),
            self.t(&f.service)
        );
        let _ = writeln!(m, "**{}**\n", self.t(&f.summary));
        if f.title != f.id {
            let _ = writeln!(m, "_{}_\n", self.t(&f.title));
        }
        if let Some(cause) = &f.caused_by {
            let _ = writeln!(m, "Caused by {}.\n", self.t(cause));
        }
        if !f.evidence.is_empty() {
            let mut body = String::new();
            for e in &f.evidence {
                let line = match e {
                    Evidence::Log {
                        container,
                        ts,
                        text,
                        occurrences,
                        first_ts,
                        ..
                    } => format!(
                        "log    {container}{} | {text}{}",
                        super::log_times(first_ts.as_deref(), ts.as_deref(), "–")
                            .map(|t| format!(" {t}"))
                            .unwrap_or_default(),
                        if *occurrences > 1 {
                            format!(" (×{occurrences})")
                        } else {
                            String::new()
                        }
                    ),
                    Evidence::Health {
                        container,
                        exit_code,
                        text,
                    } => format!("health {container} exit {exit_code} | {text}"),
                    Evidence::State {
                        container,
                        field,
                        value,
                    } => format!("state  {container} {field} = {value}"),
                };
                body.push_str(&self.r.text(&line));
                body.push('\n');
            }
            let _ = write!(
                m,
                "<details><summary>Evidence ({})</summary>\n\n{}\n</details>\n\n",
                f.evidence.len(),
                fenced("text", &body)
            );
        }
        if !f.probes.is_empty() {
            m.push_str("Probes:\n\n");
            for p in &f.probes {
                let _ = write!(
                    m,
                    "- **{}** {} ({}): {}",
                    p.outcome.as_str(),
                    self.t(&p.kind),
                    self.t(&p.expect),
                    self.t(&p.summary)
                );
                if let Outcome::Unknown(why) = &p.outcome
                    && why != &p.summary
                {
                    let _ = write!(m, " ({})", self.t(why));
                }
                m.push('\n');
                if !p.facts.is_empty() {
                    let facts: Vec<String> = p.facts.iter().map(|f| self.r.text(f)).collect();
                    let _ = write!(
                        m,
                        "  <details><summary>what it saw ({})</summary>\n\n{}\n  </details>\n",
                        p.facts.len(),
                        indent(&fenced("text", &facts.join("\n")), "  ")
                    );
                }
            }
            m.push('\n');
        }
        match &f.confirmation {
            Some(Confirmation::Confirmed { by }) => {
                let _ = writeln!(m, "Confirmed by {}.\n", self.t(&by.join(", ")));
            }
            Some(Confirmation::Unconfirmed { reason })
                if f.severity > Severity::Info && f.caused_by.is_none() =>
            {
                let _ = writeln!(m, "**Not confirmed:** {}\n", self.t(reason));
            }
            _ => {}
        }
        if !f.ruled_out.is_empty() {
            m.push_str("Ruled out:\n\n");
            for r in &f.ruled_out {
                let _ = writeln!(m, "- {}", self.t(r));
            }
            m.push('\n');
        }
        if let Some(fix) = &f.fix {
            let _ = writeln!(
                m,
                "**Fix ({}):** {}\n",
                fix.safety.as_str(),
                self.t(&fix.title)
            );
            for (i, s) in fix.steps.iter().enumerate() {
                let _ = writeln!(m, "{}. {}", i + 1, self.t(s));
            }
            if !fix.steps.is_empty() {
                m.push('\n');
            }
            for p in self.ctx.diffs_of(f) {
                m.push_str(&fenced("diff", &self.r.text(&p.diff)));
                m.push('\n');
            }
        }
        for e in &f.effects {
            self.finding(m, e, depth + 1);
        }
    }
}

/// Text for inside a single-backtick code span: its backticks become quotes, pipes escaped for
/// the table around it.
fn code_span(s: &str) -> String {
    s.replace('`', "'").replace('|', "\\|")
}

fn indent(s: &str, pad: &str) -> String {
    s.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_keeps_code_spans_and_escapes_the_rest() {
        assert_eq!(
            md("user `analylit_user` *refused* <b> @here | a_b"),
            "user `analylit_user` \\*refused\\* &lt;b&gt; &#64;here \\| a\\_b"
        );
        assert_eq!(md("odd ` tick"), "odd \\` tick");
        assert_eq!(md("`a|b`"), "`a|b`");
        assert_eq!(cell("`a|b`"), "`a\\|b`");
    }

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_inside() {
        assert_eq!(fenced("text", "a ``` b"), "````text\na ``` b\n````\n");
        assert_eq!(fenced("", "plain\n"), "```\nplain\n```\n");
    }

    #[test]
    fn mermaid_labels_use_its_entities() {
        assert_eq!(mermaid_label(r#"a "b" <c>"#), "a #quot;b#quot; #lt;c#gt;");
    }
}
