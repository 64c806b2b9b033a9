import FolioCache
@testable import FolioLoadKit
import FolioTestSupport
import Foundation
import Testing

/// The hit loops (HitLoops.swift) through the tool: which pages they read
/// is checked by the misses the engines count — with one-page folios every
/// page read in is one miss, and with no warm-up the read-in is measured.
@Suite struct HitLoopTests {
    /// (workload, misses over 3 operations of each of 2 threads): hit-hot
    /// reads page 0 only, hit-distinct one page per thread, hit-uniform the
    /// whole file (1024 pages) first and then nothing new.
    @Test(arguments: [("hit-hot", 1), ("hit-distinct", 2), ("hit-uniform", 1024)] as [(String, UInt64)])
    func readsTheirPagesInThenOnlyHit(_ workload: String, _ misses: UInt64) throws {
        let (status, out, err) = folioLoad(["run", "--workload", workload, "--strategy", "per-page-bit,per-range,mutex-dict",
                                            "--threads", "2", "--ops", "3", "--warmup", "0", "--file-size", "4MiB",
                                            "--capacity", "16MiB", "--max-folio-order", "0", "--format", "json", "--quiet"])
        #expect(status == 0, "\(err)")
        let report = try LoadReport.decode(json: Data(out.utf8), source: "stdout")
        #expect(report.results.count == 3)
        for r in report.results {
            #expect(r.operations == 6 && r.countsAddUp, "\(workload) \(r.strategy)")
            #expect(r.misses == misses, "\(workload) \(r.strategy): \(r.misses ?? 0) misses")
            // The read-in moves each page once; then 2 × 2 batches of 64 reads.
            let pages = workload == "hit-uniform" ? 2 * 1024 : 2
            let bytes = r.megabytesPerSecond * r.seconds * 1e6
            #expect(abs(bytes - Double((pages + 4 * WorkloadDriver.hitBatch) * 4096)) < 1, "\(workload) \(r.strategy): \(bytes) bytes")
        }
    }

    @Test func distinctPagesAreDistinctAndInTheFile() throws {
        var p = RunParameters()
        p.fileSize = 1 << 20
        let driver = try WorkloadDriver(workload: .hitDistinct, parameters: p, trace: nil)
        for threads in [1, 2, 3, 8, 256] {
            let pages = (0..<threads).map { driver.distinctPage(t: $0, threads: threads) }
            #expect(Set(pages).count == threads && pages.allSatisfy { $0 >= 0 && $0 < 256 }, "\(threads): \(pages)")
        }
        let (status, _, err) = folioLoad(["run", "--workload", "hit-distinct", "--threads", "3", "--file-size", "8KiB", "--quiet"])
        #expect(status == 2 && err.contains("3 threads need at least 3 pages"), "\(err)")
    }
}
