@_spi(FolioInternals) @testable import FolioCache
import FolioLocks
import FolioTestSupport
import Synchronization
import Testing

/// The byte budget under load: eight threads missing at once — four scanning
/// in reads of a quarter of the budget (64 KiB folios by readahead), four
/// reading random pages — over a file four times the budget. The resident
/// bytes may exceed the budget only by the folios in flight: at most one per
/// thread. (Room is made before each folio is added, not once per read:
/// with reclaim only at the end of each read, the scanners alone took the
/// cache to 1.6–2× the budget.)
@Suite struct BudgetBoundTests {
    @Test(arguments: testedStrategies, [4096, 65536])
    func residentBytesStayWithinOneFolioPerThreadOfTheBudget(_ kind: LockStrategyKind, pageSize: Int) throws {
        let seed = testSeed()
        let budget = pageSize << 8, threads = 8
        let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(
            pageSize: pageSize, capacity: budget, evictionPolicy: .lru, maxFolioOrder: 4))
        let size = 4 * budget
        let file = try cache.open(backend: MemoryBackend(path: "budget-\(kind.rawValue)", contents: [UInt8](repeating: 3, count: size)))
        let largest = pageSize << 4
        let operations = stressIterations(300)
        let failures = Atomic<Int>(0)
        runThreads(threads) { t in
            var rng = SplitMix64(seed: seed &+ UInt64(t))
            var scan = Int(rng.next() % UInt64(size / pageSize)) * pageSize
            let scanRead = budget / 4
            for _ in 0..<operations {
                let offset: Int, count: Int
                if t < threads / 2 {
                    offset = scan
                    count = min(scanRead, size - scan)
                    scan = (scan + count) % size
                } else {
                    offset = Int(rng.next() % UInt64(size / pageSize)) * pageSize
                    count = pageSize
                }
                do {
                    if try file.read(count: count, at: Int64(offset)).count != count { failures.add(1, ordering: .relaxed) }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        let s = cache.statistics
        let bound = budget + threads * largest
        print("BudgetBoundTests \(kind) \(pageSize >> 10) KiB pages seed \(seed): peak \(s.peakResidentBytes) B = \(String(format: "%.2f", Double(s.peakResidentBytes) / Double(budget)))× the budget (bound \(String(format: "%.2f", Double(bound) / Double(budget)))×), \(threads) threads, readahead folios \(s.readaheadFolios), evictions \(s.evictions), skips \(s.reclaimSkips)")
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(s.peakResidentBytes <= bound, "\(kind) seed \(seed): peak \(s.peakResidentBytes) over the bound \(bound)")
        try file.close()
    }
}
