@_spi(FolioInternals) import FolioCache
import FolioLocks
import FolioTestSupport
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Every strategy and preset, as a run-time configuration (with every key of
/// the parking lot in one bucket, where lost wake-ups show first).
let allKinds = testedStrategies

/// What one page-state change costs in locks, done exactly as the engine does
/// it: invalidate lock shared → page range → folio → (change) → release in
/// reverse order.
func withPageLocked<S: LockStrategy>(_ s: S, _ m: S.MappingLock, _ folio: Folio, _ body: () -> Void) {
    s.lockInvalidate(.shared, in: m)
    let g = s.lockPages(folio.index..<folio.index.advanced(by: 1), .exclusive, in: m)
    s.lockFolio(folio)
    body()
    s.unlockFolio(folio)
    s.unlockPages(g, in: m)
    s.unlockInvalidate(.shared, in: m)
}

/// Truncate-like: exclusive invalidate lock, every page from `from` on, every
/// folio in ascending index order (the lock order of docs/locking.md).
func withTailLocked<S: LockStrategy>(_ s: S, _ m: S.MappingLock, _ folios: [Folio], from: PageIndex, _ body: () -> Void) {
    s.lockInvalidate(.exclusive, in: m)
    let g = s.lockPages(from..<PageIndex.max, .exclusive, in: m)
    let tail = folios.filter { $0.index >= from }.sorted { $0.index < $1.index }
    for f in tail { s.lockFolio(f) }
    body()
    for f in tail.reversed() { s.unlockFolio(f) }
    s.unlockPages(g, in: m)
    s.unlockInvalidate(.exclusive, in: m)
}

func exerciseMutualExclusion<S: LockStrategy>(_ s: S) -> (ok: Bool, counts: [Int], expected: [Int], truncates: Int) {
    let m = s.makeMappingLock()
    let pages = 4
    let folios = (0..<pages).map { Folio(index: PageIndex(UInt64($0))) }
    let counters = (0..<pages).map { _ in UnprotectedCounter() }
    let snapshotSum = UnprotectedCounter()
    let threads = 8
    let iterations = stressIterations(3_000)
    let ok = finishes(within: 120) {
        runThreads(threads) { t in
            for i in 0..<iterations {
                if t == 0 && i % 50 == 0 {
                    // A "truncate" that must see every page stable at once.
                    withTailLocked(s, m, folios, from: PageIndex(0)) {
                        snapshotSum.value &+= counters.reduce(0) { $0 + $1.value }
                    }
                } else {
                    let p = (t + i) % pages
                    withPageLocked(s, m, folios[p]) { counters[p].value += 1 }
                }
            }
        }
    }
    var expected = [Int](repeating: 0, count: pages)
    var truncates = 0
    for t in 0..<threads {
        for i in 0..<iterations {
            if t == 0 && i % 50 == 0 { truncates += 1 } else { expected[(t + i) % pages] += 1 }
        }
    }
    return (ok, counters.map(\.value), expected, truncates)
}

@Suite struct LockStrategyTests {
    @Test(arguments: allKinds)
    func pageStateChangesAreMutuallyExclusive(_ kind: LockStrategyKind) {
        let strategy = LockStrategyConfiguration(kind: kind, waitTableBuckets: 1).makeStrategy()
        let r = exerciseMutualExclusion(strategy)
        #expect(r.ok, "\(kind): threads stuck")
        #expect(r.counts == r.expected, "\(kind): lost updates")
        #expect(strategy.kind == kind)
    }

    /// The `try` forms used by eviction and collapse never wait: they fail
    /// while the page is held (for strategies whose real lock is the folio
    /// lock, at the folio level; otherwise at the page-range level).
    @Test(arguments: allKinds)
    func tryLocksNeverBlock(_ kind: LockStrategyKind) {
        let s = LockStrategyConfiguration(kind: kind, waitTableBuckets: 1).makeStrategy()
        checkTryLocks(s)
    }

    func checkTryLocks<S: LockStrategy>(_ s: S) {
        let m = s.makeMappingLock()
        let folio = Folio(index: PageIndex(7))
        let held = Atomic<Bool>(false)
        let release = Atomic<Bool>(false)
        spawnThread {
            withPageLocked(s, m, folio) {
                held.store(true, ordering: .releasing)
                while !release.load(ordering: .acquiring) { sched_yield() }
            }
        }
        #expect(waitUntil { held.load(ordering: .acquiring) })
        let returned = finishes(within: 10) {
            let pages = folio.index..<folio.index.advanced(by: 1)
            if S.locksFolios {
                #expect(!s.tryLockFolio(folio))
                #expect(!s.lockFolio(folio, timeout: .milliseconds(5)))
            } else {
                #expect(s.tryLockPages(pages, .exclusive, in: m) == nil)
                // A different page of the same file:
                let other = PageIndex(100)..<PageIndex(101)
                if let g = s.tryLockPages(other, .exclusive, in: m) {
                    // per-range: disjoint pages are free; per-inode: never reached.
                    #expect(s.kind == .perRange)
                    s.unlockPages(g, in: m)
                } else {
                    #expect(s.kind == .perInode)
                }
            }
        }
        #expect(returned, "\(s.kind): a try-lock blocked")
        release.store(true, ordering: .releasing)
        #expect(waitUntil { S.locksFolios ? !BitLock.isLocked(folio.state) : s.tryLockPages(folio.index..<folio.index.advanced(by: 1), .exclusive, in: m).map { s.unlockPages($0, in: m); return true } ?? false })
    }

    /// Folio flags kept in the same word as the lock bits survive locking.
    @Test(arguments: allKinds)
    func folioFlagsSurviveLocking(_ kind: LockStrategyKind) {
        let s = LockStrategyConfiguration(kind: kind).makeStrategy()
        checkFlags(s)
    }

    func checkFlags<S: LockStrategy>(_ s: S) {
        let m = s.makeMappingLock()
        let folio = Folio(index: PageIndex(0))
        folio.setFlags([.uptodate, .referenced])
        runThreads(4) { t in
            for i in 0..<stressIterations(2_000) {
                withPageLocked(s, m, folio) {
                    if t == 0 { if i % 2 == 0 { folio.setFlags(.dirty) } else { folio.clearFlags(.dirty) } }
                }
            }
        }
        #expect(folio.flags == [.uptodate, .referenced])
    }

    struct KindProbe: LockStrategyVisitor {
        func visit<S: LockStrategy>(_ strategy: S) -> (LockStrategyKind, String) { (strategy.kind, "\(S.self)") }
    }

    @Test(arguments: allKinds)
    func visitorReceivesTheConcreteType(_ kind: LockStrategyKind) {
        let (k, typeName) = LockStrategyConfiguration(kind: kind).visit(KindProbe())
        #expect(k == kind)
        #expect(!typeName.contains("any"), "visited as \(typeName)")
        let expected: String = switch kind {
        case .perPageBit: "PerPageBitLocking"
        case .hybridFair, .fair, .barging, .hybridKernel: "HybridFairLocking"
        case .perInode: "PerInodeLocking"
        case .perRange: "PerRangeLocking"
        }
        #expect(typeName == expected)
    }

    @Test func configurationBuildsTheNamedStrategy() {
        for kind in allKinds {
            let c = LockStrategyConfiguration(kind: kind, hybridPolicy: HybridLockPolicy(spinLimit: 3, unfairness: 2))
            let s = c.makeStrategy()
            #expect(s.kind == kind)
            switch kind {
            case .perPageBit: #expect(s is PerPageBitLocking)
            case .hybridFair:
                #expect((s as? HybridFairLocking)?.policy == HybridLockPolicy(spinLimit: 3, unfairness: 2))
            case .fair: #expect((s as? HybridFairLocking)?.policy == .fair)
            case .barging: #expect((s as? HybridFairLocking)?.policy == .barging)
            case .hybridKernel: #expect((s as? HybridFairLocking)?.policy == .kernel)
            case .perInode: #expect(s is PerInodeLocking)
            case .perRange: #expect(s is PerRangeLocking)
            }
        }
        #expect(LockStrategyKind(rawValue: "per-range") == .perRange)
        #expect(LockStrategyKind(rawValue: "hybrid-fair") == .hybridFair)
        #expect(LockStrategyKind(rawValue: "nope") == nil)
    }
}
