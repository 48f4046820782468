//! The literals a pattern cannot match without: a prefilter for the matcher.
//!
//! [`required`] walks a pattern's syntax tree (regex-syntax's HIR) and returns a small set of
//! byte strings such that **every** match of the pattern contains at least one of them, compared
//! ASCII-case-insensitively (the matcher's Aho-Corasick automaton ignores ASCII case, so `(?i)`
//! costs no blow-up). A line holding none of a pattern's literals cannot match it, and its regex
//! is not run. `None` means no such set was found (a pattern such as `\d+ failed|.*x`): the
//! pattern is run on every line.
//!
//! Within a concatenation, runs of parts that match exactly one of few strings (literals, small
//! classes, anchors) are joined by cross product (`Worker (failed|exited)` gives `worker failed`
//! and `worker exited`); of all runs and the required sets of the other parts, the one with the
//! longest shortest literal is kept. An alternation requires one literal of each branch.
use regex_syntax::hir::{Class, Hir, HirKind};

/// At most this many literals per set (cross products and unions beyond are cut).
const MAX_SET: usize = 64;
/// A class of at most this many characters is expanded into its characters.
const MAX_CLASS: usize = 8;

type Set = Vec<Vec<u8>>;

/// What a piece of a pattern tells: the strings it matches exactly (when few), and a set one of
/// whose literals every match of it contains.
struct Info {
    exact: Option<Set>,
    required: Option<Set>,
}

/// The literals one of which every match of `pattern` contains (ASCII case ignored), or `None`.
pub fn required(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::parse(pattern).ok()?;
    let info = analyse(&hir);
    let best = pick([info.exact, info.required].into_iter().flatten())?;
    (score(&best) > 0.0).then_some(best)
}

fn normalise(mut set: Set) -> Set {
    for s in &mut set {
        s.make_ascii_lowercase();
    }
    set.sort();
    set.dedup();
    set
}

/// How selective a set is: the length of its shortest literal, less a little for its size.
/// An empty literal (matched everywhere) makes a set worthless.
fn score(set: &Set) -> f64 {
    let min = set.iter().map(Vec::len).min().unwrap_or(0);
    if min == 0 {
        return 0.0;
    }
    min as f64 - (set.len() as f64).log2() * 0.5
}

fn pick(candidates: impl IntoIterator<Item = Set>) -> Option<Set> {
    candidates
        .into_iter()
        .filter(|s| score(s) > 0.0)
        .max_by(|a, b| score(a).total_cmp(&score(b)))
}

fn class_strings(class: &Class) -> Option<Set> {
    let mut out = Vec::new();
    match class {
        Class::Unicode(u) => {
            for r in u.ranges() {
                for c in r.start()..=r.end() {
                    if out.len() >= MAX_CLASS {
                        return None;
                    }
                    out.push(c.to_string().into_bytes());
                }
            }
        }
        Class::Bytes(b) => {
            for r in b.ranges() {
                for c in r.start()..=r.end() {
                    if out.len() >= MAX_CLASS {
                        return None;
                    }
                    out.push(vec![c]);
                }
            }
        }
    }
    (!out.is_empty()).then(|| normalise(out))
}

fn product(a: &Set, b: &Set) -> Option<Set> {
    if a.len() * b.len() > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(normalise(out))
}

fn analyse(hir: &Hir) -> Info {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Info {
            exact: Some(vec![vec![]]),
            required: None,
        },
        HirKind::Literal(l) => {
            let set = normalise(vec![l.0.to_vec()]);
            Info {
                exact: Some(set.clone()),
                required: Some(set),
            }
        }
        HirKind::Class(c) => {
            let set = class_strings(c);
            Info {
                exact: set.clone(),
                required: set,
            }
        }
        HirKind::Capture(c) => analyse(&c.sub),
        HirKind::Repetition(r) => {
            let sub = analyse(&r.sub);
            if r.min == 1 && r.max == Some(1) {
                return sub;
            }
            if r.min == 0 {
                return Info {
                    exact: None,
                    required: None,
                };
            }
            Info {
                exact: None,
                required: pick([sub.exact, sub.required].into_iter().flatten()),
            }
        }
        HirKind::Concat(parts) => {
            let mut candidates: Vec<Set> = Vec::new();
            let mut run: Option<Set> = Some(vec![vec![]]);
            let mut all_exact = true;
            for part in parts {
                let info = analyse(part);
                match info.exact {
                    Some(exact) => {
                        run = match run.take() {
                            Some(r) => match product(&r, &exact) {
                                Some(p) => Some(p),
                                None => {
                                    all_exact = false;
                                    candidates.push(r);
                                    Some(exact)
                                }
                            },
                            None => Some(exact),
                        };
                    }
                    None => {
                        all_exact = false;
                        candidates.extend(run.take());
                        candidates.extend(info.required);
                    }
                }
            }
            let exact = if all_exact { run.clone() } else { None };
            candidates.extend(run);
            Info {
                exact,
                required: pick(candidates),
            }
        }
        HirKind::Alternation(branches) => {
            let infos: Vec<Info> = branches.iter().map(analyse).collect();
            let exact = infos
                .iter()
                .map(|i| i.exact.clone())
                .collect::<Option<Vec<Set>>>()
                .map(|sets| sets.concat())
                .filter(|s| s.len() <= MAX_SET)
                .map(normalise);
            let required = infos
                .into_iter()
                .map(|i| pick([i.exact, i.required].into_iter().flatten()))
                .collect::<Option<Vec<Set>>>()
                .map(|sets| sets.concat())
                .filter(|s| s.len() <= MAX_SET)
                .map(normalise);
            Info { exact, required }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(p: &str) -> Option<Vec<String>> {
        required(p).map(|s| {
            s.into_iter()
                .map(|b| String::from_utf8(b).unwrap())
                .collect()
        })
    }

    #[test]
    fn the_longest_required_literal_is_kept() {
        assert_eq!(
            lits(r"NameError: name '(?P<name>[A-Za-z_][A-Za-z0-9_]*)' is not defined"),
            Some(vec!["nameerror: name '".to_owned()])
        );
        assert_eq!(
            lits(r"Reason: Worker failed to boot|HaltServer 'Worker failed to boot\.' 3"),
            Some(vec![
                "haltserver 'worker failed to boot.' 3".to_owned(),
                "reason: worker failed to boot".to_owned()
            ])
        );
        assert_eq!(
            // `(?i)s` also matches the long s: sound, not a guess.
            lits(r"(?i)connection (refused|reset)"),
            Some(vec![
                "connection refused".to_owned(),
                "connection refu\u{17f}ed".to_owned(),
                "connection reset".to_owned(),
                "connection re\u{17f}et".to_owned(),
            ])
        );
        assert_eq!(
            lits(r"exit(ed)? with code \d+"),
            Some(vec![" with code ".to_owned()])
        );
    }

    #[test]
    fn no_literal_is_none_not_a_wrong_one() {
        assert_eq!(lits(r"\d+"), None);
        assert_eq!(lits(r"foo|\w+"), None);
        assert_eq!(lits(r"(abc)?"), None);
        assert_eq!(
            lits(r"(?i)k"),
            Some(vec!["k".to_owned(), "\u{212a}".to_owned()])
        );
    }

    #[test]
    fn every_matching_line_of_the_transcripts_holds_a_literal() {
        // Soundness on captured text: a line a rule pattern matches holds one of its literals.
        let set = crate::rules::load_embedded().expect("embedded rules");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/transcripts");
        let mut matched = 0;
        for entry in std::fs::read_dir(dir).expect("transcripts") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).unwrap_or_default();
            for line in text.lines() {
                let lower = line.to_ascii_lowercase();
                for rule in set.iter() {
                    for s in &rule.symptoms {
                        let Some(re) = s.regex() else { continue };
                        if !re.is_match(line) {
                            continue;
                        }
                        matched += 1;
                        if let Some(lits) = required(re.as_str()) {
                            assert!(
                                lits.iter().any(|l| lower
                                    .as_bytes()
                                    .windows(l.len())
                                    .any(|w| w.eq_ignore_ascii_case(l))),
                                "{line:?} matches {} without a literal of {lits:?}",
                                re.as_str()
                            );
                        }
                    }
                }
            }
        }
        assert!(matched > 50, "only {matched} matching lines");
    }
}
