#!/usr/bin/env python3
"""Plain-Python models of libCacheSim 0.3.5's LRU, Sieve and S3FIFO.

Unit-size objects, capacity in objects, exactly as
``libcachesim.<Policy>(cache_size=C).process_trace(TraceReader(PLAIN_TXT_TRACE))``
counts them. Each class has ``request(key) -> bool`` (True on a hit) and a list
``victims`` of the keys it evicted, in order. Run this file to compare the
models' miss counts with the wheel's on the real traces and the synthetic ones
(0 misses difference expected everywhere):

    .venv-lcs/bin/python scripts/policy-check/reference_models.py [--workloads ...] [--sizes 0.01,0.05,0.10]
        [--per-request]   also compare every hit/miss and every victim with libCacheSim's Cache.get
        [--variants]      also show how far single deviations from libCacheSim's S3FIFO land
        [--bytes]         also S3FIFO byte-based (4096-byte objects): libCacheSim vs model

Exit status 1 if any model differs from libCacheSim. Writes the traces to
--workdir like policy_check.py.

S3FIFO mirrors libCacheSim/cache/eviction/S3FIFO.c (the version shipped in the
0.3.5 wheel; see the docstring of S3FIFO for the rules).
"""

from __future__ import annotations

from collections import OrderedDict, deque


class LRU:
    """LRU: a hit moves the object to the MRU end; a miss evicts the LRU
    object when the cache is full, then inserts at the MRU end."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.q: OrderedDict[int, None] = OrderedDict()   # oldest first
        self.victims: list[int] = []

    def request(self, key: int) -> bool:
        q = self.q
        if key in q:
            q.move_to_end(key)
            return True
        while len(q) + 1 > self.capacity:
            victim, _ = q.popitem(last=False)
            self.victims.append(victim)
        q[key] = None
        return False


class _Node:
    __slots__ = ("key", "prev", "next", "visited")

    def __init__(self, key):
        self.key, self.prev, self.next, self.visited = key, None, None, False


class Sieve:
    """SIEVE (libCacheSim Sieve.c): one FIFO list, new objects at the head
    with visited = 0; a hit sets visited = 1. Eviction starts at the hand (or
    the tail if the hand is nil), walks toward the head clearing visited bits
    and wrapping from the head to the tail, evicts the first unvisited object
    and leaves the hand on that object's neighbour toward the head (nil if it
    was the head)."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.table: dict[int, _Node] = {}
        self.head = self.tail = self.hand = None   # prev = toward head (newer)
        self.victims: list[int] = []

    def request(self, key: int) -> bool:
        n = self.table.get(key)
        if n is not None:
            n.visited = True
            return True
        while len(self.table) + 1 > self.capacity:
            self._evict()
        n = _Node(key)
        n.next = self.head
        if self.head is not None:
            self.head.prev = n
        else:
            self.tail = n
        self.head = n
        self.table[key] = n
        return False

    def _evict(self):
        o = self.hand if self.hand is not None else self.tail
        while o.visited:
            o.visited = False
            o = o.prev if o.prev is not None else self.tail
        self.hand = o.prev
        if o.prev is not None:
            o.prev.next = o.next
        else:
            self.head = o.next
        if o.next is not None:
            o.next.prev = o.prev
        else:
            self.tail = o.prev
        del self.table[o.key]
        self.victims.append(o.key)


class S3FIFO:
    """S3-FIFO as libCacheSim 0.3.5 implements it (S3FIFO.c with its defaults
    small-size-ratio=0.10, ghost-size-ratio=0.90, move-to-main-threshold=2).

    With obj_size=1 (the default) sizes are in objects, as the check runs it;
    with obj_size=4096 and the same capacity in objects, the model is
    libCacheSim run byte-based (cache_size = C × 4096, every request 4096
    bytes). The only difference is the rounding of the queue sizes.

    Sizes (B = C × obj_size, products in doubles, truncated toward zero):
        small = int(B * 0.1); main = B - small; ghost = int(B * 0.9)
        (for integer B exactly B // 10 and 9 * B // 10). small <= 0 or
        main <= 0 (C < 10 objects): libCacheSim aborts the process.
    Lookup of key k (every request, hit or miss):
        if k in small: small.freq[k] += 1 (no cap); HIT
        hit_on_ghost = ghost.remove(k)          # a ghost hit consumes the entry
        if k in main:  main.freq[k] += 1 (no cap); HIT
    Miss (can_insert: obj_size <= small and obj_size <= B, else not cached):
        while occupied(small) + occupied(main) + obj_size > B: evict()
        if hit_on_ghost:                      insert k at main tail, freq 0
        elif obj_size >= small:               not inserted at all
        elif not has_evicted and occupied(small) >= small:
                                              insert k at main tail, freq 0
        else:                                 insert k at small tail, freq 0
    evict():
        has_evicted = True   (for good: set by the first eviction)
        if occupied(main) > main or small is empty: evict_main()
        else:                                        evict_small()
    evict_small(): repeat while small is not empty:
        o = small head (oldest); remove o from small
        if o.freq >= 2: append o to main tail with freq 0 (main may now exceed
                        its size; nothing is evicted from main here); continue
        else: ghost.insert(o.key) (a FIFO; drops its oldest entries until the
              new one fits), o has left the cache; stop
        (if every object in small had freq >= 2, small is now empty and
        nothing left the cache: the miss's while loop calls evict() again,
        which now takes evict_main())
    evict_main(): repeat while main is not empty:
        o = main head; remove o from main
        if o.freq >= 1: append o to main tail with freq min(o.freq, 3) - 1; continue
        else: o has left the cache (it does NOT go to the ghost); stop

    The keyword arguments below the line select deliberate deviations, used by
    `--variants` to show which details the wheel's miss counts pin down.
    """

    def __init__(self, capacity: int, small_ratio: float = 0.1, ghost_ratio: float = 0.9,
                 threshold: int = 2, *, obj_size: int = 1,
                 # ---- deviations from libCacheSim (for --variants only)
                 moved_freq: str = "zero", hit_cap: int | None = None,
                 main_reinsert: str = "cap3", main_to_ghost: bool = False,
                 ghost_hit_removes: bool = True, evict_rule: str = "lcs",
                 first_fill_main: bool = True, rounding: str = "floor",
                 evict_after_insert: bool = False, ghost_after_evict: bool = False,
                 ghost_insert_freq: int = 0, ghost_lazy: bool = False):
        self.capacity = capacity
        self.obj = obj_size
        total = capacity * obj_size
        rnd = int if rounding == "floor" else round
        self.total = total
        self.small_size = rnd(total * small_ratio)
        self.main_size = total - self.small_size
        self.ghost_size = rnd(total * ghost_ratio)
        if self.small_size <= 0 or self.main_size <= 0:
            # libCacheSim 0.3.5 logs "Invalid cache size configuration" and aborts the process
            raise ValueError(f"S3FIFO: small queue {self.small_size}, main {self.main_size}: libCacheSim aborts")
        self.threshold = threshold
        self.moved_freq, self.hit_cap, self.main_reinsert = moved_freq, hit_cap, main_reinsert
        self.main_to_ghost, self.ghost_hit_removes = main_to_ghost, ghost_hit_removes
        self.evict_rule, self.first_fill_main = evict_rule, first_fill_main
        self.evict_after_insert = evict_after_insert
        self.ghost_after_evict = ghost_after_evict
        self.ghost_insert_freq = ghost_insert_freq
        self.ghost_lazy = ghost_lazy          # a ghost hit frees no slot (lazy deletion in a ring)
        self.ghost_ring: deque = deque()       # (key, seq), only with ghost_lazy
        self.ghost_seq = 0
        self.small: OrderedDict[int, int] = OrderedDict()   # key -> freq, oldest first
        self.main: OrderedDict[int, int] = OrderedDict()
        self.ghost: OrderedDict[int, object] = OrderedDict()   # key -> None (ring seq with ghost_lazy)
        self.has_evicted = False
        self.victims: list[int] = []

    def request(self, key: int) -> bool:
        small, main, obj = self.small, self.main, self.obj
        if key in small:
            small[key] = small[key] + 1 if self.hit_cap is None else min(small[key] + 1, self.hit_cap)
            return True
        hit_on_ghost = False
        if self.ghost_size > 0 and not self.ghost_after_evict and key in self.ghost:
            if self.ghost_hit_removes:
                del self.ghost[key]   # (ghost_lazy: the ring slot stays taken)
            hit_on_ghost = True
        if key in main:
            main[key] = main[key] + 1 if self.hit_cap is None else min(main[key] + 1, self.hit_cap)
            return True
        if not (obj <= self.small_size and obj <= self.total):
            return False                       # S3FIFO_can_insert: not cached
        if not self.evict_after_insert:
            while (len(small) + len(main)) * obj + obj > self.total:
                self._evict()
        if self.ghost_after_evict and self.ghost_size > 0 and key in self.ghost:
            del self.ghost[key]
            hit_on_ghost = True
        if hit_on_ghost:
            main[key] = self.ghost_insert_freq
        elif obj >= self.small_size:
            pass                               # S3FIFO_insert refuses it
        elif (self.first_fill_main and not self.has_evicted
              and len(small) * obj >= self.small_size):
            main[key] = 0
        else:
            small[key] = 0
        if self.evict_after_insert:
            while (len(small) + len(main)) * obj > self.total:
                self._evict()
        return False

    def _evict(self):
        self.has_evicted = True
        if self.evict_rule == "lcs":
            to_main = len(self.main) * self.obj > self.main_size or not self.small
        else:  # "small-full": the paper's rule, evict from small iff it is at/over its size
            to_main = not (self.small and len(self.small) * self.obj >= self.small_size)
        if to_main:
            self._evict_main()
        else:
            self._evict_small()

    def _ghost_insert(self, key):
        ghost, obj = self.ghost, self.obj
        if self.ghost_size <= 0 or key in ghost or obj > self.ghost_size:
            return
        if self.ghost_lazy:
            ring = self.ghost_ring
            while (len(ring) + 1) * obj > self.ghost_size:
                old, seq = ring.popleft()
                if ghost.get(old) == seq:
                    del ghost[old]
            self.ghost_seq += 1
            ring.append((key, self.ghost_seq))
            ghost[key] = self.ghost_seq
            return
        while (len(ghost) + 1) * obj > self.ghost_size:
            ghost.popitem(last=False)
        ghost[key] = None

    def _evict_small(self):
        small = self.small
        while small:
            key, freq = small.popitem(last=False)
            if freq >= self.threshold:
                self.main[key] = freq if self.moved_freq == "keep" else 0
            else:
                self._ghost_insert(key)
                self.victims.append(key)
                return

    def _evict_main(self):
        main = self.main
        while main:
            key, freq = main.popitem(last=False)
            if freq >= 1:
                main[key] = min(freq, 3) - 1 if self.main_reinsert == "cap3" else freq - 1
            else:
                if self.main_to_ghost:
                    self._ghost_insert(key)
                self.victims.append(key)
                return


MODELS = {"lru": LRU, "sieve": Sieve, "s3fifo": S3FIFO}


def misses(model_cls, trace, capacity, **kw) -> int:
    m = model_cls(capacity, **kw)
    req = m.request
    return sum(1 for k in trace if not req(k))
# Deviations from libCacheSim's S3FIFO, each one detail changed (--variants).
S3FIFO_VARIANTS = {
    "moved small→main keeps its freq": {"moved_freq": "keep"},
    "move-to-main threshold 1": {"threshold": 1},
    "hit freq saturates at 3": {"hit_cap": 3},          # equivalent by construction
    "hit freq saturates at 1": {"hit_cap": 1},
    "main reinsert freq-1 (no cap 3)": {"main_reinsert": "minus1"},
    "main victims go to ghost": {"main_to_ghost": True},
    "ghost hit keeps ghost entry": {"ghost_hit_removes": False},
    "evict small iff small full": {"evict_rule": "small-full"},
    "no fill-main-before-first-eviction": {"first_fill_main": False},
    "sizes rounded, not floored": {"rounding": "round"},
    "ghost = C (ratio 1.0)": {"ghost_ratio": 1.0},
    "ghost = 0.5 C": {"ghost_ratio": 0.5},
    "insert, then evict": {"evict_after_insert": True},
    "ghost looked up after evicting (at insert)": {"ghost_after_evict": True},
    "ghost hit enters main with freq 1": {"ghost_insert_freq": 1},
    "ghost hit frees no ghost slot (lazy ring)": {"ghost_lazy": True},
}


def _lcs_classes():
    import libcachesim as lcs
    return {"lru": lcs.LRU, "sieve": lcs.Sieve, "s3fifo": lcs.S3FIFO}


def lcs_misses(cls, path: str, capacity: int) -> tuple[int, int]:
    """(misses, requests) of libCacheSim's policy over a plain-text trace."""
    import libcachesim as lcs
    reader = lcs.TraceReader(trace=path, trace_type=lcs.TraceType.PLAIN_TXT_TRACE)
    n = reader.get_num_of_req()
    ratio, _ = cls(cache_size=capacity).process_trace(reader)
    return round(ratio * n), n


def per_request_check(cls, model, keys: list[int], capacity: int, obj_size: int = 1) -> str:
    """Replays keys through libCacheSim request by request (Cache.get) and the
    model side by side. Checks every hit/miss, that each model victim is gone
    from libCacheSim's cache and that the object counts agree."""
    import libcachesim as lcs
    cache = cls(cache_size=capacity * obj_size)
    req, probe = lcs.Request(), lcs.Request()
    req.obj_size = probe.obj_size = obj_size
    seen = 0
    for i, k in enumerate(keys):
        req.obj_id = k
        theirs = cache.get(req)
        ours = model.request(k)
        if theirs != ours:
            return f"request {i} (key {k}): libCacheSim {'hit' if theirs else 'miss'}, model {'hit' if ours else 'miss'}"
        if len(model.victims) != seen:
            for v in model.victims[seen:]:
                probe.obj_id = v
                if cache.find(probe, False) is not None:
                    return f"request {i}: model evicted {v}, libCacheSim still holds it"
            seen = len(model.victims)
            n_model = (len(model.q) if hasattr(model, "q") else
                       len(model.table) if hasattr(model, "table") else len(model.small) + len(model.main))
            if cache.get_n_obj() != n_model:
                return f"request {i}: libCacheSim holds {cache.get_n_obj()} objects, model {n_model}"
    return "identical"


def main() -> int:
    import argparse
    import os
    import sys
    sys.dont_write_bytecode = True  # no __pycache__ next to the scripts (not gitignored)
    import traces

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "folio-policy-check"))
    ap.add_argument("--workloads", default=",".join(traces.ALL))
    ap.add_argument("--sizes", default="0.01,0.05,0.10")
    ap.add_argument("--seed", type=int, default=traces.SEED)
    ap.add_argument("--per-request", action="store_true",
                    help="also compare every hit/miss and every victim with libCacheSim's Cache.get")
    ap.add_argument("--variants", action="store_true",
                    help="also print how far each single deviation from libCacheSim's S3FIFO lands")
    ap.add_argument("--bytes", action="store_true",
                    help="also run S3FIFO byte-based (4096-byte objects) in libCacheSim and in the model")
    args = ap.parse_args()

    lcs_cls = _lcs_classes()
    fractions = [float(x) for x in args.sizes.split(",")]
    print("| workload | requests | cache | " + " | ".join(f"{p} model | {p} lcs | Δ misses" for p in MODELS) + " |")
    print("|" + "---|" * (3 + 3 * len(MODELS)))
    worst = 0
    prepared = []
    for name in args.workloads.split(","):
        t = traces.prepare(name, args.workdir, args.seed)
        prepared.append(t)
        for cap in traces.capacities(t["distinct"], fractions):
            cells = []
            for p, cls in MODELS.items():
                theirs, n = lcs_misses(lcs_cls[p], t["renumbered"], cap)
                assert n == t["requests"], (name, n)
                ours = misses(cls, t["keys"], cap)
                worst = max(worst, abs(ours - theirs))
                cells.append(f"{ours:,} | {theirs:,} | {ours - theirs:+d}")
                if args.per_request:
                    verdict = per_request_check(lcs_cls[p], cls(cap), t["keys"], cap)
                    if verdict != "identical":
                        worst = max(worst, 1)
                    print(f"  per-request {name} C={cap} {p}: {verdict}", file=sys.stderr)
            print(f"| {name} | {t['requests']:,} | {cap:,} | " + " | ".join(cells) + " |", flush=True)
    print(f"\nlargest |model - libCacheSim|: {worst} misses")

    if args.variants:
        print("\nS3FIFO: misses of single deviations minus libCacheSim's (0 = indistinguishable)\n")
        print("| workload | cache | lcs misses | " + " | ".join(S3FIFO_VARIANTS) + " |")
        print("|" + "---|" * (3 + len(S3FIFO_VARIANTS)))
        for t in prepared:
            for cap in traces.capacities(t["distinct"], fractions):
                theirs, _ = lcs_misses(lcs_cls["s3fifo"], t["renumbered"], cap)
                cells = [f"{misses(S3FIFO, t['keys'], cap, **kw) - theirs:+d}" for kw in S3FIFO_VARIANTS.values()]
                print(f"| {t['name']} | {cap:,} | {theirs:,} | " + " | ".join(cells) + " |", flush=True)

    if args.bytes:
        print("\nS3FIFO byte-based: cache_size = C × 4096, every object 4096 bytes\n")
        print("| workload | cache | small queue in objects: count-based / byte-based | lcs count-based "
              "| lcs byte-based | model byte-based | model vs lcs, request by request |")
        print("|---|---|---|---|---|---|---|")
        import libcachesim as lcs
        for t in prepared:
            for cap in traces.capacities(t["distinct"], fractions):
                count_based, _ = lcs_misses(lcs_cls["s3fifo"], t["renumbered"], cap)
                c = lcs.S3FIFO(cache_size=cap * 4096)
                r = lcs.Request()
                r.obj_size = 4096
                byte_based = 0
                for k in t["keys"]:
                    r.obj_id = k
                    byte_based += not c.get(r)
                model_b = misses(S3FIFO, t["keys"], cap, obj_size=4096)
                verdict = per_request_check(lcs_cls["s3fifo"], S3FIFO(cap, obj_size=4096), t["keys"], cap, obj_size=4096)
                # small "full" (occupied >= size) once it holds ceil(size / 4096) objects
                small_b = -(-int(cap * 4096 * 0.1) // 4096)
                print(f"| {t['name']} | {cap:,} | {int(cap * 0.1)} / {small_b} | {count_based:,} | {byte_based:,} "
                      f"| {model_b:,} | {verdict} |", flush=True)
    return 1 if worst else 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
