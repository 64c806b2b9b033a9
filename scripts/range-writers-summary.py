#!/usr/bin/env python3
"""Medians and ranges of range-writers ops/s from range-writers-sweep.sh output."""
import json, sys, statistics
text = open(sys.argv[1]).read()
dec = json.JSONDecoder(); i = 0; recs = []
while True:
    while i < len(text) and text[i].isspace(): i += 1
    if i >= len(text): break
    obj, i = dec.raw_decode(text, i); recs.append(obj)
ops = {}
for r in recs:
    for res in r["report"]["results"]:
        ops.setdefault((r["build"], res["strategy"], res["threads"]), []).append(res["opsPerSecond"])
def med(k): return statistics.median(ops[k])
builds = sorted({k[0] for k in ops}, reverse=True)
strats = ["per-range", "per-inode", "per-page-bit", "hybrid-fair"]
print("| build | strategy | 1 thread M ops/s | 2 threads M ops/s | 2T / 1T | 2T / per-inode 2T |")
print("|---|---|---|---|---|---|")
for b in builds:
    for s in strats:
        if (b, s, 1) not in ops: continue
        o1, o2 = ops[(b, s, 1)], ops[(b, s, 2)]
        pi = ops[(b, "per-inode", 2)]
        # ratios per repeat (same repeat, same build): median and range
        r21 = [y / x for x, y in zip(o1, o2)]
        rpi = [y / z for y, z in zip(o2, pi)]
        f = lambda v: f"{statistics.median(v)/1e6:.2f} ({min(v)/1e6:.2f}–{max(v)/1e6:.2f})"
        g = lambda v: f"{statistics.median(v):.2f}× ({min(v):.2f}–{max(v):.2f})"
        print(f"| {b} | {s} | {f(o1)} | {f(o2)} | {g(r21)} | {g(rpi)} |")
print(f"\n{len(recs)} invocations, {len(next(iter(ops.values())))} repeats each")
