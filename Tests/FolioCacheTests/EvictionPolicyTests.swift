@_spi(FolioInternals) import FolioCache
import FolioTestSupport
import Testing

// Eviction policies on small traces whose outcome was computed by hand (each
// computation is in the test's comment), a randomized differential check
// against naive array models of LRU and SIEVE, and a concurrency smoke test.
//
// Notation in the comments: lists are written head → tail; `*` marks a
// folio whose `referenced` (SIEVE "visited") bit is set; `hand→x` is the
// folio the next SIEVE walk starts at (`nil` = the tail).

@Suite struct EvictionPolicyTests {
    // MARK: - LRU

    @Test func lruEvictsLeastRecent() {
        // capacity 3: 1 2 3 → [3 2 1]; 4: evict tail 1 → [4 3 2]; 5: evict 2 → [5 4 3].
        let d = Driver(LRUPolicy(), capacity: 3)
        let hits = d.run([1, 2, 3, 4, 5])
        #expect(hits == [false, false, false, false, false])
        #expect(d.evicted == [1, 2])
        #expect(ids(d.policy.candidates(limit: 3)) == [3, 4, 5])
        #expect(d.policy.kind == .lru)
    }

    @Test func lruHitMovesToHead() {
        // capacity 3: 1 2 3 → [3 2 1]; hit 1 → [1 3 2]; 4: evict 2 → [4 1 3];
        // 5: evict 3 → [5 4 1]; hit 1 → [1 5 4]. Without the reorder 1 would
        // have gone first.
        let d = Driver(LRUPolicy(), capacity: 3)
        let hits = d.run([1, 2, 3, 1, 4, 5, 1])
        #expect(hits == [false, false, false, true, false, false, true])
        #expect(d.evicted == [2, 3])
        #expect(ids(d.policy.candidates(limit: 3)) == [4, 5, 1])
    }

    @Test func lruCandidatesWithLimitAboveOne() {
        // insert 1…5 → [5 4 3 2 1]; access 2 → [2 5 4 3 1]; access 2 again
        // (already the head: no change).
        let p = LRUPolicy()
        let f = makeFolios(1...5)
        for x in f { p.insert(x) }
        p.access(f[1])
        p.access(f[1])
        #expect(ids(p.candidates(limit: 3)) == [1, 3, 4])
        #expect(ids(p.candidates(limit: 10)) == [1, 3, 4, 5, 2])
        #expect(p.candidates(limit: 0).isEmpty)
        // Candidates are not removed.
        #expect(p.count == 5)
        // access of a folio that is not tracked is a no-op.
        let stranger = Folio(index: PageIndex(99))
        p.access(stranger)
        #expect(p.count == 5)
        #expect(ids(p.candidates(limit: 10)) == [1, 3, 4, 5, 2])
    }

    // MARK: - SIEVE

    @Test func sieveKeepsVisitedObjectAndClearsItsBit() {
        // capacity 3:
        //   1 2 3      → [3 2 1], hand→nil
        //   1 (hit)    → [3 2 1*]
        //   4 (miss)   hand starts at the tail: 1* → clear, move on; 2 → evict;
        //              hand→3 (2's neighbour toward the head); insert → [4 3 1]
        //   5 (miss)   3 → evict; hand→4; → [5 4 1]
        //   1 (hit)    → [5 4 1*]
        //   6 (miss)   4 → evict (1 is older but was visited); hand→5; → [6 5 1*]
        let d = Driver(SievePolicy(), capacity: 3)
        #expect(d.run([1, 2, 3, 1]) == [false, false, false, true])
        #expect(d.isReferenced(1))
        d.request(4)
        #expect(d.evicted == [2])
        #expect(d.resident[1] != nil)
        #expect(!d.isReferenced(1), "the hand clears the bit of the visited object it keeps")
        #expect(d.run([5, 1, 6]) == [false, true, false])
        #expect(d.evicted == [2, 3, 4])
        #expect(Set(d.resident.keys) == [1, 5, 6])
        #expect(d.isReferenced(1))
        #expect(d.policy.kind == .sieve)
    }

    @Test func sieveEvictsNewOneHitObjectsFirst() {
        // capacity 4, two hot objects then a scan of one-hit objects 10…15.
        // SIEVE:
        //   1 2 1 2    → [2* 1*]
        //   10 11      → [11 10 2* 1*] (full)
        //   12         hand at tail: 1* clear, 2* clear, 10 → evict; hand→11; [12 11 2 1]
        //   13         11 → evict; hand→12; [13 12 2 1]
        //   14         12 → evict; hand→13; [14 13 2 1]
        //   15         13 → evict; hand→14; [15 14 2 1]
        //   1 2        hits
        // Evicted 10 11 12 13; 4 hits.
        // LRU on the same trace: [2 1] → [11 10 2 1]; 12 evicts 1, 13 evicts 2,
        // 14 evicts 10, 15 evicts 11, then 1 and 2 miss and evict 12, 13: 2 hits.
        let trace: [UInt64] = [1, 2, 1, 2, 10, 11, 12, 13, 14, 15, 1, 2]
        let sieve = Driver(SievePolicy(), capacity: 4)
        let sieveHits = sieve.run(trace)
        #expect(sieve.evicted == [10, 11, 12, 13])
        #expect(sieve.hits == 4)
        #expect(sieveHits.suffix(2) == [true, true])

        let lru = Driver(LRUPolicy(), capacity: 4)
        _ = lru.run(trace)
        #expect(lru.evicted == [1, 2, 10, 11, 12, 13])
        #expect(lru.hits == 2)
    }

    @Test func sieveHandWrapsAroundWhenEverythingIsVisited() {
        // capacity 3:
        //   1 2 3, hits 1 2 3 → [3* 2* 1*]
        //   4    1* clear, 2* clear, 3* clear, past the head → wrap to the tail:
        //        1 → evict; hand→2; [4 3 2]
        //   5    2 → evict; hand→3; [5 4 3]
        //   5    hit → [5* 4 3]
        //   6    3 → evict; hand→4; [6 5* 4]
        //   7    4 → evict; hand→5; [7 6 5*]
        //   8    5* clear, 6 → evict; hand→7; [8 7 5]
        let d = Driver(SievePolicy(), capacity: 3)
        let hits = d.run([1, 2, 3, 1, 2, 3, 4, 5, 5, 6, 7, 8])
        #expect(hits == [false, false, false, true, true, true, false, false, true, false, false, false])
        #expect(d.evicted == [1, 2, 3, 4, 6])
        #expect(Set(d.resident.keys) == [5, 7, 8])
        #expect(!d.isReferenced(5))
    }

    @Test func sieveEvictingTheHeadRestartsAtTheTail() {
        // capacity 3:
        //   1 2 3, hits 1 2 → [3 2* 1*]
        //   4    1* clear, 2* clear, 3 → evict (the head); hand→nil (= tail); [4 2 1]
        //   5    hand at the tail: 1 → evict; hand→2; [5 4 2]
        //   6    2 → evict; hand→4; [6 5 4]
        let d = Driver(SievePolicy(), capacity: 3)
        _ = d.run([1, 2, 3, 1, 2, 4, 5, 6])
        #expect(d.evicted == [3, 1, 2])
        #expect(Set(d.resident.keys) == [4, 5, 6])
    }

    @Test func sieveRemovingTheFolioUnderTheHandMovesTheHandTowardTheHead() {
        // insert 1…4 → [4 3 2 1]; access 1 → [4 3 2 1*]
        // candidates(1): 1* clear, 2 → [2]; hand→3
        // remove 2 (evicted): hand stays on 3
        // remove 3 (truncated, the hand is on it): hand→4 (its neighbour toward the head)
        // candidates(1): 4 → [4] — not 1, which is older but behind the hand.
        let p = SievePolicy()
        let f = makeFolios(1...4)
        for x in f { p.insert(x) }
        p.access(f[0])
        #expect(ids(p.candidates(limit: 1)) == [2])
        #expect(!f[0].flags.contains(.referenced))
        p.remove(f[1])
        p.remove(f[2])
        #expect(p.count == 2)
        #expect(ids(p.candidates(limit: 1)) == [4])
        // candidates(1) left the hand past 4 (the head) → wrapped to the tail, 1.
        #expect(ids(p.candidates(limit: 1)) == [1])
    }

    @Test func sieveRemovingTheHeadUnderTheHandRestartsAtTheTail() {
        // insert 1 2 3 → [3 2 1]
        // candidates(1) → [1]; hand→2.   remove 1 → [3 2]
        // candidates(1) → [2]; hand→3 (the head). 2 is not removed (say it was pinned).
        // remove 3 (the hand is on it): its neighbour toward the head is nil → hand→nil
        // insert 4 → [4 2]; candidates(1) starts at the tail: [2] (not the new head 4).
        let p = SievePolicy()
        let f = makeFolios(1...4)
        for x in f.prefix(3) { p.insert(x) }
        #expect(ids(p.candidates(limit: 1)) == [1])
        p.remove(f[0])
        #expect(ids(p.candidates(limit: 1)) == [2])
        p.remove(f[2])
        p.insert(f[3])
        #expect(ids(p.candidates(limit: 1)) == [2])
        #expect(p.count == 2)
    }

    @Test func sieveCandidatesWithLimitAboveOne() {
        // insert 1…5 → [5 4 3 2 1]; access 2, 4 → [5 4* 3 2* 1]
        // candidates(3): 1 → cand, 2* clear, 3 → cand, 4* clear, 5 → cand: [1 3 5];
        //   hand past the head → tail (1).
        // candidates(10): at most count (5) distinct: 1 2 3 4 5, all unreferenced now.
        let p = SievePolicy()
        let f = makeFolios(1...5)
        for x in f { p.insert(x) }
        p.access(f[1])
        p.access(f[3])
        #expect(ids(p.candidates(limit: 3)) == [1, 3, 5])
        #expect(!f[1].flags.contains(.referenced) && !f[3].flags.contains(.referenced))
        #expect(ids(p.candidates(limit: 10)) == [1, 2, 3, 4, 5])
        #expect(p.candidates(limit: 0).isEmpty)
        #expect(p.count == 5)
    }

    @Test func sieveSecondLapYieldsDistinctCandidates() {
        // insert 1 2 3 → [3 2 1]; access 2, 3 → [3* 2* 1]
        // candidates(3): 1 → cand; 2* clear; 3* clear; wrap: 1 already taken (skip);
        //   2 → cand; 3 → cand: [1 2 3] — every folio once.
        // A list whose every folio is referenced still yields candidates:
        // access all; candidates(2): lap 1 clears 1 2 3, lap 2 gives [1 2].
        let p = SievePolicy()
        let f = makeFolios(1...3)
        for x in f { p.insert(x) }
        p.access(f[1])
        p.access(f[2])
        #expect(ids(p.candidates(limit: 3)) == [1, 2, 3])
        for x in f { p.access(x) }
        // The hand is back on 1 (past the last candidate 3 → wrapped).
        #expect(ids(p.candidates(limit: 2)) == [1, 2])
    }

    @Test func sieveAccessSetsOnlyTheReferencedBit() {
        let p = SievePolicy()
        let f = Folio(index: PageIndex(7))
        f.setFlags(.uptodate)
        p.insert(f)
        #expect(!f.flags.contains(.referenced), "a new folio starts unvisited")
        p.access(f)
        p.access(f)
        #expect(f.flags == [.uptodate, .referenced])
        #expect(p.count == 1)
        p.remove(f)
        #expect(f.policyPrev == nil && f.policyNext == nil)
    }

    // MARK: - Both

    @Test(arguments: EvictionPolicyKind.allCases)
    func countIsExact(_ kind: EvictionPolicyKind) {
        let p = makePolicy(kind)
        #expect(p.count == 0)
        #expect(p.candidates(limit: 4).isEmpty)
        let f = makeFolios(1...10)
        for (i, x) in f.enumerated() {
            p.insert(x)
            #expect(p.count == i + 1)
        }
        for x in f where x.index.rawValue % 3 == 0 { p.access(x) }
        _ = p.candidates(limit: 4)
        #expect(p.count == 10, "candidates does not remove")
        // Remove the head (newest), the tail (oldest) and one in the middle.
        p.remove(f[9])
        p.remove(f[0])
        p.remove(f[4])
        #expect(p.count == 7)
        let all = p.candidates(limit: 100)
        #expect(all.count == 7)
        #expect(Set(ids(all)) == [2, 3, 4, 6, 7, 8, 9])
        for x in all { p.remove(x) }
        #expect(p.count == 0)
        #expect(p.candidates(limit: 1).isEmpty)
        // A removed folio's links are clear: it can be tracked again.
        p.insert(f[0])
        #expect(p.count == 1)
        #expect(ids(p.candidates(limit: 5)) == [1])
        p.remove(f[0])
        #expect(p.count == 0)
    }

    // Exit tests cannot capture values, hence one per policy.
    @Test func lruRemovingTwiceTraps() async {
        await #expect(processExitsWith: .failure) {
            let p = LRUPolicy()
            let a = Folio(index: PageIndex(1))
            let b = Folio(index: PageIndex(2))
            p.insert(a)
            p.insert(b)
            p.remove(a)
            p.remove(a)
        }
    }

    @Test func sieveRemovingTwiceTraps() async {
        await #expect(processExitsWith: .failure) {
            let p = SievePolicy()
            let a = Folio(index: PageIndex(1))
            let b = Folio(index: PageIndex(2))
            p.insert(a)
            p.insert(b)
            p.remove(a)
            p.remove(a)
        }
    }

    /// Random traces against naive array models of the two algorithms (the
    /// paper's pseudo-code, written as plainly as possible): the eviction
    /// sequences must be identical.
    @Test(arguments: EvictionPolicyKind.allCases)
    func matchesNaiveModelOnRandomTraces(_ kind: EvictionPolicyKind) {
        let seed = testSeed()
        print("matchesNaiveModelOnRandomTraces(\(kind)) FOLIO_SEED=\(seed)")
        var rng = SplitMix64(seed: seed)
        for capacity in [1, 2, 3, 5, 8, 16] {
            for universe in [capacity + 1, 2 * capacity + 3, 6 * capacity] {
                let trace = (0..<3_000).map { _ -> UInt64 in
                    // Skewed: half the requests go to the first quarter of the ids.
                    let hot = Bool.random(using: &rng)
                    let n = hot ? max(1, universe / 4) : universe
                    return UInt64.random(in: 0..<UInt64(n), using: &rng)
                }
                let d = Driver(makePolicy(kind, capacity: capacity), capacity: capacity)
                let got = d.run(trace)
                var model = makeNaiveModel(kind, capacity: capacity)
                let want = trace.map { model.request($0) }
                #expect(got == want, "capacity \(capacity), universe \(universe)")
                #expect(d.evicted == model.evicted, "capacity \(capacity), universe \(universe)")
                #expect(d.policy.count == d.resident.count)
            }
        }
    }

    /// Several threads insert, access, remove and ask for candidates on one
    /// policy. No crash, candidates always distinct and tracked, and the count
    /// exact at the end.
    @Test(arguments: EvictionPolicyKind.allCases)
    func concurrentSmoke(_ kind: EvictionPolicyKind) {
        let p = makePolicy(kind)
        let threads = 6
        let perThread = 64
        let iterations = stressIterations(20_000)
        let seed = testSeed()
        print("concurrentSmoke(\(kind)) FOLIO_SEED=\(seed)")
        // Every folio stays alive for the whole test (the page table's job),
        // so any thread may `access` any folio, tracked or not.
        let pools: [[Folio]] = (0..<threads).map { t in
            (0..<perThread).map { Folio(index: PageIndex(UInt64(t * perThread + $0))) }
        }
        let all = pools.flatMap { $0 }
        let tracked = (0..<threads).map { _ in UnprotectedCounter() }  // per-thread, own thread only
        let badCandidates = EventLog<String>()
        let ok = finishes(within: 120) {
            runThreads(threads) { t in
                var rng = SplitMix64(seed: seed &+ UInt64(t))
                var mine = [Bool](repeating: false, count: perThread)
                for _ in 0..<iterations {
                    let r = Int.random(in: 0..<100, using: &rng)
                    let i = Int.random(in: 0..<perThread, using: &rng)
                    switch r {
                    case 0..<30:
                        if !mine[i] { p.insert(pools[t][i]); mine[i] = true; tracked[t].value += 1 }
                    case 30..<50:
                        if mine[i] { p.remove(pools[t][i]); mine[i] = false; tracked[t].value -= 1 }
                    case 50..<95:
                        p.access(all[Int.random(in: 0..<all.count, using: &rng)])
                    default:
                        let c = p.candidates(limit: 4)
                        if c.count > 4 || Set(c.map(ObjectIdentifier.init)).count != c.count {
                            badCandidates.append("\(ids(c))")
                        }
                    }
                }
            }
        }
        #expect(ok, "policy operations deadlocked")
        guard ok else { return }
        #expect(badCandidates.events.isEmpty)
        let expected = tracked.reduce(0) { $0 + $1.value }
        #expect(p.count == expected)
        // Quiescent: the list holds exactly the tracked folios, each once.
        let remaining = p.candidates(limit: all.count)
        #expect(remaining.count == expected)
        #expect(Set(remaining.map(ObjectIdentifier.init)).count == expected)
        for f in remaining { p.remove(f) }
        #expect(p.count == 0)
        #expect(p.candidates(limit: 8).isEmpty)
    }
}

// MARK: - Helpers (nested, so their names cannot collide with other test files)

extension EvictionPolicyTests {
    /// Drives a policy like a cache of `capacity` objects, exactly as the
    /// PolicySim benchmark does: on a hit `access`; on a miss, if full, take
    /// `candidates(limit: 1).first`, report it `evicted`; then `insert` a new
    /// folio (with what `prepareInsert` said before the eviction, as the
    /// engine does).
    final class Driver {
        let policy: any EvictionPolicy
        let capacity: Int
        var resident: [UInt64: Folio] = [:]
        var evicted: [UInt64] = []
        var hits = 0
        var misses = 0

        init(_ policy: any EvictionPolicy, capacity: Int) {
            self.policy = policy
            self.capacity = capacity
        }

        /// Returns true on a hit.
        @discardableResult
        func request(_ id: UInt64) -> Bool {
            if let f = resident[id] {
                hits += 1
                policy.access(f)
                return true
            }
            misses += 1
            let hint = policy.prepareInsert(file: 0, index: PageIndex(id), order: 0)
            if resident.count >= capacity {
                let victim = policy.candidates(limit: 1).first!
                policy.evicted(victim)
                resident[victim.index.rawValue] = nil
                evicted.append(victim.index.rawValue)
            }
            let f = Folio(index: PageIndex(id))
            resident[id] = f
            policy.insert(f, hint: hint)
            return false
        }

        func run(_ ids: [UInt64]) -> [Bool] { ids.map { request($0) } }

        func isReferenced(_ id: UInt64) -> Bool { resident[id]!.flags.contains(.referenced) }
    }

    func ids(_ folios: [Folio]) -> [UInt64] { folios.map(\.index.rawValue) }

    func makeFolios(_ ids: ClosedRange<UInt64>) -> [Folio] { ids.map { Folio(index: PageIndex($0)) } }

    /// A policy; S3-FIFO sized for `capacity` 4 KiB folios.
    func makePolicy(_ kind: EvictionPolicyKind, capacity: Int = 1 << 16) -> any EvictionPolicy {
        switch kind {
        case .lru: LRUPolicy()
        case .sieve: SievePolicy()
        case .s3fifo: S3FIFOPolicy(capacity: capacity * 4096, pageSize: 4096)
        }
    }
}
