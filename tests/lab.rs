//! The reproduction lab proves itself: each stack in fixtures/stacks is brought up once, and the
//! decisive evidence its scenario.toml names must really appear (real log lines, real health
//! results, real exit codes). Later phases about the same stack (the doctor's check, probes and
//! fixes) join the same test so the stack comes up once per run.
mod support;

use support::lab::{Lab, docker_or_skip};

fn lab_case(id: &str) -> Option<Lab> {
    if !docker_or_skip(id) {
        return None;
    }
    let lab = Lab::up(id);
    lab.assert_evidence();
    Some(lab)
}

macro_rules! lab_tests {
    ($($name:ident => $id:literal,)*) => {
        $(
            #[test]
            fn $name() {
                lab_case($id);
            }
        )*

        /// Every stack folder has its test above.
        #[test]
        fn every_stack_has_a_test() {
            let known = [$($id),*];
            let mut folders: Vec<String> = std::fs::read_dir(support::scenario::stacks_dir())
                .expect("fixtures/stacks")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            folders.sort();
            let missing: Vec<&String> =
                folders.iter().filter(|f| !known.contains(&f.as_str())).collect();
            assert!(missing.is_empty(), "stacks without a lab test: {missing:?}");
        }
    };
}

lab_tests! {
    healthy => "healthy",
    gunicorn_worker_reinit => "gunicorn-worker-reinit",
    engine_used_before_init => "engine-used-before-init",
    import_name_missing => "import-name-missing",
    name_not_defined => "name-not-defined",
    blueprint_prefix_mismatch => "blueprint-prefix-mismatch",
    route_not_decorated => "route-not-decorated",
    flower_db_needs_recovery => "flower-db-needs-recovery",
}
