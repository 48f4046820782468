//! The default human report: what was read (for pasted input), an overview table of the
//! services whose state is known, then each finding with its evidence and fix (effects indented
//! under their cause), then a one-line verdict.
use super::Report;
use crate::engine::{Confirmation, Diagnosis, Evidence, Finding};
use crate::rules::Severity;
use comfy_table::{ContentArrangement, presets};
use std::io::{self, Write};

pub struct Table {
    pub colour: bool,
    /// The width to fit: the terminal's when writing to one, a fixed one in tests; `None` (a
    /// pipe or a file) leaves lines whole.
    pub width: Option<u16>,
}

/// The width of the terminal on stdout, when stdout is one.
pub fn terminal_width() -> Option<u16> {
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0)
}

/// Lines longer than `width` broken at word boundaries, each continuation indented under the
/// text it continues (the line's own indent plus four), so a terminal never breaks a word of the
/// evidence. Colour escapes take no width. A single word longer than the line stays whole.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if textwrap::core::display_width(body) <= width {
            out.push_str(line);
            continue;
        }
        let indent = body.len() - body.trim_start_matches(' ').len();
        let hanging = " ".repeat((indent + 4).min(width / 2));
        let options = textwrap::Options::new(width)
            .subsequent_indent(&hanging)
            .break_words(false)
            .word_separator(textwrap::WordSeparator::AsciiSpace)
            .word_splitter(textwrap::WordSplitter::NoHyphenation)
            .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit);
        let rows = textwrap::wrap(body, options);
        out.push_str(&rows.join("\n"));
        out.push_str(newline);
    }
    out
}

impl Table {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical | Severity::Error => "1;31",
            Severity::Warning => "33",
            Severity::Info => "36",
        };
        self.paint(code, s.as_str())
    }

    fn finding(&self, f: &Finding, depth: usize, out: &mut dyn Write) -> io::Result<()> {
        let pad = "    ".repeat(depth);
        let head = if depth == 0 { "●" } else { "↳ effect:" };
        writeln!(
            out,
            "{pad}{head} {} {} on {}: {}",
            self.severity(f.severity),
            self.paint("1", &f.id),
            self.paint("1", &f.service),
            f.summary
        )?;
        if depth == 0 {
            writeln!(out, "{pad}  {}", self.paint("2", &f.title))?;
        }
        for e in &f.evidence {
            let line = match e {
                Evidence::Log {
                    container,
                    ts,
                    text,
                    occurrences,
                    first_ts,
                    ..
                } => {
                    let times = if *occurrences > 1 {
                        format!(" (×{occurrences})")
                    } else {
                        String::new()
                    };
                    // `first–last` when the same line was logged at several times (seconds
                    // apart: within one second it is one time).
                    let ts = match (first_ts.as_deref(), ts.as_deref()) {
                        (Some(first), Some(last)) if short_ts(first) != short_ts(last) => {
                            format!("{}–{}", short_ts(first).trim_end(), short_ts(last))
                        }
                        (_, ts) => ts.map(short_ts).unwrap_or_default(),
                    };
                    format!("log   {container} {ts}| {text}{times}")
                }
                Evidence::Health {
                    container,
                    exit_code,
                    text,
                } => format!("health {container} exit {exit_code} | {text}"),
                Evidence::State {
                    container,
                    field,
                    value,
                } => format!("state {container} {field} = {value}"),
            };
            writeln!(out, "{pad}    {}", line)?;
            match e {
                Evidence::Log { more: 1, .. } => {
                    writeln!(out, "{pad}      … 1 more matching line")?;
                }
                Evidence::Log { more, .. } if *more > 1 => {
                    writeln!(out, "{pad}      … {more} more matching lines")?;
                }
                _ => {}
            }
        }
        for p in &f.probes {
            writeln!(
                out,
                "{pad}  probe {} ({}): {} — {}",
                p.kind,
                p.expect,
                self.paint("1", p.outcome.as_str()),
                p.summary
            )?;
            for fact in &p.facts {
                writeln!(out, "{pad}    {fact}")?;
            }
        }
        match &f.confirmation {
            Some(Confirmation::Confirmed { by }) => {
                writeln!(out, "{pad}  confirmed by {}", by.join(", "))?;
            }
            // An effect is explained by its cause; only causes owe a confirmation.
            Some(Confirmation::Unconfirmed { reason })
                if f.severity > Severity::Info && f.caused_by.is_none() =>
            {
                writeln!(
                    out,
                    "{pad}  {}: {reason}",
                    self.paint("1;33", "not confirmed")
                )?;
            }
            _ => {}
        }
        for r in &f.ruled_out {
            writeln!(out, "{pad}  ruled out: {r}")?;
        }
        if let Some(fix) = &f.fix {
            writeln!(
                out,
                "{pad}  fix ({}): {}",
                self.paint("1", fix.safety.as_str()),
                fix.title
            )?;
            for (i, step) in fix.steps.iter().enumerate() {
                writeln!(out, "{pad}    {}. {step}", i + 1)?;
            }
        }
        for effect in &f.effects {
            self.finding(effect, depth + 1, out)?;
        }
        Ok(())
    }
}

/// `2024-05-01T10:00:00.123456789Z` → `10:00:00 `.
fn short_ts(ts: &str) -> String {
    ts.split_once('T')
        .map(|(_, t)| format!("{} ", &t[..t.len().min(8)]))
        .unwrap_or_default()
}

impl Report for Table {
    fn render(&self, d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
        let Some(width) = self.width else {
            return self.render_lines(d, out);
        };
        let mut buf = Vec::new();
        self.render_lines(d, &mut buf)?;
        out.write_all(wrap(&String::from_utf8_lossy(&buf), usize::from(width).max(20)).as_bytes())
    }
}

impl Table {
    fn render_lines(&self, d: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
        let mut t = comfy_table::Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .force_no_tty()
            .set_header(["service", "state", "health", "restarts", "exit code"]);
        if let Some(w) = self.width {
            t.set_width(w);
        }
        // A service known only from its log lines has no state to show.
        let known = |s: &&crate::engine::ServiceStatus| {
            s.state != crate::stack::paste::UNKNOWN_STATUS
                || s.exit_code.is_some()
                || s.restarts.is_some()
                || s.health.is_some()
        };
        let rows: Vec<&crate::engine::ServiceStatus> = d.services.iter().filter(known).collect();
        for s in &rows {
            t.add_row([
                s.name.clone(),
                s.state.clone(),
                s.health.clone().unwrap_or_else(|| "-".into()),
                s.restarts
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "-".into()),
                s.exit_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
        writeln!(out, "project {}", self.paint("1", &d.project))?;
        for s in d.input.iter().flat_map(|i| &i.sources) {
            writeln!(out, "{}", s.summary)?;
        }
        if !rows.is_empty() {
            writeln!(out, "{t}")?;
        }
        for f in &d.findings {
            writeln!(out)?;
            self.finding(f, 0, out)?;
        }
        writeln!(out)?;
        let problems = d
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .count();
        if let Some(f) = d.findings.first().filter(|_| problems > 0) {
            writeln!(out, "{}", next_step(f))?;
        }
        let verdict = match d.findings.first() {
            Some(f) if problems > 0 => self.paint(
                "1;31",
                &format!(
                    "✗ {problems} problem(s); root cause: {} on {}",
                    f.id, f.service
                ),
            ),
            _ => self.paint("1;32", "✓ no problems found"),
        };
        writeln!(out, "{verdict}")
    }
}

/// What to do next about the root cause: the command that applies its fix, or the manual fix's
/// first step, and where to read more.
fn next_step(f: &crate::engine::Finding) -> String {
    use crate::rules::Safety;
    let more = format!("more: `analylit-doctor explain {}`", f.id);
    match &f.fix {
        Some(fix) if fix.automatic && fix.safety == Safety::Safe => {
            format!(
                "next: `analylit-doctor fix` applies \"{}\" (safe, after a backup); {more}",
                fix.title
            )
        }
        Some(fix) if fix.automatic && fix.safety == Safety::Unsafe => format!(
            "next: `analylit-doctor fix --unsafe-fixes` applies \"{}\" (asks first); {more}",
            fix.title
        ),
        Some(fix) => match fix.steps.first() {
            Some(step) => format!("next: {step} ({more})"),
            None => format!("next: {} ({more})", fix.title),
        },
        None => format!("next: {more}"),
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn long_lines_break_between_words_under_their_text() {
        let text = "● error x on web: one two three four five six\n    log   web | alpha beta gamma delta\nshort\n";
        let wrapped = wrap(text, 24);
        assert_eq!(
            wrapped,
            "● error x on web: one\n    two three four five\n    six\n    log   web | alpha\n        beta gamma delta\nshort\n"
        );
        for line in wrapped.lines() {
            assert!(textwrap::core::display_width(line) <= 24, "{line:?}");
        }
    }

    #[test]
    fn colour_takes_no_width_and_a_long_word_stays_whole() {
        let red = "\x1b[1;31merror\x1b[0m fits";
        assert_eq!(wrap(red, 10), red);
        assert_eq!(
            wrap("a /very/long/path/name", 8),
            "a\n    /very/long/path/name"
        );
        assert_eq!(wrap("see analylit-doctor", 16), "see\n    analylit-doctor");
    }
}
