//! The literals the matcher's prefilter looks for, one per line: for `rg -F -i -f` in
//! `bench/logscan.sh`, which times the doctor against ripgrep searching the same texts.
//!
//!     cargo run --release --example rule_literals > literals.txt
//!
//! Patterns with no required literal (run on every line) are listed on stderr.
use analylit_doctor::engine::literals;
use analylit_doctor::rules::{self, Symptom};
use std::collections::BTreeSet;

fn main() {
    let set = rules::load_embedded().expect("embedded rules load");
    let mut out = BTreeSet::new();
    for rule in set.iter() {
        for s in &rule.symptoms {
            let Symptom::Logs { regex: re, .. } = s else {
                continue;
            };
            match literals::required(re.as_str()) {
                Some(lits) => out.extend(
                    lits.into_iter()
                        .map(|l| String::from_utf8_lossy(&l).into_owned()),
                ),
                None => eprintln!("no literal: {} {}", rule.id, re.as_str()),
            }
        }
    }
    for l in out {
        println!("{l}");
    }
}
