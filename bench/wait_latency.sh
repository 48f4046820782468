#!/usr/bin/env bash
# How long `analylit-doctor wait` takes to print its diagnosis after the failure happens: from the
# engine's first `die` or `health_status: unhealthy` event of the stack (docker events, its own
# clock) to the first byte of the diagnosis on wait's stdout, for each stack, RUNS times.
#
#   bench/wait_latency.sh [STACK ...]     default: name-not-defined import-name-missing
#
# A latency, not a ratio: the baseline the event gives is the moment the failure exists. Brings
# each stack up with compose (one at a time, images from fixtures/images/build.sh) and tears it
# down afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
cargo build --release --quiet
doctor=$PWD/target/release/analylit-doctor
bash fixtures/images/build.sh >/dev/null

compose() {
    if docker-compose version >/dev/null 2>&1; then
        COMPOSE_DOCKER_CLI_BUILD=0 DOCKER_BUILDKIT=0 docker-compose -p "$project" "$@"
    else
        docker compose -p "$project" "$@"
    fi
}

now_ns() { date +%s%N; }

for project in "${@:-name-not-defined import-name-missing}"; do
    for project in $project; do
        dir=fixtures/stacks/$project
        [ -d "$dir" ] || { echo "no stack $project" >&2; exit 2; }
        latencies=()
        for _ in $(seq "$runs"); do
            (cd "$dir" && compose down -v --remove-orphans -t 3 >/dev/null 2>&1 || true)
            tmp=$(mktemp -d)
            trap '(cd "$dir" && compose down -v --rmi local --remove-orphans -t 3 >/dev/null 2>&1); rm -rf "$tmp"' EXIT
            since=$(date +%s)
            (cd "$dir" && compose up -d --build >/dev/null 2>&1)
            # wait's stdout, each line stamped when it arrives.
            (cd "$dir" && timeout 200 "$doctor" wait -q -p "$project" --timeout 180 --format json) |
                while IFS= read -r line; do echo "$(now_ns) $line"; done >"$tmp/out" || true
            first_out=$(head -1 "$tmp/out" | cut -d' ' -f1)
            # The events happened meanwhile: read them back from the engine, bounded.
            first_event=$(timeout 10 docker events --since "$since" --until "$(date +%s)" \
                --filter "label=com.docker.compose.project=$project" \
                --filter event=die --filter event=health_status --format '{{.TimeNano}} {{.Status}}' |
                grep -E ' (die|health_status: unhealthy)$' | head -1 | cut -d' ' -f1 || true)
            if [ -n "$first_out" ] && [ -n "$first_event" ]; then
                latencies+=("$(( (first_out - first_event) / 1000000 ))")
            fi
            (cd "$dir" && compose down -v --rmi local --remove-orphans -t 3 >/dev/null 2>&1)
            rm -rf "$tmp"
            trap - EXIT
        done
        printf '%s\n' "${latencies[@]}" | sort -n | awk -v s="$project" '
            { v[NR] = $1 } END {
                if (NR == 0) { printf "%-28s no measurement (no event or no diagnosis)\n", s; exit }
                printf "%-28s wait latency: median %d ms (min %d, max %d, %d runs) from the first die/unhealthy event to the diagnosis\n",
                    s, v[int((NR + 1) / 2)], v[1], v[NR], NR }'
    done
done
