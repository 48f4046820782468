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

/// A query parameter whose name says secret: `?token=X`, `&api_key=X`.
static QUERY_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?P<pre>[?&;][a-z0-9_.-]*(?:pass(?:word|wd)?|secret|token|api_?key|private_?key|credential|auth|sig(?:nature)?)[a-z0-9_.-]*=)(?P<v>[^&#\s'\x22]+)",
    )
    .expect("query pattern")
});

/// An HTTP `Authorization:` (or `Proxy-Authorization:`) header's credentials, with or without
/// its scheme word.
static AUTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?P<pre>authorization\s*[:=]\s*(?:(?:bearer|basic|token|digest|negotiate)\s+)?)(?P<v>[^\s'\x22,;]+)",
    )
    .expect("authorization pattern")
});

/// A value that is only a reference to a variable (`${API_TOKEN}`, `$PW`): its name, not a secret.
static VAR_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\$(\{[A-Za-z_][A-Za-z0-9_]*(:?[-?+][^}]*)?\}|[A-Za-z_][A-Za-z0-9_]*)$")
        .expect("variable reference pattern")
});

/// Values of secret-named variables that are switches, not secrets.
const NOT_SECRETS: [&str; 12] = [
    "true", "false", "yes", "no", "on", "off", "none", "null", "enabled", "disabled", "required",
    "optional",
];

/// Programs whose `-a X` is a password (`redis-cli -a X`, `keydb-cli`).
const DASH_A_PROGRAMS: [&str; 3] = ["redis-cli", "keydb-cli", "valkey-cli"];

/// The variable names `--redact` named for this run (every command takes it): set once by the
/// command line, read by every redactor, so no output path can miss them.
static REDACT_NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

/// Record the `--redact` names of this run (the first call wins).
pub fn set_redact_names(names: Vec<String>) {
    let _ = REDACT_NAMES.set(names);
}

fn redact_names() -> &'static [String] {
    REDACT_NAMES.get().map(Vec::as_slice).unwrap_or_default()
}

pub fn is_secret_name(name: &str) -> bool {
    SECRET_NAME.is_match(name)
}

/// A flag (`--requirepass`, `--password`) or assignment (`PGPASSWORD`) whose value is a secret;
/// not one that only mentions one (`--no-auth-warning`, `--password-file`).
fn is_secret_flag(flag: &str) -> bool {
    let name = flag.trim_start_matches('-').to_ascii_lowercase();
    is_secret_name(&name)
        && !name.starts_with("no-")
        && ![
            "file", "warning", "prompt", "method", "type", "mode", "source",
        ]
        .iter()
        .any(|end| name.ends_with(end))
}

#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
    /// Secrets shorter than [`SHORT`] bytes: masked as whole tokens only, so a password `pw1`
    /// does not eat `pw12` or a word that contains it.
    short: Vec<String>,
    /// Where the secrets were found, by name only (`POSTGRES_PASSWORD`, `DATABASE_URL (URL
    /// password)`, `--requirepass`): what a bundle's manifest says was redacted.
    sources: BTreeSet<String>,
    /// Variable names whose values are secret whatever the name says (`--redact NAME`).
    also_secret: Vec<String>,
}

/// Secrets at least this long are masked wherever they appear; shorter ones as whole tokens.
const SHORT: usize = 4;

impl Redactor {
    pub fn for_snapshot(snapshot: &StackSnapshot) -> Self {
        Self::for_snapshot_with(snapshot, &[])
    }

    /// A redactor that knows only the `--redact` names (learn the rest with the `learn_*`
    /// methods).
    pub fn with_names(names: &[String]) -> Self {
        Redactor {
            also_secret: names.iter().chain(redact_names()).cloned().collect(),
            ..Redactor::default()
        }
    }

    /// [`Redactor::for_snapshot`], with the values of the variables named in `names` secret too
    /// (in every container and in the compose file).
    pub fn for_snapshot_with(snapshot: &StackSnapshot, names: &[String]) -> Self {
        let mut r = Self::with_names(names);
        r.learn_snapshot(snapshot);
        r
    }

    /// The redactor for what a command prints: the snapshot's secrets, the `--redact` names, and
    /// the project's files on disk (the compose file and its `.env`), when they are at hand.
    pub fn for_output(snapshot: &StackSnapshot) -> Self {
        let mut r = Self::for_snapshot(snapshot);
        let files = snapshot
            .compose_file
            .iter()
            .map(std::path::PathBuf::from)
            .chain(snapshot.compose.iter().map(|m| m.file.clone()));
        for f in files.collect::<BTreeSet<_>>() {
            r.learn_project_files(&f);
        }
        r
    }

    /// Every place a snapshot carries secrets: each container's env, command line, health
    /// check, labels and state error, and the compose model's env, commands and health checks.
    pub fn learn_snapshot(&mut self, snapshot: &StackSnapshot) {
        for c in &snapshot.containers {
            for e in &c.env {
                self.learn_var(&e.name, &e.value);
            }
            self.learn_argv(c.entrypoint.iter().chain(&c.command));
            if let Some(h) = &c.healthcheck {
                self.learn_argv(h.test.iter());
            }
            for (k, v) in &c.labels {
                self.learn_var(k, v);
                self.learn_argv(std::iter::once(v));
            }
        }
        // The compose file may name secrets of services that are not running, and a diff of it
        // shows them: learn its environment and commands too.
        for s in snapshot.compose.iter().flat_map(|m| &m.services) {
            for e in &s.environment {
                if let Some(v) = &e.value {
                    self.learn_var(&e.key, v);
                }
                if let Some(v) = e.raw.as_ref().filter(|v| !v.contains("${")) {
                    self.learn_var(&e.key, v);
                }
            }
            self.learn_argv(
                s.command
                    .iter()
                    .flatten()
                    .chain(s.entrypoint.iter().flatten()),
            );
            if let Some(h) = &s.healthcheck {
                self.learn_argv(h.test.iter());
            }
            for (k, v) in &s.build_args {
                if let Some(v) = v {
                    self.learn_var(k, v);
                }
            }
        }
    }

    /// The project's files on disk beside a compose file: the file itself (every `KEY: value`
    /// and `KEY=value` whose key says secret, command lines, URLs) and the `.env` beside it.
    /// Missing or unreadable files teach nothing; each is read up to 1 MiB.
    pub fn learn_project_files(&mut self, compose_file: &std::path::Path) {
        let read = |p: &std::path::Path| -> Option<String> {
            use std::io::Read;
            let f = std::fs::File::open(p).ok()?;
            let mut buf = Vec::new();
            f.take(1 << 20).read_to_end(&mut buf).ok()?;
            Some(String::from_utf8_lossy(&buf).into_owned())
        };
        if let Some(text) = read(compose_file) {
            self.learn_config_text(&text);
        }
        let dir = compose_file.parent().unwrap_or(std::path::Path::new(""));
        if let Some(text) = read(&dir.join(".env")) {
            for (k, v) in crate::stack::compose::parse_dotenv(&text) {
                self.learn_var(&k, &v);
            }
        }
    }

    /// A configuration file's text (compose YAML, an env file): `key: value` / `key=value` pairs
    /// whose key says secret, and every line read as a command line (URLs, `-a`, `-u`, flags).
    pub fn learn_config_text(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim().trim_start_matches("- ").trim();
            if line.starts_with('#') {
                continue;
            }
            let pair = line
                .split_once(": ")
                .filter(|(k, _)| !k.contains(' '))
                .or_else(|| line.split_once('=').filter(|(k, _)| !k.contains(' ')));
            if let Some((k, v)) = pair {
                let v = v.trim();
                let v = v.split(" #").next().unwrap_or(v).trim();
                let v = unquote(v);
                if !v.contains("${") {
                    self.learn_var(k.trim().trim_matches(['"', '\'']), v);
                }
            }
            // A list form (`["CMD", "redis-cli", "-a", "X"]`) reads as words once its
            // punctuation is gone.
            let words = line.replace(['[', ']', ','], " ").replace(['"', '\''], "");
            self.learn_argv(std::iter::once(&words));
        }
    }

    /// Secrets passed on a command line: `--requirepass X`, `--password=X`, `-a X` to
    /// `redis-cli`, `-u user:pw` / `--user user:pw`, `PGPASSWORD=X cmd`, `Authorization:`
    /// headers, secret query parameters and URL passwords.
    pub fn learn_argv<'a>(&mut self, argv: impl Iterator<Item = &'a String>) {
        let mut previous: Option<String> = None;
        let mut dash_a = false;
        for arg in argv {
            let headers: Vec<String> = AUTH_HEADER
                .captures_iter(arg)
                .map(|c| c["v"].to_owned())
                .collect();
            for v in headers {
                self.add(&v);
                self.sources.insert("an Authorization header".to_owned());
            }
            for word in arg.split_whitespace() {
                let word = unquote(word);
                let base = word.rsplit('/').next().unwrap_or(word);
                if DASH_A_PROGRAMS.contains(&base) {
                    dash_a = true;
                }
                if let Some(flag) = previous.take() {
                    if is_secret_flag(&flag) && !word.starts_with('-') {
                        self.add(word);
                        self.sources.insert(flag.clone());
                    } else if flag == "-a" && dash_a && !word.starts_with('-') {
                        self.add(word);
                        self.sources.insert("-a (redis-cli)".to_owned());
                    } else if matches!(flag.as_str(), "-u" | "--user" | "--proxy-user")
                        && !word.contains("://")
                        && let Some((_, pw)) = word.split_once(':')
                    {
                        self.add(pw);
                        self.sources.insert(format!("{flag} user:password"));
                    }
                }
                if let Some((flag, value)) = word.split_once('=') {
                    if is_secret_flag(flag) && !value.is_empty() {
                        self.add(unquote(value));
                        self.sources.insert(flag.to_owned());
                    } else if matches!(flag, "--user" | "--proxy-user")
                        && !value.contains("://")
                        && let Some((_, pw)) = value.split_once(':')
                    {
                        self.add(pw);
                        self.sources.insert(format!("{flag} user:password"));
                    }
                }
                // `-aSECRET` and `-uuser:pw`, glued to their flag.
                if dash_a && let Some(v) = word.strip_prefix("-a").filter(|v| !v.is_empty()) {
                    self.add(v);
                    self.sources.insert("-a (redis-cli)".to_owned());
                }
                if let Some(v) = word
                    .strip_prefix("-u")
                    .filter(|v| v.contains(':') && !v.contains("://"))
                    && let Some((_, pw)) = v.split_once(':')
                {
                    self.add(pw);
                    self.sources.insert("-u user:password".to_owned());
                }
                self.learn_urls(word, "a URL password on a command line");
                if word.starts_with('-') {
                    previous = Some(word.to_owned());
                }
            }
        }
    }

    /// URL passwords and secret query parameters in `text`.
    fn learn_urls(&mut self, text: &str, source: &str) {
        let found: Vec<String> = URL_PASSWORD
            .captures_iter(text)
            .map(|c| c["pw"].to_owned())
            .chain(QUERY_SECRET.captures_iter(text).map(|c| c["v"].to_owned()))
            .collect();
        for v in found {
            self.add(&v);
            self.sources.insert(source.to_owned());
        }
    }

    pub fn learn_var(&mut self, name: &str, value: &str) {
        if self.is_secret_var(name) && !value.is_empty() {
            self.add(value);
            self.sources.insert(name.to_owned());
        }
        let found: Vec<String> = URL_PASSWORD
            .captures_iter(value)
            .map(|c| c["pw"].to_owned())
            .chain(QUERY_SECRET.captures_iter(value).map(|c| c["v"].to_owned()))
            .chain(AUTH_HEADER.captures_iter(value).map(|c| c["v"].to_owned()))
            .collect();
        for v in found {
            self.add(&v);
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

    /// Add a value that must never be shown (e.g. from `--redact`). A value shorter than four
    /// bytes is masked as a whole token only.
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim();
        if secret.is_empty() || secret.contains(MASK) || VAR_REFERENCE.is_match(secret) {
            return;
        }
        // A switch (`AUTH_ENABLED=true`, `REDIS_PASSWORD_REQUIRED=no`) says nothing secret, and
        // masking its word would mask it in every sentence and document shown.
        if NOT_SECRETS.iter().any(|w| w.eq_ignore_ascii_case(secret)) {
            return;
        }
        if secret.len() < SHORT {
            if !self.short.iter().any(|s| s == secret) {
                self.short.push(secret.to_string());
            }
        } else if !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Whether the redactor knows any secret (beyond the patterns every text is masked by).
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty() && self.short.is_empty()
    }

    /// Mask every known secret, any password written in a URL, secret query parameters and
    /// `Authorization:` credentials. Short secrets are masked as whole tokens.
    pub fn text(&self, text: &str) -> String {
        let mut out = self.long_only(text);
        for s in &self.short {
            out = mask_token(&out, s);
        }
        out
    }

    /// [`Redactor::text`] without the whole-token masking of short secrets: for rendered
    /// documents (JSON, XML, HTML) whose syntax a short token could be (`1`, `id`), after their
    /// every string went through [`Redactor::text`]. Also masks each secret as JSON, HTML and
    /// XML escape it.
    pub fn document(&self, text: &str) -> String {
        let mut out = self.long_only(text);
        for s in &self.secrets {
            for escaped in escaped_forms(s) {
                if out.contains(escaped.as_str()) {
                    out = out.replace(escaped.as_str(), MASK);
                }
            }
        }
        out
    }

    fn long_only(&self, text: &str) -> String {
        let mut out = URL_PASSWORD
            .replace_all(text, |c: &regex::Captures| {
                if is_placeholder(&c["pw"]) {
                    c[0].to_owned()
                } else {
                    format!("{}{MASK}@", &c["pre"])
                }
            })
            .into_owned();
        if QUERY_SECRET.is_match(&out) {
            out = QUERY_SECRET
                .replace_all(&out, |c: &regex::Captures| format!("{}{MASK}", &c["pre"]))
                .into_owned();
        }
        if AUTH_HEADER.is_match(&out) {
            out = AUTH_HEADER
                .replace_all(&out, |c: &regex::Captures| {
                    if &c["v"] == MASK {
                        c[0].to_owned()
                    } else {
                        format!("{}{MASK}", &c["pre"])
                    }
                })
                .into_owned();
        }
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

/// A password written as documentation writes one, not a value: `PASSWORD`, `REDIS_PASSWORD`,
/// `<password>`, `${PG_PASSWORD}`, `$PASS`. (A rule's own text shows `redis://:PASSWORD@…`.)
fn is_placeholder(pw: &str) -> bool {
    let caps = pw.len() >= 4
        && pw.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        && pw.contains("PASS");
    let angle = pw.starts_with('<') && pw.ends_with('>');
    let var = pw.starts_with('$')
        && pw[1..]
            .trim_start_matches('{')
            .trim_end_matches('}')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    caps || angle || var || pw == MASK
}

/// `value` without one pair of surrounding quotes.
fn unquote(value: &str) -> &str {
    let v = value.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// `secret` as the document formats escape it, when that differs from the secret.
fn escaped_forms(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned();
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    let xml_apos = html.replace("&#39;", "&apos;");
    [json, html, xml_apos]
        .into_iter()
        .filter(|f| !f.is_empty() && f != secret)
        .collect()
}

/// `text` with every whole-token occurrence of `secret` masked: not preceded or followed by a
/// letter, digit, `_` or `-` (so `pw1` is masked in `pw1 rejected` and `:pw1@`, not in `pw12`).
fn mask_token(text: &str, secret: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(secret) {
        out.push_str(&rest[..i]);
        let prev = out.chars().next_back();
        let next = rest[i + secret.len()..].chars().next();
        if prev.is_some_and(word) || next.is_some_and(word) {
            out.push_str(secret);
        } else {
            out.push_str(MASK);
        }
        rest = &rest[i + secret.len()..];
    }
    out.push_str(rest);
    out
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
    fn placeholders_in_documentation_are_not_secrets() {
        let r = Redactor::default();
        for doc in [
            "redis://:PASSWORD@redis:6379/0",
            "postgresql://user:<password>@db/app",
            "postgresql://app:${PG_PASSWORD}@db/app",
        ] {
            assert_eq!(r.text(doc), doc);
        }
        assert_eq!(
            r.text("redis://:Passw0rd@redis:6379/0"),
            format!("redis://:{MASK}@redis:6379/0")
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

#[cfg(test)]
mod learned_tests {
    use super::*;
    use crate::stack::snapshot::{HealthcheckConfig, testing};

    fn words(s: &str) -> Vec<String> {
        vec![s.to_owned()]
    }

    #[test]
    fn a_password_only_in_a_health_check_is_learned() {
        let mut c = testing::container("redis");
        c.healthcheck = Some(HealthcheckConfig {
            test: vec![
                "CMD-SHELL".into(),
                "redis-cli --no-auth-warning -a Hc-Only-91c ping | grep -q PONG".into(),
            ],
            interval_ns: 0,
            timeout_ns: 0,
            start_period_ns: 0,
            retries: 3,
        });
        let r = Redactor::for_snapshot(&testing::stack(vec![c]));
        assert_eq!(
            r.text("AUTH failed with Hc-Only-91c; PONG"),
            "AUTH failed with ***; PONG"
        );
        // `--no-auth-warning` names no secret: the word after it is not one.
        assert_eq!(r.text("ping"), "ping");
    }

    #[test]
    fn dash_a_dash_u_headers_and_query_strings_are_learned_and_masked() {
        let mut r = Redactor::default();
        r.learn_argv(words("redis-cli -a R3dis-pw ping").iter());
        r.learn_argv(words("curl -fsS -u admin:Curl-pw-77 http://localhost/x").iter());
        r.learn_argv(words("curl -H 'Authorization: Bearer tok-abc-123' http://x/").iter());
        r.learn_argv(words("pg_isready -d postgresql://u:Pg-url-pw@db/x").iter());
        r.learn_argv(words("curl http://localhost:5001/health?token=Q-tok-9&v=1").iter());
        r.learn_argv(words("PGPASSWORD=Env-pw-5 psql -h db").iter());
        for s in [
            "R3dis-pw",
            "Curl-pw-77",
            "tok-abc-123",
            "Pg-url-pw",
            "Q-tok-9",
            "Env-pw-5",
        ] {
            assert_eq!(r.text(&format!("saw {s} here")), "saw *** here", "{s}");
        }
        // `rq worker -u URL` names a URL, not a user: only its password is secret.
        let mut rq = Redactor::default();
        rq.learn_argv(words("rq worker -u redis://redis:6379/0 default").iter());
        assert!(rq.is_empty());
        // `-a` to another program is not a password.
        let mut other = Redactor::default();
        other.learn_argv(words("cp -a /src /dst").iter());
        assert!(other.is_empty());
        // Patterns mask what no configuration told.
        let fresh = Redactor::default();
        assert_eq!(
            fresh.text("GET /health?api_key=zzz&x=1 Authorization: Basic dXNlcjpwdw=="),
            "GET /health?api_key=***&x=1 Authorization: Basic ***"
        );
    }

    #[test]
    fn short_values_are_masked_as_whole_tokens() {
        let mut r = Redactor::default();
        r.learn_var("REDIS_PASSWORD", "pw1");
        assert_eq!(
            r.text("password pw1 rejected; pw12 and xpw1 are other words; redis://:pw1@r"),
            "password *** rejected; pw12 and xpw1 are other words; redis://:***@r"
        );
        assert_eq!(r.text("pw1"), "***");
        // Rendered documents keep their syntax: short tokens are masked in their strings.
        assert_eq!(
            r.document("{\"exit\": 1, \"pw\": \"x\"}"),
            "{\"exit\": 1, \"pw\": \"x\"}"
        );
    }

    #[test]
    fn project_files_teach_their_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let compose = dir.path().join("docker-compose.yml");
        std::fs::write(
            &compose,
            "services:\n  app:\n    labels:\n      traefik.auth: \"L4bel-pw\"\n    healthcheck:\n      test: [\"CMD\", \"redis-cli\", \"-a\", \"Hc-list-pw\", \"ping\"]\n    environment:\n      - API_TOKEN=${API_TOKEN}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "API_TOKEN=Dotenv-tok-1\nPLAIN=hello\n",
        )
        .unwrap();
        let mut r = Redactor::default();
        r.learn_project_files(&compose);
        assert_eq!(
            r.text("L4bel-pw Hc-list-pw Dotenv-tok-1 hello ${API_TOKEN}"),
            "*** *** *** hello ${API_TOKEN}"
        );
    }

    #[test]
    fn switches_are_no_secrets() {
        let mut r = Redactor::default();
        r.learn_var("AUTH_ENABLED", "true");
        r.learn_var("REDIS_PASSWORD_REQUIRED", "no");
        assert!(r.is_empty());
        assert_eq!(r.document("{\"automatic\": true}"), "{\"automatic\": true}");
    }

    #[test]
    fn documents_mask_escaped_secrets() {
        let mut r = Redactor::default();
        r.add("a<b&\"c\"d");
        assert_eq!(r.document("x a&lt;b&amp;&quot;c&quot;d y"), "x *** y");
        assert_eq!(r.document(r#"{"v":"a<b&\"c\"d"}"#), r#"{"v":"***"}"#);
    }
}
