//! Report: printers render a [`Diagnosis`]; they never decide anything. One trait, one printer per
//! format — adding a format touches one file.
//!
//! A printer that draws more than the findings (the HTML and Markdown reports' timeline, graph
//! and diffs) holds a [`Context`]: the snapshot the diagnosis was made from and the fixes' diffs,
//! both optional, so a diagnosis alone still renders.
pub mod cascade;
mod github;
mod html;
mod json;
mod junit;
mod markdown;
mod sarif;
mod table;
pub mod timeline;

pub use github::Github;
pub use html::Html;
pub use json::{JSON_SCHEMA_VERSION, Json};
pub use junit::Junit;
pub use markdown::Markdown;
pub use sarif::Sarif;
pub use table::{Table, terminal_width};

use crate::engine::{Diagnosis, Finding};
use crate::redact::Redactor;
use crate::rules::Severity;
use crate::stack::snapshot::StackSnapshot;
use std::io::{self, Write};

pub trait Report {
    fn render(&self, diagnosis: &Diagnosis, out: &mut dyn Write) -> io::Result<()>;
}

/// Any printer, its output redacted twice: every text of the diagnosis is masked before it is
/// rendered (short secrets as whole tokens), then the rendered document once more (secrets as
/// the format escapes them, URL passwords, `Authorization:` credentials, secret query
/// parameters), so a printer that shows something new cannot leak it.
pub struct Redacted<'a> {
    pub inner: Box<dyn Report + 'a>,
    pub redactor: std::borrow::Cow<'a, Redactor>,
}

impl Report for Redacted<'_> {
    fn render(&self, diagnosis: &Diagnosis, out: &mut dyn Write) -> io::Result<()> {
        let mut masked = diagnosis.clone();
        masked.mask(&self.redactor);
        let mut buf = Vec::new();
        self.inner.render(&masked, &mut buf)?;
        let text = String::from_utf8_lossy(&buf);
        out.write_all(self.redactor.document(&text).as_bytes())
    }
}

/// What a printer may draw on besides the diagnosis. Everything is optional: a diagnosis made
/// without a stack (preflight, pasted logs) renders without a timeline, and one made without the
/// project's files (a bundle) without diffs.
#[derive(Clone, Copy, Default)]
pub struct Context<'a> {
    /// The snapshot the diagnosis was made from: its dates make the timeline, its compose model
    /// and URLs the graph's edges.
    pub snapshot: Option<&'a StackSnapshot>,
    /// The diffs the fixes would apply, computed on the project's files.
    pub diffs: &'a [FixPreview],
    /// Masks every text shown; when absent, one learned from the snapshot (a bundle passes its
    /// own, which also knows the `--redact` names).
    pub redactor: Option<&'a Redactor>,
}

impl<'a> Context<'a> {
    /// The redactor to use: the given one, else one learned from the snapshot, else one that
    /// masks what any text shows of itself (URL passwords).
    pub fn redactor(&self) -> std::borrow::Cow<'a, Redactor> {
        match (self.redactor, self.snapshot) {
            (Some(r), _) => std::borrow::Cow::Borrowed(r),
            (None, Some(s)) => std::borrow::Cow::Owned(Redactor::for_output(s)),
            (None, None) => std::borrow::Cow::Owned(Redactor::default()),
        }
    }

    fn diffs_of<'b>(&'b self, f: &'b Finding) -> impl Iterator<Item = &'b FixPreview> {
        self.diffs
            .iter()
            .filter(move |p| p.finding == f.id && p.service == f.service)
    }
}

/// The diff a fix would apply to a project file (a unified diff, as `fix --dry-run` shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixPreview {
    pub finding: String,
    pub service: String,
    pub diff: String,
}

/// A stable anchor for every finding (`finding-<id>-<service>`, numbered on the rare repeat), so
/// the graph, the timeline and a URL fragment can point at one.
pub struct Anchors<'a> {
    /// Depth first, causes before their effects, like [`Diagnosis::all_findings`].
    list: Vec<(&'a Finding, String)>,
}

impl<'a> Anchors<'a> {
    pub fn of(d: &'a Diagnosis) -> Self {
        let mut list: Vec<(&'a Finding, String)> = Vec::new();
        for f in d.all_findings() {
            let base = format!("finding-{}-{}", slug(&f.id), slug(&f.service));
            let mut id = base.clone();
            let mut n = 1;
            while list.iter().any(|(_, used)| *used == id) {
                n += 1;
                id = format!("{base}-{n}");
            }
            list.push((f, id));
        }
        Anchors { list }
    }

    /// The anchor of this very finding.
    pub fn of_finding(&self, f: &Finding) -> &str {
        self.list
            .iter()
            .find(|(g, _)| std::ptr::eq(*g, f))
            .map_or("", |(_, id)| id.as_str())
    }

    /// The anchor of the most telling finding on `service`: its first above info, else its first.
    pub fn first_on(&self, service: &str) -> Option<&str> {
        let on = |above: bool| {
            self.list
                .iter()
                .find(|(f, _)| f.service == service && (!above || f.severity > Severity::Info))
                .map(|(_, id)| id.as_str())
        };
        on(true).or_else(|| on(false))
    }

    /// The anchor of the cause a folded effect names (`caused_by` = `<id> on <service>`).
    pub fn of_cause(&self, caused_by: &str) -> Option<&str> {
        let (id, service) = caused_by.split_once(" on ")?;
        self.list
            .iter()
            .find(|(f, _)| f.id == id && f.service == service)
            .map(|(_, a)| a.as_str())
    }
}

/// Lower-case letters, digits and single dashes: safe in an id, a class and a Mermaid node.
/// When an evidence line was logged: `first–last` when the same line was logged at several
/// times (`sep` between), else its time (the table printer shortens the same to seconds).
pub(crate) fn log_times(first_ts: Option<&str>, ts: Option<&str>, sep: &str) -> Option<String> {
    match (first_ts, ts) {
        (Some(first), Some(last)) if first != last => Some(format!("{first}{sep}{last}")),
        (_, ts) => ts.map(String::from),
    }
}

pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        "x".to_owned()
    } else {
        out.to_owned()
    }
}

/// The verdict line every human format ends or starts with.
fn verdict(d: &Diagnosis) -> (bool, String) {
    let problems = d
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .count();
    match d.findings.first() {
        Some(f) if problems > 0 => (
            true,
            format!(
                "✗ {problems} problem(s); root cause: {} on {}",
                f.id, f.service
            ),
        ),
        _ => (false, "✓ no problems found".to_owned()),
    }
}

/// Whether to colour output: never with `NO_COLOR` set, never off a terminal.
pub fn colour_wanted(is_tty: bool) -> bool {
    is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A source location a probe found for a finding: the project file `engine::locate` mapped it to
/// (its `project_location`), else where the probe saw it in the stack (its `location`, else its
/// `data["path"]`), from the first probe that has one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    file: String,
    /// 1-based; `None` when the probe gave no line (or line 0).
    line: Option<u32>,
}

fn location(f: &Finding) -> Option<Location> {
    let shown = |l: &crate::model::Location| Location {
        file: l.file.clone(),
        line: l.line.filter(|&l| l >= 1),
    };
    // A project file (see `engine::locate`) first: that is what a repository's annotations need.
    let in_project = f
        .probes
        .iter()
        .find_map(|p| p.project_location.as_ref().map(shown));
    in_project.or_else(|| {
        f.probes.iter().find_map(|p| match &p.location {
            Some(l) => Some(shown(l)),
            None => Some(Location {
                file: p.data.get("path")?.clone(),
                line: None,
            }),
        })
    })
}

/// Render into `path` whole or not at all: the report goes to a sibling temporary file that is
/// renamed over `path` once written, so a failed run never leaves half a report for CI to read.
pub fn write_file(
    printer: &dyn Report,
    diagnosis: &Diagnosis,
    path: &std::path::Path,
) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut file = io::BufWriter::new(std::fs::File::create(&tmp)?);
        printer.render(diagnosis, &mut file)?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
