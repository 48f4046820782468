//! Secrets never leave the tool. A [`Redactor`] learns the secret values of a stack (variables
//! whose name says secret, passwords inside URLs) and masks every occurrence of them in any text
//! shown — env listings, log lines, health outputs — so a password echoed into a traceback is
//! masked too.
use crate::stack::snapshot::StackSnapshot;
use regex::Regex;
use std::collections::BTreeSet;
use std::sync::LazyLock;

pub const MASK: &str = "***";

/// Variable names whose value is a secret.
static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(pass(word|wd)?|secret|token|api_?key|private_?key|credential|auth)")
        .expect("secret-name pattern")
});

/// `scheme://user:password@host` → the password part.
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>[^@/\s]+)@")
        .expect("url pattern")
});

pub fn is_secret_name(name: &str) -> bool {
    SECRET_NAME.is_match(name)
}

#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
    /// Where the secrets were found, by name only (`POSTGRES_PASSWORD`, `DATABASE_URL (URL
    /// password)`, `--requirepass`): what a bundle's manifest says was redacted.
    sources: BTreeSet<String>,
    /// Variable names whose values are secret whatever the name says (`--redact NAME`).
    also_secret: Vec<String>,
}

impl Redactor {
    pub fn for_snapshot(snapshot: &StackSnapshot) -> Self {
        Self::for_snapshot_with(snapshot, &[])
    }

    /// [`Redactor::for_snapshot`], with the values of the variables named in `names` secret too
    /// (in every container and in the compose file).
    pub fn for_snapshot_with(snapshot: &StackSnapshot, names: &[String]) -> Self {
        let mut r = Redactor {
            also_secret: names.to_vec(),
            ..Redactor::default()
        };
        for c in &snapshot.containers {
            for e in &c.env {
                r.learn_var(&e.name, &e.value);
            }
            r.learn_argv(c.entrypoint.iter().chain(&c.command));
        }
        // The compose file may name secrets of services that are not running, and a diff of it
        // shows them: learn its environment and commands too.
        for s in snapshot.compose.iter().flat_map(|m| &m.services) {
            for e in &s.environment {
                if let Some(v) = &e.value {
                    r.learn_var(&e.key, v);
                }
            }
            r.learn_argv(
                s.command
                    .iter()
                    .flatten()
                    .chain(s.entrypoint.iter().flatten()),
            );
        }
        r
    }

    /// Secrets passed on a command line: `--requirepass X`, `--password=X`, and URLs.
    pub fn learn_argv<'a>(&mut self, argv: impl Iterator<Item = &'a String>) {
        let mut previous: Option<&str> = None;
        for arg in argv {
            for word in arg.split_whitespace() {
                if let Some(flag) = previous.take()
                    && is_secret_name(flag.trim_start_matches('-'))
                {
                    self.add(word);
                    self.sources.insert(flag.to_owned());
                }
                if let Some((flag, value)) = word.split_once('=')
                    && flag.starts_with('-')
                    && is_secret_name(flag.trim_start_matches('-'))
                {
                    self.add(value);
                    self.sources.insert(flag.to_owned());
                }
                for caps in URL_PASSWORD.captures_iter(word) {
                    self.add(&caps["pw"]);
                    self.sources
                        .insert("a URL password on a command line".to_owned());
                }
                if word.starts_with('-') {
                    previous = Some(word);
                }
            }
        }
    }

    pub fn learn_var(&mut self, name: &str, value: &str) {
        if self.is_secret_var(name) && !value.is_empty() {
            self.add(value);
            self.sources.insert(name.to_owned());
        }
        for caps in URL_PASSWORD.captures_iter(value) {
            self.add(&caps["pw"]);
            self.sources.insert(format!("{name} (URL password)"));
        }
    }

    /// Whether a variable's whole value is secret: its name says so, or `--redact` named it.
    pub fn is_secret_var(&self, name: &str) -> bool {
        is_secret_name(name) || self.also_secret.iter().any(|n| n == name)
    }

    /// Where the secrets were found, names only, sorted.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.sources.iter().map(String::as_str)
    }

    /// Add a value that must never be shown (e.g. from `--redact`).
    pub fn add(&mut self, secret: &str) {
        // Very short values would mask ordinary words; they are still masked in URLs and env.
        if secret.len() >= 4 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Mask every known secret and any password written in a URL.
    pub fn text(&self, text: &str) -> String {
        let mut out = URL_PASSWORD
            .replace_all(text, |c: &regex::Captures| format!("{}{MASK}@", &c["pre"]))
            .into_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }

    /// An env var as shown: secret-named values masked whole, URLs masked inside.
    pub fn env_value(&self, name: &str, value: &str) -> String {
        if self.is_secret_var(name) && !value.is_empty() {
            MASK.to_string()
        } else {
            self.text(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_and_secret_vars_are_masked_everywhere() {
        let mut r = Redactor::default();
        r.learn_var("POSTGRES_PASSWORD", "s3cret-pw");
        r.learn_var(
            "DATABASE_URL",
            "postgresql://analylit:other-pw@db:5432/analylit",
        );
        assert_eq!(
            r.env_value(
                "DATABASE_URL",
                "postgresql://analylit:other-pw@db:5432/analylit"
            ),
            "postgresql://analylit:***@db:5432/analylit"
        );
        assert_eq!(r.env_value("POSTGRES_PASSWORD", "s3cret-pw"), "***");
        assert_eq!(
            r.text("FATAL: password s3cret-pw rejected; tried other-pw"),
            "FATAL: password *** rejected; tried ***"
        );
        assert_eq!(
            r.text("redis://:pw1234@redis:6379/0"),
            "redis://:***@redis:6379/0"
        );
    }

    #[test]
    fn plain_text_is_left_alone() {
        let r = Redactor::default();
        assert_eq!(r.text("GET /api/health 200"), "GET /api/health 200");
        assert_eq!(
            r.env_value("REDIS_URL", "redis://redis:6379/0"),
            "redis://redis:6379/0"
        );
    }
}

#[cfg(test)]
mod argv_tests {
    use super::*;

    #[test]
    fn secrets_on_a_command_line_are_learned() {
        let mut r = Redactor::default();
        let argv: Vec<String> = ["redis-server --requirepass Lab-Redis-Secret-5e1d --save 60 1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        r.learn_argv(argv.iter());
        let more = ["--password=hunter22".to_owned(), "--save".to_owned()];
        r.learn_argv(more.iter());
        assert_eq!(
            r.text("requirepass Lab-Redis-Secret-5e1d; pw hunter22; save 60"),
            "requirepass ***; pw ***; save 60"
        );
    }
}
