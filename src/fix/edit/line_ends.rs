//! Shell scripts saved on Windows: CR LF line ends (and a byte-order mark) the kernel and the
//! shell read as part of the `#!` line and the commands.
use super::Edit;

/// CRLF → LF, a CR left at the end of the last line too; also drops a UTF-8 byte-order mark
/// at the start when `strip_bom`. Carriage returns inside a line are kept: they are data.
pub fn to_lf(path: &str, text: &str, strip_bom: bool) -> Edit {
    let body = match text.strip_prefix('\u{feff}') {
        Some(rest) if strip_bom => rest,
        _ => text,
    };
    let mut new = String::with_capacity(body.len());
    for line in body.split_inclusive('\n') {
        match line.strip_suffix('\n') {
            Some(content) => {
                new.push_str(content.trim_end_matches('\r'));
                new.push('\n');
            }
            None => new.push_str(line.trim_end_matches('\r')),
        }
    }
    Edit {
        path: path.to_string(),
        old: text.to_string(),
        new,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- to_lf -------------------------------------------------------------------------

    #[test]
    fn crlf_becomes_lf_and_the_diff_shows_it() {
        let script = "#!/bin/sh\r\nset -e\r\nexec gunicorn app:app\r\n";
        let edit = to_lf("entrypoint.sh", script, false);
        assert_eq!(edit.new, "#!/bin/sh\nset -e\nexec gunicorn app:app\n");
        assert_eq!(
            edit.diff(),
            "--- a/entrypoint.sh\n+++ b/entrypoint.sh\n@@ -1,3 +1,3 @@\n-#!/bin/sh␍\n\
             -set -e␍\n-exec gunicorn app:app␍\n+#!/bin/sh\n+set -e\n+exec gunicorn app:app\n"
        );
        assert!(to_lf("entrypoint.sh", &edit.new, false).is_noop());
    }

    #[test]
    fn a_cr_at_the_very_end_goes_too_but_not_one_inside_a_line() {
        let edit = to_lf("x.sh", "echo 'a\rb'\r\nexit 0\r", false);
        assert_eq!(edit.new, "echo 'a\rb'\nexit 0");
        assert!(to_lf("x.sh", "a\nb\n", false).is_noop());
    }

    #[test]
    fn the_bom_goes_only_when_asked() {
        let text = "\u{feff}#!/bin/sh\r\n";
        assert_eq!(to_lf("x.sh", text, true).new, "#!/bin/sh\n");
        assert_eq!(to_lf("x.sh", text, false).new, "\u{feff}#!/bin/sh\n");
        assert!(
            to_lf("x.sh", text, true)
                .diff()
                .contains("-<U+FEFF>#!/bin/sh␍\n")
        );
    }
}
