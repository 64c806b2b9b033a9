#!/usr/bin/env python3
"""Miss ratios of Folio's eviction policies vs libCacheSim's, on identical traces.

1. Generates request sequences with numpy (fixed seed) and writes each to a
   plain-text trace file, one object id per line (the ARC/LIRS format).
2. Runs libCacheSim's LRU and Sieve (and, for context, Clock and S3FIFO) on
   each file through TraceReader(PLAIN_TXT_TRACE), at cache sizes given as
   fractions of the trace's distinct objects.
3. Runs the Swift simulator (Benchmarks/PolicySim) on the same files and sizes.
4. Prints one table (and writes results.md / results.json to the work dir).

Exit status 1 if any Folio policy's miss ratio differs from libCacheSim's
same-named policy by more than --tolerance percentage points (default 0.5).

Usually run through run.sh, which builds the simulator and the venv.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import libcachesim as lcs

SEED = 20240416
N_OBJECTS = 20_000
N_REQUESTS = 200_000
SCAN_ID_BASE = 10_000_000  # scan ids never collide with hot-set ids (1…N_OBJECTS)

# Our policy name -> libCacheSim class it must match.
OURS = {"lru": lcs.LRU, "sieve": lcs.Sieve}
# Reference-only policies, for context.
CONTEXT = {"clock": lcs.Clock, "s3fifo": lcs.S3FIFO}


# ---------------------------------------------------------------- workloads

def zipf_ranks(rng: np.random.Generator, n_objects: int, n: int, alpha: float) -> np.ndarray:
    """n draws of a bounded Zipf over ranks 0..n_objects-1: P(rank k) ∝ 1/(k+1)^alpha."""
    weights = 1.0 / np.arange(1, n_objects + 1, dtype=np.float64) ** alpha
    return rng.choice(n_objects, size=n, p=weights / weights.sum())


def hot_ids(rng: np.random.Generator, ranks: np.ndarray, n_objects: int) -> np.ndarray:
    """Maps popularity ranks to object ids 1…n_objects through a random
    permutation, so popularity is not correlated with id order."""
    perm = rng.permutation(n_objects) + 1
    return perm[ranks]


def workload_zipf(alpha: float):
    def gen(rng):
        return hot_ids(rng, zipf_ranks(rng, N_OBJECTS, N_REQUESTS, alpha), N_OBJECTS)
    return gen


def workload_uniform(rng):
    return rng.integers(1, N_OBJECTS + 1, size=N_REQUESTS)


def workload_scan_burst(rng, alpha=0.99, scan_fraction=0.3, n_scans=10):
    """70 % Zipf(alpha) requests to a hot set, 30 % one-pass sequential scans of
    never-reused ids, as long bursts: (14,000 Zipf, 6,000 scan) × 10."""
    n_scan = int(N_REQUESTS * scan_fraction)
    n_hot = N_REQUESTS - n_scan
    hot = hot_ids(rng, zipf_ranks(rng, N_OBJECTS, n_hot, alpha), N_OBJECTS)
    scan_len = n_scan // n_scans
    hot_len = n_hot // n_scans
    out, next_scan = [], SCAN_ID_BASE
    for i in range(n_scans):
        out.append(hot[i * hot_len:(i + 1) * hot_len])
        out.append(np.arange(next_scan, next_scan + scan_len))
        next_scan += scan_len
    out.append(hot[n_scans * hot_len:])
    return np.concatenate(out)


def workload_scan_interleaved(rng, alpha=0.99, scan_fraction=0.3):
    """Each request is, with probability 0.3, the next id of one endless
    sequential scan (never reused), else a Zipf(alpha) hot-set request — a
    scan running concurrently with a hot workload."""
    is_scan = rng.random(N_REQUESTS) < scan_fraction
    n_scan = int(is_scan.sum())
    hot = hot_ids(rng, zipf_ranks(rng, N_OBJECTS, N_REQUESTS - n_scan, alpha), N_OBJECTS)
    out = np.empty(N_REQUESTS, dtype=np.int64)
    out[is_scan] = SCAN_ID_BASE + np.arange(n_scan)
    out[~is_scan] = hot
    return out


WORKLOADS = {
    "zipf-0.8": workload_zipf(0.8),
    "zipf-0.99": workload_zipf(0.99),
    "uniform": workload_uniform,
    "scan-burst": workload_scan_burst,
    "scan-interleaved": workload_scan_interleaved,
}


def write_trace(path: str, ids: np.ndarray) -> str:
    data = ("\n".join(map(str, ids.tolist())) + "\n").encode()
    with open(path, "wb") as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- runners

def run_lcs(trace: str, cls, capacity: int) -> tuple[float, int]:
    reader = lcs.TraceReader(trace=trace, trace_type=lcs.TraceType.PLAIN_TXT_TRACE)
    n = reader.get_num_of_req()
    miss_ratio, _byte_miss_ratio = cls(cache_size=capacity).process_trace(reader)
    return miss_ratio, n


def run_swift(sim: str, trace: str, capacities: list[int]) -> dict[tuple[str, int], tuple[float, int]]:
    out = subprocess.run(
        [sim, trace, ",".join(map(str, capacities)), ",".join(OURS)],
        check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines()[1:]:
        policy, cap, n, misses, ratio = line.split()
        res[(policy, int(cap))] = (float(ratio), int(n))
    return res


@dataclass
class Row:
    workload: str
    distinct: int
    fraction: float
    capacity: int
    requests: int
    ours: dict      # policy -> miss ratio
    ref: dict       # policy -> miss ratio (ours' references + context)

    def misses(self, side: dict, policy: str) -> int:
        return round(side[policy] * self.requests)

    def delta_misses(self, policy: str) -> int:
        """Ours minus libCacheSim's, in requests."""
        return self.misses(self.ours, policy) - self.misses(self.ref, policy)

    def delta_pp(self, policy: str) -> float:
        return 100.0 * self.delta_misses(policy) / self.requests


def table(rows: list[Row]) -> str:
    head = ("| workload | distinct | cache | LRU ours | LRU lcs | Δ pp | SIEVE ours | SIEVE lcs | Δ pp "
            "| CLOCK lcs | S3-FIFO lcs |")
    sep = "|" + "|".join(["---"] * 11) + "|"
    lines = [head, sep]
    for r in rows:
        lines.append(
            f"| {r.workload} | {r.distinct:,} | {r.fraction:.0%} ({r.capacity:,}) "
            f"| {r.ours['lru']:.4f} | {r.ref['lru']:.4f} | {r.delta_pp('lru'):+.2f} "
            f"| {r.ours['sieve']:.4f} | {r.ref['sieve']:.4f} | {r.delta_pp('sieve'):+.2f} "
            f"| {r.ref['clock']:.4f} | {r.ref['s3fifo']:.4f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", required=True, help="path to the PolicySim executable")
    ap.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "folio-policy-check"),
                    help="where traces and results go (default: $TMPDIR/folio-policy-check)")
    ap.add_argument("--sizes", default="0.01,0.05,0.10",
                    help="cache sizes as fractions of the trace's distinct objects")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset of: " + ", ".join(WORKLOADS))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--tolerance", type=float, default=0.5, help="max |ours - libCacheSim| in percentage points")
    args = ap.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    fractions = [float(x) for x in args.sizes.split(",")]
    print(f"libcachesim {getattr(lcs, '__version__', '0.3.5')}, numpy {np.__version__}, seed {args.seed}, "
          f"workdir {args.workdir}", file=sys.stderr)

    rows: list[Row] = []
    traces = {}
    for wi, name in enumerate(args.workloads.split(",")):
        rng = np.random.default_rng([args.seed, wi])
        ids = np.asarray(WORKLOADS[name](rng), dtype=np.int64)
        path = os.path.join(args.workdir, f"{name}.txt")
        digest = write_trace(path, ids)
        distinct = int(np.unique(ids).size)
        traces[name] = {"path": path, "requests": int(ids.size), "distinct": distinct, "sha256": digest}
        capacities = [max(1, round(f * distinct)) for f in fractions]

        t0 = time.time()
        swift = run_swift(args.sim, path, capacities)
        t1 = time.time()
        for f, cap in zip(fractions, capacities):
            ours, ref = {}, {}
            for policy, cls in {**OURS, **CONTEXT}.items():
                ratio, n = run_lcs(path, cls, cap)
                if n != ids.size:
                    raise SystemExit(f"{name}: libCacheSim read {n} requests, wrote {ids.size}")
                ref[policy] = ratio
            for policy in OURS:
                ratio, n = swift[(policy, cap)]
                if n != ids.size:
                    raise SystemExit(f"{name}: PolicySim read {n} requests, wrote {ids.size}")
                ours[policy] = ratio
            rows.append(Row(name, distinct, f, cap, int(ids.size), ours, ref))
        print(f"{name}: {ids.size:,} requests, {distinct:,} distinct, sha256 {digest[:16]}…; "
              f"PolicySim {t1 - t0:.2f} s, libCacheSim {time.time() - t1:.2f} s", file=sys.stderr)

    md = table(rows)
    print(md)
    worst = {}
    for policy in OURS:
        r = max(rows, key=lambda r: abs(r.delta_pp(policy)))
        worst[policy] = {"delta_pp": r.delta_pp(policy), "delta_misses": r.delta_misses(policy),
                         "workload": r.workload, "capacity": r.capacity}
        print(f"max |ours - libCacheSim| {policy}: {abs(r.delta_pp(policy)):.4f} pp = "
              f"{abs(r.delta_misses(policy))} misses of {r.requests:,} requests ({r.workload}, {r.capacity:,} objects)")

    with open(os.path.join(args.workdir, "results.md"), "w") as f:
        f.write(md + "\n")
    with open(os.path.join(args.workdir, "results.json"), "w") as f:
        json.dump({"seed": args.seed, "numpy": np.__version__, "traces": traces, "worst": worst,
                   "rows": [r.__dict__ for r in rows]}, f, indent=1)

    bad = [p for p, w in worst.items() if abs(w["delta_pp"]) > args.tolerance]
    if bad:
        print(f"FAIL: {', '.join(bad)} differ from libCacheSim by more than {args.tolerance} pp", file=sys.stderr)
        return 1
    print(f"OK: every policy within {args.tolerance} pp of libCacheSim", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
