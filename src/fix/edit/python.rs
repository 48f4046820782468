//! Python sources: the patch for a missing import, for a person to apply.
use super::Edit;

/// A Python source with `import` added after its last top-level import (or at the top, after a
/// module docstring's first line when there is no import): the patch for a missing import, shown
/// to a person, never applied by the doctor.
pub fn add_import(path: &str, text: &str, import: &str) -> Edit {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.iter().any(|l| l.trim_end() == import) {
        return Edit {
            path: path.into(),
            old: text.into(),
            new: text.into(),
        };
    }
    let at = lines
        .iter()
        .rposition(|l| l.starts_with("import ") || l.starts_with("from "))
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut new = String::with_capacity(text.len() + import.len() + 1);
    for l in &lines[..at] {
        new.push_str(l);
    }
    if at > 0 && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(import);
    new.push('\n');
    for l in &lines[at..] {
        new.push_str(l);
    }
    Edit {
        path: path.into(),
        old: text.into(),
        new,
    }
}
