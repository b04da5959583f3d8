#!/usr/bin/env python3
"""Verify a txwave history on Ray: one task per range, one verdict for the whole history.

Two modes (docs/SPEC.md, "Verifying a history in ranges"):

  replay  `txwave plan` cuts the history at its snapshots; every range between two
          snapshots is a task running `txwave replay --from S_k --to S_k+1 LOGS --index IDX`.
          The history is verified when every range ends on its target snapshot (the
          plan already checked that the snapshots chain through the index).
  audit   the state-free checks: the heights are cut into ranges of --blocks-per-range
          blocks, each a task running `txwave audit LOGS --from-height A --to-height B
          --index IDX --rule R`.

A range that fails verification is a normal result (the task returns it) and is never
retried; a task whose worker process or node dies is retried by Ray (max_retries).
Without --address, Ray starts on this machine (no cluster); with it, the driver joins a
cluster, whose workers must see the same paths (a shared file system) and find the
txwave binary on PATH or at --txwave, or receive it with the job (--ship-txwave).

Test hook: with TXWAVE_RAY_KILL_ONCE=FILE in the driver's environment, the first task to
start creates FILE and kills its own worker process while txwave runs (as a lost node
would); Ray must then run that range again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# How often a task that failed because its worker died is run again.
SYSTEM_RETRIES = 3
# The last bytes of a failed command's stderr kept in the report.
STDERR_TAIL = 2000
# Where a txwave binary shipped with the job (--ship-txwave) lies in a task's working dir.
SHIPPED = "./txwave"


def index_heights(index: Path) -> tuple[int, int]:
    """First and last height of a block index (docs/FORMATS.md, Block index)."""
    data = index.read_bytes()
    if len(data) < 52 or data[:8] != b"TXWIDX01":
        raise ValueError(f"{index}: not a txwave block index")
    at = 8
    (files,) = struct.unpack_from("<I", data, at)
    at += 4
    for _ in range(files):
        (n,) = struct.unpack_from("<H", data, at)
        at += 2 + n + 8
    (count,) = struct.unpack_from("<Q", data, at)
    at += 8
    entry = 8 + 4 + 8 + 8 + 4 + 32 + 32
    if count == 0 or at + count * entry + 32 != len(data):
        raise ValueError(f"{index}: damaged block index")
    (first,) = struct.unpack_from("<Q", data, at)
    return first, first + count - 1


def run_txwave(argv: list[str], kill_marker: str | None) -> dict:
    """Runs one txwave command on this worker and returns what came of it.

    `kill_marker` is a test hook: when set and the file does not exist yet, the worker
    creates it and kills its own process while txwave runs, as a lost node would.
    """
    started = time.monotonic()
    if argv[0] == SHIPPED and not os.access(SHIPPED, os.X_OK) and os.path.exists(SHIPPED):
        # Unpacking a job's working_dir may drop the executable bit.
        os.chmod(SHIPPED, 0o755)
    try:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    except OSError as e:
        return {"exit_code": None, "verdict": None, "stderr": f"cannot start {argv[0]}: {e}",
                "task_wall_s": time.monotonic() - started, "pid": os.getpid()}
    if kill_marker is not None:
        try:
            # O_EXCL: of tasks starting together, exactly one wins and dies.
            fd = os.open(kill_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            fd = None
        if fd is not None:
            os.write(fd, json.dumps({"killed_pid": os.getpid(), "argv": argv}).encode())
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)
    out, err = proc.communicate()
    verdict = None
    try:
        verdict = json.loads(out)
    except ValueError:
        pass
    return {
        "exit_code": proc.returncode,
        "verdict": verdict,
        "stderr": err[-STDERR_TAIL:],
        "task_wall_s": time.monotonic() - started,
        "pid": os.getpid(),
        "node": os.uname().nodename,
    }


def plan(txwave: str, index: Path, snapshots: Path | None, snapshot_files: list[Path],
         genesis: Path | None) -> dict:
    argv = [txwave, "plan", "--index", str(index)]
    if snapshots is not None:
        argv += ["--snapshots", str(snapshots)]
    for f in snapshot_files:
        argv += ["--snapshot", str(f)]
    if genesis is not None:
        argv += ["--genesis", str(genesis)]
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"txwave plan failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout)


def replay_tasks(txwave: str, the_plan: dict, logs: list[str], index: Path,
                 engine: list[str]) -> list[dict]:
    tasks = []
    for k, r in enumerate(the_plan["ranges"]):
        argv = [txwave, "replay", "--from", r["from"], "--to", r["to"], *logs,
                "--index", str(index), "--json", *engine]
        tasks.append({"range": k + 1, "from_height": r["from_height"],
                      "to_height": r["to_height"], "argv": argv})
    return tasks


def audit_tasks(txwave: str, logs: list[str], index: Path, rule: str, first: int, last: int,
                per_range: int, extra: list[str]) -> list[dict]:
    tasks = []
    a = first
    while a <= last:
        b = min(a + per_range - 1, last)
        argv = [txwave, "audit", *logs, "--from-height", str(a), "--to-height", str(b),
                "--index", str(index), "--rule", rule, "--json", *extra]
        tasks.append({"range": len(tasks) + 1, "from_height": a, "to_height": b,
                      "argv": argv})
        a = b + 1
    return tasks


def why(result: dict) -> str:
    """One line saying why a range failed."""
    v = result.get("verdict")
    if v:
        f = v.get("failed_block")
        if f and f.get("height") is not None:
            where = f"block at height {f['height']}"
            if f.get("file") is not None:
                where += f" ({f['file']}, block {f['block_index']}, byte {f['offset']})"
            if f.get("tx_index") is not None:
                where += f", tx {f['tx_index']}"
            reason = f["reason"]
            prefix = f"block at height {f['height']}: "
            if reason.startswith(prefix):
                reason = reason[len(prefix):]
            return f"{where}: {reason}"
        if v.get("error"):
            return v["error"]
    if result.get("exit_code") is None and result.get("lost"):
        return f"worker lost: {result['lost']}"
    tail = (result.get("stderr") or "").strip().splitlines()
    return tail[-1] if tail else f"exit code {result.get('exit_code')}"


def execute(tasks: list[dict], address: str | None, cpus: float, gpus: float,
            kill_marker: str | None, progress=sys.stderr,
            ship: str | None = None) -> tuple[list[dict], float]:
    """Runs every task on Ray; returns one row per task, in range order, and the wall
    time in seconds (from submission to the last result). With `ship` (a txwave binary
    on this machine), the binary goes to the workers with the job (Ray's working_dir)
    and the tasks run that copy."""
    import ray
    from ray.exceptions import RayError

    if __name__ != "__main__":
        # Workers need not import this module: the task goes by value.
        import ray.cloudpickle

        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    init = {"log_to_driver": False}
    if ship is not None:
        # A job's files go with ray.init: the binary in a directory of its own.
        if ray.is_initialized():
            raise SystemExit("--ship-txwave: Ray is already connected without the binary")
        job_dir = tempfile.mkdtemp(prefix="txwave-job-")
        shutil.copy2(ship, os.path.join(job_dir, "txwave"))
        init["runtime_env"] = {"working_dir": job_dir}
        tasks = [{**t, "argv": [SHIPPED, *t["argv"][1:]]} for t in tasks]
    if not ray.is_initialized():
        if address:
            ray.init(address=address, **init)
        else:
            ray.init(include_dashboard=False, **init)
    # A verification failure is a return value: only system failures (a dead worker or
    # node) are retried.
    remote = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=SYSTEM_RETRIES,
                        retry_exceptions=False)(run_txwave)
    started = time.monotonic()
    pending = {remote.remote(t["argv"], kill_marker): t for t in tasks}
    rows = []
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            t = pending.pop(ref)
            try:
                result = ray.get(ref)
            except RayError as e:  # retries exhausted: the range is unverified
                result = {"exit_code": None, "verdict": None, "stderr": "",
                          "lost": str(e).splitlines()[0] if str(e) else type(e).__name__}
            row = summarize(t, result)
            rows.append(row)
            print(f"[{len(rows)}/{len(tasks)}] range {row['range']} heights "
                  f"{row['from_height']}..{row['to_height']}: "
                  f"{'ok' if row['ok'] else 'FAILED: ' + row['reason']}",
                  file=progress, flush=True)
    wall = time.monotonic() - started
    rows.sort(key=lambda r: r["range"])
    return rows, wall


def summarize(task: dict, result: dict) -> dict:
    v = result.get("verdict") or {}
    ok = result.get("exit_code") == 0 and v.get("ok") is True
    return {
        "range": task["range"],
        "from_height": task["from_height"],
        "to_height": task["to_height"],
        "ok": ok,
        "reason": None if ok else why(result),
        "exit_code": result.get("exit_code"),
        "blocks": v.get("blocks", 0),
        "txs": v.get("txs", 0),
        "tx_per_s": v.get("tx_per_s", 0.0),
        "txwave_wall_s": (v.get("wall_ns") or 0) / 1e9,
        "task_wall_s": result.get("task_wall_s"),
        "computed_state_root": v.get("computed_state_root"),
        "expected_state_root": v.get("expected_state_root"),
        "failed_block": v.get("failed_block"),
        "node": result.get("node"),
        "pid": result.get("pid"),
        # The command that checked the range, to run it again by hand.
        "command": task["argv"],
        "verdict": result.get("verdict"),
    }


def verdict_line(rows: list[dict]) -> str:
    a, b = rows[0]["from_height"], rows[-1]["to_height"]
    failed = [r for r in rows if not r["ok"]]
    if not failed:
        return f"history verified from height {a} to {b}"
    names = "; ".join(f"range {r['range']} (heights {r['from_height']}..{r['to_height']}): "
                      f"{r['reason']}" for r in failed)
    return (f"history NOT verified from height {a} to {b}: {len(failed)} of {len(rows)} "
            f"ranges failed: {names}")


def table(rows: list[dict], wall: float) -> str:
    head = f"{'range':>5}  {'heights':>15}  {'result':<40}  {'txs':>10}  {'tx/s':>10}  {'task s':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        result = "ok" if r["ok"] else ("FAILED: " + r["reason"])
        if len(result) > 40:
            result = result[:37] + "..."
        lines.append(f"{r['range']:>5}  {str(r['from_height']) + '..' + str(r['to_height']):>15}  "
                     f"{result:<40}  {r['txs']:>10}  {r['tx_per_s']:>10.0f}  "
                     f"{(r['task_wall_s'] or 0):>8.2f}")
    total = sum(r["txs"] for r in rows)
    lines.append(f"total: {len(rows)} ranges, {total} txs, wall {wall:.2f} s "
                 f"({total / wall if wall > 0 else 0:.0f} tx/s)")
    return "\n".join(lines)


def report(mode: str, rows: list[dict], wall: float, extra: dict) -> dict:
    return {
        "mode": mode,
        "ok": all(r["ok"] for r in rows),
        "verdict": verdict_line(rows),
        "from_height": rows[0]["from_height"],
        "to_height": rows[-1]["to_height"],
        "ranges": rows,
        "failed_ranges": [r["range"] for r in rows if not r["ok"]],
        "txs": sum(r["txs"] for r in rows),
        "wall_s": wall,
        **extra,
    }


def verify(args: argparse.Namespace) -> dict:
    """The replay mode; returns the report."""
    # Absolute paths: a task's working directory is not the driver's.
    args.txwave = binary(args.txwave)
    index = Path(args.index).absolute()
    the_plan = plan(args.txwave, index, args.snapshots and Path(args.snapshots).absolute(),
                    [Path(p).absolute() for p in args.snapshot],
                    args.genesis and Path(args.genesis).absolute())
    logs = [str(Path(p).absolute()) for p in args.logs]
    tasks = replay_tasks(args.txwave, the_plan, logs, index, engine_flags(args))
    rows, wall = execute(tasks, args.address, args.cpus_per_task, args.gpus_per_task,
                         os.environ.get("TXWAVE_RAY_KILL_ONCE"), ship=shipped(args))
    return report("replay", rows, wall, {"unverified_tail": the_plan.get("unverified_tail")})


def audit(args: argparse.Namespace) -> dict:
    """The audit mode; returns the report."""
    args.txwave = binary(args.txwave)
    index = Path(args.index).absolute()
    first, last = index_heights(index)
    a = args.from_height if args.from_height is not None else first
    b = args.to_height if args.to_height is not None else last
    extra = engine_flags(args)
    if args.tolerate_bad_signatures:
        extra.append("--tolerate-bad-signatures")
    tasks = audit_tasks(args.txwave, [str(Path(p).absolute()) for p in args.logs], index, args.rule, a, b,
                        args.blocks_per_range, extra)
    if not tasks:
        raise SystemExit(f"no heights to audit: {a}..{b}")
    rows, wall = execute(tasks, args.address, args.cpus_per_task, args.gpus_per_task,
                         os.environ.get("TXWAVE_RAY_KILL_ONCE"), ship=shipped(args))
    return report("audit", rows, wall, {})


def binary(txwave: str) -> str:
    """--txwave as the workers should run it: a path made absolute, a bare name left to
    their PATH."""
    return os.path.abspath(txwave) if os.sep in txwave else txwave


def shipped(args: argparse.Namespace) -> str | None:
    """The binary to ship with the job (--ship-txwave), found like --txwave here."""
    if not args.ship_txwave:
        return None
    found = shutil.which(args.txwave)
    if found is None:
        raise SystemExit(f"--ship-txwave: no txwave binary at {args.txwave}")
    return found


def engine_flags(args: argparse.Namespace) -> list[str]:
    flags = ["--backend", args.backend]
    if args.threads is not None:
        flags += ["--threads", str(args.threads)]
    return flags


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return n


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)

    def common(s: argparse.ArgumentParser) -> None:
        s.add_argument("logs", nargs="+", help="block log files, in order")
        s.add_argument("--index", required=True, help="their index (txwave index)")
        s.add_argument("--txwave", default="txwave",
                       help="the txwave binary on the workers (default: on PATH)")
        s.add_argument("--ship-txwave", action="store_true",
                       help="send the --txwave binary of this machine to the workers with "
                            "the job (Ray's working_dir) instead of finding it there")
        s.add_argument("--address", help="Ray cluster address (default: Ray on this machine)")
        s.add_argument("--cpus-per-task", type=float, default=1.0)
        s.add_argument("--gpus-per-task", type=float, default=0.0)
        s.add_argument("--backend", default="auto", choices=["cpu", "gpu", "auto"])
        s.add_argument("--threads", type=int, help="txwave --threads per task")
        s.add_argument("--report", help="write the report JSON here")
        s.add_argument("--table", help="write the table here (it is printed too)")

    r = sub.add_parser("replay", help="replay every range between snapshots")
    common(r)
    r.add_argument("--snapshots", help="directory of checkpoint-<height>.state files")
    r.add_argument("--snapshot", action="append", default=[], help="a snapshot file")
    r.add_argument("--genesis", help="genesis the first range starts from")

    a = sub.add_parser("audit", help="state-free checks of height ranges")
    common(a)
    a.add_argument("--rule", required=True, choices=["strict", "zip215"])
    a.add_argument("--from-height", type=int)
    a.add_argument("--to-height", type=int)
    a.add_argument("--blocks-per-range", type=_positive, default=1000)
    a.add_argument("--tolerate-bad-signatures", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    rep = verify(args) if args.mode == "replay" else audit(args)
    text = table(rep["ranges"], rep["wall_s"])
    print(text)
    print(rep["verdict"])
    if args.report:
        Path(args.report).write_text(json.dumps(rep, indent=2) + "\n")
    if args.table:
        Path(args.table).write_text(text + "\n" + rep["verdict"] + "\n")
    return 0 if rep["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
