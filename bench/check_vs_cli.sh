#!/usr/bin/env bash
# Time `analylit-doctor check` on a running lab stack against the docker CLI a person would run
# for the same facts (docker ps, then docker inspect and docker logs --tail per container), in the
# same run, and print the ratio. Target: check ≤ 0.5× the baseline. Then a bundle of the stack
# (`snapshot`) is diagnosed offline (`check --from`), timed against the live check.
#
#   bench/check_vs_cli.sh [STACK ...]     default: healthy gunicorn-worker-reinit
#   SCALE=50 bench/check_vs_cli.sh healthy   the stack's `worker` service scaled to 50 containers
#
# Brings each stack up with fixtures/lab (one at a time) and tears it down afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
cargo build --release --quiet
doctor=target/release/analylit-doctor

ms() { echo $(( $(date +%s%N) / 1000000 )); }

compose() {
    if docker-compose version >/dev/null 2>&1; then
        COMPOSE_DOCKER_CLI_BUILD=0 DOCKER_BUILDKIT=0 docker-compose -p "$1" "${@:2}"
    else
        docker compose -p "$1" "${@:2}"
    fi
}

baseline() {
    local p=$1 ids
    ids=$(docker ps -aq --filter "label=com.docker.compose.project=$p")
    for id in $ids; do
        docker inspect "$id" >/dev/null
        docker logs --tail 2000 --timestamps "$id" >/dev/null 2>&1
    done
}

for stack in "${@:-healthy gunicorn-worker-reinit}"; do
    for s in $stack; do
        fixtures/lab up "$s" >/dev/null 2>&1
        trap 'fixtures/lab down "$s" >/dev/null 2>&1' EXIT
        if [ -n "${SCALE:-}" ]; then
            (cd "fixtures/stacks/$s" && compose "$s" up -d --no-recreate --scale "worker=$SCALE" >/dev/null 2>&1)
        fi
        n=$(docker ps -aq --filter "label=com.docker.compose.project=$s" | wc -l)
        t0=$(ms); for _ in $(seq "$runs"); do baseline "$s"; done; t1=$(ms)
        for _ in $(seq "$runs"); do "$doctor" check -q -p "$s" --format json >/dev/null || true; done
        t2=$(ms)
        bundle=$(mktemp --suffix .tar.gz)
        "$doctor" snapshot -q -p "$s" -o "$bundle" >/dev/null
        t3=$(ms)
        for _ in $(seq "$runs"); do "$doctor" check -q --from "$bundle" --format json >/dev/null || true; done
        t4=$(ms)
        rm -f "$bundle"
        base=$(( (t1 - t0) / runs )); check=$(( (t2 - t1) / runs )); from=$(( (t4 - t3) / runs ))
        awk -v s="$s ($n containers)" -v b="$base" -v c="$check" -v f="$from" 'BEGIN {
            printf "%-34s docker CLI %5d ms   check %5d ms   ratio %.2f   check --from %4d ms   from/check %.2f\n",
                s, b, c, c / b, f, (c > 0 ? f / c : 0) }'
        fixtures/lab down "$s" >/dev/null 2>&1
        trap - EXIT
    done
done
