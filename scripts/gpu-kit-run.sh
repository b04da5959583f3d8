#!/usr/bin/env bash
# run.sh of the txwave GPU kit (packed by scripts/gpu-kit.sh): measures this machine and
# writes at most 8 files into OUT (see README.txt beside it).
#
#   ./run.sh OUT            full: sweeps of verify (both rules) and hash up to 1M items,
#                           the verifier variants and workgroup sizes, end to end on a
#                           generated 10-block log of 100k txs per block over 1M accounts;
#                           about 6 minutes on 16 cores, under 8 by construction
#   ./run.sh OUT --confirm [--verify-shape S] [--basepoint-table] [--workgroup-size SPEC]
#                           the second call: those GPU settings (else the binary's
#                           defaults) calibrated, end to end on the same log against the
#                           CPU and auto, then bin/offload on cpu and auto (the hybrid)
#                           from 16 threads; about 4 minutes, under 8 by construction
#   ./run.sh OUT --both     both in one call, about 8 minutes, under 9.5 (565 s) by construction:
#                           the full run on tighter budgets, the fastest settings read
#                           from it by kit-report.py (python3), the confirming run with
#                           them, and the report; writes OUT/full.tar.gz (as soon as the
#                           full run ends), OUT/confirm.tar.gz, OUT/report.md, OUT/log.txt
#   --small                 with any of them: toy sizes, to check the kit itself
set -uo pipefail

usage() {
  echo "usage: $0 OUT [--small] [--both | --confirm [--verify-shape S] [--basepoint-table] [--workgroup-size SPEC]]" >&2
  exit 2
}
[ -n "${1:-}" ] || usage
out=$1
shift
small=0
confirm=0
both=0
gpu_opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --small) small=1 ;;
    --confirm) confirm=1 ;;
    --both) both=1 ;;
    --basepoint-table) gpu_opts+=("$1") ;;
    --verify-shape | --workgroup-size)
      [ -n "${2:-}" ] || usage
      gpu_opts+=("$1" "$2")
      shift
      ;;
    *) usage ;;
  esac
  shift
done
if [ "${#gpu_opts[@]}" -gt 0 ] && [ "$confirm" = 0 ]; then
  echo "$0: GPU settings go with --confirm (the full run compares every variant)" >&2
  exit 2
fi
[ "$both" = 1 ] && [ "$confirm" = 1 ] && usage
# Set by --both for the two runs it makes: the log it generated, and tighter budgets.
shared_log=${TXWAVE_KIT_SHARED_LOG:-}
tight=${TXWAVE_KIT_TIGHT:-0}

kit=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/log.txt
: >"$log"
work=$(mktemp -d /tmp/txwave-kit.XXXXXX)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)

say() { echo "[$(($(date +%s) - started)) s] $*" | tee -a "$log" >&2; }

# The Vulkan loader: the system's if it has one, else the kit's, unpacked privately
# (TXWAVE_KIT_OWN_LOADER=1 takes the kit's anyway, to test it on a machine with one).
if [ -z "${TXWAVE_KIT_OWN_LOADER:-}" ] && ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  say "using the system's Vulkan loader"
else
  mkdir -p "$work/root"
  for deb in "$kit"/deb/*.deb; do
    [ -e "$deb" ] || { say "no loader package in $kit/deb"; exit 1; }
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$deb" "$work/root"
    else
      (cd "$work" && ar x "$deb" && tar -xf data.tar.* -C "$work/root" && rm -f data.tar.* control.tar.* debian-binary)
    fi
  done
  lib=$(dirname "$(find "$work/root" -name 'libvulkan.so.1*' | head -n 1)")
  export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  say "unpacked the kit's Vulkan loader into $lib"
fi

txwave=$kit/bin/txwave
# Pipelines compiled by the first step are reused by the later ones.
export TXWAVE_PIPELINE_CACHE_DIR=${TXWAVE_PIPELINE_CACHE_DIR:-$work/pipeline-cache}

"$txwave" devices >"$work/devices.txt" 2>>"$log"
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if grep -q "no GPU adapter found" "$work/devices.txt" && [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for icd in "$nvidia_icd" /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -e "$icd" ]; then
      export VK_DRIVER_FILES=$icd
      say "no adapter found; pointing Vulkan at $icd"
      break
    fi
  done
fi
"$txwave" devices --json >"$out/devices.json" 2>>"$log"
"$txwave" devices 2>>"$log" | tee -a "$log" >&2

# The log every step measures: generated once (seed 1, the generator's default mix).
if [ -n "$shared_log" ]; then
  logdir=$shared_log
else
  logdir=$work/log
  if [ "$small" = 1 ]; then
    gen=(--blocks 2 --txs 200 --accounts 500)
  else
    gen=(--blocks 10 --txs 100000 --accounts 1000000)
  fi
  say "generate: txwave gen ${gen[*]}"
  # Stopped at 150 s (110 s with --both). The reference executor that computes the roots
  # the blocks claim runs one tx at a time: about 5 s a block, 60 s in all.
  gen_limit=150
  [ "$both" = 1 ] && gen_limit=110
  timeout "$gen_limit" "$txwave" gen --out "$logdir" "${gen[@]}" >>"$log" 2>&1
  say "generate: exit $?"
fi
workload=(--genesis "$logdir/genesis.json" --log "$logdir/blocks.blk")

if [ "$both" = 1 ]; then
  if ! command -v python3 >/dev/null; then
    say "--both needs python3 to read the first run; make the two calls apart"
    exit 1
  fi
  size=()
  [ "$small" = 1 ] && size=(--small)
  export TXWAVE_KIT_SHARED_LOG=$logdir TXWAVE_KIT_TIGHT=1
  say "both: the full run"
  "$kit/run.sh" "$work/full" "${size[@]}" 2>>"$log"
  rc=$?
  say "both: the full run: exit $rc"
  tar -czf "$out/full.tar.gz" -C "$work" full
  settings=$(python3 "$kit/kit-report.py" --settings "$work/full" 2>>"$log")
  say "both: the fastest settings: ${settings:-none found, the binary defaults}"
  # shellcheck disable=SC2086 # the settings are words by design
  "$kit/run.sh" "$work/confirm" --confirm "${size[@]}" $settings 2>>"$log"
  rc2=$?
  say "both: the confirming run: exit $rc2"
  tar -czf "$out/confirm.tar.gz" -C "$work" confirm
  python3 "$kit/kit-report.py" "$work/full" "$work/confirm" >"$out/report.md" 2>>"$log"
  rc3=$?
  say "done in $(($(date +%s) - started)) s; wrote $(cd "$out" && ls | tr '\n' ' ')"
  rm -f "$out/devices.json" # inside both archives
  [ "$rc" = 0 ] && [ "$rc2" = 0 ] && [ "$rc3" = 0 ]
  exit
fi

if [ "$confirm" = 1 ]; then
  settings="${gpu_opts[*]}"
  say "confirm: GPU settings: ${settings:-none given, the binary defaults}"
  # Calibrated again with the settings: auto's thresholds and the hybrid split use the
  # rates of the verifier that will run.
  if [ "$small" = 1 ]; then
    cal_args=(--max-size 1024 --repeat 1)
    cal_limit=300
  elif [ "$tight" = 1 ]; then
    cal_args=(--repeat 3 --time-limit 15)
    cal_limit=30
  else
    cal_args=(--repeat 3 --time-limit 25)
    cal_limit=40
  fi
  say "confirm: calibrate"
  timeout "$cal_limit" "$txwave" calibrate --out "$out/calibration.json" "${cal_args[@]}" "${gpu_opts[@]}" \
    >/dev/null 2>>"$log"
  say "confirm: calibrate: exit $?"
  cal=()
  [ -s "$out/calibration.json" ] && cal=(--calibration "$out/calibration.json")
  if [ "$small" = 1 ]; then
    bench=(--repeat 1 --max-call-s 5)
    offload=(--threads 4 --packets 8 --max-size 64 --distinct 1024)
    limit=600
    offload_limit=300
  elif [ "$tight" = 1 ]; then
    # Within --both: calibrate stopped at 30 s, the bench starts nothing after 80 s and is
    # stopped at 120 s (a row once started is finished), each offload run stopped at 30 s
    # (its signatures take about 10 s to make, its load of about 1M signatures seconds).
    # With the full run's limits and the log's, --both ends within 565 s.
    bench=(--repeat 3 --max-call-s 5 --time-limit 80)
    offload=(--threads 16 --packets 120 --max-size 4096)
    limit=120
    offload_limit=30
  else
    # Alone, besides generating the log (stopped at 150 s): calibrate stopped at 40 s,
    # the bench starts nothing after 100 s and is stopped at 150 s, each offload run is
    # stopped at 40 s: under 8 minutes.
    bench=(--repeat 3 --max-call-s 5 --time-limit 100)
    offload=(--threads 16 --packets 120 --max-size 4096)
    limit=150
    offload_limit=40
  fi
  say "confirm: bench"
  timeout "$limit" "$txwave" bench --backends cpu,gpu,auto "${workload[@]}" "${cal[@]}" "${bench[@]}" \
    "${gpu_opts[@]}" --out "$work/e2e" >"$out/e2e.txt" 2>>"$log"
  rc=$?
  say "confirm: bench: exit $rc"
  [ -e "$work/e2e/bench.json" ] && mv "$work/e2e/bench.json" "$out/e2e.json"
  : >"$out/offload.txt"
  # The service on the CPU alone, and on auto: the GPU and every core beside it (the GPU
  # alone is the full run's sweep).
  for backend in cpu auto; do
    say "confirm: offload on $backend"
    echo "== offload --backend $backend ${offload[*]} ${cal[*]} ${gpu_opts[*]}" >>"$out/offload.txt"
    timeout "$offload_limit" "$kit/bin/offload" --backend "$backend" "${offload[@]}" "${cal[@]}" "${gpu_opts[@]}" \
      >>"$out/offload.txt" 2>>"$log"
    code=$?
    echo "== exit $code" >>"$out/offload.txt"
    say "confirm: offload on $backend: exit $code"
    [ "$code" = 0 ] || rc=$code
  done
  say "done in $(($(date +%s) - started)) s; wrote $(cd "$out" && ls | tr '\n' ' ')"
  [ "$rc" = 0 ]
  exit
fi

if [ "$small" = 1 ]; then
  calibrate=(--max-size 1024 --repeat 1)
  bench=(--sizes 256,1024 --repeat 1 --max-call-s 5 --variant-workgroup-sizes 64,128 --e2e-workgroups)
  cal_limit=600
  limit=900
elif [ "$tight" = 1 ]; then
  # Within --both: calibrate starts nothing after 35 s and is stopped at 55 s; the bench
  # starts nothing after 125 s and is stopped at 190 s (a row once started is finished).
  calibrate=(--repeat 3 --time-limit 35)
  bench=(--repeat 3 --max-call-s 3 --time-limit 125)
  cal_limit=55
  limit=190
else
  # Besides generating the log (stopped at 150 s, about 60 s on 16 cores): calibrate
  # starts nothing after 50 s and is stopped at 80 s; the bench starts nothing after 170 s
  # (what is left is reported as not measured) and is stopped at 240 s.
  calibrate=(--repeat 3 --time-limit 50)
  bench=(--repeat 3 --max-call-s 3 --time-limit 170)
  cal_limit=80
  limit=240
fi

say "calibrate"
timeout "$cal_limit" "$txwave" calibrate --out "$out/calibration.json" "${calibrate[@]}" \
  >"$out/calibrate.txt" 2>>"$log"
rc=$?
say "calibrate: exit $rc"
cal=()
[ -s "$out/calibration.json" ] && cal=(--calibration "$out/calibration.json")

say "bench"
timeout "$limit" "$txwave" bench --sweep --backends cpu,gpu,auto "${workload[@]}" "${cal[@]}" "${bench[@]}" \
  --out "$work/bench" >"$out/bench.txt" 2>>"$log"
rc2=$?
say "bench: exit $rc2"
for f in bench.json bench.svg; do
  [ -e "$work/bench/$f" ] && mv "$work/bench/$f" "$out/$f"
done
say "done in $(($(date +%s) - started)) s; wrote $(cd "$out" && ls | tr '\n' ' ')"
[ "$rc" = 0 ] && [ "$rc2" = 0 ]
