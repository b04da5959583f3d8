#!/usr/bin/env bash
# Runs every benchmark in benches/ on this machine and writes a JSON report.
#
#   scripts/gpu-bench.sh [OUT_DIR]        default: bench-results/<date>-<hostname>/
#
# Meant for a machine with a real GPU and possibly no network: builds with --offline first
# (vendored or prebuilt tree), online only if that fails. Writes into OUT_DIR:
#   report.json     machine, adapters, exact command, criterion median per benchmark id
#                   and throughput (scripts/criterion_report.py)
#   machine.json    host, CPU, nvidia-smi (if present), toolchain
#   adapters.json   every wgpu adapter with its limits (`txwave devices --json`)
#   <bench>.log     each bench's full output (GPU phase breakdowns are printed there)
#   criterion/      criterion's raw data (CRITERION_HOME)
# Environment passed through: TXWAVE_BENCH_SIZES (batch sizes), TXWAVE_ADAPTER (adapter
# name filter), BENCH_FILTER (criterion filter, e.g. "hash/gpu").
set -euo pipefail

cd "$(dirname "$0")/.."
out="${1:-bench-results/$(date +%Y-%m-%d)-$(hostname -s 2>/dev/null || hostname)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

offline=(--offline)
echo "== build (release)"
if ! cargo build --release --offline --benches --bins; then
    echo "offline build failed; trying online" >&2
    offline=()
    cargo build --release --benches --bins
fi

echo "== machine"
{
    echo "{"
    echo "  \"hostname\": \"$(hostname)\","
    echo "  \"date_utc\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
    echo "  \"kernel\": \"$(uname -srm)\","
    echo "  \"cpu\": \"$( (grep -m1 'model name' /proc/cpuinfo 2>/dev/null || echo ': unknown') | cut -d: -f2- | sed 's/^ *//; s/"/\\"/g')\","
    echo "  \"cpus\": $(nproc 2>/dev/null || echo 0),"
    echo "  \"memory_kib\": $( (grep -m1 MemTotal /proc/meminfo 2>/dev/null || echo 'x 0') | awk '{print $2}'),"
    echo "  \"rustc\": \"$(rustc -V)\","
    echo "  \"git_commit\": \"$(git rev-parse HEAD 2>/dev/null || echo unknown)\","
    echo "  \"git_dirty\": $( [ -z "$(git status --porcelain 2>/dev/null)" ] && echo false || echo true ),"
    if command -v nvidia-smi >/dev/null 2>&1; then
        echo "  \"nvidia_smi\": ["
        nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.max,clocks.max.sm,power.limit \
            --format=csv,noheader | sed 's/"/\\"/g; s/^/    "/; s/$/",/' | sed '$ s/,$//'
        echo "  ]"
    else
        echo "  \"nvidia_smi\": null"
    fi
    echo "}"
} > "$out/machine.json"
cat "$out/machine.json"

echo "== adapters"
cargo run --release "${offline[@]}" --quiet -- devices --json > "$out/adapters.json"
cat "$out/adapters.json"

export CRITERION_HOME="$out/criterion"
filter=()
if [ -n "${BENCH_FILTER:-}" ]; then filter=("$BENCH_FILTER"); fi
commands=()
for file in benches/*.rs; do
    bench="$(basename "$file" .rs)"
    cmd=(cargo bench "${offline[@]}" --bench "$bench" -- "${filter[@]}")
    commands+=("TXWAVE_BENCH_SIZES=${TXWAVE_BENCH_SIZES:-default} ${cmd[*]}")
    echo "== ${cmd[*]}"
    "${cmd[@]}" 2>&1 | tee "$out/$bench.log"
done

echo "== report"
python3 scripts/criterion_report.py "$CRITERION_HOME" "$out/report.json" \
    --machine "$out/machine.json" --adapters "$out/adapters.json" \
    --command "$(printf '%s; ' "${commands[@]}")"
echo "report: $out/report.json"
