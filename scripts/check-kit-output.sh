#!/usr/bin/env bash
# Checks what the GPU kit's run.sh wrote: every promised file, at most 8 files each under
# 16 MiB, JSON that parses with the fields the README promises, an SVG chart, and every
# measured row saying what its answers were checked against.
#   scripts/check-kit-output.sh OUT [--gpu] [--confirm | --both]
# --gpu also requires GPU rows and break-even entries (an adapter was there).
# --confirm checks the output of `run.sh OUT --confirm` instead of the full run; --both
# that of `run.sh OUT --both` (both archives, each checked as above, and the report).
set -euo pipefail
out=${1:?usage: $0 OUT [--gpu] [--confirm | --both]}
shift
gpu=
confirm=
both=
for a in "$@"; do
  case "$a" in
    --gpu) gpu=--gpu ;;
    --confirm) confirm=--confirm ;;
    --both) both=1 ;;
    *) echo "usage: $0 OUT [--gpu] [--confirm | --both]" >&2; exit 2 ;;
  esac
done

fail() { echo "check-kit-output: $*" >&2; exit 1; }

if [ -n "$both" ]; then
  for f in full.tar.gz confirm.tar.gz report.md log.txt; do
    [ -s "$out/$f" ] || fail "$f is missing or empty"
  done
  count=$(find "$out" -type f | wc -l)
  [ "$count" -le 8 ] || fail "$count files (at most 8)"
  unpacked=$(mktemp -d /tmp/check-kit-output.XXXXXX)
  trap 'rm -rf "$unpacked"' EXIT
  tar -xzf "$out/full.tar.gz" -C "$unpacked"
  tar -xzf "$out/confirm.tar.gz" -C "$unpacked"
  "$0" "$unpacked/full" $gpu
  "$0" "$unpacked/confirm" $gpu --confirm
  # The confirming run used the settings the report finds fastest in the full run.
  settings=$(python3 "$(dirname "$0")/kit-report.py" --settings "$unpacked/full")
  if [ -n "$settings" ]; then
    # shellcheck disable=SC2086 # the settings are words by design
    python3 - "$unpacked/confirm/e2e.json" $settings <<'PY' ||
import json, sys
r = json.load(open(sys.argv[1]))
args = sys.argv[2:]
shape = args[args.index("--verify-shape") + 1]
table = "table" if "--basepoint-table" in args else "computed"
sizes = dict(p.split("=") for p in args[args.index("--workgroup-size") + 1].split(","))
others = ",".join(f"{k}={sizes[k]}" for k in ("hash", "resolve", "exec", "state_leaves", "merkle"))
want = f"verify {shape}/{table}/wg{sizes['verify']} {others}"
got = [x["tunables"] for x in r["e2e"] if x["backend"] == "gpu"]
assert got == [want], f"{got} != {want}"
PY
      fail "the confirming run did not use the fastest settings ($settings)"
  fi
  grep -q "^| end to end, confirming run" "$out/report.md" || fail "report.md: no confirming run"
  grep -q "^All [0-9]* measured rows say what" "$out/report.md" || fail "report.md: unchecked rows"
  echo "check-kit-output: $out: both runs and the report"
  exit 0
fi

if [ -n "$confirm" ]; then
  files=(devices.json calibration.json e2e.json e2e.txt offload.txt log.txt)
else
  files=(devices.json calibration.json calibrate.txt bench.json bench.svg bench.txt log.txt)
fi
for f in "${files[@]}"; do
  [ -s "$out/$f" ] || fail "$f is missing or empty"
done
count=$(find "$out" -type f | wc -l)
[ "$count" -le 8 ] || fail "$count files (at most 8)"
big=$(find "$out" -type f -size +16M)
[ -z "$big" ] || fail "over 16 MiB: $big"
if [ -z "$confirm" ]; then
  head -c 4 "$out/bench.svg" | grep -q '<svg' || fail "bench.svg is not SVG"
  tail -c 10 "$out/bench.svg" | grep -q '</svg>' || fail "bench.svg is cut short"
fi

python3 - "$out" "$gpu" "$confirm" <<'EOF'
import json, re, sys
out, gpu, confirm = sys.argv[1], sys.argv[2] == "--gpu", sys.argv[3] == "--confirm"
devices = json.load(open(f"{out}/devices.json"))
assert isinstance(devices, list), "devices.json: a list of adapters"
cal = json.load(open(f"{out}/calibration.json"))
assert cal["adapter"] and cal["rates"], "calibration.json: adapter and rates"
for p in cal["rates"]:
    assert p["stage"] in ("verify_strict", "verify_zip215", "hash") and p["batch"] > 0
assert {b["stage"] for b in cal["break_even"]} == {"verify_strict", "verify_zip215", "hash"}


def check_e2e(r, name):
    backends = {x["backend"] for x in r["e2e"]}
    want = {"cpu", "gpu", "auto"} if gpu else {"cpu", "auto"}
    assert want <= backends, f"{name}: end-to-end rows for {sorted(backends)}, not {sorted(want)}"
    for x in r["e2e"]:
        assert x["tx_per_s"] > 0, f"{name}: {x['label']} has no rate"
        assert "equal to a CPU engine's pass" in x["checked"], f"{name}: {x['label']}: {x['checked']}"


if confirm:
    r = json.load(open(f"{out}/e2e.json"))
    for key in ("command", "machine", "adapter", "workload", "plan", "e2e"):
        assert key in r, f"e2e.json: no {key}"
    assert r.get("sweep") is None, "e2e.json: the confirming run has no sweep"
    assert r["finished"], "e2e.json: the bench did not finish"
    check_e2e(r, "e2e.json")
    text = open(f"{out}/offload.txt").read()
    sections = re.split(r"^== offload --backend ", text, flags=re.M)[1:]
    assert [s.split()[0] for s in sections] == ["cpu", "auto"], "offload.txt: cpu, auto"
    for s in sections:
        backend = s.split()[0]
        assert re.search(r"^== exit 0$", s, re.M), f"offload on {backend} did not exit 0"
        m = re.search(r"^offload: (\d+) submissions, (\d+) signatures, (\d+) lost, (\d+) wrong, "
                      r"p50 ([\d.]+) ms, p99 ([\d.]+) ms, (\d+) sig/s$", s, re.M)
        assert m, f"offload on {backend}: no summary line"
        assert int(m[3]) == 0 and int(m[4]) == 0, f"offload on {backend}: {m[0]}"
        assert int(m[7]) > 0
    print(f"check-kit-output: {out}: {len(r['e2e'])} end-to-end rows, offload on cpu and auto, "
          f"adapter {r['adapter'] and r['adapter']['name']}")
    sys.exit(0)

r = json.load(open(f"{out}/bench.json"))
for key in ("command", "machine", "adapter", "workload", "plan", "e2e", "sweep"):
    assert key in r, f"bench.json: no {key}"
assert r["finished"], "bench.json: the bench did not finish"
assert r["machine"]["logical_cores"] >= 1 and r["machine"]["cpu_model"]
rows = r["sweep"]["rows"]
for stage in ("verify_strict", "verify_zip215", "hash"):
    for backend in ("cpu", "gpu", "auto") if gpu else ("cpu", "auto"):
        got = [x for x in rows if x["stage"] == stage and x["backend"] == backend]
        assert got, f"bench.json: no {stage} rows on {backend}"
        assert all(x["per_s"] > 0 and x["time"]["median_ns"] > 0 for x in got)
        assert all(" equal to the " in x["checked"] for x in got), f"{stage} on {backend}: unchecked rows"
    if gpu:
        assert any(x["stage"] == stage and x["gpu"] for x in rows), f"no GPU phases for {stage}"
        assert any(b["stage"] == stage and "text" in b for b in r["sweep"]["break_even"]), \
            f"no break-even for {stage}"
assert all(" equal to the " in v["checked"] for v in r["sweep"]["variants"]), "unchecked variant rows"
if gpu:
    labels = {v["variant"] for v in r["sweep"]["variants"]}
    assert len(labels) >= 2, f"one GPU variant only: {labels}"
    assert r["adapter"]["name"]
    # Every shape x table at the first workgroup size, then only the one with the best sum
    # of its rules' rates at the other sizes.
    verify = [v for v in r["sweep"]["variants"] if v["stage"].startswith("verify")]
    wg_of = lambda label: label.rsplit("/", 1)[1]
    first = wg_of(verify[0]["variant"])
    sums = {}
    for v in verify:
        if wg_of(v["variant"]) == first:
            sums[v["variant"].rsplit("/", 1)[0]] = sums.get(v["variant"].rsplit("/", 1)[0], 0) + v["per_s"]
    assert len(sums) == 4, f"shape x table at {first}: {sorted(sums)}"
    best = max(sums, key=sums.get)
    others = {v["variant"].rsplit("/", 1)[0] for v in verify if wg_of(v["variant"]) != first}
    assert others <= {best}, f"other workgroup sizes timed for {others}, not only the fastest {best}"
assert r["e2e"], "bench.json: no end-to-end rows"
check_e2e(r, "bench.json")
print(f"check-kit-output: {out}: {len(rows)} sweep rows, {len(r['e2e'])} end-to-end rows, "
      f"{len(r['sweep']['variants'])} variant rows, adapter {r['adapter'] and r['adapter']['name']}")
EOF
