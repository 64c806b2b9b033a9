"""Request sequences for the policy check: five synthetic ones (numpy, fixed
seed) and the real traces in /work/shared/traces (or $FOLIO_TRACES).

Every trace is a plain-text file, one key per line (the ARC/LIRS format that
libCacheSim's PLAIN_TXT_TRACE reader and `folio-load --workload replay` read).
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

SEED = 20240416
N_OBJECTS = 20_000
N_REQUESTS = 200_000
SCAN_ID_BASE = 10_000_000  # scan ids never collide with hot-set ids (1…N_OBJECTS)

# The shared traces sit beside the repository (../shared/traces); FOLIO_TRACES overrides.
TRACES_DIR = os.environ.get("FOLIO_TRACES", os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "traces")))
REAL = {"sprite": "sprite.trace", "web12": "web12.trace"}


# ---------------------------------------------------------------- synthetic

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


# The position in this dict is part of the seed (default_rng([seed, index])),
# so a subset (--workloads zipf-0.99) generates the same trace as the full run.
SYNTHETIC = {
    "zipf-0.8": workload_zipf(0.8),
    "zipf-0.99": workload_zipf(0.99),
    "uniform": workload_uniform,
    "scan-burst": workload_scan_burst,
    "scan-interleaved": workload_scan_interleaved,
}
ALL = list(SYNTHETIC) + list(REAL)


def generate(name: str, seed: int = SEED) -> list[int]:
    index = list(SYNTHETIC).index(name)
    rng = np.random.default_rng([seed, index])
    return np.asarray(SYNTHETIC[name](rng), dtype=np.int64).tolist()


# ---------------------------------------------------------------- files

def read_trace(path: str) -> list[int]:
    with open(path) as f:
        return [int(line) for line in f if line.strip()]


def renumber(keys: list[int]) -> list[int]:
    """Keys renumbered 0..U-1 in order of first appearance (miss ratios of
    LRU, SIEVE, S3-FIFO, CLOCK and ARC do not depend on the key values)."""
    ids: dict[int, int] = {}
    return [ids.setdefault(k, len(ids)) for k in keys]


def write_trace(path: str, keys: list[int]) -> str:
    data = ("\n".join(map(str, keys)) + "\n").encode()
    with open(path, "wb") as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


def load(name: str, seed: int = SEED) -> list[int]:
    """The request sequence of a workload, with its original keys."""
    if name in REAL:
        return read_trace(os.path.join(TRACES_DIR, REAL[name]))
    if name in SYNTHETIC:
        return generate(name, seed)
    if os.path.isfile(name):
        return read_trace(name)  # any trace file, one key per line: a real trace
    raise SystemExit(f"unknown workload {name!r}; known: {', '.join(ALL)}, or the path of a trace file")


def prepare(name: str, workdir: str, seed: int = SEED) -> dict:
    """Writes <workdir>/<name>.txt (original keys; what sieve_variants.py and
    PolicySim read) and <workdir>/<name>.renum.txt (keys 0..U-1; what
    folio-load and libCacheSim read). Returns the trace's facts."""
    keys = load(name, seed)
    renum = renumber(keys)
    os.makedirs(workdir, exist_ok=True)
    base = os.path.splitext(os.path.basename(name))[0] if os.path.isfile(name) else name
    path = os.path.join(workdir, f"{base}.txt")
    rpath = os.path.join(workdir, f"{base}.renum.txt")
    digest = write_trace(path, keys)
    rdigest = write_trace(rpath, renum)
    return {"name": base, "kind": "synthetic" if name in SYNTHETIC else "real",
            "path": path, "renumbered": rpath, "keys": renum,
            "requests": len(keys), "distinct": len(set(renum)),
            "sha256": digest, "sha256_renumbered": rdigest}


def capacities(distinct: int, fractions: list[float]) -> list[int]:
    """floor(U × p) objects, at least 1 (the README's C = 70/353/707 for sprite).
    Computed with integers from the percentage so 0.07 × 100 does not become 6.99…"""
    return [max(1, distinct * round(f * 10000) // 10000) for f in fractions]
