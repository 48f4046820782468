//! Loading several rule files: per-file parsing and validation, then the checks that need all
//! files at once (duplicate ids, overrides, `confirms` targets).
use super::Rule;
use super::RuleSet;
use super::diagnostic::{Code, Problem, RulesError, Source};
use super::parse::{FileInput, Parsed, parse_file};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Parse and validate `inputs` (in order), then check them together. `io` are problems met
/// while reading (reported first).
pub(crate) fn load(inputs: Vec<FileInput>, io: Vec<Problem>) -> Result<RuleSet, RulesError> {
    let mut parsed: Vec<Parsed> = inputs.iter().map(parse_file).collect();

    // Which files define each id, in file order.
    let mut by_id: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, p) in parsed.iter().enumerate() {
        if let Some((id, _)) = &p.id {
            by_id.entry(id.clone()).or_default().push(i);
        }
    }

    // An override file replaces the embedded rule of the same id; two files of the same kind
    // (two embedded, or two overrides) defining one id is an error.
    let mut dropped = BTreeSet::new();
    for files in by_id.values() {
        for embedded in [true, false] {
            let same: Vec<usize> = files
                .iter()
                .copied()
                .filter(|&i| parsed[i].embedded == embedded)
                .collect();
            let Some((&first, again)) = same.split_first() else {
                continue;
            };
            for &i in again {
                let problem = duplicate(&parsed[first], &parsed[i]);
                parsed[i].problems.push(problem);
            }
        }
        if files.iter().any(|&i| !parsed[i].embedded) {
            dropped.extend(files.iter().copied().filter(|&i| parsed[i].embedded));
            inherit_catalogue(&mut parsed, files);
        }
    }

    let known: BTreeSet<&str> = parsed
        .iter()
        .enumerate()
        .filter(|(i, _)| !dropped.contains(i))
        .filter_map(|(_, p)| p.id.as_ref().map(|(id, _)| id.as_str()))
        .collect();
    let mut unknown_confirms = Vec::new();
    for (i, p) in parsed.iter().enumerate() {
        if dropped.contains(&i) {
            continue;
        }
        for (target, span) in &p.confirms {
            if known.contains(target.as_str()) {
                continue;
            }
            let mut problem = Problem::new(
                Code::UnknownConfirms,
                format!("`confirms` names `{target}`, which is no loaded rule"),
                &p.source,
            )
            .label(span.clone(), "no rule has this id");
            problem = match nearest(target, &known) {
                Some(n) => problem.help(format!("did you mean `{n}`?")),
                None => problem.help("`confirms` lists rule ids whose findings this rule explains"),
            };
            unknown_confirms.push((i, problem));
        }
    }
    for (i, problem) in unknown_confirms {
        parsed[i].problems.push(problem);
    }

    let mut problems = io;
    let mut rules = Vec::new();
    let mut sources = Vec::new();
    for (i, mut p) in parsed.into_iter().enumerate() {
        if dropped.contains(&i) {
            continue;
        }
        p.problems.sort_by_key(Problem::offset);
        problems.append(&mut p.problems);
        if let Some(rule) = p.rule {
            rules.push(rule);
            sources.push(p.source);
        }
    }
    if problems.is_empty()
        && let Some(problem) = set_overflow(&rules, &sources)
    {
        problems.push(problem);
    }
    if !problems.is_empty() {
        return Err(RulesError::new(problems));
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(RuleSet { rules })
}

/// The catalogue's word on a class is the project's: an override of a class's rule that says
/// nothing of the catalogue (no `[catalogue]`, as every override written before the table
/// existed) keeps the embedded rule's, so `explain` still names its section.
fn inherit_catalogue(parsed: &mut [Parsed], files: &[usize]) {
    let embedded = files
        .iter()
        .find(|&&i| parsed[i].embedded)
        .and_then(|&i| parsed[i].rule.as_ref()?.catalogue.clone());
    let Some(entry) = embedded else {
        return;
    };
    for &i in files {
        if parsed[i].embedded {
            continue;
        }
        if let Some(rule) = parsed[i].rule.as_mut().filter(|r| r.catalogue.is_none()) {
            rule.catalogue = Some(entry.clone());
        }
    }
}

/// The matcher scans each line once with all the rules' patterns in one set: each pattern
/// compiling alone does not make the set fit the regex size limits. The rule whose patterns
/// make the set overflow (rules added in load order, embedded first) is the one reported, with
/// its patterns underlined.
fn set_overflow(rules: &[Rule], sources: &[Source]) -> Option<Problem> {
    let Err((kind, reason)) = super::sets::check_sets(rules.iter()) else {
        return None;
    };
    let culprit = (0..rules.len())
        .find(|&n| super::sets::check_sets(rules[..=n].iter()).is_err())
        .unwrap_or(rules.len().saturating_sub(1));
    let (rule, source) = (rules.get(culprit)?, sources.get(culprit)?);
    let text = source.inner().as_str();
    let mut problem = Problem::new(
        Code::PatternSetTooBig,
        format!(
            "the {kind} patterns of `{}` do not fit in one pattern set with the other rules'",
            rule.id
        ),
        source,
    )
    .help(format!(
        "{reason}; each pattern compiles alone, but together they exceed the regex size \
         limit: use fewer or smaller counted repetitions (`{{n}}`) and character classes"
    ));
    let mut labelled = false;
    for symptom in &rule.symptoms {
        let regex = match symptom {
            crate::rules::Symptom::Logs { regex, .. } if kind == "logs" => regex,
            crate::rules::Symptom::Health { regex, .. } if kind == "health" => regex,
            _ => continue,
        };
        if let Some(at) = text
            .find(regex.as_str())
            .filter(|_| !regex.as_str().is_empty())
        {
            problem = problem.label(at..at + regex.as_str().len(), "this pattern");
            labelled = true;
        }
    }
    if !labelled && let Some(at) = text.find(&rule.id) {
        problem = problem.label(at..at + rule.id.len(), "this rule's patterns");
    }
    Some(problem)
}

fn duplicate(first: &Parsed, again: &Parsed) -> Problem {
    let (id, first_span) = first.id.clone().expect("grouped by id");
    let (_, span) = again.id.clone().expect("grouped by id");
    let origin = Problem::new(
        Code::DuplicateId,
        format!("`{id}` is first defined here"),
        &first.source,
    )
    .label(first_span, "first definition");
    Problem::new(
        Code::DuplicateId,
        format!("rule id `{id}` is defined twice"),
        &again.source,
    )
    .label(span, "defined again here")
    .help("each id names one rule: remove or rename one of the two files")
    .related(origin)
}

fn nearest<'a>(target: &str, known: &BTreeSet<&'a str>) -> Option<&'a str> {
    known
        .iter()
        .copied()
        .find(|k| k.starts_with(target) || target.starts_with(k))
}

/// The largest rule file read. The biggest shipped rule is a few KiB; a file past this is not a
/// rule file (a log or a data file saved as `.toml`), and reading it whole would only cost
/// memory before the parser refused it.
pub(crate) const MAX_RULE_FILE_BYTES: usize = 1024 * 1024;
/// The most rule files read from one directory (the catalogue has well under a hundred).
pub(crate) const MAX_RULE_FILES: usize = 2000;

/// Every `*.toml` of `dir` (not recursive), sorted by name, plus problems reading them. At most
/// [`MAX_RULE_FILES`] files of at most [`MAX_RULE_FILE_BYTES`] each: any past that is a problem,
/// not silently left out.
pub(crate) fn read_dir(dir: &Path) -> (Vec<FileInput>, Vec<Problem>) {
    let mut problems = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(
                Problem::without_source(
                    Code::Io,
                    format!("cannot read the rules directory {}: {e}", dir.display()),
                )
                .help("pass a directory that holds `<id>.toml` rule files"),
            );
            return (Vec::new(), problems);
        }
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    paths.sort();
    if paths.len() > MAX_RULE_FILES {
        problems.push(
            Problem::without_source(
                Code::Io,
                format!(
                    "{} holds {} rule files: only the first {MAX_RULE_FILES} (by name) were read",
                    dir.display(),
                    paths.len()
                ),
            )
            .help("point --rules at a directory of rule files only"),
        );
        paths.truncate(MAX_RULE_FILES);
    }
    let mut inputs = Vec::new();
    for path in paths {
        match crate::capped::text(&path, MAX_RULE_FILE_BYTES) {
            Ok(text) => inputs.push(FileInput {
                path: path.display().to_string(),
                text: text.into(),
                embedded: false,
            }),
            Err(e) => problems.push(Problem::without_source(
                Code::Io,
                format!("cannot read {}: {e}", path.display()),
            )),
        }
    }
    (inputs, problems)
}

#[cfg(test)]
mod set_tests {
    use super::super::load_files;
    use super::Code;

    /// A counted repetition that compiles alone but not twice in one set.
    fn big_pattern() -> String {
        (1..=40)
            .map(|k| format!(r"\w{{{}}}", k * 50))
            .find(|p| {
                regex::Regex::new(p).is_ok() && regex::RegexSet::new([p.as_str(), p]).is_err()
            })
            .expect("a pattern that fits alone and not twice")
    }

    fn rule(id: &str, pattern: &str) -> (String, String) {
        (
            format!("rules/{id}.toml"),
            format!(
                "id = \"{id}\"\ntitle = \"t\"\nseverity = \"error\"\nsummary = \"s\"\n\
                 explanation = \"e\"\neffect = true\n\n[[symptom]]\nlogs = '{pattern}'\n"
            ),
        )
    }

    #[test]
    fn patterns_too_big_together_are_a_spanned_rule_error_not_a_panic() {
        let p = big_pattern();
        let files = [rule("big-one", &p), rule("big-two", &p)];
        let err = load_files(&files).expect_err("the set does not fit");
        let problems = err.problems();
        assert_eq!(problems.len(), 1, "{err:?}");
        assert_eq!(problems[0].code(), Code::PatternSetTooBig);
        assert_eq!(problems[0].file(), Some("rules/big-two.toml"));
        let text = &files[1].1;
        let at = text.find(&p).expect("pattern in the file");
        assert_eq!(problems[0].offset(), at, "the label is on the pattern");
        // Alone, each loads, and the matcher works.
        let set = load_files(&files[..1]).expect("one fits");
        let m = crate::engine::matcher::Matcher::new(&set);
        assert_eq!(m.rules_matching_line(&"x".repeat(3000)).count(), 1);
    }

    #[test]
    fn an_over_cap_rule_file_is_a_problem_naming_the_cap_and_the_rest_load() {
        let dir = tempfile::tempdir().unwrap();
        let (_, good) = rule("small-one", "boom");
        std::fs::write(dir.path().join("small-one.toml"), good).unwrap();
        // Valid TOML all the way: only its size is wrong.
        let mut big = String::from("# ");
        big.push_str(&"x".repeat(super::MAX_RULE_FILE_BYTES));
        std::fs::write(dir.path().join("huge.toml"), big).unwrap();
        let (inputs, problems) = super::read_dir(dir.path());
        assert_eq!(inputs.len(), 1, "the small file is read");
        assert!(inputs[0].path.ends_with("small-one.toml"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].code(), Code::Io);
        let said = problems[0].message.clone();
        assert!(
            said.contains("huge.toml")
                && said.contains(&format!("more than {} bytes", super::MAX_RULE_FILE_BYTES)),
            "{said}"
        );
    }
}
