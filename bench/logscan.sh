#!/usr/bin/env bash
# Scanning a large pasted log: `analylit-doctor check --logs` against ripgrep searching the
# rules' literal texts, on the same file, in the same run. Prints MB/s for both, their ratio
# (doctor/rg: 1.0 or more means the doctor is at least as fast) and the peak RSS of each.
#
#   bench/logscan.sh [SIZE_MiB ...]        default: 60 1024
#
# The file is made from captured text only: the transcripts (fixtures/transcripts/*.log, every
# kind a paste holds) and the logs inside the lab bundles (fixtures/bundles/*.tar.gz, written as
# `docker compose logs` lines, `service_1  | text`), repeated until the size is reached. ripgrep
# comes from Debian (apt-get) when it is missing. RUNS (default 5) runs each; the median counts.
# DOCTOR=path times another build of the doctor (say, the one before a change) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
sizes=("${@:-60 1024}")
work=${LOGSCAN_DIR:-$(mktemp -d)}
keep=${LOGSCAN_DIR:+1}
cleanup() { [ -n "$keep" ] || rm -rf "$work"; }
trap cleanup EXIT

if ! command -v rg >/dev/null; then
    echo "installing ripgrep (Debian package)" >&2
    apt-get install -y -qq ripgrep >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq ripgrep >/dev/null; }
fi
command -v jq >/dev/null || { echo "jq is needed to read the bundles" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is needed for peak RSS" >&2; exit 2; }

# The literals are the prefilter's own (a debug build is enough to print them).
cargo run --quiet --example rule_literals >"$work/literals.txt" 2>/dev/null
if [ -z "${DOCTOR:-}" ]; then cargo build --release --quiet; fi
doctor=${DOCTOR:-target/release/analylit-doctor}
echo "rg patterns: $(wc -l <"$work/literals.txt") literal texts of the rules' log patterns"

# One copy of the captured text.
seed=$work/seed.log
: >"$seed"
for f in fixtures/transcripts/*.log; do cat "$f" >>"$seed"; echo >>"$seed"; done
for b in fixtures/bundles/*.tar.gz; do
    tar xzOf "$b" snapshot.json | jq -r '.containers[] | .service as $s | .logs.lines[]? | "\($s)_1  | \(.text)"' >>"$seed"
done
echo "seed: $(wc -c <"$seed") bytes, $(wc -l <"$seed") lines"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# Runs "$@" RUNS times; prints "median_seconds max_rss_kib".
measure() {
    local secs=() rss=() out
    for _ in $(seq "$runs"); do
        /usr/bin/time -o "$work/time" -f '%e %M' "$@" >/dev/null 2>&1 || true
        out=$(tail -1 "$work/time")
        secs+=("${out% *}"); rss+=("${out#* }")
    done
    echo "$(printf '%s\n' "${secs[@]}" | median) $(printf '%s\n' "${rss[@]}" | sort -n | tail -1)"
}

for mib in ${sizes[@]}; do
    file=$work/big-$mib.log
    target=$((mib * 1024 * 1024))
    : >"$file"
    # Doubling copies: a few appends reach any size, then cut at a line end.
    cp "$seed" "$file"
    while [ "$(stat -c %s "$file")" -lt "$target" ]; do cat "$file" "$file" >"$file.2" && mv "$file.2" "$file"; done
    head -c "$target" "$file" | head -n -1 >"$file.2" && mv "$file.2" "$file"
    bytes=$(stat -c %s "$file")
    cat "$file" >/dev/null # page cache: both read from memory
    read -r d_s d_rss < <(measure "$doctor" check --logs "app=$file" --tail 100000000 --format json)
    read -r r_s r_rss < <(measure rg -c -F -i -f "$work/literals.txt" "$file")
    awk -v mib="$mib" -v b="$bytes" -v ds="$d_s" -v dr="$d_rss" -v rs="$r_s" -v rr="$r_rss" 'BEGIN {
        dm = b / 1e6 / (ds > 0 ? ds : 0.001); rm = b / 1e6 / (rs > 0 ? rs : 0.001)
        printf "%5d MiB  doctor %7.1f MB/s (%.2f s, peak RSS %d MiB)   rg %7.1f MB/s (%.2f s, peak RSS %d MiB)   doctor/rg %.2f\n",
            mib, dm, ds, dr / 1024, rm, rs, rr / 1024, dm / rm }'
    rm -f "$file"
done
