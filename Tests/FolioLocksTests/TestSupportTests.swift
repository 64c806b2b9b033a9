import FolioLocks
import FolioTestSupport
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The test helpers are what make the concurrency tests able to fail (a hang
/// becomes a failure, a seed replays a run), so they are tested too.
@Suite struct TestSupportTests {
    @Test func splitMix64MatchesTheReferenceSequence() {
        // The published SplitMix64 outputs for seed 0.
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(rng.next() == 0x06C4_5D18_8009_454F)
        // Same seed, same sequence: what makes a printed seed replayable.
        var a = SplitMix64(seed: 12345), b = SplitMix64(seed: 12345)
        #expect((0..<100).map { _ in a.next() } == (0..<100).map { _ in b.next() })
    }

    @Test func finishesReportsAHangAsFalse() {
        #expect(finishes(within: 5) {})
        let release = Atomic<Bool>(false)
        let stuck = finishes(within: 0.2) {
            while !release.load(ordering: .acquiring) { usleep(1_000) }
        }
        release.store(true, ordering: .releasing)
        #expect(!stuck)
    }

    @Test func waitUntilTimesOut() {
        #expect(waitUntil(seconds: 1) { true })
        #expect(!waitUntil(seconds: 0.05) { false })
    }

    @Test func runThreadsRunsEveryIndexConcurrently() {
        // Every thread waits inside for all the others: only a start gate
        // that really runs them at once lets this finish.
        let inside = Atomic<Int>(0)
        let seen = EventLog<Int>()
        let ok = finishes(within: 10) {
            runThreads(6) { i in
                seen.append(i)
                inside.wrappingAdd(1, ordering: .acquiringAndReleasing)
                while inside.load(ordering: .acquiring) < 6 { sched_yield() }
            }
        }
        #expect(ok)
        #expect(seen.events.sorted() == Array(0..<6))
    }

    @Test func testLockExcludes() {
        let lock = TestLock()
        let counter = UnprotectedCounter()
        runThreads(4) { _ in
            for _ in 0..<10_000 { lock.withLock { counter.value += 1 } }
        }
        #expect(counter.value == 40_000)
    }

    @Test func testLockLockAndUnlockExclude() {
        let lock = TestLock()
        let counter = UnprotectedCounter()
        runThreads(4) { _ in
            for _ in 0..<10_000 {
                lock.lock()
                counter.value += 1
                lock.unlock()
            }
        }
        #expect(counter.value == 40_000)
    }

    @Test func startGateHoldsEveryoneUntilAllArrive() {
        let gate = StartGate(parties: 3)
        let passed = Atomic<Int>(0)
        for _ in 0..<2 {
            spawnThread {
                gate.arriveAndWait()
                passed.wrappingAdd(1, ordering: .relaxed)
            }
        }
        usleep(50_000)
        #expect(passed.load(ordering: .relaxed) == 0, "a thread passed the gate before the last party arrived")
        gate.arriveAndWait()
        #expect(waitUntil { passed.load(ordering: .relaxed) == 2 })
    }

    @Test func eventLogKeepsEveryEventInOrderPerThread() {
        let log = EventLog<Int>()
        runThreads(4) { t in for i in 0..<1_000 { log.append(t * 1_000 + i) } }
        let events = log.events
        #expect(events.count == 4_000)
        for t in 0..<4 {
            let mine = events.filter { $0 / 1_000 == t }
            #expect(mine == Array((t * 1_000)..<((t + 1) * 1_000)))
        }
    }

    @Test func stressIterationsScalesAndNeverReachesZero() {
        let scale = ProcessInfo.processInfo.environment["FOLIO_STRESS_SCALE"].flatMap(Double.init) ?? 1
        #expect(stressIterations(1_000) == max(1, Int(1_000 * scale)))
        #expect(stressIterations(0) == 1)
    }

    @Test func temporaryDirectoriesAreFreshDistinctAndWritable() throws {
        let a = temporaryDirectory(), b = temporaryDirectory()
        #expect(a != b)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: a, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(try FileManager.default.contentsOfDirectory(atPath: a).isEmpty)
        try "x".write(toFile: a + "/f", atomically: true, encoding: .utf8)
        #expect(FileManager.default.fileExists(atPath: a + "/f"))
        #expect(!FileManager.default.fileExists(atPath: b + "/f"))
        try? FileManager.default.removeItem(atPath: a)
        try? FileManager.default.removeItem(atPath: b)
    }

    @Test func testWordsHaveDistinctStableKeys() {
        let a = TestWord(), b = TestWord()
        #expect(a.key == a.key)
        #expect(a.key != b.key)
        #expect(a.bits == 0)
        // The flavours the lock tests iterate over are four different locks.
        #expect(Set(BitFlavour.all.map(\.description)).count == BitFlavour.all.count)
    }
}
