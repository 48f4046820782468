//! Line edits on a source's own text: its line ends and indentation kept.

/// The text's lines, each with its line end.
pub fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The line end the file uses (`\r\n` when its first line has one).
pub fn eol(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// The leading blanks of `line`.
pub fn indent(line: &str) -> &str {
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// `line` (1-based) without its line end.
pub fn line(text: &str, line: u32) -> Option<&str> {
    lines(text)
        .get((line as usize).checked_sub(1)?)
        .map(|l| l.trim_end_matches(['\r', '\n']))
}

/// `text` with line `at` (1-based) replaced by `content` (given without its line end).
pub fn replace_line(text: &str, at: u32, content: &str) -> Option<String> {
    let ls = lines(text);
    let i = (at as usize).checked_sub(1)?;
    let old = ls.get(i)?;
    let end = &old[old.trim_end_matches(['\r', '\n']).len()..];
    let mut out = String::with_capacity(text.len() + content.len());
    for (j, l) in ls.iter().enumerate() {
        if j == i {
            out.push_str(content);
            out.push_str(end);
        } else {
            out.push_str(l);
        }
    }
    Some(out)
}

/// `text` with `content` inserted as a line of its own before line `at` (1-based; one past the
/// last line appends).
pub fn insert_before(text: &str, at: u32, content: &str) -> Option<String> {
    let ls = lines(text);
    let i = (at as usize).checked_sub(1)?;
    if i > ls.len() {
        return None;
    }
    let nl = eol(text);
    let mut out = String::with_capacity(text.len() + content.len() + 2);
    for l in &ls[..i] {
        out.push_str(l);
    }
    if i > 0 && !out.ends_with('\n') {
        out.push_str(nl);
    }
    out.push_str(content);
    out.push_str(nl);
    for l in &ls[i..] {
        out.push_str(l);
    }
    Some(out)
}

/// `text` without line `at` (1-based).
pub fn remove_line(text: &str, at: u32) -> Option<String> {
    let ls = lines(text);
    let i = (at as usize).checked_sub(1)?;
    ls.get(i)?;
    Some(
        ls.iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, l)| *l)
            .collect(),
    )
}

/// Byte ranges of `needle` in `hay` where it stands alone: not glued to an identifier character
/// (or `.`/`:`) on either side.
pub fn token_positions(hay: &str, needle: &str) -> Vec<usize> {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '.' || c == ':';
    hay.match_indices(needle)
        .filter(|(i, _)| {
            let before = hay[..*i].chars().next_back();
            let after = hay[i + needle.len()..].chars().next();
            !before.is_some_and(word) && !after.is_some_and(word)
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_line_ends() {
        let t = "a\r\n  b\r\nc";
        assert_eq!(eol(t), "\r\n");
        assert_eq!(replace_line(t, 2, "  x").unwrap(), "a\r\n  x\r\nc");
        assert_eq!(insert_before(t, 2, "  y").unwrap(), "a\r\n  y\r\n  b\r\nc");
        assert_eq!(insert_before(t, 4, "d").unwrap(), "a\r\n  b\r\nc\r\nd\r\n");
        assert_eq!(remove_line(t, 2).unwrap(), "a\r\nc");
        assert_eq!(indent("    x"), "    ");
        assert_eq!(line(t, 2), Some("  b"));
        assert_eq!(replace_line(t, 9, "x"), None);
    }

    #[test]
    fn tokens_stand_alone() {
        let s = "gunicorn m:application x.m:application m:application2 'm:application'";
        assert_eq!(token_positions(s, "m:application"), vec![9, 55]);
    }
}
