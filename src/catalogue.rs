//! The failure catalogue: the sections of `shared/FAILURES.md` and what the catalogue says of
//! each class (its section, its fix level, where its symptom shows).
//!
//! A catalogue id is the shared vocabulary of the project: the rule that diagnoses a class uses it
//! as its rule id (`rules/<id>.toml`), `explain <id>` looks it up, JSON output and tests speak it.
//! A class that needs more than one rule gets extra rules named `<id>-<suffix>`.
//!
//! The catalogue is data, in two places that do not overlap: a class that a rule diagnoses is
//! described by its own rule file's `[catalogue]` table (read by the rule loader into
//! `Rule::catalogue`; `RuleSet::class_of` finds a rule's class), and `catalogue.toml` at the
//! repository's root holds what belongs to no rule file — the sections, and the classes no rule
//! can diagnose (`unclassified-failure`, the engine's own finding). This module reads
//! `catalogue.toml` and holds the types both share.
use serde::Deserialize;
use std::sync::LazyLock;

/// Where a failure class shows itself (the catalogue's "where" column), as a rule file writes
/// it: `seen = ["log", "state"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seen {
    /// Container logs.
    Log,
    /// `docker inspect` `.State` and `.RestartCount`.
    State,
    /// The health-check results (`.State.Health.Log[].Output`).
    Health,
    /// An HTTP request to the service (needs a probe).
    Http,
    /// Docker Compose's own stderr: invisible in a stack snapshot.
    Cli,
}

impl Seen {
    pub const ALL: [Seen; 5] = [Seen::Log, Seen::State, Seen::Health, Seen::Http, Seen::Cli];

    pub fn as_str(self) -> &'static str {
        match self {
            Seen::Log => "log",
            Seen::State => "state",
            Seen::Health => "health",
            Seen::Http => "http",
            Seen::Cli => "cli",
        }
    }
}

/// What the catalogue says of one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Section letter (`A` application initialisation … `G` Swarm stacks): one of [`sections`].
    pub section: char,
    /// The auto-fix level as written in the catalogue (`safe`, `unsafe`, `manual`,
    /// `safe (with backup)`, `–` …).
    pub fix_level: String,
    /// Where the symptom shows.
    pub seen: Vec<Seen>,
}

impl Entry {
    /// Whether a rule can see this class in a stack snapshot (logs, state or health output).
    pub fn observable(&self) -> bool {
        self.seen
            .iter()
            .any(|s| matches!(s, Seen::Log | Seen::State | Seen::Health))
    }
}

/// One section of the catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub letter: char,
    /// As `explain` shows it.
    pub title: String,
    /// The heading as FAILURES.md writes it; `None` for a section of ours alone.
    #[serde(default)]
    pub heading: Option<String>,
}

/// A class with no rule file.
#[derive(Debug, Clone)]
pub struct Class {
    pub id: String,
    pub entry: Entry,
}

/// `catalogue.toml` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    section: Vec<Section>,
    #[serde(default)]
    class: Vec<ClassDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassDoc {
    id: String,
    section: char,
    fix_level: String,
    seen: Vec<Seen>,
}

/// The text of `catalogue.toml`, compiled in.
pub const TEXT: &str = include_str!("../catalogue.toml");

struct Catalogue {
    sections: Vec<Section>,
    classes: Vec<Class>,
}

/// Parsed once. The file is the repository's own and a test parses it; were it broken, the
/// catalogue would be empty and every rule's `section` would be reported unknown by the loader
/// (a diagnostic, not a panic).
static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    let file: File = parse(TEXT).unwrap_or_default();
    Catalogue {
        sections: file.section,
        classes: file
            .class
            .into_iter()
            .map(|c| Class {
                id: c.id,
                entry: Entry {
                    section: c.section,
                    fix_level: c.fix_level,
                    seen: c.seen,
                },
            })
            .collect(),
    }
});

fn parse(text: &str) -> Result<File, toml::de::Error> {
    toml::from_str(text)
}

/// The catalogue's sections, in order.
pub fn sections() -> &'static [Section] {
    &CATALOGUE.sections
}

/// The section with this letter.
pub fn section(letter: char) -> Option<&'static Section> {
    sections().iter().find(|s| s.letter == letter)
}

/// The classes of the catalogue that have no rule file.
pub fn classes_without_rule() -> &'static [Class] {
    &CATALOGUE.classes
}

/// The anchor GitHub gives a section's heading (lowercase, punctuation dropped, spaces to
/// `-`): what a rule's `references = ["FAILURES.md#…"]` names.
pub fn section_anchor(letter: char) -> Option<String> {
    section(letter)?.heading.as_deref().map(heading_anchor)
}

/// GitHub's anchor for a heading.
pub fn heading_anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The title of a catalogue section, by its letter.
pub fn section_title(letter: char) -> &'static str {
    section(letter).map_or("Other", |s| s.title.as_str())
}

/// Whether a rule id belongs to the class `class`: it is the class id, or the class id followed
/// by `-<suffix>` (`flower-db-needs-recovery-numsync`).
pub fn belongs_to(id: &str, class: &str) -> bool {
    id == class
        || id
            .strip_prefix(class)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|suffix| !suffix.is_empty())
}

/// The class among `classes` that `id` belongs to ([`belongs_to`]); the longest class id wins.
pub fn class_of<'a>(
    id: &str,
    classes: impl IntoIterator<Item = (&'a str, &'a Entry)>,
) -> Option<(&'a str, &'a Entry)> {
    classes
        .into_iter()
        .filter(|(class, _)| belongs_to(id, class))
        .max_by_key(|(class, _)| class.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_catalogue_file_parses_and_its_letters_and_ids_are_unique() {
        let file = parse(TEXT).unwrap_or_else(|e| panic!("catalogue.toml: {e}"));
        assert!(file.section.len() >= 7, "{:?}", file.section);
        let letters: BTreeSet<char> = sections().iter().map(|s| s.letter).collect();
        assert_eq!(letters.len(), sections().len(), "a section letter twice");
        assert!(letters.iter().all(char::is_ascii_uppercase), "{letters:?}");
        for s in sections() {
            if let Some(h) = &s.heading {
                assert!(h.starts_with(&format!("{}. ", s.letter)), "{h}");
            }
        }
        let mut ids = BTreeSet::new();
        for c in classes_without_rule() {
            assert!(ids.insert(&c.id), "{} twice", c.id);
            assert!(letters.contains(&c.entry.section), "{}: section", c.id);
            // A class without a rule file is one no rule could see in a snapshot.
            assert!(!c.entry.observable(), "{} shows in a snapshot", c.id);
        }
        assert_eq!(section_title('F'), "When no class matches");
        assert_eq!(
            section_anchor('B').as_deref(),
            Some("b-flower--gdbm-seed-3")
        );
        assert_eq!(section_anchor('G'), None, "not a section of FAILURES.md");
    }

    #[test]
    fn suffixed_ids_belong_to_their_class() {
        let entry = Entry {
            section: 'A',
            fix_level: "manual".into(),
            seen: vec![Seen::Log],
        };
        let classes = [
            ("name-not-defined", &entry),
            ("import-name-missing", &entry),
            ("flower-db-needs-recovery", &entry),
        ];
        let of = |id: &str| class_of(id, classes).map(|(c, _)| c);
        assert_eq!(of("name-not-defined"), Some("name-not-defined"));
        assert_eq!(
            of("flower-db-needs-recovery-numsync"),
            Some("flower-db-needs-recovery")
        );
        assert_eq!(of("import-name-missing-cycle"), Some("import-name-missing"));
        assert_eq!(of("name-not"), None);
        assert_eq!(of("name-not-defined-"), None);
        assert_eq!(of("name-not-definedx"), None);
        assert_eq!(of("unknown-thing"), None);
        // The longest class id wins.
        let nested = [("a-b", &entry), ("a-b-c", &entry)];
        assert_eq!(class_of("a-b-c-d", nested).map(|(c, _)| c), Some("a-b-c"));
    }
}
