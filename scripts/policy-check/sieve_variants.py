#!/usr/bin/env python3
"""Is the 0.5-point check sharp enough to catch a wrong SIEVE?

Replays the traces written by policy_check.py through a plain-Python SIEVE
and through plausible mis-implementations of it, and prints each one's
difference from libCacheSim's Sieve in percentage points. The correct model
must come out at 0.00; a variant that stays within 0.5 pp would not be caught
by the comparison.

    .venv-lcs/bin/python scripts/policy-check/sieve_variants.py [--workdir DIR] [--sizes 0.01,0.1]
        [--workloads zipf-0.99,scan-burst,sprite,web12]

(run policy_check.py or reference_models.py first: they write <workdir>/<name>.txt)
"""

from __future__ import annotations

import argparse
import os

import sys

import libcachesim as lcs

sys.dont_write_bytecode = True  # no __pycache__ next to the scripts (not gitignored)
import traces  # noqa: E402


class Node:
    __slots__ = ("id", "prev", "next", "visited")

    def __init__(self, id_):
        self.id, self.prev, self.next, self.visited = id_, None, None, False


def sieve(trace, capacity, *, hand_after="prev", walk="prev", persist_hand=True, new_visited=False):
    """SIEVE with knobs. `prev` points toward the head (newer), `next` toward the tail.

    reference: walk="prev", hand_after="prev", persist_hand=True, new_visited=False.
    """
    table, head, tail, hand, misses = {}, None, None, None, 0
    for key in trace:
        n = table.get(key)
        if n is not None:
            n.visited = True
            continue
        misses += 1
        if len(table) >= capacity:
            start_end = tail if walk == "prev" else head
            o = hand if (persist_hand and hand is not None) else start_end
            while o.visited:
                o.visited = False
                o = getattr(o, walk) or start_end
            hand = getattr(o, hand_after)
            # unlink o
            if o.prev: o.prev.next = o.next
            else: head = o.next
            if o.next: o.next.prev = o.prev
            else: tail = o.prev
            del table[o.id]
        n = Node(key)
        n.visited = new_visited
        n.next = head
        if head: head.prev = n
        else: tail = n
        head = n
        table[key] = n
    return misses / len(trace)


VARIANTS = {
    "reference (paper / Folio)": {},
    "hand not kept (restart at tail)": {"persist_hand": False},
    "hand = evicted.next (back toward tail)": {"hand_after": "next"},
    "walk head→tail (wrong direction)": {"walk": "next", "hand_after": "next"},
    "new objects start visited": {"new_visited": True},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "folio-policy-check"))
    ap.add_argument("--sizes", default="0.01,0.1")
    ap.add_argument("--workloads", default="zipf-0.99,scan-burst")
    args = ap.parse_args()
    print("| workload | cache | libCacheSim Sieve | " + " | ".join(VARIANTS) + " |")
    print("|" + "---|" * (3 + len(VARIANTS)))
    for name in args.workloads.split(","):
        path = os.path.join(args.workdir, f"{name}.txt")
        with open(path) as f:
            trace = [int(line) for line in f if line.strip()]
        distinct = len(set(trace))
        for frac in map(float, args.sizes.split(",")):
            cap = traces.capacities(distinct, [frac])[0]   # floor(U × p), as policy_check.py
            reader = lcs.TraceReader(trace=path, trace_type=lcs.TraceType.PLAIN_TXT_TRACE)
            ref, _ = lcs.Sieve(cache_size=cap).process_trace(reader)
            n = len(trace)
            # Compare miss counts, not ratios (the ratios differ by float noise).
            deltas = [round(sieve(trace, cap, **kw) * n) - round(ref * n) for kw in VARIANTS.values()]
            cells = [f"{100 * d / n:+.2f} pp ({d:+,} misses)" for d in deltas]
            print(f"| {name} | {frac:.0%} ({cap:,}) | {ref:.4f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
