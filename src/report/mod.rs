//! Report: printers render a [`Diagnosis`]; they never decide anything. One trait, one printer per
//! format — adding a format touches one file.
mod github;
mod json;
mod junit;
mod sarif;
mod table;

pub use github::Github;
pub use json::{JSON_SCHEMA_VERSION, Json};
pub use junit::Junit;
pub use sarif::Sarif;
pub use table::Table;

use crate::engine::{Diagnosis, Finding};
use std::io::{self, Write};

pub trait Report {
    fn render(&self, diagnosis: &Diagnosis, out: &mut dyn Write) -> io::Result<()>;
}

/// Whether to colour output: never with `NO_COLOR` set, never off a terminal.
pub fn colour_wanted(is_tty: bool) -> bool {
    is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A source location a probe found for a finding: the project file `engine::locate` mapped it to
/// (`data["project_file"]` + `["project_line"]`), else where the probe saw it in the stack
/// (`data["file"]` + `["line"]`, else `data["path"]`), from the first probe that has one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    file: String,
    /// 1-based; `None` when the probe gave no line or an unparsable one.
    line: Option<u32>,
}

fn location(f: &Finding) -> Option<Location> {
    let line_of = |p: &crate::probes::ProbeResult, key: &str| {
        p.data
            .get(key)
            .and_then(|l| l.parse::<u32>().ok())
            .filter(|&l| l >= 1)
    };
    // A project file (see `engine::locate`) first: that is what a repository's annotations need.
    let in_project = f.probes.iter().find_map(|p| {
        Some(Location {
            file: p.data.get("project_file")?.clone(),
            line: line_of(p, "project_line"),
        })
    });
    in_project.or_else(|| {
        f.probes.iter().find_map(|p| {
            let file = p.data.get("file").or_else(|| p.data.get("path"))?;
            Some(Location {
                file: file.clone(),
                line: line_of(p, "line"),
            })
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
