//! Plans: from a diagnosis to the fixes it calls for, each spelled out before anything runs.
//!
//! A plan is one finding's fix with its typed steps resolved against what the probes located
//! (`{path}` → `/data/flower.db`), in causal order: root causes first, their effects skipped (an
//! effect is gone when its cause is). Plans are plain data: the printer shows them, `--dry-run`
//! stops there, the applier carries them out.
use crate::engine::{Confirmation, Diagnosis, Finding};
use crate::rules::{FixAction, RuleSet, Safety};
use std::collections::BTreeMap;

/// One finding's fix, resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    pub finding: String,
    pub service: String,
    pub title: String,
    pub safety: Safety,
    /// The steps in words (all there is to a manual fix).
    pub words: Vec<String>,
    /// What the doctor would do; empty for a manual fix or one whose values are unknown.
    pub steps: Vec<Step>,
    /// Why the doctor cannot carry it out itself, when it cannot.
    pub blocked: Option<String>,
    /// The values the probes located (`path`, `uid`, `dependency`, …).
    pub data: BTreeMap<String, String>,
    /// For a `patch-source` step: the patch, computed by the session before it shows the plan.
    pub patch: Option<PreparedPatch>,
    /// The finding's evidence texts (which name, which module), for the patch.
    pub hints: Vec<String>,
}

impl PreparedPatch {
    /// What a plan shows of the patch: how and why, then each file's diff, every line masked
    /// (a diff's context may quote a URL with its password, or a secret the stack's
    /// environment holds).
    pub fn lines(&self, redactor: &crate::redact::Redactor) -> Vec<String> {
        self.how
            .iter()
            .cloned()
            .chain(
                self.edits
                    .iter()
                    .flat_map(|(_, e)| e.diff().lines().map(str::to_owned).collect::<Vec<_>>()),
            )
            .map(|l| redactor.text(&l))
            .collect()
    }
}

/// A source patch mapped onto the project's files: each file's path on this host and the edit,
/// whose `old` is the file's text when the plan was made (checked again before writing).
#[derive(Debug, Clone)]
pub struct PreparedPatch {
    pub how: Vec<String>,
    pub edits: Vec<(std::path::PathBuf, crate::fix::edit::Edit)>,
    /// Every service built from a context holding a patched file: rebuilt and recreated.
    pub services: Vec<String>,
}

/// One resolved step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub action: FixAction,
    /// The path the step acts on, resolved.
    pub path: Option<String>,
    /// One line for the plan: `back up /data/flower.db of flower`.
    pub describe: String,
    /// Whether it changes data (backed up first).
    pub changes_data: bool,
}

/// The plans for `d`, root causes first; findings without a fix are skipped, and so are effects
/// and findings of `info` severity.
pub fn plans(d: &Diagnosis, rules: &RuleSet) -> Vec<Plan> {
    d.findings
        .iter()
        .filter(|f| f.severity > crate::rules::Severity::Info)
        .filter_map(|f| plan(f, rules))
        .collect()
}

fn plan(f: &Finding, rules: &RuleSet) -> Option<Plan> {
    let rule = rules.get(&f.id)?;
    let fix = rule.fix.as_ref()?;
    let view = f.fix.as_ref()?;
    // Values from the probes that confirmed the finding first, then from any other probe.
    let mut data = BTreeMap::new();
    for p in f.probes.iter().rev() {
        data.extend(p.values());
    }
    for p in f
        .probes
        .iter()
        .filter(|p| p.outcome == crate::probes::Outcome::Confirmed)
    {
        data.extend(p.values());
    }
    let confirmed = matches!(f.confirmation, Some(Confirmation::Confirmed { .. }));
    let mut blocked = None;
    let mut steps = Vec::new();
    if fix.safety == Safety::Manual {
        blocked = Some("a manual fix: the doctor shows it, a person applies it".to_owned());
    } else if fix.actions.is_empty() {
        blocked = Some("this rule's fix has no steps the doctor can carry out".to_owned());
    } else if !confirmed {
        blocked = Some("no probe confirmed the finding: the doctor will not act on it".to_owned());
    } else {
        for a in &fix.actions {
            match step(a, &f.service, &data) {
                Ok(s) => steps.push(s),
                Err(missing) => {
                    blocked = Some(format!(
                        "`{}` needs `{missing}`, which no probe located",
                        a.name()
                    ));
                    steps.clear();
                    break;
                }
            }
        }
    }
    Some(Plan {
        finding: f.id.clone(),
        service: f.service.clone(),
        title: view.title.clone(),
        safety: fix.safety,
        words: view.steps.clone(),
        steps,
        blocked,
        data,
        patch: None,
        hints: f
            .evidence
            .iter()
            .filter_map(|e| match e {
                crate::engine::Evidence::Log { text, .. }
                | crate::engine::Evidence::Health { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect(),
    })
}

/// Resolve one action; `Err(name)` when a value it needs is missing.
fn step(a: &FixAction, service: &str, data: &BTreeMap<String, String>) -> Result<Step, String> {
    let need = |name: &str| data.get(name).cloned().ok_or_else(|| name.to_owned());
    let path = |t: &crate::rules::Template| -> Result<String, String> {
        let mut missing = None;
        let mut values = data.clone();
        values.insert("service".into(), service.into());
        for (_, name) in t.placeholders() {
            if !values.contains_key(name) {
                missing = Some(name.to_owned());
            }
        }
        match missing {
            Some(m) => Err(m),
            None => Ok(t.render(&values, service)),
        }
    };
    let s = |describe: String, path: Option<String>, changes_data: bool| Step {
        action: a.clone(),
        path,
        describe,
        changes_data,
    };
    Ok(match a {
        FixAction::Stop => s(format!("stop {service}"), None, false),
        FixAction::Start => s(
            format!("start {service} and wait until it runs"),
            None,
            false,
        ),
        FixAction::Backup { path: t } => {
            let p = path(t)?;
            s(format!("back up {p} of {service}"), Some(p), false)
        }
        FixAction::MoveAside { path: t } => {
            let p = path(t)?;
            s(
                format!("move {p} aside (renamed in its volume, next to the original name)"),
                Some(p),
                true,
            )
        }
        FixAction::Chown { path: t } => {
            let p = path(t)?;
            let uid = need("uid")?;
            let gid = data.get("gid").cloned().unwrap_or_else(|| uid.clone());
            s(
                format!("give {p} to {service}'s user ({uid}:{gid}), recording the old owner"),
                Some(p),
                true,
            )
        }
        FixAction::LfLineEnds { path: t } => {
            let p = path(t)?;
            s(
                format!("convert {p}'s source in the build context to LF line ends"),
                Some(p),
                true,
            )
        }
        FixAction::ExecBit { path: t } => {
            let p = path(t)?;
            s(
                format!(
                    "add the execute bit to {p}'s source in the build context (and git's index)"
                ),
                Some(p),
                true,
            )
        }
        FixAction::DependsOnHealthy => {
            let dep = need("dependency")?;
            s(
                format!("compose file: {service} waits for {dep} to be healthy"),
                None,
                true,
            )
        }
        FixAction::RaiseStartPeriod => {
            let boot = need("boot_secs")?;
            s(
                format!("compose file: {service}'s start_period above its {boot}s boot time"),
                None,
                true,
            )
        }
        FixAction::PythonHealthcheck => {
            let url = need("url")?;
            s(
                format!("compose file: {service}'s health check requests {url} with python3"),
                None,
                true,
            )
        }
        FixAction::PatchSource => s(
            format!("patch the project's source that {service} runs (the diff below)"),
            None,
            true,
        ),
        FixAction::Recreate { build } => s(
            format!(
                "recreate {service} (compose up -d{} {service})",
                if *build { " --build" } else { "" }
            ),
            None,
            false,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_shows_no_secret() {
        let old =
            "URL = \"postgresql://analylit:Pg-S3cret@db/analylit\"\nKEY = \"k-9f8e7d\"\nx = 1\n";
        let p = PreparedPatch {
            how: vec!["restore the export".into()],
            edits: vec![(
                "app/settings.py".into(),
                crate::fix::edit::Edit {
                    path: "app/settings.py".into(),
                    old: old.into(),
                    new: format!("{old}y = x\n"),
                },
            )],
            services: vec!["web".into()],
        };
        let mut r = crate::redact::Redactor::default();
        r.learn_var("SECRET_KEY", "k-9f8e7d");
        let shown = p.lines(&r).join("\n");
        assert!(shown.contains("+y = x"), "{shown}");
        assert!(shown.contains("restore the export"), "{shown}");
        assert!(!shown.contains("Pg-S3cret"), "{shown}");
        assert!(!shown.contains("k-9f8e7d"), "{shown}");
    }
}
