//! Report: printers render a [`Diagnosis`]; they never decide anything. One trait, one printer per
//! format — adding a format touches one file.
mod json;
mod table;

pub use json::{JSON_SCHEMA_VERSION, Json};
pub use table::Table;

use crate::engine::Diagnosis;
use std::io::{self, Write};

pub trait Report {
    fn render(&self, diagnosis: &Diagnosis, out: &mut dyn Write) -> io::Result<()>;
}

/// Whether to colour output: never with `NO_COLOR` set, never off a terminal.
pub fn colour_wanted(is_tty: bool) -> bool {
    is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
