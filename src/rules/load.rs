//! Loading several rule files: per-file parsing and validation, then the checks that need all
//! files at once (duplicate ids, overrides, `confirms` targets).
use super::RuleSet;
use super::diagnostic::{Code, Problem, RulesError};
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
    for (i, mut p) in parsed.into_iter().enumerate() {
        if dropped.contains(&i) {
            continue;
        }
        p.problems.sort_by_key(Problem::offset);
        problems.append(&mut p.problems);
        rules.extend(p.rule);
    }
    if !problems.is_empty() {
        return Err(RulesError::new(problems));
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(RuleSet { rules })
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

/// Every `*.toml` of `dir` (not recursive), sorted by name, plus problems reading them.
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
    let mut inputs = Vec::new();
    for path in paths {
        match std::fs::read_to_string(&path) {
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
