#!/usr/bin/env python3
"""Summarise `swift package benchmark --target CacheBenchmarks` text output.

Reads the tool's tables (stdin or a file), takes each benchmark's p50 wall
clock per scaled iteration (1000 operations) and prints ns per operation, the
hit's ratio to the pread baseline of the same run and the two-thread scaling.

    cd Benchmarks && swift package benchmark --target CacheBenchmarks --no-progress > run.txt
    python3 ../scripts/bench-summary.py run.txt
"""
import re
import sys

text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
p50 = {}
name = None
for line in text.splitlines():
    if line and not line.startswith(("│", "╒", "╞", "├", "╘", "=", " ")) and "│" not in line:
        name = line.strip()
    m = re.match(r"│ Time \(wall clock\) \(ns\) \*\s*│(.*)", line)
    if m and name:
        cells = [c.strip() for c in m.group(1).split("│")]
        p50[name] = int(cells[2]) / 1000.0  # per operation

pread = p50.get("Baseline: pread 4 KiB (OS page cache hit)")
memcpy = p50.get("Baseline: memcpy 4 KiB (same blocks, in memory)")
print(f"pread {pread:.0f} ns, memcpy {memcpy:.0f} ns" if pread and memcpy else "baselines missing")
m1 = p50.get("Baseline: memcpy 4 KiB, 1 thread x 1000")
m2 = p50.get("Baseline: memcpy 4 KiB, 2 threads x 1000")
if m1 and m2:
    print(f"memcpy scaling (the ceiling): {m1:.0f} -> {m2:.0f} ns per op per thread, {2 * m1 / m2:.2f}x")
print(f"{'strategy':<14}{'hit':>7}{'x pread':>9}{'miss':>8}{'write':>8}{'1 thr':>8}{'2 thr':>8}{'scaling':>9}{'view':>7}{'fault':>7}")
for s in ["per-page-bit", "hybrid-fair", "fair", "barging", "per-inode", "per-range"]:
    hit = p50.get(f"{s} read 4 KiB hit", float("nan"))
    if all(k not in p50 for k in (f"{s} read 4 KiB hit", f"{s} read 4 KiB hit, 1 thread x 1000")):
        continue
    miss = p50.get(f"{s} read 4 KiB miss (warm OS cache)", float("nan"))
    write = p50.get(f"{s} write 4 KiB (cached)", float("nan"))
    one = p50.get(f"{s} read 4 KiB hit, 1 thread x 1000", float("nan"))
    two = p50.get(f"{s} read 4 KiB hit, 2 threads x 1000", float("nan"))
    ratio = pread / hit if pread and hit == hit else float("nan")
    mapped = p50.get(f"{s} view read 4 KiB, mapped", float("nan"))
    fault = p50.get(f"{s} view map + fault + unmap 4 KiB (cached page)", float("nan"))
    print(f"{s:<14}{hit:7.0f}{ratio:9.2f}{miss:8.0f}{write:8.0f}{one:8.0f}{two:8.0f}{2 * one / two:9.2f}{mapped:7.0f}{fault:7.0f}")
