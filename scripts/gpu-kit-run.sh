#!/usr/bin/env bash
# run.sh of the txwave GPU kit (packed by scripts/gpu-kit.sh): measures this machine and
# writes at most 8 files into OUT (see README.txt beside it).
#
#   ./run.sh OUT            full: sweeps of verify (both rules) and hash up to 1M items,
#                           every verifier variant and workgroup size, end to end on a
#                           generated 10-block log of 100k txs per block over 1M accounts
#   ./run.sh OUT --small    the same steps at toy sizes, to check the kit itself
#   ./run.sh OUT --confirm [--small] [--verify-shape S] [--basepoint-table]
#                          [--workgroup-size SPEC]
#                           the second call: those GPU settings (else the binary's
#                           defaults) end to end on the same log against the CPU and auto,
#                           then bin/offload on cpu, gpu and auto (the hybrid) from 16
#                           threads; under 5 minutes by construction
set -uo pipefail

usage() {
  echo "usage: $0 OUT [--small] [--confirm [--verify-shape S] [--basepoint-table] [--workgroup-size SPEC]]" >&2
  exit 2
}
[ -n "${1:-}" ] || usage
out=$1
shift
small=0
confirm=0
gpu_opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --small) small=1 ;;
    --confirm) confirm=1 ;;
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
export TXWAVE_PIPELINE_CACHE_DIR=$work/pipeline-cache

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

if [ "$confirm" = 1 ]; then
  settings="${gpu_opts[*]}"
  say "confirm: GPU settings: ${settings:-none given, the binary defaults}"
  # Calibrated again with the settings: auto's thresholds and the hybrid split use the
  # rates of the verifier that will run.
  if [ "$small" = 1 ]; then
    cal_args=(--max-size 1024 --repeat 1)
    cal_limit=300
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
    bench=(--blocks 2 --txs 200 --accounts 500 --repeat 1 --max-call-s 5)
    offload=(--threads 4 --packets 8 --max-size 64 --distinct 1024)
    limit=600
    offload_limit=300
  else
    # Under 5 minutes in all: calibrate is stopped at 40 s, the bench starts nothing after
    # 100 s and is stopped at 150 s, each offload run is stopped at 40 s.
    bench=(--blocks 10 --txs 100000 --accounts 1000000 --repeat 3 --max-call-s 5 --time-limit 100)
    offload=(--threads 16 --packets 200 --max-size 4096)
    limit=150
    offload_limit=40
  fi
  say "confirm: bench"
  timeout "$limit" "$txwave" bench --backends cpu,gpu,auto "${cal[@]}" "${bench[@]}" "${gpu_opts[@]}" \
    --out "$work/e2e" >"$out/e2e.txt" 2>>"$log"
  rc=$?
  say "confirm: bench: exit $rc"
  [ -e "$work/e2e/bench.json" ] && mv "$work/e2e/bench.json" "$out/e2e.json"
  : >"$out/offload.txt"
  for backend in cpu gpu auto; do
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
  bench=(--blocks 2 --txs 200 --accounts 500 --sizes 256,1024 --repeat 1 --max-call-s 5
         --variant-workgroup-sizes 64 --e2e-workgroups)
  cal_limit=600
  limit=900
else
  # Under 6 minutes in all: calibrate starts nothing after 50 s and is stopped at 80 s;
  # the bench starts nothing after 200 s (what is left is reported as not measured) and
  # is stopped at 270 s.
  calibrate=(--repeat 3 --time-limit 50)
  bench=(--blocks 10 --txs 100000 --accounts 1000000 --repeat 3 --max-call-s 3 --time-limit 200)
  cal_limit=80
  limit=270
fi

say "calibrate"
timeout "$cal_limit" "$txwave" calibrate --out "$out/calibration.json" "${calibrate[@]}" \
  >"$out/calibrate.txt" 2>>"$log"
rc=$?
say "calibrate: exit $rc"
cal=()
[ -s "$out/calibration.json" ] && cal=(--calibration "$out/calibration.json")

say "bench"
timeout "$limit" "$txwave" bench --sweep --backends cpu,gpu,auto "${cal[@]}" "${bench[@]}" \
  --out "$work/bench" >"$out/bench.txt" 2>>"$log"
rc2=$?
say "bench: exit $rc2"
for f in bench.json bench.svg; do
  [ -e "$work/bench/$f" ] && mv "$work/bench/$f" "$out/$f"
done
say "done in $(($(date +%s) - started)) s; wrote $(cd "$out" && ls | tr '\n' ' ')"
[ "$rc" = 0 ] && [ "$rc2" = 0 ]
