//! `fix --yes --unsafe-fixes` on a stack of its own: the lab's name-not-defined with
//! blueprint-prefix-mismatch's settings.py laid over it, two code faults fixed in two rounds.
//!
//! The single-fault code fixes run in the lab, last, on the stack it judged (`[code_fix]` in a
//! stack's scenario.toml, tests/support/code_fix.rs): one bring-up per stack.
//!
//! Under the machine lock (tests/support/lab.rs).
mod support;

use support::code_fix::{assert_all_healthy, backed_up, backups, doctor, health_status};
use support::lab::{Lab, docker_or_skip};

/// name-not-defined with blueprint-prefix-mismatch's settings.py laid over it: the import fails
/// first, so the prefix only shows once the app imports. Two rounds, two backups.
#[test]
fn two_faults_in_two_rounds() {
    let id = "name-not-defined";
    if !docker_or_skip(id) {
        return;
    }
    let second =
        support::scenario::stacks_dir().join("blueprint-prefix-mismatch/app/api/settings.py");
    let lab = Lab::up_with(id, |dir| {
        std::fs::create_dir_all(dir.join("app/api")).expect("dir");
        std::fs::copy(&second, dir.join("app/api/settings.py")).expect("copy");
    });
    let server = lab.dir.join("app/server_v4_complete.py");
    let settings = lab.dir.join("app/api/settings.py");
    let (server_before, settings_before) = (
        std::fs::read(&server).expect("file"),
        std::fs::read(&settings).expect("file"),
    );
    let (code, out, err) = doctor(&lab, &["fix", "--yes", "--unsafe-fixes"]);
    assert_eq!(code, 0, "two faults: fix\n{out}\n{err}");
    let round2 = out
        .find("Round 2")
        .unwrap_or_else(|| panic!("no second round:\n{out}"));
    assert!(
        out[..round2].contains("name-not-defined no longer fires"),
        "round 1 fixes the import:\n{out}"
    );
    assert!(
        out[round2..].contains("blueprint-prefix-mismatch no longer fires"),
        "round 2 fixes the prefix:\n{out}"
    );
    assert_ne!(std::fs::read(&server).expect("file"), server_before);
    assert_ne!(std::fs::read(&settings).expect("file"), settings_before);
    assert_all_healthy(&lab, id);
    assert_eq!(health_status(&lab), "200", "two faults: the health URL");
    let backups = backups(&lab, id);
    assert_eq!(backups.len(), 2, "two faults: one backup per round");
    assert_eq!(
        backed_up(&backups[0].0, &backups[0].1, &server).as_deref(),
        Some(&server_before[..])
    );
    assert_eq!(
        backed_up(&backups[1].0, &backups[1].1, &settings).as_deref(),
        Some(&settings_before[..])
    );
}
