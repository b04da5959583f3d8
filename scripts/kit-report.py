#!/usr/bin/env python3
"""Reads what the GPU kit wrote and says what it measured, in Markdown on stdout.

    scripts/kit-report.py FULL_OUT [CONFIRM_OUT]
    scripts/kit-report.py --settings FULL_OUT

With --settings it prints only the `run.sh --confirm` options that select the fastest
settings of FULL_OUT (nothing when it measured no GPU variant).

FULL_OUT is the folder of `run.sh OUT` (bench.json, calibration.json, devices.json);
CONFIRM_OUT, when given, the folder of `run.sh OUT --confirm …` (e2e.json, offload.txt).

It prints, from those files alone:
  - the adapter, its driver and the machine;
  - the fastest verifier variant per rule, the fastest hash workgroup size, and the
    fastest workgroup size of each other kernel by its stage time end to end, with the
    `--confirm` settings that choose them;
  - the break-even batch sizes;
  - a table of every figure the GPU is held to (verify per rule, tx ids, end to end,
    verify with the CPU beside the GPU) against the CPU on the same machine and the goal,
    and for each goal missed the phase that holds it back.
It exits 1 when a file it needs is missing or does not parse.
"""

import json
import re
import sys
from pathlib import Path

# The goals on one H200 with its 16 cores (issue "First numbers on a real GPU").
GOAL_VERIFY = 10e6
GOAL_HYBRID = 12e6
GOAL_IDS = 50e6
GOAL_E2E = 1e6

# Stage of the end-to-end report that each non-verify kernel's time shows in.
KERNEL_STAGE = {
    "hash": "hash_ns",
    "resolve": "resolve_ns",
    "exec": "execute_ns",
    "state_leaves": "commit_ns",
    "merkle": "commit_ns",
}


def load(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        sys.exit(f"kit-report: {path}: {e}")


def rate(x):
    if x is None:
        return "—"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M/s"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k/s"
    return f"{x:.0f}/s"


def best(rows, key="per_s"):
    return max(rows, key=lambda r: r[key]) if rows else None


def largest(rows, stage, backend):
    """The row of `stage` on `backend` at the largest size measured."""
    got = [r for r in rows if r["stage"] == stage and r["backend"] == backend]
    return max(got, key=lambda r: r["size"]) if got else None


def holds_back(row):
    """Which phase of a GPU row takes the most time, in words."""
    g = row and row.get("gpu")
    if not g:
        return "no GPU phases recorded"
    phases = {"upload": g["upload_ns"], "dispatch": g["dispatch_ns"], "readback": g["readback_ns"]}
    name, ns = max(phases.items(), key=lambda p: p[1])
    total = sum(phases.values()) or 1
    text = f"{name} {ns / 1e6:.2f} ms of {total / 1e6:.2f} ms"
    if g.get("gpu_pass_ns"):
        text += f"; the kernels themselves {g['gpu_pass_ns'] / 1e6:.2f} ms by timestamps"
    return text


def verdict(value, goal):
    if value is None:
        return "not measured"
    return "met" if value >= goal else f"missed ({value / goal:.0%} of it)"


def main(argv):
    settings_only = len(argv) == 3 and argv[1] == "--settings"
    if settings_only:
        argv = argv[:1] + argv[2:]
    if len(argv) not in (2, 3):
        sys.exit("usage: kit-report.py FULL_OUT [CONFIRM_OUT] | --settings FULL_OUT")
    full = Path(argv[1])
    if not (full / "bench.json").exists():
        # The bench was stopped before it wrote anything: say what there is.
        if settings_only:
            return
        print(f"## The full run in {full} wrote no bench.json\n")
        print("Its bench was stopped before the first variant of its sweep ended; "
              "log.txt says how far each step got.")
        for name in ("devices.json", "calibration.json"):
            if (full / name).exists():
                print(f"\n{name}:\n\n```json\n{(full / name).read_text().strip()}\n```")
        return
    bench = load(full / "bench.json")
    cal = load(full / "calibration.json") if (full / "calibration.json").exists() else {}
    confirm = Path(argv[2]) if len(argv) == 3 else None
    sweep = bench.get("sweep") or {}
    rows = sweep.get("rows", [])
    variants = sweep.get("variants", [])
    adapter = bench.get("adapter") or {}
    machine = bench["machine"]
    out = []
    say = out.append

    say(f"## Measured on {adapter.get('name', 'no GPU adapter')}")
    say("")
    say(f"- adapter: {adapter.get('name')} ({adapter.get('backend')}, {adapter.get('device_type')}), "
        f"driver {adapter.get('driver')}")
    say(f"- machine: {machine['cpu_model']}, {machine['logical_cores']} logical cores, "
        f"{machine['memory_bytes'] / 2**30:.0f} GiB; txwave {machine['txwave_version']}")
    say(f"- full run: `{' '.join(bench['command'])}` in {bench['wall_s']:.0f} s")
    for what, path in [("full run", full / "bench.json")] + ([("confirming run", confirm / "e2e.json")] if confirm else []):
        rep = bench if what == "full run" else load(path)
        if not rep.get("finished", True):
            say(f"- **the {what} was stopped before its end**: its file holds what was measured "
                f"in its first {rep['wall_s']:.0f} s")
        for u in rep.get("unavailable", []):
            say(f"- {what}: {u['backend']} not measured: {u['reason']}")
    say("")

    # Choices.
    say("### Fastest settings")
    say("")
    choice = {}
    verify_best = {}
    for stage in ("verify_strict", "verify_zip215"):
        got = [v for v in variants if v["stage"] == stage]
        if not got:
            continue
        ranked = sorted(got, key=lambda v: -v["per_s"])
        verify_best[stage] = ranked[0]
        say(f"- {stage} at {ranked[0]['size']} signatures: "
            + ", ".join(f"{v['variant']} {rate(v['per_s'])}" for v in ranked[:4])
            + (f" (slowest {ranked[-1]['variant']} {rate(ranked[-1]['per_s'])})" if len(ranked) > 4 else ""))
    if verify_best:
        # One variant for both rules: the best sum of the two rules' rates.
        labels = {v["variant"] for v in variants if v["stage"].startswith("verify")}
        def both(label):
            return sum(v["per_s"] for v in variants if v["variant"] == label and v["stage"].startswith("verify"))
        pick = max(labels, key=both)
        shape, table, wg = pick.split("/")
        choice["verify"] = (shape, table == "table", int(wg.removeprefix("wg")))
        say(f"- verifier for both rules (best sum of the two rates): **{pick}**")
    hash_variants = [v for v in variants if v["stage"] == "hash"]
    if hash_variants:
        h = best(hash_variants)
        choice["hash"] = int(h["variant"].removeprefix("wg"))
        say(f"- hash kernel at {h['size']} messages: **{h['variant']}** {rate(h['per_s'])} ("
            + ", ".join(f"{v['variant']} {rate(v['per_s'])}" for v in hash_variants) + ")")
    gpu_e2e = [r for r in bench["e2e"] if r["backend"] == "gpu" and r.get("tunables")]
    if len(gpu_e2e) > 1:
        def wg_of(row, kernel):
            m = re.search(rf"\b{kernel}=(\d+)", row["tunables"])
            return int(m[1]) if m else None
        say("- other kernels, by their stage's median time end to end (ms):")
        say("")
        say("  | workgroup | " + " | ".join(KERNEL_STAGE) + " | end to end tx/s |")
        say("  |---|" + "---|" * (len(KERNEL_STAGE) + 1))
        for r in sorted(gpu_e2e, key=lambda r: wg_of(r, "resolve") or 0):
            cells = [f"{r['stages_ns'][s] / 1e6:.2f}" for s in KERNEL_STAGE.values()]
            say(f"  | {wg_of(r, 'resolve')} | " + " | ".join(cells) + f" | {r['tx_per_s']:.0f} |")
        say("")
        for kernel, stage in KERNEL_STAGE.items():
            if kernel == "hash" and "hash" in choice:
                continue  # the kernel's own sweep decides it
            fastest = min(gpu_e2e, key=lambda r: r["stages_ns"][stage])
            choice[kernel] = wg_of(fastest, kernel)
        say("  (state_leaves and merkle share the commit stage's time, so they move together.)")
    if "verify" in choice:
        shape, table, wg = choice["verify"]
        spec = [f"verify={wg}"] + [f"{k}={choice[k]}" for k in KERNEL_STAGE if choice.get(k)]
        flags = (f"--verify-shape {shape}" + (" --basepoint-table" if table else "")
                 + f" --workgroup-size {','.join(spec)}")
        if settings_only:
            print(flags)
            return
        say("")
        say("Second call with these settings:")
        say("")
        say("```sh")
        say(f"kit/run.sh $OUT --confirm {flags}")
        say("```")
    elif settings_only:
        return
    say("")

    say("### Break-even batch sizes (the GPU faster from there on)")
    say("")
    for b in sweep.get("break_even", []):
        say(f"- {b['stage']}: {b['text']}")
    for b in cal.get("break_even", []):
        size = b.get("batch")
        say(f"- calibration (`txwave calibrate`, the engine's own variant) {b['stage']}: "
            f"{size if size is not None else 'never up to ' + str(b.get('largest_measured'))}")
    say("")

    # Figures against the CPU and the goals.
    say("### Against the CPU on the same machine and the goals")
    say("")
    say("| figure | GPU | CPU | GPU + CPU (auto) | goal | verdict | what holds it back |")
    say("|---|---|---|---|---|---|---|")
    for stage in ("verify_strict", "verify_zip215", "hash"):
        g, c, a = (largest(rows, stage, b) for b in ("gpu", "cpu", "auto"))
        goal = GOAL_IDS if stage == "hash" else GOAL_VERIFY
        name = "tx ids" if stage == "hash" else stage.replace("_", " ")
        size = g["size"] if g else (c["size"] if c else 0)
        gv = g and g["per_s"]
        say(f"| {name} ({size} per call) | {rate(gv)} | {rate(c and c['per_s'])} | "
            f"{rate(a and a['per_s'])} | {rate(goal)} | {verdict(gv, goal)} | "
            f"{'' if gv and gv >= goal else holds_back(g)} |")
        if stage != "hash" and a:
            av = a["per_s"]
            if not (gv and gv >= GOAL_HYBRID) and av:
                say(f"| {name}, GPU and CPU together | | | {rate(av)} | {rate(GOAL_HYBRID)} | "
                    f"{verdict(av, GOAL_HYBRID)} | |")

    e2e_sources = [("full run", bench)]
    offload = None
    if confirm:
        e2e_sources.append(("confirming run", load(confirm / "e2e.json")))
        try:
            offload = (confirm / "offload.txt").read_text()
        except OSError as e:
            sys.exit(f"kit-report: {e}")
    for what, rep in e2e_sources:
        by = {r["label"]: r for r in rep["e2e"]}
        g, c, a = by.get("gpu"), by.get("cpu"), by.get("auto")
        if not (g or c):
            continue
        w = rep["workload"]
        back = ""
        if g and g["tx_per_s"] < GOAL_E2E:
            stages = {k.removesuffix("_ns"): v for k, v in g["stages_ns"].items() if k != "total_ns"}
            top = sorted(stages.items(), key=lambda s: -s[1])[:2]
            back = ", ".join(f"{k} {v / 1e6:.1f} ms" for k, v in top) + f" of {g['time']['median_ns'] / 1e6:.1f} ms"
            phases = (g.get("gpu_stages") or {}).get(top[0][0])
            if phases and phases.get("dispatch_ns"):
                back += f" ({top[0][0]} on the GPU: " + holds_back({"gpu": phases}) + ")"
        say(f"| end to end, {what} ({w['blocks']} blocks, {w['txs']} txs; {g and g.get('tunables')}) | "
            f"{rate(g and g['tx_per_s'])} | {rate(c and c['tx_per_s'])} | {rate(a and a['tx_per_s'])} | "
            f"{rate(GOAL_E2E)} | {verdict(g and g['tx_per_s'], GOAL_E2E)} | {back} |")
    if offload:
        rates = {}
        for section in re.split(r"^== offload --backend ", offload, flags=re.M)[1:]:
            backend = section.split()[0]
            m = re.search(r"^offload: .* p50 ([\d.]+) ms, p99 ([\d.]+) ms, (\d+) sig/s$", section, re.M)
            big = re.search(r"^one big batch .*: (\d+) sig/s before, (\d+) after", section, re.M)
            split = re.search(r"^service: .* (\d+) sig on the CPU, (\d+) on the GPU", section, re.M)
            if m:
                rates[backend] = (float(m[3]), float(m[1]), float(m[2]),
                                  big and (float(big[1]) + float(big[2])) / 2,
                                  split and f"{split[1]} signatures on the CPU, {split[2]} on the GPU")
        if rates:
            cell = lambda b, i: rate(rates[b][i]) if b in rates and rates[b][i] else "—"
            threads = re.search(r"--threads (\d+)", offload)
            say(f"| verify service from {threads[1] if threads else 16} threads (examples/offload) | — | "
                f"{cell('cpu', 0)} | {cell('auto', 0)} | {rate(GOAL_HYBRID)} | "
                f"{verdict(rates.get('auto', (None,))[0], GOAL_HYBRID)} | |")
            say(f"| the same signatures in one big batch per rule | — | "
                f"{cell('cpu', 3)} | {cell('auto', 3)} | {rate(GOAL_HYBRID)} | "
                f"{verdict(rates.get('auto', (None,) * 4)[3], GOAL_HYBRID)} | |")
            say("")
            say("The verify service per backend (it sends each batch where the calibrated rates say "
                "it is done first): " + "; ".join(
                    f"{b}: p50 {v[1]:.2f} ms, p99 {v[2]:.2f} ms, {v[4] or 'split not printed'}"
                    for b, v in rates.items()))
    say("")
    measured = rows + variants + [r for _, rep in e2e_sources for r in rep["e2e"]]
    unchecked = [r for r in measured if " equal to " not in (r.get("checked") or "")]
    if unchecked:
        say(f"**{len(unchecked)} of {len(measured)} measured rows do not say what their answers "
            "were checked against** (a binary older than the `checked` field).")
    else:
        say(f"All {len(measured)} measured rows say what every call's answers were compared with "
            "before their time counted (their `checked` field): verdicts with the CPU verifier's, "
            "ids with the blake3 crate's, each end-to-end pass's roots with a CPU engine's.")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv)
