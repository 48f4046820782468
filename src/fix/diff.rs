//! Unified diffs, so a person can read a fix before it is applied.
//!
//! Every fix is shown as the `diff -u` a reviewer already knows: `--- a/path`, `+++ b/path`,
//! `@@ -l,n +l,n @@` hunks with three lines of context, `\ No newline at end of file` where
//! diff(1) prints it. Two departures, both for the reader: a carriage return is drawn as `␍`
//! (a CRLF → LF fix would otherwise show lines that look identical) and a byte-order mark as
//! `<U+FEFF>`.
//!
//! Lines are matched with Myers' O(ND) algorithm after trimming the common head and tail; the
//! inputs are small text files and the fixes change a few lines, so the edit distance stays
//! small. Memory is bounded: beyond [`MAX_LINES`] changed lines or [`MAX_COST`] line edits the
//! changed middle is shown as one deletion followed by one insertion, which is still a correct
//! diff, only a less minimal one.

/// Most lines (old plus new, after the common head and tail are trimmed) given to the
/// line matcher; beyond, the middle is replaced whole.
pub const MAX_LINES: usize = 20_000;
/// Most line insertions plus deletions the matcher looks for (its memory grows with the
/// square of this); beyond, the middle is replaced whole.
pub const MAX_COST: usize = 1_000;
/// Lines of context around each change, as `diff -u`.
const CONTEXT: usize = 3;

/// A unified diff of `old` → `new` for `path` (shown as `a/path` and `b/path`); the empty
/// string when the texts are equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let (a, b) = (split(old), split(new));
    let ops = script(&a, &b);
    let mut out = format!("--- a/{path}\n+++ b/{path}\n");
    for hunk in hunks(&ops) {
        render_hunk(&mut out, &ops[hunk.0..hunk.1], &a, &b);
    }
    out
}

/// One line: its text without the `\n`, and whether the `\n` was there (only the last line
/// of a file can lack it, and diff(1) then counts it as a different line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line<'a> {
    text: &'a str,
    newline: bool,
}

fn split(text: &str) -> Vec<Line<'_>> {
    text.split_inclusive('\n')
        .map(|l| match l.strip_suffix('\n') {
            Some(text) => Line {
                text,
                newline: true,
            },
            None => Line {
                text: l,
                newline: false,
            },
        })
        .collect()
}

/// One step of the edit script; `old` and `new` are the line indices before the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Op {
    kind: Kind,
    old: usize,
    new: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Equal,
    Delete,
    Insert,
}

/// The edit script from `a` to `b`, in order, with every change block written as its
/// deletions then its insertions (as diff(1) shows them).
fn script(a: &[Line], b: &[Line]) -> Vec<Op> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (mid_a, mid_b) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut ops: Vec<Op> = (0..head)
        .map(|i| Op {
            kind: Kind::Equal,
            old: i,
            new: i,
        })
        .collect();
    let middle = if mid_a.len() + mid_b.len() <= MAX_LINES {
        myers(mid_a, mid_b, MAX_COST)
    } else {
        None
    };
    let middle = middle.unwrap_or_else(|| replace_whole(mid_a.len(), mid_b.len()));
    ops.extend(middle.into_iter().map(|(kind, old, new)| Op {
        kind,
        old: old + head,
        new: new + head,
    }));
    let (old_end, new_end) = (a.len() - tail, b.len() - tail);
    ops.extend((0..tail).map(|i| Op {
        kind: Kind::Equal,
        old: old_end + i,
        new: new_end + i,
    }));
    deletions_first(&mut ops);
    ops
}

/// Every line of `a` deleted, then every line of `b` inserted.
fn replace_whole(a: usize, b: usize) -> Vec<(Kind, usize, usize)> {
    (0..a)
        .map(|i| (Kind::Delete, i, 0))
        .chain((0..b).map(|j| (Kind::Insert, a, j)))
        .collect()
}

/// Myers' greedy shortest edit script, `None` when it needs more than `max_cost` steps.
/// Each op is (kind, old index, new index), the indices before the op.
fn myers(a: &[Line], b: &[Line], max_cost: usize) -> Option<Vec<(Kind, usize, usize)>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (n + m) as usize;
    let offset = max as isize + 1;
    let mut v = vec![0isize; 2 * max + 3];
    // trace[d] holds v for k in -(d+1)..=(d+1) as it was before step d.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=max.min(max_cost) as isize {
        trace.push(v[(offset - d - 1) as usize..=(offset + d + 1) as usize].to_vec());
        for k in (-d..=d).step_by(2) {
            let at = |k: isize| v[(offset + k) as usize];
            let mut x = if k == -d || (k != d && at(k - 1) < at(k + 1)) {
                at(k + 1)
            } else {
                at(k - 1) + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[(offset + k) as usize] = x;
            if x >= n && y >= m {
                return Some(backtrack(&trace, n, m));
            }
        }
    }
    None
}

fn backtrack(trace: &[Vec<isize>], n: isize, m: isize) -> Vec<(Kind, usize, usize)> {
    let mut ops = Vec::new();
    let (mut x, mut y) = (n, m);
    for (d, v) in trace.iter().enumerate().rev() {
        let d = d as isize;
        let at = |k: isize| v[(k + d + 1) as usize];
        let k = x - y;
        let prev_k = if k == -d || (k != d && at(k - 1) < at(k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = at(prev_k);
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            x -= 1;
            y -= 1;
            ops.push((Kind::Equal, x as usize, y as usize));
        }
        if d > 0 {
            if x == prev_x {
                y -= 1;
                ops.push((Kind::Insert, x as usize, y as usize));
            } else {
                x -= 1;
                ops.push((Kind::Delete, x as usize, y as usize));
            }
        }
    }
    ops.reverse();
    ops
}

/// Reorder each run of changes as its deletions then its insertions, fixing the indices.
fn deletions_first(ops: &mut [Op]) {
    let mut i = 0;
    while i < ops.len() {
        if ops[i].kind == Kind::Equal {
            i += 1;
            continue;
        }
        let start = i;
        while i < ops.len() && ops[i].kind != Kind::Equal {
            i += 1;
        }
        let run = &mut ops[start..i];
        let (old0, new0) = (run[0].old, run[0].new);
        let deletes = run.iter().filter(|o| o.kind == Kind::Delete).count();
        let inserts = run.len() - deletes;
        for (j, op) in run.iter_mut().enumerate() {
            *op = if j < deletes {
                Op {
                    kind: Kind::Delete,
                    old: old0 + j,
                    new: new0,
                }
            } else {
                Op {
                    kind: Kind::Insert,
                    old: old0 + deletes,
                    new: new0 + (j - deletes),
                }
            };
        }
        debug_assert_eq!(run.len(), deletes + inserts);
    }
}

/// Hunks as half-open ranges of `ops`: each change with [`CONTEXT`] equal lines around it,
/// changes whose contexts touch or overlap sharing one hunk.
fn hunks(ops: &[Op]) -> Vec<(usize, usize)> {
    let changes: Vec<usize> = (0..ops.len())
        .filter(|&i| ops[i].kind != Kind::Equal)
        .collect();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &i in &changes {
        let start = i.saturating_sub(CONTEXT);
        let end = (i + 1 + CONTEXT).min(ops.len());
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => out.push((start, end)),
        }
    }
    out
}

fn render_hunk(out: &mut String, ops: &[Op], a: &[Line], b: &[Line]) {
    let Some(first) = ops.first() else {
        return;
    };
    let old_count = ops.iter().filter(|o| o.kind != Kind::Insert).count();
    let new_count = ops.iter().filter(|o| o.kind != Kind::Delete).count();
    out.push_str(&format!(
        "@@ -{} +{} @@\n",
        range(first.old, old_count),
        range(first.new, new_count)
    ));
    for op in ops {
        let (mark, line) = match op.kind {
            Kind::Equal => (' ', a[op.old]),
            Kind::Delete => ('-', a[op.old]),
            Kind::Insert => ('+', b[op.new]),
        };
        out.push(mark);
        out.push_str(&visible(line.text));
        out.push('\n');
        if !line.newline {
            out.push_str("\\ No newline at end of file\n");
        }
    }
}

/// diff(1)'s range: `start` alone for one line, `start,count` otherwise, and for an empty
/// range the line before it.
fn range(first_index: usize, count: usize) -> String {
    match count {
        0 => format!("{first_index},0"),
        1 => format!("{}", first_index + 1),
        _ => format!("{},{count}", first_index + 1),
    }
}

/// The line with the characters a terminal would not show drawn visibly.
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
    fn beyond_the_cost_limit_the_middle_is_replaced_whole() {
        let old: String = (0..3000).map(|i| format!("{i}\r\n")).collect();
        let new = old.replace('\r', "");
        let diff = unified("big", &old, &new);
        assert!(diff.starts_with("--- a/big\n+++ b/big\n@@ -1,3000 +1,3000 @@\n-0␍\n"));
        assert_eq!(diff.lines().filter(|l| l.starts_with('-')).count(), 3001);
        assert_eq!(diff.lines().filter(|l| l.starts_with('+')).count(), 3001);
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
