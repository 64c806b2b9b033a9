#if DebugLocks
import Foundation
import FolioLocks
import FolioTestSupport
import Synchronization
import Testing

/// Collects the checker's reports that name one of `classes` (and consumes
/// them), letting every other report through — tests run in parallel, and a
/// report of someone else's lock is not this test's to swallow.
final class ReportCollector: Sendable {
    let classes: Set<String>
    let reports = Mutex<[LockDep.Report]>([])
    let id = Mutex<LockDep.ObserverID?>(nil)

    init(_ classes: LockClass...) {
        self.classes = Set(classes.map(\.name))
        let token = LockDep.addObserver { [self] report in
            guard report.classes.contains(where: self.classes.contains) else { return false }
            reports.withLock { $0.append(report) }
            return true
        }
        id.withLock { $0 = token }
    }

    func stop() -> [LockDep.Report] {
        if let token = id.withLock({ $0 }) { LockDep.removeObserver(token) }
        return reports.withLock { $0 }
    }
}

/// `#fileID:line` as the checker prints a site.
func site(_ line: Int, file: StaticString = #fileID) -> String { "\(file):\(line)" }

/// The `DebugLocks` checker on the FolioLocks primitives: an inversion of two
/// classes is reported with the sites of both orders; nested locks of one
/// class need an order; a trylock learns nothing; unlocks by a non-owner and
/// double unlocks trap (exit tests) and name the sites.
@Suite struct DebugLocksTests {
    @Test func inversionOfTwoClassesNamesBothSites() {
        let classA = LockClass("dl-test inversion A"), classB = LockClass("dl-test inversion B")
        let a = ShortLock(classA), b = ShortLock(classB)
        let collector = ReportCollector(classA, classB)
        // A → B, learned.
        a.lock(); let aFirst = #line
        b.lock(); let bFirst = #line
        b.unlock()
        a.unlock()
        // B → A: inverted.
        b.lock(); let bSecond = #line
        a.lock(); let aSecond = #line
        a.unlock()
        b.unlock()
        let reports = collector.stop()
        #expect(reports.count == 1, "\(reports)")
        guard let r = reports.first else { return }
        #expect(r.kind == .inversion)
        #expect(r.classes == [classB.name, classA.name])
        // This acquisition's two sites, and the learned edge's two.
        #expect(r.sites == [site(bSecond), site(aSecond), site(aFirst), site(bFirst)], "\(r)")
        for s in r.sites { #expect(r.message.contains(s)) }
        print(r.message)
    }

    @Test func inversionAcrossThreadsAndThroughAPath() {
        let x = LockClass("dl-test path X"), y = LockClass("dl-test path Y"), z = LockClass("dl-test path Z")
        let lx = ReaderWriterLock(lockClass: x), ly = RangeLock(lockClass: y), lz = ShortLock(z)
        let collector = ReportCollector(x, y, z)
        // Thread 1: X → Y (shared modes count). Thread 2: Y → Z.
        runThreads(1) { _ in
            lx.lock(.shared)
            let t = ly.lock(0..<4, .shared)
            ly.unlock(t)
            lx.unlock(.shared)
        }
        runThreads(1) { _ in
            let t = ly.lock(8..<9, .exclusive)
            lz.lock()
            lz.unlock()
            ly.unlock(t)
        }
        // Here: Z → X closes X → Y → Z.
        lz.lock(); let zHeld = #line
        lx.lock(.exclusive); let xTaken = #line
        lx.unlock(.exclusive)
        lz.unlock()
        let reports = collector.stop()
        #expect(reports.count == 1, "\(reports)")
        guard let r = reports.first else { return }
        #expect(r.kind == .inversion)
        #expect(r.classes == [z.name, x.name])
        #expect(r.sites.count == 6)  // this pair, then X → Y and Y → Z
        #expect(r.sites.prefix(2) == [site(zHeld), site(xTaken)])
        #expect(r.message.contains("'\(x.name)' held") && r.message.contains("'\(y.name)' held"), "\(r)")
        let edges = LockDep.learnedEdges()
        #expect(edges.contains { $0.from == x.name && $0.to == y.name })
        #expect(edges.contains { $0.from == y.name && $0.to == z.name })
        #expect(!edges.contains { $0.from == z.name && $0.to == x.name }, "an inverting edge is not learned")
    }

    @Test func trylockLearnsNoEdgeButIsHeld() {
        let p = LockClass("dl-test try P"), q = LockClass("dl-test try Q"), r = LockClass("dl-test try R")
        let lp = ShortLock(p), lq = ShortLock(q), lr = ShortLock(r)
        let collector = ReportCollector(p, q, r)
        lp.lock()
        #expect(lq.tryLock())  // P → Q by trylock: no edge
        lr.lock()              // under the trylocked Q: Q → R and, through it, P → R
        lr.unlock()
        lq.unlock()
        lp.unlock()
        // Q → P now is no inversion (P → Q was never learned)...
        lq.lock()
        lp.lock()
        lp.unlock()
        lq.unlock()
        // ...but R → P is (P → R was).
        lr.lock()
        lp.lock()
        lp.unlock()
        lr.unlock()
        let reports = collector.stop()
        let edges = LockDep.learnedEdges()
        #expect(!edges.contains { $0.from == p.name && $0.to == q.name })
        #expect(edges.contains { $0.from == q.name && $0.to == r.name && $0.fromTrylock })
        #expect(edges.contains { $0.from == p.name && $0.to == r.name })
        #expect(reports.count == 1 && reports.first?.kind == .inversion && reports.first?.classes == [r.name, p.name], "\(reports)")
    }

    @Test func sameClassNeedsAnOrder() {
        let c = LockClass("dl-test same class")
        let one = ShortLock(c), two = ShortLock(c)
        let collector = ReportCollector(c)
        one.lock()
        two.lock(); let nested = #line
        two.unlock()
        one.unlock()
        // Ranges of one range lock: ascending is the order, descending is not.
        let rc = LockClass("dl-test ranges")
        let ranges = RangeLock(lockClass: rc)
        let rangeCollector = ReportCollector(rc)
        let low = ranges.lock(0..<4, .exclusive)
        let high = ranges.lock(4..<8, .exclusive)
        ranges.unlock(high)
        ranges.unlock(low)
        let upper = ranges.lock(8..<12, .exclusive)
        let lower = ranges.lock(2..<3, .exclusive)
        ranges.unlock(lower)
        ranges.unlock(upper)
        let reports = collector.stop(), rangeReports = rangeCollector.stop()
        #expect(reports.count == 1 && reports.first?.kind == .recursive, "\(reports)")
        #expect(reports.first?.sites.last == site(nested))
        #expect(rangeReports.count == 1 && rangeReports.first?.kind == .outOfOrder, "\(rangeReports)")
    }

    @Test func recursiveReadOfOneLockIsReported() {
        let c = LockClass("dl-test recursive read")
        let rw = ReaderWriterLock(lockClass: c)
        let collector = ReportCollector(c)
        rw.lock(.shared)
        // A writer parked between the two would make the second wait forever.
        rw.lock(.shared)
        rw.unlock(.shared)
        rw.unlock(.shared)
        let reports = collector.stop()
        #expect(reports.count == 1 && reports.first?.kind == .recursive, "\(reports)")
        #expect(reports.first?.message.contains("already holds this very lock") == true)
    }

    @Test func nonOwnerUnlockNamesTheOwnerAndBothSites() {
        let c = LockClass("dl-test non-owner")
        let lock = ShortLock(c)
        let collector = ReportCollector(c)
        let taken = Atomic<Bool>(false), release = Atomic<Bool>(false)
        let ownerLine = Atomic<Int>(0)
        spawnThread {
            lock.lock(); ownerLine.store(#line, ordering: .relaxed)
            taken.store(true, ordering: .releasing)
            waitUntil { release.load(ordering: .acquiring) }
            lock.unlock()
            taken.store(false, ordering: .releasing)
        }
        waitUntil { taken.load(ordering: .acquiring) }
        lock.unlock(); let badUnlock = #line   // not ours: reported, and (consumed) not performed
        #expect(!lock.tryLock(), "the consumed bad unlock must not have released the owner's lock")
        release.store(true, ordering: .releasing)
        waitUntil { !taken.load(ordering: .acquiring) }
        let reports = collector.stop()
        #expect(reports.count == 1, "\(reports)")
        guard let r = reports.first else { return }
        #expect(r.kind == .nonOwnerUnlock)
        #expect(r.sites == [site(ownerLine.load(ordering: .relaxed)), site(badUnlock)], "\(r)")
        #expect(r.message.contains(c.name))
    }

    @Test func doubleUnlockNamesTheFirstUnlock() {
        let c = LockClass("dl-test double unlock")
        let lock = ShortLock(c)
        let collector = ReportCollector(c)
        lock.lock()
        lock.unlock(); let first = #line
        lock.unlock(); let second = #line
        let reports = collector.stop()
        #expect(reports.count == 1, "\(reports)")
        #expect(reports.first?.kind == .doubleUnlock)
        #expect(reports.first?.sites == [site(first), site(second)], "\(reports)")
        // The lock still works (the bad unlock changed nothing).
        #expect(lock.tryLock())
        lock.unlock()
    }

    @Test func wrongModeUnlockIsReported() {
        let c = LockClass("dl-test wrong mode")
        let rw = ReaderWriterLock(lockClass: c)
        let collector = ReportCollector(c)
        rw.lock(.shared)
        rw.unlock(.exclusive)
        rw.unlock(.shared)
        let reports = collector.stop()
        #expect(reports.count == 1 && reports.first?.kind == .wrongMode, "\(reports)")
    }

    // Without an observer a report traps: the process dies.

    @Test func nonOwnerUnlockTraps() async {
        await #expect(processExitsWith: .failure) {
            unsetenv("FOLIO_LOCKDEP_REPORT")  // a report must trap here, whatever the parent said
            let lock = ShortLock(LockClass("dl-test exit non-owner"))
            let taken = Atomic<Bool>(false)
            spawnThread {
                lock.lock()
                taken.store(true, ordering: .releasing)
                while true { sleep(1) }
            }
            while !taken.load(ordering: .acquiring) { sched_yield() }
            lock.unlock()
        }
    }

    @Test func doubleUnlockTraps() async {
        await #expect(processExitsWith: .failure) {
            unsetenv("FOLIO_LOCKDEP_REPORT")  // a report must trap here, whatever the parent said
            let lock = ShortLock(LockClass("dl-test exit double"))
            lock.lock()
            lock.unlock()
            lock.unlock()
        }
    }

    @Test func inversionTraps() async {
        await #expect(processExitsWith: .failure) {
            unsetenv("FOLIO_LOCKDEP_REPORT")  // a report must trap here, whatever the parent said
            let a = RawWordMutex(word: .allocate(capacity: 1), lockClass: LockClass("dl-test exit A"))
            let b = ShortLock(LockClass("dl-test exit B"))
            a.word.initialize(to: 0)
            a.lock(); b.lock(); b.unlock(); a.unlock()
            b.lock(); a.lock()
        }
    }

    @Test func aCorrectProgramExitsCleanly() async {
        // The exit-test machinery itself: the same locks, in order, pass.
        await #expect(processExitsWith: .success) {
            unsetenv("FOLIO_LOCKDEP_REPORT")  // a report must trap here, whatever the parent said
            let a = ShortLock(LockClass("dl-test exit ok A")), b = ShortLock(LockClass("dl-test exit ok B"))
            for _ in 0..<3 { a.lock(); b.lock(); b.unlock(); a.unlock() }
        }
    }
}
#endif
