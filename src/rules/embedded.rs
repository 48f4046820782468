//! The rule files compiled into the binary: every `rules/*.toml`, listed by `build.rs`.

/// `(id, file text)` of every embedded rule, sorted by id (the file name without `.toml`).
pub(crate) const EMBEDDED: &[(&str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

#[cfg(test)]
mod tests {
    use super::EMBEDDED;

    #[test]
    fn every_rule_file_is_embedded_once_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("rules/")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter_map(|name| name.strip_suffix(".toml").map(str::to_owned))
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = EMBEDDED.iter().map(|(id, _)| *id).collect();
        assert_eq!(listed, on_disk);
        for (id, text) in EMBEDDED {
            let on_disk = std::fs::read_to_string(format!("{dir}/{id}.toml")).expect("rule file");
            assert_eq!(*text, on_disk, "{id}: the embedded text is the file's");
        }
    }
}
