#!/usr/bin/env python3
"""The Ray driver end to end on a local Ray instance (run by .ci/run; or by hand:
`TXWAVE=target/debug/txwave python scripts/ray/test_txwave_ray.py`).

A generated 24-block history with a snapshot every 4 blocks must verify in 6 ranges that
agree with one sequential `txwave run`; a tampered transaction must fail exactly its range,
naming its block; an altered snapshot exactly the two ranges that touch it; a worker killed
mid-task must be retried with the report still complete; and the audit mode must find a
bad signature in a range without snapshots. Every check raises AssertionError on failure.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import blake3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import txwave_ray  # noqa: E402

TXWAVE = os.path.abspath(os.environ.get("TXWAVE", "target/debug/txwave"))
HEADER_LEN = 8 + 8 + 32 + 32 + 32 + 4


def sh(*argv: str) -> subprocess.CompletedProcess:
    p = subprocess.run([TXWAVE, *argv], capture_output=True, text=True)
    assert p.returncode == 0, f"txwave {' '.join(argv)}: {p.stderr}"
    return p


def make_history(root: Path) -> list[str]:
    """Genesis, 24-block log, checkpoints at 4..24 and the index under `root`; returns
    the state root after every block from one sequential run."""
    sh("gen", "--out", str(root / "g"), "--blocks", "24", "--txs", "60", "--accounts",
       "200", "--pools", "4", "--bad-signature", "0")
    run = sh("run", str(root / "g/genesis.json"), str(root / "g/blocks.blk"), "--backend",
             "cpu", "--json", "--checkpoint-every", "4", "--checkpoint-dir", str(root / "cp"),
             "--keep-checkpoints", "100")
    sh("index", str(root / "g/blocks.blk"), "--out", str(root / "blocks.idx"))
    return [b["state_root"] for b in json.loads(run.stdout)["per_block"]]


def block_spans(log: bytes) -> list[tuple[int, int]]:
    """(offset, length) of every block of a log (docs/FORMATS.md, Block log)."""
    spans, at = [], 0
    while at < len(log):
        (count,) = struct.unpack_from("<I", log, at + HEADER_LEN - 4)
        p = at + HEADER_LEN
        for _ in range(count):
            (n,) = struct.unpack_from("<H", log, p)
            p += 2 + n
        spans.append((at, p + 32 - at))
        at = p + 32
    return spans


def tamper_tx(log_path: Path, block: int, tx: int) -> None:
    """Flips the last byte of tx `tx` of block `block` (0-based) and reseals the block's
    checksum: the log still decodes, only the transaction (and so its signature) is wrong."""
    log = bytearray(log_path.read_bytes())
    off, length = block_spans(bytes(log))[block]
    p = off + HEADER_LEN
    for _ in range(tx):
        (n,) = struct.unpack_from("<H", log, p)
        p += 2 + n
    (n,) = struct.unpack_from("<H", log, p)
    log[p + 2 + n - 1] ^= 0x01
    log[off + length - 32:off + length] = blake3.blake3(bytes(log[off:off + length - 32])).digest()
    log_path.write_bytes(bytes(log))


def alter_snapshot(path: Path) -> None:
    """Adds one to account 0's token-0 balance and reseals the checksum (docs/FORMATS.md,
    State snapshot): a valid snapshot of a state that never was."""
    b = bytearray(path.read_bytes())
    at = 8 + 4 + 1 + 2 + 8 + 32 + 8 + 32 + 8
    b[at] ^= 0x01
    b[-32:] = blake3.blake3(bytes(b[:-32])).digest()
    path.write_bytes(bytes(b))


def replay(root: Path, **env) -> dict:
    args = txwave_ray.parser().parse_args([
        "replay", str(root / "g/blocks.blk"), "--index", str(root / "blocks.idx"),
        "--snapshots", str(root / "cp"), "--genesis", str(root / "g/genesis.json"),
        "--txwave", TXWAVE, "--backend", "cpu", "--threads", "1"])
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return txwave_ray.verify(args)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def check_complete(rep: dict, n: int) -> None:
    assert [r["range"] for r in rep["ranges"]] == list(range(1, n + 1)), rep["ranges"]
    for k, r in enumerate(rep["ranges"]):
        assert (r["from_height"], r["to_height"]) == (4 * k, 4 * k + 4), r


def test_honest_history(base: Path) -> Path:
    root = base / "honest"
    roots = make_history(root)
    rep = replay(root)
    check_complete(rep, 6)
    assert rep["ok"], rep["verdict"]
    assert rep["verdict"] == "history verified from height 0 to 24", rep["verdict"]
    assert rep["txs"] == 24 * 60
    for r in rep["ranges"]:
        # The distributed end root of every range is the sequential run's.
        assert r["computed_state_root"] == roots[r["to_height"] - 1], r
        assert r["computed_state_root"] == r["expected_state_root"]
    print(txwave_ray.table(rep["ranges"], rep["wall_s"]))
    return root


def test_tampered_tx(honest: Path, base: Path) -> None:
    root = base / "tx"
    shutil.copytree(honest, root, symlinks=True)
    tamper_tx(root / "g/blocks.blk", 9, 7)  # height 10, in range 3 (8..12)
    rep = replay(root)
    check_complete(rep, 6)
    assert rep["failed_ranges"] == [3], rep["verdict"]
    bad = rep["ranges"][2]
    assert bad["failed_block"]["height"] == 10, bad
    assert bad["failed_block"]["block_index"] == 9, bad
    assert "state root mismatch" in bad["reason"], bad["reason"]
    assert rep["verdict"].startswith(
        "history NOT verified from height 0 to 24: 1 of 6 ranges failed: "
        "range 3 (heights 8..12): block at height 10"), rep["verdict"]


def test_altered_snapshot(honest: Path, base: Path) -> None:
    root = base / "snap"
    shutil.copytree(honest, root, symlinks=True)
    alter_snapshot(root / "cp/checkpoint-00000000000000000016.state")
    rep = replay(root)
    check_complete(rep, 6)
    assert rep["failed_ranges"] == [4, 5], rep["verdict"]
    assert "does not end on the target snapshot" in rep["ranges"][3]["reason"]
    assert rep["ranges"][4]["failed_block"]["height"] == 17, rep["ranges"][4]


def test_worker_killed(honest: Path, base: Path) -> None:
    marker = base / "killed-once"
    rep = replay(honest, TXWAVE_RAY_KILL_ONCE=str(marker))
    assert marker.exists(), "the hook did not kill a worker"
    killed = json.loads(marker.read_text())
    check_complete(rep, 6)
    # The killed task's range was run again, by another worker process.
    again = [r for r in rep["ranges"] if r["command"] == killed["argv"]]
    assert len(again) == 1, (killed, [r["command"] for r in rep["ranges"]])
    assert again[0]["ok"] and again[0]["pid"] != killed["killed_pid"], (again[0], killed)
    assert rep["ok"], rep["verdict"]
    assert rep["verdict"] == "history verified from height 0 to 24"


def test_audit(honest: Path, base: Path) -> None:
    root = base / "audit"
    shutil.copytree(honest, root, symlinks=True)
    shutil.rmtree(root / "cp")  # no snapshots at all
    tamper_tx(root / "g/blocks.blk", 13, 2)  # height 14
    args = txwave_ray.parser().parse_args([
        "audit", str(root / "g/blocks.blk"), "--index", str(root / "blocks.idx"),
        "--rule", "zip215", "--blocks-per-range", "5", "--txwave", TXWAVE,
        "--backend", "cpu", "--threads", "1"])
    rep = txwave_ray.audit(args)
    assert [(r["from_height"], r["to_height"]) for r in rep["ranges"]] == [
        (1, 5), (6, 10), (11, 15), (16, 20), (21, 24)], rep["ranges"]
    assert rep["failed_ranges"] == [3], rep["verdict"]
    f = rep["ranges"][2]["failed_block"]
    assert (f["height"], f["tx_index"]) == (14, 2), f
    assert "signature invalid under the zip215 rule" in f["reason"], f


def main() -> int:
    import ray

    started = time.monotonic()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as d:
            base = Path(d)
            honest = test_honest_history(base)
            test_tampered_tx(honest, base)
            test_altered_snapshot(honest, base)
            test_worker_killed(honest, base)
            test_audit(honest, base)
    finally:
        ray.shutdown()
    print(f"ray driver: all checks passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
