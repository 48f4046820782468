#!/usr/bin/env bash
# The fuzz harness of tests/fuzz.rs at benchmark scale (not run in CI): a million mutated cases
# per reader (rule TOML, compose YAML + interpolation, .env, Dockerfiles, pastes of every kind,
# bundles, gdbm headers, Python sources), in release mode, two readers at a time.
#
#   bench/fuzz.sh                 1 000 000 cases per reader, seed 0x5EED0016
#   bench/fuzz.sh 50000 7         fewer cases, another seed
#   bench/fuzz.sh 1000000 1 paste only the readers whose test name contains "paste"
#
# A panic names its case and seed and keeps the input under target/fuzz-failures/.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-1000000}
seed=${2:-1592590358}
filter=${3:-}
FUZZ_CASES=$cases FUZZ_SEED=$seed exec cargo test --locked --release --test fuzz -- \
    --nocapture --test-threads 2 $filter
