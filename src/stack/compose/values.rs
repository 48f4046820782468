//! Compose's small value languages: durations, byte sizes, booleans and command strings.
//!
//! Each accepts what both compose v1 (1.29) and v2 accept, so the doctor never refuses a file
//! the user's compose runs; where they differ the notes say which way we lean.
use std::time::Duration;

/// A compose duration: Go's `time.ParseDuration` grammar, which both versions use (v1 through a
/// Python copy of it). One or more `<number><unit>` terms, the number may have a fraction, units
/// `h`, `m`, `s`, `ms`, `us`/`µs`, `ns`: `"1m30s"`, `"10s"`, `"500ms"`, `"1h"`, `"2.5s"`. A
/// bare number is **not** a duration (`"10"` is refused by both versions: "missing unit"),
/// except `"0"`. Negative durations are refused. Units are matched case-insensitively, as v1
/// does (v2 wants lower case).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim().to_lowercase();
    let s = s.strip_prefix('+').unwrap_or(&s);
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut rest = s;
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(tail) => {
                let n = tail.bytes().take_while(u8::is_ascii_digit).count();
                tail.split_at(n)
            }
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let (unit, after) = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .iter()
            .find_map(|u| after.strip_prefix(u).map(|tail| (*u, tail)))?;
        let per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            _ => 3_600_000_000_000,
        };
        let whole: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        nanos = nanos.checked_add(whole.checked_mul(per_unit)?)?;
        // Fraction digits past 18 are below a nanosecond for every unit.
        let frac = &frac[..frac.len().min(18)];
        if !frac.is_empty() {
            let digits: u128 = frac.parse().ok()?;
            nanos = nanos.checked_add(digits * per_unit / 10u128.pow(frac.len() as u32))?;
        }
        rest = after;
    }
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// A compose byte size (`mem_limit`, `deploy.resources.limits.memory`): a number, optionally
/// with a fraction, then an optional unit `b`, `k`, `m`, `g`, `t`, `p` (powers of 1024, as both
/// versions read them), optionally followed by `b` or `ib`, any case: `"512M"`, `"1g"`,
/// `"1.5GiB"`, `"268435456"`.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let num_len = s
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (num, unit) = s.split_at(num_len);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.matches('.').count() > 1
    {
        return None;
    }
    let unit = unit.trim_start();
    let (power, suffix) = match unit.chars().next() {
        Some('k') => (1, &unit[1..]),
        Some('m') => (2, &unit[1..]),
        Some('g') => (3, &unit[1..]),
        Some('t') => (4, &unit[1..]),
        Some('p') => (5, &unit[1..]),
        Some('b') => (0, &unit[1..]),
        None => (0, ""),
        Some(_) => return None,
    };
    let suffix_ok = match (power, suffix) {
        (_, "") => true,
        (0, _) => false,
        (_, s) => s == "b" || s == "ib",
    };
    if !suffix_ok {
        return None;
    }
    let multiplier = 1024u64.pow(power);
    match num.split_once('.') {
        None => num.parse::<u64>().ok()?.checked_mul(multiplier),
        Some(_) => {
            let bytes = num.parse::<f64>().ok()? * multiplier as f64;
            (bytes.is_finite() && bytes < u64::MAX as f64).then_some(bytes as u64)
        }
    }
}

/// A YAML boolean as compose reads it: YAML 1.2 `true`/`false` in any common case, plus the
/// YAML 1.1 words v1 (PyYAML) also takes as booleans.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" => Some(true),
        "false" | "no" | "off" | "n" => Some(false),
        _ => None,
    }
}

/// Split a command given as one string (`command: rq worker --url "redis://…" default`) into
/// words the way compose does (POSIX shell quoting, no expansion): blanks separate words,
/// `'…'` is literal, `"…"` honours `\"`, `\\`, `\$` and `` \` ``, and a backslash outside quotes
/// escapes the next character. `None` when a quote is left open.
pub(crate) fn split_words(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$' | '`') => word.push(c),
                            '\n' => {}
                            c => {
                                word.push('\\');
                                word.push(c);
                            }
                        },
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => word.push(c),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_go() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("1m30s"), Some(ms(90_000)));
        assert_eq!(parse_duration("10s"), Some(ms(10_000)));
        assert_eq!(parse_duration("500ms"), Some(ms(500)));
        assert_eq!(parse_duration("1h"), Some(ms(3_600_000)));
        assert_eq!(parse_duration("2.5s"), Some(ms(2_500)));
        assert_eq!(parse_duration(".5s"), Some(ms(500)));
        assert_eq!(parse_duration("1h5m30s20ms"), Some(ms(3_930_020)));
        assert_eq!(parse_duration("1500us"), Some(Duration::from_micros(1_500)));
        assert_eq!(parse_duration("1µs"), Some(Duration::from_micros(1)));
        assert_eq!(parse_duration("7ns"), Some(Duration::from_nanos(7)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("10S"), Some(ms(10_000)), "v1 ignores case");
    }

    #[test]
    fn durations_refuse_what_compose_refuses() {
        for bad in [
            "", "10", "1.5", "s", "-1s", "1d", "1 s", "1s2", "abc", "1..5s",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        assert_eq!(parse_duration("99999999999999999999h"), None, "overflow");
    }

    #[test]
    fn byte_sizes_use_powers_of_1024() {
        assert_eq!(parse_bytes("512M"), Some(512 * 1024 * 1024));
        assert_eq!(parse_bytes("512m"), Some(512 * 1024 * 1024));
        assert_eq!(parse_bytes("512mb"), Some(512 * 1024 * 1024));
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_bytes("2k"), Some(2048));
        assert_eq!(parse_bytes("100b"), Some(100));
        assert_eq!(parse_bytes("268435456"), Some(268_435_456));
        for bad in ["", "M", "12x", "1.2.3m", "5bb", "1mib2", ".5m"] {
            assert_eq!(parse_bytes(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("yes"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn words_split_like_a_shell() {
        let w = |s: &str| split_words(s).unwrap();
        assert_eq!(
            w("celery --broker=redis://r:6379/0 flower"),
            ["celery", "--broker=redis://r:6379/0", "flower"]
        );
        assert_eq!(
            w(r#"sh -c 'echo "$$HOME"; exit 1'"#),
            ["sh", "-c", r#"echo "$$HOME"; exit 1"#]
        );
        assert_eq!(w(r#"a "b \"c\" d" e\ f"#), ["a", r#"b "c" d"#, "e f"]);
        assert_eq!(w("  a   ''  "), ["a", ""]);
        assert_eq!(split_words("echo 'open"), None);
        assert_eq!(split_words("echo \"open"), None);
    }
}
