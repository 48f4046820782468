//! A rule set's symptom patterns, as the matcher compiles them: one set per kind of line. Rule
//! loading checks here that a set fits the regex crate's size limits, so an override that makes
//! it overflow is a rule error on its span, not a failure at match time.
use super::{Rule, Symptom};
use regex::RegexSet;

/// The log and health patterns of `rules`, in matcher order.
pub fn patterns<'a>(rules: impl Iterator<Item = &'a Rule>) -> [Vec<&'a regex::Regex>; 2] {
    let (mut logs, mut health) = (vec![], vec![]);
    for rule in rules {
        for symptom in &rule.symptoms {
            match symptom {
                Symptom::Logs { regex, .. } => logs.push(regex),
                Symptom::Health { regex, .. } => health.push(regex),
                Symptom::State { .. } => {}
            }
        }
    }
    [logs, health]
}

/// Whether the patterns of `rules` compile together as the matcher's sets (each compiling alone
/// does not make a set of them fit the size limits): `Err` with the kind (`logs`/`health`) and
/// the regex crate's reason.
pub fn check_sets<'a>(rules: impl Iterator<Item = &'a Rule>) -> Result<(), (&'static str, String)> {
    let [logs, health] = patterns(rules);
    for (kind, list) in [("logs", logs), ("health", health)] {
        RegexSet::new(list.iter().map(|r| r.as_str())).map_err(|e| (kind, e.to_string()))?;
    }
    Ok(())
}
