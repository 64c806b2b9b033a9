#!/usr/bin/env python3
"""Miss ratios of Folio's eviction policies, through the real engine, vs libCacheSim's.

1. Prepares the request sequences: the five synthetic ones (numpy, fixed seed)
   and the real traces sprite and web12 (/work/shared/traces, or
   $FOLIO_TRACES). Each is written to the work dir twice: <name>.txt with the
   original keys, <name>.renum.txt with keys renumbered 0..U-1 in order of
   first appearance (the synthetic scans use ids >= 10,000,000).
2. Runs libCacheSim 0.3.5 (LRU, Sieve, S3FIFO and, for context, Clock and ARC)
   on each renumbered file through TraceReader(PLAIN_TXT_TRACE), count-based.
3. Replays the same file through the engine, one process per cell:
       folio-load run --workload replay --trace F --strategy hybrid-fair --threads 1
         --ops N --warmup 0ms --file-size U*4096 --page-size 4KiB --max-folio-order 0
         --capacity C*4096 --eviction POLICY --quiet --format json
   miss ratio = misses / N. Policies the binary rejects (today: s3-fifo) are
   marked n/a and skipped.
4. Prints the table, the mean miss ratio of every policy over the real traces,
   and the largest "policy minus LRU" over all cells; writes results.md and
   results.json to the work dir.

Cache sizes: C = floor(U × p) for p in --sizes (1 %, 5 %, 10 %).
Exit status 1 if any of our policies differs from libCacheSim's same policy by
more than --tolerance percentage points (default 0.5), or if a run fails.

Usually run through run.sh, which creates the venv and finds the binary.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import libcachesim as lcs

sys.dont_write_bytecode = True  # no __pycache__ next to the scripts (not gitignored)
import traces  # noqa: E402

PAGE = 4096
# Engine policy name -> libCacheSim class it must match.
OURS = {"lru": lcs.LRU, "sieve": lcs.Sieve, "s3-fifo": lcs.S3FIFO}
ALIASES = {"s3fifo": "s3-fifo", "s3_fifo": "s3-fifo"}
# Reference-only policies, for context.
CONTEXT = {"clock": lcs.Clock, "arc": lcs.ARC}
LABEL = {"lru": "LRU", "sieve": "SIEVE", "s3-fifo": "S3-FIFO", "clock": "CLOCK", "arc": "ARC"}


# ---------------------------------------------------------------- runners

def run_lcs(path: str, cls, capacity: int) -> tuple[int, int]:
    """(misses, requests), count-based: every object one slot."""
    reader = lcs.TraceReader(trace=path, trace_type=lcs.TraceType.PLAIN_TXT_TRACE)
    n = reader.get_num_of_req()
    ratio, _ = cls(cache_size=capacity).process_trace(reader)
    return round(ratio * n), n


def folio_cmd(binary: str, trace: str, requests: int, distinct: int, capacity: int, policy: str,
              strategy: str, directory: str) -> list[str]:
    return [binary, "run", "--workload", "replay", "--trace", trace, "--strategy", strategy,
            "--threads", "1", "--ops", str(requests), "--warmup", "0ms",
            "--file-size", str(distinct * PAGE), "--page-size", "4KiB",
            "--capacity", str(capacity * PAGE), "--eviction", policy,
            # One page per key, as in libCacheSim (no readahead folios).
            "--max-folio-order", "0",
            "--quiet", "--format", "json", "--directory", directory]


class Rejected(Exception):
    pass


def run_folio(binary: str, trace: str, requests: int, distinct: int, capacity: int, policy: str,
              strategy: str, directory: str) -> dict:
    cmd = folio_cmd(binary, trace, requests, distinct, capacity, policy, strategy, directory)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        msg = (p.stderr.strip() or p.stdout.strip()).splitlines()
        msg = msg[-1] if msg else f"exit status {p.returncode}"
        if "--eviction" in msg:
            raise Rejected(msg)
        raise SystemExit(f"folio-load failed ({p.returncode}): {msg}\n  {' '.join(cmd)}")
    results = json.loads(p.stdout)["results"]
    if len(results) != 1:
        raise SystemExit(f"folio-load: expected one result, got {len(results)}\n  {' '.join(cmd)}")
    r = results[0]
    for field in ("misses", "operations", "hitRatio"):
        if field not in r:
            raise SystemExit(f"folio-load JSON has no '{field}' (fields: {', '.join(sorted(r))})")
    return r


def probe(binary: str, policy: str, strategy: str, directory: str, trace: str) -> str | None:
    """None if the binary accepts --eviction policy, else its error message
    (a one-request replay, 128 pages of file and of cache)."""
    try:
        run_folio(binary, trace, 1, 128, 128, policy, strategy, directory)
        return None
    except Rejected as e:
        return str(e)


def run_policysim(sim: str, trace: str, capacities: list[int]) -> dict[tuple[str, int], int]:
    """The old check: Benchmarks/PolicySim replays the file through the policy
    objects alone (no engine). Returns (policy, capacity) -> misses."""
    out = subprocess.run([sim, trace, ",".join(map(str, capacities)), "lru,sieve"],
                         check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines()[1:]:
        policy, cap, _n, misses, _ratio = line.split()
        res[(policy, int(cap))] = int(misses)
    return res


# ---------------------------------------------------------------- report

def pp(misses: int, requests: int) -> float:
    return 100.0 * misses / requests


def fmt_ratio(x):
    return "n/a" if x is None else f"{x:.4f}"


def table(rows: list[dict], policies: list[str], policysim: bool) -> str:
    head = ["workload", "U", "cache"]
    for p in policies:
        head += [f"{LABEL[p]} ours", f"{LABEL[p]} lcs", "Δ pp"]
        if policysim and p in ("lru", "sieve"):
            head += [f"{LABEL[p]} PolicySim"]
    head += [f"{LABEL[p]} lcs" for p in CONTEXT]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["workload"], f"{r['distinct']:,}", f"{r['fraction']:.0%} ({r['capacity']:,})"]
        for p in policies:
            o = r["ours"].get(p)
            cells += [fmt_ratio(None if o is None else o / r["requests"]),
                      fmt_ratio(r["ref"][p] / r["requests"]),
                      "n/a" if o is None else f"{pp(o - r['ref'][p], r['requests']):+.2f}"]
            if policysim and p in ("lru", "sieve"):
                cells.append(fmt_ratio(r["policysim"][p] / r["requests"]))
        cells += [fmt_ratio(r["ref"][p] / r["requests"]) for p in CONTEXT]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summaries(rows: list[dict], policies: list[str]) -> tuple[str, dict]:
    """Mean miss ratio over the real traces, and policy minus LRU over all cells,
    for ours (engine) and libCacheSim's."""
    real = [r for r in rows if r["kind"] == "real"]
    out = {"mean_real": {}, "vs_lru": {}}
    lines = []
    sides = [("ours", p) for p in policies] + [("lcs", p) for p in policies] + [("lcs", p) for p in CONTEXT]
    if real:
        names = sorted({r["workload"] for r in real})
        lines += [f"Mean miss ratio over the real traces ({', '.join(names)}; "
                  f"{len(real)} cells = traces × sizes, unweighted):", "",
                  "| policy | side | " + " | ".join(f"{r['workload']} {r['fraction']:.0%}" for r in real) + " | mean |",
                  "|" + "---|" * (3 + len(real))]
        for side, p in sides:
            vals = [(r["ours"] if side == "ours" else r["ref"]).get(p) for r in real]
            if any(v is None for v in vals):
                lines.append(f"| {LABEL[p]} | {side} | " + " | ".join("n/a" for _ in real) + " | n/a |")
                continue
            ratios = [v / r["requests"] for v, r in zip(vals, real)]
            mean = sum(ratios) / len(ratios)
            out["mean_real"][f"{side}:{p}"] = mean
            lines.append(f"| {LABEL[p]} | {side} | " + " | ".join(f"{x:.4f}" for x in ratios) + f" | {mean:.4f} |")
        lines.append("")
    lines += ["Policy minus LRU (same side), in percentage points, over all cells "
              "(largest = the cell where the policy does worst against LRU):", "",
              "| policy | side | largest (cell) | smallest (cell) | mean |", "|---|---|---|---|---|"]
    for side, p in sides:
        if p == "lru":
            continue
        diffs = []
        for r in rows:
            s = r["ours"] if side == "ours" else r["ref"]
            if s.get(p) is None or s.get("lru") is None:
                continue
            diffs.append((pp(s[p] - s["lru"], r["requests"]), f"{r['workload']} {r['fraction']:.0%}"))
        if not diffs:
            lines.append(f"| {LABEL[p]} | {side} | n/a | n/a | n/a |")
            continue
        hi, lo = max(diffs), min(diffs)
        mean = sum(d for d, _ in diffs) / len(diffs)
        out["vs_lru"][f"{side}:{p}"] = {"max_pp": hi[0], "max_cell": hi[1], "min_pp": lo[0], "min_cell": lo[1],
                                        "mean_pp": mean, "cells": len(diffs)}
        lines.append(f"| {LABEL[p]} | {side} | {hi[0]:+.2f} ({hi[1]}) | {lo[0]:+.2f} ({lo[1]}) | {mean:+.2f} |")
    return "\n".join(lines), out


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folio-load", default=os.environ.get("FOLIO_LOAD"),
                    help="the folio-load binary (default: $FOLIO_LOAD, else .build/release/folio-load)")
    ap.add_argument("--policies", default="lru,sieve,s3-fifo",
                    help="engine policies (--eviction values) to check; ones the binary rejects are marked n/a")
    ap.add_argument("--workloads", default=",".join(traces.ALL), help="comma-separated subset of: " + ", ".join(traces.ALL))
    ap.add_argument("--sizes", default="0.01,0.05,0.10",
                    help="cache sizes as fractions of the trace's distinct keys (floor)")
    ap.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "folio-policy-check"),
                    help="where traces and results go (default: $TMPDIR/folio-policy-check)")
    ap.add_argument("--strategy", default="hybrid-fair", help="folio-load --strategy (default hybrid-fair)")
    ap.add_argument("--seed", type=int, default=traces.SEED)
    ap.add_argument("--tolerance", type=float, default=0.5, help="max |ours - libCacheSim| in percentage points")
    ap.add_argument("--policysim", metavar="SIM",
                    help="also run the old check: Benchmarks/PolicySim (lru, sieve, no engine) on the same files")
    args = ap.parse_args()

    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    binary = args.folio_load or os.path.join(root, ".build", "release", "folio-load")
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"folio-load not found at {binary} (set FOLIO_LOAD or --folio-load)")
    wanted = []
    for p in args.policies.split(","):
        p = ALIASES.get(p.strip().lower(), p.strip().lower())
        if p not in OURS:
            raise SystemExit(f"unknown policy {p!r}; known: {', '.join(OURS)}")
        wanted.append(p)
    fractions = [float(x) for x in args.sizes.split(",")]
    workloads = args.workloads.split(",")
    engine_dir = os.path.join(args.workdir, "engine-files")
    os.makedirs(engine_dir, exist_ok=True)
    print(f"libcachesim {lcs.__version__}, numpy {np.__version__}, seed {args.seed}, folio-load {binary}, "
          f"workdir {args.workdir}", file=sys.stderr)

    # Which policies does the binary take? (a one-request replay)
    probe_trace = os.path.join(args.workdir, "probe.txt")
    traces.write_trace(probe_trace, [0])
    rejected = {p: msg for p in wanted if (msg := probe(binary, p, args.strategy, engine_dir, probe_trace))}
    for p, msg in rejected.items():
        print(f"note: {p}: the binary rejects it, marked n/a ({msg})", file=sys.stderr)
    runnable = [p for p in wanted if p not in rejected]

    rows: list[dict] = []
    facts = {}
    failures = []
    for name in workloads:
        t = traces.prepare(name, args.workdir, args.seed)
        n, u, path = t["requests"], t["distinct"], t["renumbered"]
        facts[name] = {k: v for k, v in t.items() if k != "keys"}
        caps = traces.capacities(u, fractions)
        sim = run_policysim(args.policysim, path, caps) if args.policysim else {}
        t0 = time.time()
        engine_s = 0.0
        for f, cap in zip(fractions, caps):
            row = {"workload": t["name"], "kind": t["kind"], "distinct": u, "fraction": f, "capacity": cap,
                   "requests": n, "ours": {}, "ref": {}, "engine": {}}
            for p, cls in {**OURS, **CONTEXT}.items():
                if p in OURS and p not in wanted:
                    continue
                misses, nr = run_lcs(path, cls, cap)
                if nr != n:
                    raise SystemExit(f"{name}: libCacheSim read {nr} requests, the trace has {n}")
                row["ref"][p] = misses
            for p in wanted:
                if p in rejected:
                    row["ours"][p] = None
                    continue
                e0 = time.time()
                r = run_folio(binary, path, n, u, cap, p, args.strategy, engine_dir)
                engine_s += time.time() - e0
                if r["operations"] != n:
                    failures.append(f"{name} C={cap} {p}: folio-load did {r['operations']} operations, expected {n}")
                if r["misses"] < u:
                    failures.append(f"{name} C={cap} {p}: {r['misses']} misses < {u} distinct keys "
                                    "(the cache was warm before measurement?)")
                row["ours"][p] = r["misses"]
                row["engine"][p] = {k: r.get(k) for k in ("misses", "operations", "hitRatio", "evictions",
                                                          "countsAddUp", "seconds")}
            if sim:
                row["policysim"] = {p: sim[(p, cap)] for p in ("lru", "sieve")}
            rows.append(row)
        print(f"{name}: {n:,} requests, {u:,} distinct, sha256 {t['sha256'][:16]}… (renumbered "
              f"{t['sha256_renumbered'][:16]}…); engine {engine_s:.1f} s, total {time.time() - t0:.1f} s",
              file=sys.stderr)

    md = table(rows, wanted, bool(args.policysim))
    summary_md, summary = summaries(rows, wanted)
    worst = {}
    lines = []
    for p in runnable:
        r = max(rows, key=lambda r: abs(r["ours"][p] - r["ref"][p]))
        d = r["ours"][p] - r["ref"][p]
        worst[p] = {"delta_pp": pp(d, r["requests"]), "delta_misses": d, "workload": r["workload"],
                    "capacity": r["capacity"]}
        lines.append(f"max |ours - libCacheSim| {LABEL[p]}: {abs(pp(d, r['requests'])):.4f} pp = {abs(d)} misses "
                     f"of {r['requests']:,} requests ({r['workload']}, {r['capacity']:,} pages)")
    for p in rejected:
        lines.append(f"{LABEL[p]}: not checked, the binary rejects --eviction {p}")
    report = md + "\n\n" + "\n".join(lines) + "\n\n" + summary_md
    print(report)

    with open(os.path.join(args.workdir, "results.md"), "w") as f:
        f.write(report + "\n")
    with open(os.path.join(args.workdir, "results.json"), "w") as f:
        json.dump({"seed": args.seed, "numpy": np.__version__, "libcachesim": lcs.__version__,
                   "folio_load": binary, "strategy": args.strategy, "policies": wanted,
                   "rejected": rejected, "tolerance_pp": args.tolerance, "traces": facts,
                   "worst": worst, "summary": summary, "failures": failures, "rows": rows}, f, indent=1)

    bad = [p for p, w in worst.items() if abs(w["delta_pp"]) > args.tolerance]
    for msg in failures:
        print(f"FAIL: {msg}", file=sys.stderr)
    if bad:
        print(f"FAIL: {', '.join(bad)} differ from libCacheSim by more than {args.tolerance} pp", file=sys.stderr)
    if bad or failures:
        return 1
    print(f"OK: {', '.join(runnable)} within {args.tolerance} pp of libCacheSim"
          + (f" ({', '.join(rejected)} not checked)" if rejected else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
