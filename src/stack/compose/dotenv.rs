//! The `.env` file beside the compose file: where compose finds values for `${VARS}` that the
//! shell does not set (the shell wins).
//!
//! The format is the common subset of compose v1 (python-dotenv) and v2: `KEY=value` lines,
//! optionally prefixed by `export `; blank lines and `#` comments ignored; a value in double
//! quotes understands `\n`, `\t`, `\"` and `\\`; a value in single quotes is literal; an
//! unquoted value ends at ` #` (a comment) and is trimmed. Lines without `=` are skipped (v1
//! ignores them). Values are taken literally: `${…}` inside `.env` values is not expanded.

/// `(key, value)` pairs in file order; a later duplicate overrides an earlier one for lookups.
pub(crate) fn parse(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        pairs.push((key.to_string(), value_of(value.trim_start())));
    }
    pairs
}

fn value_of(raw: &str) -> String {
    if let Some(body) = raw.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return value,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(c @ ('"' | '\\')) => value.push(c),
                    Some(c) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => value.push('\\'),
                },
                c => value.push(c),
            }
        }
        // No closing quote: take the rest as written, quote included, like v1.
        return raw.trim_end().to_string();
    }
    if let Some(body) = raw.strip_prefix('\'') {
        if let Some(end) = body.find('\'') {
            return body[..end].to_string();
        }
        return raw.trim_end().to_string();
    }
    let value = match raw.find(" #") {
        Some(at) => &raw[..at],
        None => raw,
    };
    value.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_common_forms() {
        let text = "\
# comment
PLAIN=value
SPACED = padded value  # trailing comment
export EXPORTED=yes
DOUBLE=\"two\\nlines \\\"q\\\" # not a comment\"
SINGLE='literal \\n ${X}'
EMPTY=
HASH=a#b
no equals sign
";
        let pairs = parse(text);
        let get = |k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("PLAIN"), Some("value"));
        assert_eq!(get("SPACED"), Some("padded value"));
        assert_eq!(get("EXPORTED"), Some("yes"));
        assert_eq!(get("DOUBLE"), Some("two\nlines \"q\" # not a comment"));
        assert_eq!(get("SINGLE"), Some("literal \\n ${X}"));
        assert_eq!(get("EMPTY"), Some(""));
        assert_eq!(get("HASH"), Some("a#b"));
        assert_eq!(pairs.len(), 7);
    }
}
