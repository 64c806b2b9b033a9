#!/usr/bin/env python3
"""Summarise scripts/debug-locks-bench.sh: p50 ns per operation of each
benchmark, per round and variant (before / off / on), their medians, and the
ratios off/before and on/off of the medians.

    python3 scripts/debug-locks-summary.py /tmp/dl-bench
"""
import glob
import os
import re
import statistics
import sys

out = sys.argv[1]
data = {}  # (variant, benchmark) -> [p50 per op]
for path in sorted(glob.glob(os.path.join(out, "*-*-*.txt"))):
    variant, kind = os.path.basename(path).split("-")[:2]
    name = None
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line and not line.startswith(("│", "╒", "╞", "├", "╘", "=", " ")) and "│" not in line:
            name = line.strip()
        if not name:
            continue
        if kind == "locks":
            # LockBenchmarks: 1000 pairs per iteration, reported per pair; the
            # wall clock per pair is whole nanoseconds, so take the p50 of the
            # throughput (millions of pairs per second) and invert it.
            m = re.match(r"│ Throughput \(# / s\) \(([KM])\)\s*│(.*)", line)
            if m:
                cells = [c.strip() for c in m.group(2).split("│")]
                per_second = int(cells[2]) * (1e6 if m.group(1) == "M" else 1e3)
                data.setdefault((variant, name), []).append(1e9 / per_second)
        else:
            # CacheBenchmarks: ns per iteration of 1000 reads.
            m = re.match(r"│ Time \(wall clock\) \(ns\) \*\s*│(.*)", line)
            if m:
                cells = [c.strip() for c in m.group(1).split("│")]
                data.setdefault((variant, name), []).append(int(cells[2]) / 1000.0)
names = sorted({n for (_, n) in data})
print(f"| benchmark | before | off | on | off / before | on / off |")
print(f"|---|---|---|---|---:|---:|")
for n in names:
    cols, med = [], {}
    for v in ["before", "off", "on"]:
        xs = data.get((v, n), [])
        med[v] = statistics.median(xs) if xs else float("nan")
        cols.append(" / ".join(f"{x:.1f}" for x in xs) + (f" (**{med[v]:.1f}**)" if xs else ""))
    print(f"| {n} | {cols[0]} | {cols[1]} | {cols[2]} | {med['off'] / med['before']:.2f} | {med['on'] / med['off']:.2f} |")
