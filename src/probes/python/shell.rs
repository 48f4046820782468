//! Just enough POSIX shell to find the commands an entrypoint script runs: words with quotes
//! and escapes, `$VAR`/`${VAR:-default}` expansion from known variables, command separators
//! (`;`, `&`, `&&`, `||`, `|`, newlines), comments, line continuations, redirections and
//! here-documents (skipped). Not a shell: no globbing, no functions, no control flow — a
//! command inside `if`/`while` is listed like any other, with its line.
use std::collections::HashMap;

/// The most bytes of script read.
pub(crate) const MAX_SCRIPT_BYTES: usize = 256 * 1024;

/// One simple command: its words after expansion, and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    pub words: Vec<String>,
    pub line: u32,
}

/// Split `script` into simple commands. `vars` holds the known variables; assignments made by
/// the script (`X=1`, `export X=1` on their own) are added as they are met.
pub(crate) fn commands(script: &str, vars: &mut HashMap<String, String>) -> Vec<Command> {
    let script = truncate(script, MAX_SCRIPT_BYTES);
    let mut lx = Lexer {
        chars: script.chars().collect(),
        pos: 0,
        line: 1,
        heredocs: Vec::new(),
        word_line: 1,
    };
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut start_line = 1;
    loop {
        let tok = lx.next(vars);
        match tok {
            Tok::Word(w) => {
                if words.is_empty() {
                    start_line = lx.word_line;
                }
                words.push(w);
            }
            Tok::Redirect => {
                // The redirection target is not an argument.
                let _ = lx.next(vars);
            }
            Tok::HereDoc => {
                if let Tok::Word(delim) = lx.next(vars) {
                    lx.heredocs.push(delim);
                }
            }
            Tok::Sep | Tok::End => {
                if !words.is_empty() {
                    let cmd = Command {
                        words: std::mem::take(&mut words),
                        line: start_line,
                    };
                    record_assignments(&cmd.words, vars);
                    out.push(cmd);
                }
                if tok == Tok::End {
                    break;
                }
            }
        }
    }
    out
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `NAME=value` words only (or `export`/`readonly` of them): set the variables.
fn record_assignments(words: &[String], vars: &mut HashMap<String, String>) {
    let rest = match words.first().map(String::as_str) {
        Some("export" | "readonly" | "local" | "declare") => &words[1..],
        _ => words,
    };
    if rest.iter().all(|w| assignment(w).is_some()) {
        for w in rest {
            if let Some((k, v)) = assignment(w) {
                vars.insert(k.to_owned(), v.to_owned());
            }
        }
    }
}

/// `NAME=value` → (NAME, value).
pub(crate) fn assignment(word: &str) -> Option<(&str, &str)> {
    let (k, v) = word.split_once('=')?;
    let mut chars = k.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some((k, v))
}

#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Redirect,
    HereDoc,
    Sep,
    End,
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    heredocs: Vec<String>,
    word_line: u32,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// After a newline: skip the bodies of pending here-documents.
    fn skip_heredocs(&mut self) {
        for delim in std::mem::take(&mut self.heredocs) {
            loop {
                let start = self.pos;
                while self.peek().is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
                let line: String = self.chars[start..self.pos].iter().collect();
                let at_end = self.peek().is_none();
                self.bump();
                if line.trim_start_matches('\t') == delim || at_end {
                    break;
                }
            }
        }
    }

    fn next(&mut self, vars: &HashMap<String, String>) -> Tok {
        // Blanks, comments, continuations.
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r') => {
                    self.pos += 1;
                }
                Some('\\') if self.peek_at(1) == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        self.word_line = self.line;
        let Some(c) = self.peek() else {
            return Tok::End;
        };
        match c {
            '\n' => {
                self.bump();
                self.skip_heredocs();
                return Tok::Sep;
            }
            ';' | '&' | '|' | '(' | ')' => {
                self.bump();
                if matches!(c, '&' | '|' | ';') && self.peek() == Some(c) {
                    self.bump();
                }
                if c == '&' && self.peek() == Some('>') {
                    self.bump();
                    return Tok::Redirect;
                }
                return Tok::Sep;
            }
            '<' | '>' => return self.redirect(),
            _ => {}
        }
        let mut word = String::new();
        // A word of digits right before `>` is a file descriptor (`2>/dev/null`).
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' => break,
                '<' | '>' => {
                    if !word.is_empty() && word.chars().all(|d| d.is_ascii_digit()) {
                        return self.redirect();
                    }
                    break;
                }
                '\\' => {
                    self.bump();
                    match self.bump() {
                        Some('\n') | None => {}
                        Some(e) => word.push(e),
                    }
                }
                '\'' => {
                    self.bump();
                    while let Some(q) = self.bump() {
                        if q == '\'' {
                            break;
                        }
                        word.push(q);
                    }
                }
                '"' => {
                    self.bump();
                    while let Some(q) = self.peek() {
                        match q {
                            '"' => {
                                self.bump();
                                break;
                            }
                            '\\' if matches!(
                                self.peek_at(1),
                                Some('"' | '\\' | '$' | '`' | '\n')
                            ) =>
                            {
                                self.bump();
                                if let Some(e) = self.bump()
                                    && e != '\n'
                                {
                                    word.push(e);
                                }
                            }
                            '$' => {
                                let v = self.dollar(vars);
                                word.push_str(&v);
                            }
                            '`' => {
                                let v = self.backtick();
                                word.push_str(&v);
                            }
                            _ => {
                                self.bump();
                                word.push(q);
                            }
                        }
                    }
                }
                '$' => {
                    let v = self.dollar(vars);
                    word.push_str(&v);
                }
                '`' => {
                    let v = self.backtick();
                    word.push_str(&v);
                }
                _ => {
                    self.bump();
                    word.push(c);
                }
            }
        }
        Tok::Word(word)
    }

    fn redirect(&mut self) -> Tok {
        let first = self.bump();
        if first == Some('<') && self.peek() == Some('<') {
            self.bump();
            if self.peek() == Some('-') {
                self.bump();
            }
            if self.peek() == Some('<') {
                // `<<<` here-string: the word is an argument to nothing.
                self.bump();
                return Tok::Redirect;
            }
            return Tok::HereDoc;
        }
        while matches!(self.peek(), Some('>' | '&' | '|')) {
            self.bump();
        }
        // `2>&1`: the target is a descriptor, read as the next word.
        Tok::Redirect
    }

    /// `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`; `$(..)`, `$((..))` kept as
    /// written. An unknown variable is kept as written, so a later parse sees a value it cannot
    /// read rather than a missing word.
    fn dollar(&mut self, vars: &HashMap<String, String>) -> String {
        let start = self.pos;
        self.bump();
        match self.peek() {
            Some('{') => {
                self.bump();
                let mut inner = String::new();
                let mut depth = 1;
                while let Some(c) = self.bump() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    inner.push(c);
                }
                let (name, default) = match inner.find([':', '-']) {
                    Some(i) => {
                        let rest = inner[i..].trim_start_matches(':');
                        match rest.strip_prefix('-') {
                            Some(d) => (&inner[..i], Some(d)),
                            None => (&inner[..i], None),
                        }
                    }
                    None => (inner.as_str(), None),
                };
                match (vars.get(name).filter(|v| !v.is_empty()), default) {
                    (Some(v), _) => v.clone(),
                    (None, Some(d)) => d.to_owned(),
                    (None, None) => self.chars[start..self.pos].iter().collect(),
                }
            }
            Some('(') => {
                let mut depth = 0;
                while let Some(c) = self.bump() {
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                self.chars[start..self.pos].iter().collect()
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::new();
                while let Some(c) = self
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    name.push(c);
                    self.pos += 1;
                }
                vars.get(&name)
                    .cloned()
                    .unwrap_or_else(|| format!("${name}"))
            }
            Some(c) if c.is_ascii_digit() || matches!(c, '@' | '*' | '#' | '?' | '$' | '!') => {
                self.bump();
                self.chars[start..self.pos].iter().collect()
            }
            _ => "$".to_owned(),
        }
    }

    fn backtick(&mut self) -> String {
        let start = self.pos;
        self.bump();
        while let Some(c) = self.bump() {
            if c == '`' {
                break;
            }
        }
        self.chars[start..self.pos].iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<(Vec<String>, u32)> {
        commands(script, &mut HashMap::new())
            .into_iter()
            .map(|c| (c.words, c.line))
            .collect()
    }

    #[test]
    fn quotes_separators_and_comments() {
        let got = words(
            "echo \"a (flask init-db)\" 'b c' # note\nflask init-db || echo \"failed\"\ncd /app && exec gunicorn -w 3 x:app\n",
        );
        let expect: Vec<(Vec<String>, u32)> = vec![
            (
                vec!["echo".into(), "a (flask init-db)".into(), "b c".into()],
                1,
            ),
            (vec!["flask".into(), "init-db".into()], 2),
            (vec!["echo".into(), "failed".into()], 2),
            (vec!["cd".into(), "/app".into()], 3),
            (
                vec![
                    "exec".into(),
                    "gunicorn".into(),
                    "-w".into(),
                    "3".into(),
                    "x:app".into(),
                ],
                3,
            ),
        ];
        assert_eq!(got, expect);
    }

    #[test]
    fn redirections_continuations_and_heredocs() {
        let got = words(
            "until python3 -c 'x' 2>/dev/null; do\n  sleep 1\ndone\ncat <<EOF > /tmp/x\ngunicorn not:this\nEOF\nexec gunicorn \\\n  -b :5000 app:app\n",
        );
        let cmds: Vec<String> = got
            .iter()
            .map(|(w, l)| format!("{l}:{}", w.join(" ")))
            .collect();
        assert_eq!(
            cmds,
            [
                "1:until python3 -c x",
                "1:do",
                "2:sleep 1",
                "3:done",
                "4:cat",
                "7:exec gunicorn -b :5000 app:app"
            ]
        );
    }

    #[test]
    fn variables_expand_from_env_and_script() {
        let mut vars = HashMap::from([("PORT".to_owned(), "5001".to_owned())]);
        let cmds = commands(
            "WORKERS=${WEB_CONCURRENCY:-4}\nexport TIMEOUT=30\ngunicorn -w $WORKERS -t \"${TIMEOUT}\" -b 0.0.0.0:$PORT -k $UNKNOWN $(pwd) app:app\n",
            &mut vars,
        );
        assert_eq!(
            cmds.last().unwrap().words,
            [
                "gunicorn",
                "-w",
                "4",
                "-t",
                "30",
                "-b",
                "0.0.0.0:5001",
                "-k",
                "$UNKNOWN",
                "$(pwd)",
                "app:app"
            ]
        );
    }

    #[test]
    fn long_scripts_are_cut() {
        let script = "echo x\n".repeat(MAX_SCRIPT_BYTES);
        assert!(commands(&script, &mut HashMap::new()).len() <= MAX_SCRIPT_BYTES / 7 + 1);
    }
}
