#!/usr/bin/env python3
"""Interleaved sweep of hybrid-lock variants (docs/fairness.md, "The hybrid
bounded in time"). For each thread count and round, every engine runs once
(A B C … A B C …) as its own `folio-load run --format json`, under the
exclusive CPU lock (one hold per round); then medians and ranges per engine
and thread count, and ratios against barging / fair of the same round.

usage: hybrid-sweep.py OUTDIR WORKLOAD THREADS ROUNDS [ENGINE ...]
  THREADS: comma list (1,2,4,8,16); ENGINE: a name from VARIANTS (default: all)
  env FOLIO_LOAD (binary), DURATION (1s), WARMUP (200ms)
  summarize only: hybrid-sweep.py --summary OUTDIR WORKLOAD
"""
import json, os, statistics, subprocess, sys

VARIANTS = {
    "barging":        ["--strategy", "barging"],
    "fair":           ["--strategy", "fair"],
    "kernel":         ["--strategy", "hybrid-kernel"],
    # The default before this sweep (spin 40, 5 races, 1 ms).
    "old-default":    ["--strategy", "hybrid-fair", "--spin-limit", "40", "--max-wait", "1ms", "--single-waker", "off", "--handoff-yield", "off", "--handoff-spin", "0"],
    "spin0":          ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "off", "--handoff-yield", "off", "--handoff-spin", "0"],
    "cap1":           ["--strategy", "hybrid-fair", "--spin-limit", "40", "--max-spinners", "1", "--single-waker", "off", "--handoff-yield", "off", "--handoff-spin", "0"],
    "sw-spin0":       ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "on", "--handoff-yield", "off", "--handoff-spin", "0"],
    "sw-cap1":        ["--strategy", "hybrid-fair", "--spin-limit", "40", "--max-spinners", "1", "--single-waker", "on", "--handoff-yield", "off", "--handoff-spin", "0"],
    "sw-spin0-yield": ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "on", "--handoff-yield", "on", "--handoff-spin", "0"],
    "sw-cap1-yield":  ["--strategy", "hybrid-fair", "--spin-limit", "40", "--max-spinners", "1", "--single-waker", "on", "--handoff-yield", "on", "--handoff-spin", "0"],
    "spin0-yield":    ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "off", "--handoff-yield", "on", "--handoff-spin", "0"],
    "sw-spin0-200us": ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "on", "--max-wait", "200us", "--handoff-spin", "0"],
    "sw-spin0-2ms":   ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "on", "--max-wait", "2ms", "--handoff-spin", "0"],
    "sw-spin0-4ms":   ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "on", "--max-wait", "4ms", "--handoff-spin", "0"],
    "sw-spin0-u20-4ms": ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "on", "--max-wait", "4ms", "--unfairness", "20", "--handoff-spin", "0"],
    "sw-cap1-4ms":    ["--strategy", "hybrid-fair", "--spin-limit", "40", "--max-spinners", "1", "--single-waker", "on", "--max-wait", "4ms", "--handoff-spin", "0"],
    "sw-ahead":       ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "on", "--handoff-spin", "2000"],
    "sw-ahead-8k":    ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "on", "--handoff-spin", "8000"],
    "sw-ahead-2ms":   ["--strategy", "hybrid-fair", "--spin-limit", "0", "--single-waker", "on", "--handoff-spin", "2000", "--max-wait", "2ms"],
    # The winner, now the default (HybridLockPolicy.hybrid).
    "ahead":          ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000"],
    "ahead-500us":    ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--max-wait", "500us"],
    "ahead-250us":    ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--max-wait", "250us"],
    "ahead-100us":    ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--max-wait", "100us"],
    # Concurrency restriction: one spinner, the rest parked until due.
    "restrict":       ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--restrict-spin", "1000"],
    "restrict-4k":    ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--restrict-spin", "4000"],
    "restrict-250":   ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--restrict-spin", "250"],
    "restrict-2ms":   ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--restrict-spin", "1000", "--max-wait", "2ms"],
    "restrict-500us": ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--restrict-spin", "1000", "--max-wait", "500us"],
    "restrict-250us": ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--restrict-spin", "1000", "--max-wait", "250us"],
    "restrict-4k-500us": ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--restrict-spin", "4000", "--max-wait", "500us"],
    "restrict-4k-250us": ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--restrict-spin", "4000", "--max-wait", "250us"],
    "restrict-hs0":   ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "0", "--restrict-spin", "1000"],
    "restrict-4ms":   ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--restrict-spin", "1000", "--max-wait", "4ms"],
    "restrict-u20":   ["--strategy", "hybrid-fair", "--spin-limit", "0", "--handoff-spin", "2000", "--restrict-spin", "1000", "--unfairness", "20"],
    "default":        ["--strategy", "hybrid-fair"],  # whatever the binary ships
}

def run(outdir, workload, threads, rounds, engines):
    binary = os.environ.get("FOLIO_LOAD", ".build/release/folio-load")
    dur, warm = os.environ.get("DURATION", "1s"), os.environ.get("WARMUP", "200ms")
    os.makedirs(outdir, exist_ok=True)
    for t in threads:
        for r in range(rounds):
            # One exclusive hold per round: every engine once, in turn.
            cmds = []
            for e in engines:
                out = os.path.join(outdir, f"{workload}-{t}-{e}-{r}.json")
                if os.path.exists(out):
                    continue
                cmds.append(" ".join([binary, "run", "--workload", workload, "--threads", str(t),
                                      "--duration", dur, "--warmup", warm, "--format", "json", "--quiet",
                                      "--output", out] + VARIANTS[e]))
            if cmds:
                subprocess.run(["flock", "-x", "/tmp/folio-cpu.lock", "sh", "-ec", "\n".join(cmds)], check=True)
            print(f"{workload} threads={t} round={r} done", flush=True)

def load(outdir, workload):
    data = {}
    for f in os.listdir(outdir):
        if not f.startswith(workload + "-") or not f.endswith(".json"):
            continue
        parts = f[len(workload) + 1:-5].split("-")
        t, r, e = int(parts[0]), int(parts[-1]), "-".join(parts[1:-1])
        res = json.load(open(os.path.join(outdir, f)))["results"][0]
        data[(t, e, r)] = res
    return data

def fig(res):
    return {
        "ops": res["opsPerSecond"] / 1e6,
        "maxwait": res["lockWaitNs"]["max"] / 1e6,
        "p99": res["lockWaitNs"]["p99"] / 1e6,
        "minmax": res["minThreadOps"] / res["maxThreadOps"] if res["maxThreadOps"] else 0,
        "jain": res["jainIndex"],
        "handoffs": res["handoffs"],
    }

def med(xs):
    return statistics.median(xs), min(xs), max(xs)

def summary(outdir, workload):
    data = load(outdir, workload)
    threads = sorted({k[0] for k in data})
    engines = sorted({k[1] for k in data}, key=lambda e: list(VARIANTS).index(e) if e in VARIANTS else 99)
    print(f"## {workload}: medians [min–max] over rounds; ratios against barging / fair of the same round")
    print("| threads | engine | rounds | Mops/s | × barging | max wait ms | max wait × fair | p99 wait ms | min/max | Jain | handoffs |")
    print("|---:|---|---:|---|---|---|---|---|---|---|---:|")
    for t in threads:
        for e in engines:
            rs = sorted(r for (tt, ee, r) in data if tt == t and ee == e)
            if not rs:
                continue
            f = [fig(data[(t, e, r)]) for r in rs]
            xb = [fig(data[(t, e, r)])["ops"] / fig(data[(t, "barging", r)])["ops"] for r in rs if (t, "barging", r) in data]
            xf = [fig(data[(t, e, r)])["maxwait"] / max(fig(data[(t, "fair", r)])["maxwait"], 1e-6) for r in rs if (t, "fair", r) in data]
            def cell(xs, fmt="{:.2f}"):
                if not xs:
                    return "–"
                m, lo, hi = med(xs)
                return (fmt + " [" + fmt + "–" + fmt + "]").format(m, lo, hi)
            print(f"| {t} | {e} | {len(rs)} | {cell([x['ops'] for x in f])} | {cell(xb)} | {cell([x['maxwait'] for x in f])} | "
                  f"{cell(xf)} | {cell([x['p99'] for x in f])} | {cell([x['minmax'] for x in f])} | "
                  f"{cell([x['jain'] for x in f], '{:.3f}')} | {int(statistics.median([x['handoffs'] for x in f]))} |")
    # Scaling: 16 threads against the engine's own 2 threads (medians).
    if 2 in threads and 16 in threads:
        print("\n| engine | 16 threads / own 2 threads (medians) |")
        print("|---|---|")
        for e in engines:
            a = [fig(data[(16, e, r)])["ops"] for (tt, ee, r) in data if tt == 16 and ee == e]
            b = [fig(data[(2, e, r)])["ops"] for (tt, ee, r) in data if tt == 2 and ee == e]
            if a and b:
                print(f"| {e} | {statistics.median(a) / statistics.median(b):.2f} |")

if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        summary(sys.argv[2], sys.argv[3])
    else:
        outdir, workload, threads, rounds = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",")], int(sys.argv[4])
        engines = sys.argv[5:] or list(VARIANTS)
        run(outdir, workload, threads, rounds, engines)
        summary(outdir, workload)
