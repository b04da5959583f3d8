#!/usr/bin/env python3
"""Collects criterion results into one JSON report.

Usage: criterion_report.py CRITERION_DIR OUT_JSON [--machine FILE] [--adapters FILE]
                           [--command TEXT]

Reads every CRITERION_DIR/**/new/estimates.json with its sibling benchmark.json and writes,
per benchmark id, the median (with its confidence interval), the mean and, where the bench
declared a throughput, the elements (or bytes) per second at the median. Also prints a
table. Machine and adapter descriptions (JSON files) are embedded as given.
"""

import argparse
import json
import os
import sys


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def throughput_of(bench, median_ns):
    """(unit, amount per iteration, per second at the median) or None."""
    tp = bench.get("throughput")
    if not tp or median_ns <= 0:
        return None
    for unit in ("Elements", "Bytes", "BytesDecimal", "Bits"):
        if unit in tp:
            amount = tp[unit]
            return {"unit": unit.lower(), "per_iteration": amount,
                    "per_second": amount / (median_ns / 1e9)}
    if "ElementsAndBytes" in tp:
        amount = tp["ElementsAndBytes"]["elements"]
        return {"unit": "elements", "per_iteration": amount,
                "per_second": amount / (median_ns / 1e9)}
    return None


def collect(criterion_dir):
    results = []
    for root, _dirs, files in os.walk(criterion_dir):
        if os.path.basename(root) != "new" or "estimates.json" not in files:
            continue
        estimates = load_json(os.path.join(root, "estimates.json"))
        bench_path = os.path.join(root, "benchmark.json")
        bench = load_json(bench_path) if os.path.exists(bench_path) else {}
        median = estimates["median"]
        median_ns = median["point_estimate"]
        ci = median.get("confidence_interval", {})
        full_id = bench.get("full_id") or os.path.relpath(os.path.dirname(root), criterion_dir)
        results.append({
            "id": full_id,
            "group": bench.get("group_id"),
            "function": bench.get("function_id"),
            "value": bench.get("value_str"),
            "median_ns": median_ns,
            "median_ci_ns": [ci.get("lower_bound"), ci.get("upper_bound")],
            "mean_ns": estimates["mean"]["point_estimate"],
            "throughput": throughput_of(bench, median_ns),
        })
    results.sort(key=lambda r: (r["group"] or "", r["function"] or "",
                                int(r["value"]) if (r["value"] or "").isdigit() else 0, r["id"]))
    return results


def human_ns(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3f} {unit}"
    return f"{ns:.0f} ns"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("criterion_dir")
    parser.add_argument("out_json")
    parser.add_argument("--machine")
    parser.add_argument("--adapters")
    parser.add_argument("--command", default="")
    args = parser.parse_args()

    if not os.path.isdir(args.criterion_dir):
        print(f"criterion_report: no directory {args.criterion_dir}", file=sys.stderr)
        return 2
    results = collect(args.criterion_dir)
    if not results:
        print(f"criterion_report: no results under {args.criterion_dir}", file=sys.stderr)
        return 1
    report = {
        "command": args.command,
        "machine": load_json(args.machine) if args.machine else None,
        "adapters": load_json(args.adapters) if args.adapters else None,
        "benchmarks": results,
    }
    with open(args.out_json, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")

    width = max(len(r["id"]) for r in results)
    for r in results:
        tp = r["throughput"]
        rate = f"{tp['per_second']:.4g} {tp['unit']}/s" if tp else ""
        print(f"{r['id']:<{width}}  {human_ns(r['median_ns']):>12}  {rate}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
