//! Unified diffs, so a person can read a fix before it is applied.
//!
//! Every fix is shown as the `diff -u` a reviewer already knows: `--- a/path`, `+++ b/path`,
//! `@@ -l,n +l,n @@` hunks with three lines of context, `\ No newline at end of file` where
//! diff(1) prints it. Two departures, both for the reader: a carriage return is drawn as `␍`
//! (a CRLF → LF fix would otherwise show lines that look identical) and a byte-order mark as
//! `<U+FEFF>`.
//!
//! The line matching is `similar`'s Myers diff. It is bounded in time ([`DEADLINE`]): past it,
//! the diff it gives is still correct, only less minimal.
use similar::{Algorithm, TextDiff};
use std::time::Duration;

/// How long the line matcher may look for a minimal diff.
pub const DEADLINE: Duration = Duration::from_millis(500);
/// Lines of context around each change, as `diff -u`.
const CONTEXT: usize = 3;

/// A unified diff of `old` → `new` for `path` (shown as `a/path` and `b/path`); the empty
/// string when the texts are equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let (old, new) = (visible(old), visible(new));
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(DEADLINE)
        .diff_lines(&old, &new);
    diff.unified_diff()
        .context_radius(CONTEXT)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// The text with the characters a terminal would not show drawn visibly.
fn visible(text: &str) -> String {
    text.replace('\r', "␍").replace('\u{feff}', "<U+FEFF>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn numbered(lines: std::ops::Range<usize>) -> String {
        lines.map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn equal_texts_give_nothing() {
        assert_eq!(unified("x", "", ""), "");
        assert_eq!(unified("x", "a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn one_changed_line_in_the_middle_has_three_lines_of_context() {
        let old = numbered(1..11);
        let new = old.replace("line 5\n", "line five\n");
        assert_eq!(
            unified("f.txt", &old, &new),
            "--- a/f.txt\n+++ b/f.txt\n@@ -2,7 +2,7 @@\n line 2\n line 3\n line 4\n\
             -line 5\n+line five\n line 6\n line 7\n line 8\n"
        );
    }

    #[test]
    fn insertions_at_the_start_and_the_end() {
        let old = numbered(1..6);
        let start = format!("new\n{old}");
        assert_eq!(
            unified("f", &old, &start),
            "--- a/f\n+++ b/f\n@@ -1,3 +1,4 @@\n+new\n line 1\n line 2\n line 3\n"
        );
        let end = format!("{old}new\n");
        assert_eq!(
            unified("f", &old, &end),
            "--- a/f\n+++ b/f\n@@ -3,3 +3,4 @@\n line 3\n line 4\n line 5\n+new\n"
        );
    }

    #[test]
    fn empty_files_use_line_zero() {
        assert_eq!(
            unified("f", "", "a\n"),
            "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+a\n"
        );
        assert_eq!(
            unified("f", "a\nb\n", ""),
            "--- a/f\n+++ b/f\n@@ -1,2 +0,0 @@\n-a\n-b\n"
        );
    }

    #[test]
    fn deletions() {
        let old = numbered(1..8);
        let new = old.replace("line 3\nline 4\n", "");
        assert_eq!(
            unified("f", &old, &new),
            "--- a/f\n+++ b/f\n@@ -1,7 +1,5 @@\n line 1\n line 2\n-line 3\n-line 4\n\
             \x20line 5\n line 6\n line 7\n"
        );
    }

    #[test]
    fn changes_close_together_share_a_hunk_and_far_apart_do_not() {
        let old = numbered(1..30);
        // Six equal lines between the changes: the contexts touch, one hunk.
        let near = old
            .replace("line 5\n", "five\n")
            .replace("line 12\n", "twelve\n");
        let diff = unified("f", &old, &near);
        assert_eq!(diff.matches("@@ -").count(), 1, "{diff}");
        assert!(diff.contains("@@ -2,14 +2,14 @@"), "{diff}");
        // Seven: two hunks.
        let far = old
            .replace("line 5\n", "five\n")
            .replace("line 13\n", "thirteen\n");
        let diff = unified("f", &old, &far);
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
    }

    #[test]
    fn carriage_returns_are_visible() {
        let diff = unified(
            "entrypoint.sh",
            "#!/bin/sh\r\nexec gunicorn\r\n",
            "#!/bin/sh\nexec gunicorn\n",
        );
        assert_eq!(
            diff,
            "--- a/entrypoint.sh\n+++ b/entrypoint.sh\n@@ -1,2 +1,2 @@\n-#!/bin/sh␍\n\
             -exec gunicorn␍\n+#!/bin/sh\n+exec gunicorn\n"
        );
        assert!(unified("f", "\u{feff}a\n", "a\n").contains("-<U+FEFF>a\n"));
    }

    #[test]
    fn a_missing_final_newline_is_marked() {
        assert_eq!(
            unified("f", "a\nb", "a\nb\n"),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
        );
        assert_eq!(
            unified("f", "a\n", "a\nb"),
            "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+b\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn every_line_changed_in_a_large_file() {
        let old: String = (0..3000).map(|i| format!("{i}\r\n")).collect();
        let new = old.replace('\r', "");
        let diff = unified("big", &old, &new);
        assert!(diff.starts_with("--- a/big\n+++ b/big\n@@ -1,3000 +1,3000 @@\n-0␍\n"));
        assert_eq!(diff.lines().filter(|l| l.starts_with('-')).count(), 3001);
        assert_eq!(diff.lines().filter(|l| l.starts_with('+')).count(), 3001);
        assert_eq!(apply(&old.replace('\r', "␍"), &diff), new);
    }

    #[test]
    fn a_large_file_with_a_small_change_stays_minimal() {
        let old = numbered(0..50_000);
        let new = old.replace("line 25000\n", "changed\n");
        let diff = unified("f", &old, &new);
        assert_eq!(diff.lines().count(), 2 + 1 + 3 + 2 + 3, "{diff}");
    }

    /// Apply a diff made by [`unified`] to `old` (the hunks' own line numbers, checked).
    fn apply(old: &str, diff: &str) -> String {
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut next = 0; // old lines copied so far
        let mut lines = diff.lines().skip(2).peekable();
        let mut last: Option<char> = None;
        while let Some(line) = lines.next() {
            if let Some(header) = line.strip_prefix("@@ -") {
                let range = header.split(' ').next().unwrap();
                let (start, count) = match range.split_once(',') {
                    Some((s, c)) => (s.parse::<usize>().unwrap(), c.parse::<usize>().unwrap()),
                    None => (range.parse().unwrap(), 1),
                };
                let first = if count == 0 { start } else { start - 1 };
                assert!(first >= next, "hunks out of order");
                old_lines[next..first].iter().for_each(|l| out.push_str(l));
                next = first;
                continue;
            }
            if line == "\\ No newline at end of file" {
                if last != Some('-') {
                    assert_eq!(out.pop(), Some('\n'));
                }
                continue;
            }
            let (mark, text) = line.split_at(1);
            last = mark.chars().next();
            let full = format!("{text}\n");
            match mark {
                " " | "-" => {
                    let want = old_lines[next]
                        .strip_suffix('\n')
                        .unwrap_or(old_lines[next]);
                    assert_eq!(
                        text, want,
                        "context or deletion does not match the old text"
                    );
                    if mark == " " {
                        out.push_str(&full);
                    }
                    next += 1;
                }
                "+" => out.push_str(&full),
                other => panic!("unexpected line start {other:?}"),
            }
            // A context line without newline is the last: restore it exactly.
            if mark == " " && lines.peek() == Some(&"\\ No newline at end of file") {
                out.pop();
                lines.next();
            }
        }
        old_lines[next..].iter().for_each(|l| out.push_str(l));
        out
    }

    #[test]
    fn random_texts_round_trip_through_their_diff() {
        // A fixed linear congruential generator: reproducible, no dependency.
        let mut seed: u64 = 0x5eed;
        let mut rand = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let words = ["a", "b", "", "}", "c"];
        for case in 0..500 {
            let mut make = || -> String {
                let n = rand(14);
                let mut t: String = (0..n)
                    .map(|_| format!("{}\n", words[rand(5) as usize]))
                    .collect();
                if rand(4) == 0 {
                    t.pop();
                }
                t
            };
            let (old, new) = (make(), make());
            let diff = unified("f", &old, &new);
            assert_eq!(
                apply(&old, &diff),
                new,
                "case {case}:\n{old:?}\n{new:?}\n{diff}"
            );
        }
    }

    /// The cases in `fixtures/edits/diff/`: `NAME.old`, `NAME.new` and `NAME.diff`, the last
    /// made once with `diff -u --label a/NAME --label b/NAME NAME.old NAME.new`.
    #[test]
    fn matches_gnu_diff_on_the_recorded_cases() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/edits/diff");
        let mut seen = 0;
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .expect("fixtures/edits/diff")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "diff"))
            .collect();
        entries.sort();
        for expected in entries {
            let name = expected.file_stem().unwrap().to_str().unwrap().to_string();
            let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{name}.{ext}")));
            let (old, new) = (read("old").unwrap(), read("new").unwrap());
            let want = std::fs::read_to_string(&expected).unwrap();
            assert_eq!(unified(&name, &old, &new), want, "case {name}");
            seen += 1;
        }
        assert!(seen >= 4, "only {seen} recorded cases");
    }
}
