import FolioCache
@testable import FolioLoadKit
import FolioTestSupport
import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `folio-load run --repeat N`: interleaved engines, medians and ranges.
@Suite struct RepeatTests {
    static func result(_ strategy: String, ops: Double, p99: UInt64, wait: UInt64 = 10, perThread: [UInt64] = [1, 1]) -> LoadResult {
        LoadResult(workload: "zipf", strategy: strategy, threads: 2, seconds: 1, operations: UInt64(ops), opsPerSecond: ops,
                   megabytesPerSecond: ops / 1000, latencyNs: Percentiles(p50: 10, p99: p99, p999: 2 * p99, max: 3 * p99),
                   lockWaitNs: Percentiles(p50: 1, p99: 2, p999: 3, max: wait), lockStatisticsAvailable: true,
                   perThreadOps: perThread, minThreadOps: perThread.min() ?? 0, maxThreadOps: perThread.max() ?? 0,
                   jainIndex: 1, countsAddUp: true, hitRatio: nil, misses: 0, evictions: 0, slowAcquisitions: 0, parks: 0,
                   handoffs: 0, steals: 0, maxOvertaken: 0, cpuSeconds: 1, verification: nil, job: nil)
    }

    @Test func medianOfOddAndEvenCounts() throws {
        let odd = try #require(Spread([5, 1, 3]))
        #expect(odd == Spread(repeats: 3, median: 3, min: 1, max: 5))
        let even = try #require(Spread([4, 1, 10, 2]))
        #expect(even == Spread(repeats: 4, median: 3, min: 1, max: 10), "the mean of the two middle values")
        #expect(Spread([7]) == Spread(repeats: 1, median: 7, min: 7, max: 7))
        #expect(Spread([]) == nil)
    }

    @Test func combiningPutsMediansInTheFieldsAndTheRangeInSpread() throws {
        // Odd: the median run (ops 200) gives perThreadOps; p99's median is
        // taken on its own (30), not from the median run (10).
        let odd = LoadResult.combining([
            Self.result("fair", ops: 100, p99: 30, perThread: [40, 60]),
            Self.result("fair", ops: 300, p99: 50, perThread: [150, 150]),
            Self.result("fair", ops: 200, p99: 10, perThread: [90, 110]),
        ])
        #expect(odd.opsPerSecond == 200 && odd.operations == 200)
        #expect(odd.latencyNs.p99 == 30 && odd.latencyNs.max == 90)
        #expect(odd.perThreadOps == [90, 110], "from the median run")
        #expect(odd.repeats == 3)
        let ops = try #require(odd.spread?["opsPerSecond"])
        #expect(ops == Spread(repeats: 3, median: 200, min: 100, max: 300))
        #expect(odd.spread?["latencyNs.p99"] == Spread(repeats: 3, median: 30, min: 10, max: 50))
        #expect(odd.spread?["hitRatio"] == nil, "a figure the runs lack has no spread")
        // Even: the mean of the middle two; an integer field rounds.
        let even = LoadResult.combining([
            Self.result("fair", ops: 100, p99: 11), Self.result("fair", ops: 400, p99: 20),
            Self.result("fair", ops: 201, p99: 40), Self.result("fair", ops: 300, p99: 10),
        ])
        #expect(even.opsPerSecond == 250.5)
        #expect(even.spread?["operations"] == Spread(repeats: 4, median: 250.5, min: 100, max: 400))
        #expect(even.operations == 251, "250.5 rounded to the nearest integer")
        #expect(even.latencyNs.p99 == 16 && even.spread?["latencyNs.p99"]?.median == 15.5)
        // One run is unchanged: no repeats, no spread.
        let one = Self.result("fair", ops: 7, p99: 1)
        #expect(LoadResult.combining([one]) == one)
        // A failure in any run is the combined result's.
        var bad = Self.result("fair", ops: 1, p99: 1)
        bad.verification = "failed: page 3"
        var good = bad
        good.verification = "ok"
        #expect(LoadResult.combining([good, bad, good]).verification == "failed: page 3")
    }

    /// The order the runner starts the measurements in (its progress
    /// labels): per thread count, every engine once per round.
    @Test func enginesRunInterleaved() throws {
        var p = RunParameters()
        p.workloads = [.zipf]
        p.engines = [.folio(.perPageBit), .folio(.fair), .mutexDict]
        p.threads = [1, 2]
        p.repeats = 3
        p.duration = .milliseconds(15)
        p.warmup = .milliseconds(2)
        p.fileSize = 128 << 10
        p.workingSet = 64 << 10
        let labels = EventLog<String>()
        let report = try Runner(parameters: p, progress: { n, total, label in
            labels.append("\(n)/\(total) \(label)")
        }).run()
        var expected: [String] = []
        for t in [1, 2] {
            for round in 1...3 {
                for e in ["per-page-bit", "fair", "mutex-dict"] {
                    expected.append("\(expected.count + 1)/18 zipf \(e) \(t) thread\(t == 1 ? "" : "s") (repeat \(round)/3)")
                }
            }
        }
        #expect(labels.events == expected)
        // Reported as one run would be: engine by engine, then threads.
        #expect(report.results.map { "\($0.strategy) \($0.threads)" }
                == ["per-page-bit 1", "per-page-bit 2", "fair 1", "fair 2", "mutex-dict 1", "mutex-dict 2"])
        for r in report.results {
            #expect(r.repeats == 3)
            let ops = try #require(r.spread?["opsPerSecond"], "\(r.strategy)")
            #expect(ops.repeats == 3 && ops.min <= ops.median && ops.median <= ops.max && ops.min > 0)
            #expect(r.opsPerSecond == ops.median)
            #expect(r.countsAddUp)
        }
        #expect(report.parameters["repeat"] == "3")
    }

    @Test func oneRepeatIsTodaysRun() throws {
        let (status, out, err) = folioLoad(["run", "--workload", "zipf", "--strategy", "fair,barging", "--threads", "1,2",
                                            "--repeat", "1", "--format", "json"] + tiny)
        #expect(status == 0, "\(err)")
        #expect(!out.contains("\"spread\"") && !out.contains("\"repeats\""))
        let report = try LoadReport.decode(json: Data(out.utf8), source: "stdout")
        #expect(report.results.map { "\($0.strategy) \($0.threads)" } == ["fair 1", "fair 2", "barging 1", "barging 2"])
        #expect(report.parameters["repeat"] == nil)
    }

    /// Through the command: the JSON has the spread, decodes back equal,
    /// and `compare` divides medians (not the mean, not the first run).
    @Test func jsonRoundTripAndCompareUsesMedians() throws {
        func report(_ ops: [Double]) -> LoadReport {
            LoadReport(host: .init(cpus: 2, memoryBytes: 1 << 30), parameters: ["repeat": String(ops.count)],
                       results: [LoadResult.combining(ops.map { Self.result("fair", ops: $0, p99: 100) })])
        }
        let a = report([100, 300, 200])          // median 200, mean 200, first 100
        let b = report([50, 400, 410, 390, 395]) // median 395, mean 329, first 50
        let dir = temporaryDirectory()
        try a.json().write(toFile: dir + "/a.json", atomically: true, encoding: .utf8)
        try b.json().write(toFile: dir + "/b.json", atomically: true, encoding: .utf8)
        let decoded = try LoadReport.decode(json: try Data(contentsOf: URL(fileURLWithPath: dir + "/b.json")), source: "b.json")
        #expect(decoded == b)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(b.json().utf8)) as? [String: Any])
        let first = try #require((object["results"] as? [[String: Any]])?.first)
        #expect(first["repeats"] as? Int == 5)
        let ops = try #require((first["spread"] as? [String: Any])?["opsPerSecond"] as? [String: Any])
        #expect(ops["repeats"] as? Int == 5 && ops["median"] as? Double == 395 && ops["min"] as? Double == 50 && ops["max"] as? Double == 410)
        #expect(first["opsPerSecond"] as? Double == 395, "the old field holds the median")
        let (status, out, err) = folioLoad(["compare", dir + "/a.json", dir + "/b.json"])
        #expect(status == 0, "\(err)")
        #expect(out.contains("1.98"), "395 / 200: \(out)")
        #expect(out.contains("medians: A of 3 runs per point, B of 5"), "\(out)")
    }

    @Test(arguments: ["0", "-1", "two", "1.5", "", "1001"])
    func aBadRepeatIsAnError(_ value: String) {
        let (status, out, err) = folioLoad(["run", "--workload", "zipf", "--strategy", "fair", "--threads", "1", "--repeat", value] + tiny)
        #expect(status == 2, "--repeat \(value): status \(status)")
        #expect(out.isEmpty)
        #expect(err.contains("--repeat '\(value)': expected a whole number of runs from 1 to 1000"), "\(err)")
        #expect(throws: LoadError.badArgument("--repeat '\(value)': expected a whole number of runs from 1 to 1000")) {
            try RunOptions.parse(["--repeat", value]).resolve()
        }
    }

    @Test func aJobFileRepeats() throws {
        let dir = temporaryDirectory()
        let path = dir + "/r.fio"
        try """
            [global]
            strategy=fair,barging
            threads=1
            duration=10ms
            warmup=2ms
            file-size=128KiB
            working-set=64KiB
            repeat=2
            [reads]
            workload=zipf
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, out, err) = folioLoad(["run", "--job", path, "--format", "json", "--quiet"])
        #expect(status == 0, "\(err)")
        let report = try LoadReport.decode(json: Data(out.utf8), source: "stdout")
        #expect(report.results.map(\.repeats) == [2, 2])
        #expect(report.results.allSatisfy { $0.spread?["opsPerSecond"]?.repeats == 2 })
        try "[j]\nworkload=zipf\nrepeat=0\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (s2, _, e2) = folioLoad(["run", "--job", path, "--quiet"])
        #expect(s2 == 2 && e2.contains("[j]") && e2.contains("--repeat '0'"), "\(e2)")
    }

    @Test func textShowsRangesAndThePlotHasWhiskers() throws {
        let combined = LoadResult.combining([Self.result("fair", ops: 1000, p99: 30), Self.result("fair", ops: 3000, p99: 50),
                                             Self.result("fair", ops: 2000, p99: 10)])
        var one = combined
        one.threads = 1
        let report = LoadReport(host: .init(cpus: 2, memoryBytes: 1 << 30), parameters: [:], results: [one, combined])
        let text = report.textTable()
        #expect(text.contains("2000 [1000–3000]"), "\(text)")
        #expect(text.contains("30 [10–50]"), "\(text)")
        #expect(text.contains("the median of 3 runs"), "\(text)")
        let csv = report.csv()
        #expect(!csv.contains("["), "the CSV holds the medians only: \(csv)")
        let svg = SVGPlot.render(report)
        #expect(XMLParser(data: Data(svg.utf8)).parse())
        #expect(svg.components(separatedBy: "class=\"range\"").count - 1 == 4, "a whisker per point and panel")
        #expect(svg.contains("medians of 3 interleaved runs"))
    }
}
