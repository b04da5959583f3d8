#!/usr/bin/env bash
# Peak memory of `txwave run` on a 2-block and a 20-block log of the same block size
# (the same generator settings otherwise), to show that memory does not grow with the log.
#
#   scripts/stream-memory.sh [ACCOUNTS] [TXS_PER_BLOCK] [RUN OPTIONS...]
#
# Defaults: 200000 accounts, 10000 txs a block; RUN OPTIONS go to both runs (e.g.
# `--key-cache 10000`, `--queue-depth 1`). Needs GNU time (/usr/bin/time). Builds the
# release binary, generates both workloads into a temporary folder (removed at the end),
# and prints one line per run and the ratio of the two peaks.
set -euo pipefail

cd "$(dirname "$0")/.."
accounts="${1:-200000}"
txs="${2:-10000}"
shift $(( $# > 2 ? 2 : $# ))
if [ ! -x /usr/bin/time ]; then
    echo "stream-memory: needs GNU time at /usr/bin/time (apt-get install time)" >&2
    exit 2
fi
cargo build --release --bin txwave >&2
bin="$PWD/target/release/txwave"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

declare -A peak
for blocks in 2 20; do
    "$bin" gen --out "$work/w$blocks" --seed 1 --accounts "$accounts" --blocks "$blocks" \
        --txs "$txs" >/dev/null
    /usr/bin/time -f "%M" -o "$work/rss$blocks" "$bin" run "$work/w$blocks/genesis.json" \
        "$work/w$blocks/blocks.blk" --backend cpu "$@" >/dev/null
    peak[$blocks]="$(tail -1 "$work/rss$blocks")"
    log_mb="$(du -m "$work/w$blocks/blocks.blk" | cut -f1)"
    echo "$blocks blocks x $txs txs over $accounts accounts (log $log_mb MB): peak RSS ${peak[$blocks]} KB"
done
awk -v a="${peak[2]}" -v b="${peak[20]}" \
    'BEGIN { printf "20 blocks vs 2 blocks: %+.1f %%\n", (b / a - 1) * 100 }'
