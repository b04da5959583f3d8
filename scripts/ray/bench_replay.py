#!/usr/bin/env python3
"""Measures a history verified in ranges on this machine: one sequential `txwave run`
against the Ray driver with one and with two workers, Ray's overhead per range, and
`txwave index` against a run. Prints one JSON object of raw numbers.

usage: bench_replay.py TXWAVE WORKDIR [--blocks N] [--txs N] [--every N] [--repeat N]
(run with the Python of a venv holding scripts/ray/requirements.txt)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import txwave_ray  # noqa: E402


def timed(argv: list[str]) -> tuple[float, str]:
    t = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: {p.stderr}")
    return time.monotonic() - t, p.stdout


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("txwave")
    ap.add_argument("work")
    ap.add_argument("--blocks", type=int, default=96)
    ap.add_argument("--txs", type=int, default=2500)
    ap.add_argument("--every", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tw, w = os.path.abspath(a.txwave), Path(a.work)
    w.mkdir(parents=True, exist_ok=True)
    g, log, cp, idx = w / "g", w / "g/blocks.blk", w / "cp", w / "blocks.idx"
    if not log.exists():
        timed([tw, "gen", "--out", str(g), "--blocks", str(a.blocks), "--txs", str(a.txs)])
        timed([tw, "run", str(g / "genesis.json"), str(log), "--backend", "cpu",
               "--checkpoint-every", str(a.every), "--checkpoint-dir", str(cp),
               "--keep-checkpoints", "1000000"])
    out: dict = {"blocks": a.blocks, "txs_per_block": a.txs, "every": a.every,
                 "cpus": os.cpu_count()}

    runs, index_runs = [], []
    for _ in range(a.repeat):
        s, o = timed([tw, "run", str(g / "genesis.json"), str(log), "--backend", "cpu",
                      "--json"])
        runs.append({"process_s": s, "txwave_wall_s": json.loads(o)["wall_ns"] / 1e9,
                     "state_root": json.loads(o)["state_root"]})
        s, o = timed([tw, "index", str(log), "--out", str(idx), "--json"])
        index_runs.append({"process_s": s, **json.loads(o)})
    out["sequential_run"] = runs
    out["index"] = index_runs

    import ray

    t = time.monotonic()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    out["ray_init_s"] = time.monotonic() - t
    the_plan = txwave_ray.plan(tw, idx, cp, [], g / "genesis.json")
    logs = [str(log)]
    configs = {
        "two_workers": (1.0, ["--backend", "cpu", "--threads", "1"]),
        "one_worker": (float(os.cpu_count()), ["--backend", "cpu"]),
    }
    for name, (cpus, engine) in configs.items():
        reps = []
        for _ in range(a.repeat):
            tasks = txwave_ray.replay_tasks(tw, the_plan, logs, idx, engine)
            rows, wall = txwave_ray.execute(tasks, None, cpus, 0.0, None,
                                            progress=open(os.devnull, "w"))
            assert all(r["ok"] for r in rows), txwave_ray.verdict_line(rows)
            assert rows[-1]["computed_state_root"] == runs[0]["state_root"]
            reps.append({
                "wall_s": wall,
                "ranges": len(rows),
                "sum_task_s": sum(r["task_wall_s"] for r in rows),
                "sum_txwave_s": sum(r["txwave_wall_s"] for r in rows),
                "range_tx_per_s": [r["tx_per_s"] for r in rows],
            })
        out[name] = reps

    # Ray's own cost per range: tasks that start a process that does nothing.
    tasks = [{"range": k + 1, "from_height": k, "to_height": k, "argv": ["true"]}
             for k in range(48)]
    rows, wall = txwave_ray.execute(tasks, None, 1.0, 0.0, None,
                                    progress=open(os.devnull, "w"))
    out["empty_tasks"] = {"tasks": len(rows), "wall_s": wall,
                          "per_task_s": wall / len(rows) * os.cpu_count(),
                          "median_task_s": statistics.median(r["task_wall_s"] for r in rows)}
    ray.shutdown()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
