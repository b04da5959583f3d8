#!/usr/bin/env bash
# The offline GPU kit: everything an x86-64 Linux box with an NVIDIA (or any Vulkan)
# driver needs to measure itself with txwave, with no Rust toolchain, network or Vulkan
# loader installed there.
#
#   scripts/gpu-kit.sh pack DIR     build here and fill DIR (under 60 MiB)
#   DIR/run.sh OUT [--small]        on the GPU box: measure, write at most 8 files to OUT
#   DIR/run.sh OUT --confirm [--small] [GPU OPTIONS]
#                                   the second call: chosen settings end to end and the
#                                   verify service loaded from every core (see run.sh)
#
# DIR holds:
#   bin/txwave       the stripped release binary
#   bin/offload      the stripped release build of examples/offload.rs
#   deb/*.deb        the Vulkan loader package (libvulkan1), unpacked by run.sh into a
#                    private folder, never into /
#   run.sh           the measuring script (scripts/gpu-kit-run.sh)
#   kit-report.py    reads what run.sh wrote (scripts/kit-report.py; --both runs it there)
#   README.txt       what the kit does and what it writes
#
# TXWAVE_KIT_BINARY=PATH and TXWAVE_KIT_OFFLOAD=PATH pack those binaries instead of
# building the release ones (CI packs the debug builds it already has, to stay within its
# time); both or neither.
set -euo pipefail

usage() {
  echo "usage: $0 pack DIR" >&2
  exit 2
}

[ "${1:-}" = pack ] && [ -n "${2:-}" ] || usage
dir=$2
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(uname -m)" != x86_64 ]; then
  echo "gpu-kit: this machine is $(uname -m); the kit is for x86-64 and must be built on x86-64" >&2
  exit 1
fi

mkdir -p "$dir/bin" "$dir/deb"
dir=$(cd "$dir" && pwd)

if [ -n "${TXWAVE_KIT_BINARY:-}${TXWAVE_KIT_OFFLOAD:-}" ]; then
  binary=${TXWAVE_KIT_BINARY:?TXWAVE_KIT_OFFLOAD is set: set TXWAVE_KIT_BINARY too}
  offload=${TXWAVE_KIT_OFFLOAD:?TXWAVE_KIT_BINARY is set: set TXWAVE_KIT_OFFLOAD too}
  echo "gpu-kit: packing $binary and $offload"
else
  echo "gpu-kit: building the release binary and examples/offload"
  (cd "$repo" && cargo build --release --bin txwave --example offload)
  binary=$repo/target/release/txwave
  offload=$repo/target/release/examples/offload
fi
for b in "$binary" "$offload"; do
  [ -x "$b" ] || { echo "gpu-kit: no binary at $b" >&2; exit 1; }
done
cp "$binary" "$dir/bin/txwave"
cp "$offload" "$dir/bin/offload"
strip "$dir/bin/txwave" "$dir/bin/offload"

# The Vulkan loader: downloaded for amd64 without installing anything, else taken from
# apt's cache of an earlier install.
rm -f "$dir"/deb/*.deb
lists=$(mktemp -d /tmp/gpu-kit-apt.XXXXXX)
mkdir -p "$lists/partial"
apt_opts=(-o APT::Architecture=amd64 -o APT::Architectures=amd64 -o "Dir::State::Lists=$lists")
if command -v apt-get >/dev/null &&
   apt-get "${apt_opts[@]}" -qq update >/dev/null 2>&1 &&
   (cd "$dir/deb" && apt-get "${apt_opts[@]}" -qq download libvulkan1 >/dev/null 2>&1); then
  echo "gpu-kit: downloaded $(cd "$dir/deb" && ls ./*.deb)"
else
  cached=$(ls /var/cache/apt/archives/libvulkan1_*_amd64.deb 2>/dev/null | tail -n 1 || true)
  if [ -z "$cached" ]; then
    echo "gpu-kit: cannot download libvulkan1 (no network?) and apt's cache has none;" >&2
    echo "         put libvulkan1_*_amd64.deb into $dir/deb by hand" >&2
    rm -rf "$lists"
    exit 1
  fi
  cp "$cached" "$dir/deb/"
  echo "gpu-kit: took $cached from apt's cache"
fi
rm -rf "$lists"

cp "$repo/scripts/gpu-kit-run.sh" "$dir/run.sh"
cp "$repo/scripts/kit-report.py" "$dir/kit-report.py"
chmod +x "$dir/run.sh" "$dir/kit-report.py"
cat >"$dir/README.txt" <<EOF
txwave GPU kit ($("$dir/bin/txwave" --version), packed $(date -u +%Y-%m-%d))

On an offline x86-64 Linux machine with a GPU driver:

    ./run.sh OUT --both     # one call: the full measurement, the fastest settings read
                            # from it, the confirming run with them and report.md;
                            # about 8 minutes on 16 cores, under 9.5 by construction
    ./run.sh OUT            # the full measurement alone, about 6 minutes on 16 cores
    ./run.sh OUT --small    # a quick check of the kit itself (seconds to minutes)
    ./run.sh OUT --confirm [--verify-shape S] [--basepoint-table] [--workgroup-size SPEC]
                            # the second call, about 4 minutes: those settings (else the
                            # binary's defaults) calibrated, end to end on the same 10-block
                            # log, and bin/offload loading the verify service from 16
                            # threads on the CPU and on auto (the GPU and every core).

It unpacks the Vulkan loader from deb/ into a private folder (nothing is installed),
points Vulkan at the NVIDIA driver if no other is found, and writes into OUT:

    devices.json      the adapters (txwave devices --json)
    calibration.json  break-even sizes and rates for --backend auto (txwave calibrate)
    calibrate.txt     what calibrate printed
    bench.json        every number of txwave bench --sweep, the command and the machine
    bench.svg         throughput against batch size, and stage times per backend
    bench.txt         the same report as text
    log.txt           everything the steps wrote to stderr, with times

With --confirm it writes devices.json, calibration.json (of those settings), e2e.json and
e2e.txt (txwave bench without the sweep), offload.txt (one section per backend) and
log.txt. With --both: full.tar.gz and confirm.tar.gz (the two runs' files), report.md
(kit-report.py on both) and log.txt. Every step measures one log, generated first by
txwave gen (seed 1, the generator's default mix).
EOF

size=$(du -sm "$dir" | cut -f1)
echo "gpu-kit: $dir is ${size} MiB"
if [ "$size" -ge 60 ]; then
  echo "gpu-kit: the kit must stay under 60 MiB" >&2
  exit 1
fi
