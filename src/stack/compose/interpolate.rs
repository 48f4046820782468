//! Compose's `$` interpolation, as both compose v1 (1.29) and v2 do it.
//!
//! `$VAR` and `${VAR}` take the variable's value; an unset one becomes the empty string, and
//! compose warns ("The X variable is not set. Defaulting to a blank string."): that is the
//! `env-var-unset` failure class, so every such use is recorded with where it is written.
//! `${VAR:-default}` / `${VAR-default}` use the default when the variable is unset (`:-` also
//! when empty), `${VAR:?message}` / `${VAR?message}` refuse the file, `${VAR:+alt}` /
//! `${VAR+alt}` give `alt` only when the variable is set, and `$$` is a literal `$`. Defaults
//! and alternatives may themselves hold `${…}` (v2). A `$` followed by anything else is an
//! error in both versions (`$$` is needed for a literal dollar), and so is a `${` that never
//! closes.
//!
//! Error messages never quote the text being interpolated: it may be a password.

/// A variable used without a default while unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unset {
    pub name: String,
    /// Byte offset of the `$` in the interpolated text.
    pub offset: usize,
    /// How the use starts in the text (`${NAME` or `$NAME`), to find it in the file.
    pub needle: String,
}

/// Why interpolation refused a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Byte offset of the `$` concerned.
    pub offset: usize,
    /// How the use starts (`${NAME`, `$`), to find it in the file.
    pub needle: String,
    pub message: String,
}

/// How deep `${A:-${B:-${C}}}` may nest.
const MAX_NESTING: usize = 8;

/// Interpolate `text`: unset variables used without default are appended to `unset`.
pub(crate) fn interpolate(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<Unset>,
) -> Result<String, Refusal> {
    expand(text, 0, 0, vars, unset)
}

fn expand(
    text: &str,
    base: usize,
    depth: usize,
    vars: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<Unset>,
) -> Result<String, Refusal> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(rel) = text[i..].find('$') {
        let at = i + rel;
        out.push_str(&text[i..at]);
        let offset = base + at;
        match bytes.get(at + 1) {
            Some(b'$') => {
                out.push('$');
                i = at + 2;
            }
            Some(b'{') => {
                let close = closing_brace(text, at + 2).ok_or_else(|| Refusal {
                    offset,
                    needle: "${".into(),
                    message: "`${` has no closing `}`".into(),
                })?;
                let inner = &text[at + 2..close];
                let name_len = name_length(inner);
                let name = &inner[..name_len];
                let needle = format!("${{{name}");
                if name_len == 0 {
                    return Err(Refusal {
                        offset,
                        needle,
                        message: "`${…}` must start with a variable name".into(),
                    });
                }
                let rest = &inner[name_len..];
                let rest_base = base + at + 2 + name_len;
                let value = vars(name);
                let sub = |op_len: usize, unset: &mut Vec<Unset>| {
                    if depth >= MAX_NESTING {
                        return Err(Refusal {
                            offset,
                            needle: needle.clone(),
                            message: format!("`${{…}}` nests deeper than {MAX_NESTING} levels"),
                        });
                    }
                    expand(&rest[op_len..], rest_base + op_len, depth + 1, vars, unset)
                };
                let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
                let piece = if rest.is_empty() {
                    match value {
                        Some(v) => v,
                        None => {
                            unset.push(Unset {
                                name: name.to_string(),
                                offset,
                                needle: needle.clone(),
                            });
                            String::new()
                        }
                    }
                } else if rest.starts_with(":-") {
                    if set_nonempty {
                        value.unwrap_or_default()
                    } else {
                        sub(2, unset)?
                    }
                } else if rest.starts_with('-') {
                    match value {
                        Some(v) => v,
                        None => sub(1, unset)?,
                    }
                } else if rest.starts_with(":?") || rest.starts_with('?') {
                    let colon = rest.starts_with(':');
                    let missing = if colon {
                        !set_nonempty
                    } else {
                        value.is_none()
                    };
                    if missing {
                        let op_len = if colon { 2 } else { 1 };
                        let said = rest[op_len..].trim();
                        let message = if said.is_empty() {
                            format!("required variable {name} is missing a value")
                        } else {
                            format!("required variable {name} is missing a value: {said}")
                        };
                        return Err(Refusal {
                            offset,
                            needle,
                            message,
                        });
                    }
                    value.unwrap_or_default()
                } else if rest.starts_with(":+") {
                    if set_nonempty {
                        sub(2, unset)?
                    } else {
                        String::new()
                    }
                } else if rest.starts_with('+') {
                    if value.is_some() {
                        sub(1, unset)?
                    } else {
                        String::new()
                    }
                } else {
                    return Err(Refusal {
                        offset,
                        needle,
                        message: format!(
                            "`${{{name}…}}` uses an operator compose does not know (it knows \
                             :- - :? ? :+ +)"
                        ),
                    });
                };
                out.push_str(&piece);
                i = close + 1;
            }
            _ => {
                let name_len = name_length(&text[at + 1..]);
                if name_len == 0 {
                    return Err(Refusal {
                        offset,
                        needle: "$".into(),
                        message: "a `$` must be followed by a variable name or `{` (write `$$` \
                                  for a literal `$`)"
                            .into(),
                    });
                }
                let name = &text[at + 1..at + 1 + name_len];
                match vars(name) {
                    Some(v) => out.push_str(&v),
                    None => unset.push(Unset {
                        name: name.to_string(),
                        offset,
                        needle: format!("${name}"),
                    }),
                }
                i = at + 1 + name_len;
            }
        }
    }
    out.push_str(&text[i..]);
    Ok(out)
}

/// Length of the variable name at the start of `s`: `[_A-Za-z][_A-Za-z0-9]*`, else 0.
fn name_length(s: &str) -> usize {
    let bytes = s.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => bytes
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count(),
        _ => 0,
    }
}

/// Index of the `}` closing a `${` whose body starts at `from`, counting nested `${`.
fn closing_brace(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 1usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "USER" => Some("ana".into()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("5001".into()),
            _ => None,
        }
    }

    fn run(text: &str) -> (Result<String, Refusal>, Vec<Unset>) {
        let mut unset = Vec::new();
        let out = interpolate(text, &vars, &mut unset);
        (out, unset)
    }

    fn ok(text: &str) -> String {
        let (out, unset) = run(text);
        assert!(unset.is_empty(), "{text}: {unset:?}");
        out.unwrap()
    }

    #[test]
    fn plain_and_braced() {
        assert_eq!(ok("$USER@${USER}:$PORT/x"), "ana@ana:5001/x");
        assert_eq!(ok("no dollars"), "no dollars");
        assert_eq!(ok("price $$5 and $${USER}"), "price $5 and ${USER}");
    }

    #[test]
    fn defaults_follow_set_and_empty_rules() {
        assert_eq!(
            ok("${NOPE:-d}|${NOPE-d}|${EMPTY:-d}|${EMPTY-d}|${USER:-d}"),
            "d|d|d||ana"
        );
        assert_eq!(ok("${NOPE:+a}|${EMPTY:+a}|${EMPTY+a}|${USER:+a}"), "||a|a");
        assert_eq!(ok("${NOPE:-${USER}}"), "ana");
        assert_eq!(ok("${NOPE:-${ALSO:-x}y}"), "xy");
        assert_eq!(
            ok("${USER:-${NOPE}}"),
            "ana",
            "an unused default is not evaluated"
        );
    }

    #[test]
    fn unset_uses_are_recorded_with_offsets() {
        let (out, unset) = run("a ${NOPE} b $ALSO_NOT c ${NOPE:-x}");
        assert_eq!(out.unwrap(), "a  b  c x");
        let got: Vec<(&str, usize, &str)> = unset
            .iter()
            .map(|u| (u.name.as_str(), u.offset, u.needle.as_str()))
            .collect();
        assert_eq!(got, [("NOPE", 2, "${NOPE"), ("ALSO_NOT", 12, "$ALSO_NOT")]);
    }

    #[test]
    fn nested_unset_default_is_recorded_at_its_own_offset() {
        let (_, unset) = run("${A:-${B}}");
        assert_eq!(unset.len(), 1);
        assert_eq!((unset[0].name.as_str(), unset[0].offset), ("B", 5));
    }

    #[test]
    fn required_variables_refuse() {
        let (out, _) = run("x ${NOPE:?set it in .env}");
        let refusal = out.unwrap_err();
        assert_eq!(refusal.offset, 2);
        assert_eq!(
            refusal.message,
            "required variable NOPE is missing a value: set it in .env"
        );
        assert!(run("${EMPTY:?x}").0.is_err());
        assert_eq!(ok("${EMPTY?x}"), "");
        assert_eq!(ok("${USER:?x}"), "ana");
    }

    #[test]
    fn malformed_uses_refuse_without_quoting_the_text() {
        for text in [
            "secret${USER",
            "secret$1",
            "secret$",
            "secret${}",
            "secret${USER/a/b}",
        ] {
            let refusal = run(text).0.unwrap_err();
            assert_eq!(refusal.offset, 6, "{text}");
            assert!(
                !refusal.message.contains("secret"),
                "{text}: {}",
                refusal.message
            );
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!(
            "{}x{}",
            "${A:-".repeat(MAX_NESTING + 2),
            "}".repeat(MAX_NESTING + 2)
        );
        assert!(run(&deep).0.unwrap_err().message.contains("nests deeper"));
    }
}
