#!/usr/bin/env bash
# Checks what the GPU kit's run.sh wrote: every promised file, at most 8 files each under
# 16 MiB, JSON that parses with the fields the README promises, and an SVG chart.
#   scripts/check-kit-output.sh OUT [--gpu]
# --gpu also requires GPU rows and break-even entries (an adapter was there).
set -euo pipefail
out=${1:?usage: $0 OUT [--gpu]}
gpu=${2:-}

fail() { echo "check-kit-output: $*" >&2; exit 1; }

for f in devices.json calibration.json calibrate.txt bench.json bench.svg bench.txt log.txt; do
  [ -s "$out/$f" ] || fail "$f is missing or empty"
done
count=$(find "$out" -type f | wc -l)
[ "$count" -le 8 ] || fail "$count files (at most 8)"
big=$(find "$out" -type f -size +16M)
[ -z "$big" ] || fail "over 16 MiB: $big"
head -c 4 "$out/bench.svg" | grep -q '<svg' || fail "bench.svg is not SVG"
tail -c 10 "$out/bench.svg" | grep -q '</svg>' || fail "bench.svg is cut short"

python3 - "$out" "$gpu" <<'EOF'
import json, sys
out, gpu = sys.argv[1], sys.argv[2] == "--gpu"
devices = json.load(open(f"{out}/devices.json"))
assert isinstance(devices, list), "devices.json: a list of adapters"
cal = json.load(open(f"{out}/calibration.json"))
assert cal["adapter"] and cal["rates"], "calibration.json: adapter and rates"
for p in cal["rates"]:
    assert p["stage"] in ("verify_strict", "verify_zip215", "hash") and p["batch"] > 0
assert {b["stage"] for b in cal["break_even"]} == {"verify_strict", "verify_zip215", "hash"}
r = json.load(open(f"{out}/bench.json"))
for key in ("command", "machine", "adapter", "workload", "plan", "e2e", "sweep"):
    assert key in r, f"bench.json: no {key}"
assert r["machine"]["logical_cores"] >= 1 and r["machine"]["cpu_model"]
rows = r["sweep"]["rows"]
for stage in ("verify_strict", "verify_zip215", "hash"):
    for backend in ("cpu", "gpu", "auto") if gpu else ("cpu", "auto"):
        got = [x for x in rows if x["stage"] == stage and x["backend"] == backend]
        assert got, f"bench.json: no {stage} rows on {backend}"
        assert all(x["per_s"] > 0 and x["time"]["median_ns"] > 0 for x in got)
    if gpu:
        assert any(x["stage"] == stage and x["gpu"] for x in rows), f"no GPU phases for {stage}"
        assert any(b["stage"] == stage and "text" in b for b in r["sweep"]["break_even"]), \
            f"no break-even for {stage}"
if gpu:
    labels = {v["variant"] for v in r["sweep"]["variants"]}
    assert len(labels) >= 2, f"one GPU variant only: {labels}"
    assert r["adapter"]["name"]
assert r["e2e"] and all(x["tx_per_s"] > 0 for x in r["e2e"]), "bench.json: e2e rows"
print(f"check-kit-output: {out}: {len(rows)} sweep rows, {len(r['e2e'])} end-to-end rows, "
      f"{len(r['sweep']['variants'])} variant rows, adapter {r['adapter'] and r['adapter']['name']}")
EOF
