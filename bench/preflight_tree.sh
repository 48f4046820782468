#!/usr/bin/env bash
# Time `analylit-doctor preflight` on a generated project of thousands of files in deep
# packages (bench/gen_tree.py) against CPython compiling the same files — the files pre-flight
# reaches from the entry point and analyses — in the same run, A and B alternating. Prints the
# median wall and CPU seconds, the ratio, and each side's peak memory. Measured, never asserted.
#
#   bench/preflight_tree.sh [MODULES] [DEPTH]     default 1500 modules, 8 levels deep
#                                                  (plus as many files nothing imports)
# RUNS=N runs of each (default 5). Needs python3 and /usr/bin/time (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
cargo build --release --quiet
doctor=$PWD/target/release/analylit-doctor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen_tree.py "$work/tree" "${1:-1500}" "${2:-8}"
cat >"$work/compile.py" <<'PY'
import pathlib, sys
files = [f for p in sys.argv[1:] for f in (sorted(pathlib.Path(p).rglob("*.py")) if pathlib.Path(p).is_dir() else [pathlib.Path(p)])]
for f in files:
    compile(f.read_bytes(), str(f), "exec", dont_inherit=True)
PY
cd "$work/tree"
# One run: "wall cpu peak_kib" of the command.
one() {
    /usr/bin/time -f '%e %U %S %M' -o "$work/t" "$@" >/dev/null 2>&1 || true
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$work/t"
}
: >"$work/a"; : >"$work/b"
one "$doctor" preflight --offline --format json -q >/dev/null # warm-up
for _ in $(seq "$runs"); do
    one "$doctor" preflight --offline --format json -q >>"$work/a"
    one python3 "$work/compile.py" app server.py gunicorn.conf.py >>"$work/b"
done
median() { sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
files=$(find app -name '*.py' | wc -l)
a_wall=$(median "$work/a" 1); a_cpu=$(median "$work/a" 2); a_peak=$(median "$work/a" 3)
b_wall=$(median "$work/b" 1); b_cpu=$(median "$work/b" 2); b_peak=$(median "$work/b" 3)
awk -v f="$((files + 2))" -v aw="$a_wall" -v ac="$a_cpu" -v ap="$a_peak" \
    -v bw="$b_wall" -v bc="$b_cpu" -v bp="$b_peak" -v n="$runs" 'BEGIN {
    printf "%d files analysed (as many beside them left alone), median of %d runs\n", f, n
    printf "preflight          wall %6.2f s   cpu %6.2f s   peak %7.1f MiB\n", aw, ac, ap / 1024
    printf "python3 compile()  wall %6.2f s   cpu %6.2f s   peak %7.1f MiB\n", bw, bc, bp / 1024
    printf "ratio preflight / compile: wall %.2f, cpu %.2f\n", aw / bw, ac / bc
}'
