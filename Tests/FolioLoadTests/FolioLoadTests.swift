import FolioCache
@testable import FolioLoadKit
import FolioTestSupport
import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Runs the tool in-process; returns (status, stdout, stderr).
func folioLoad(_ args: [String]) -> (Int32, String, String) {
    let out = EventLog<String>(), err = EventLog<String>()
    let status = FolioLoad.execute(args, standardOutput: { out.append($0) }, standardError: { err.append($0) })
    return (status, out.events.joined(), err.events.joined())
}

/// A tiny, fast run of anything: small files, short phases.
let tiny = ["--duration", "30ms", "--warmup", "10ms", "--file-size", "256KiB", "--working-set", "64KiB", "--page-size", "4KiB", "--quiet"]

@Suite struct ArgumentTests {
    @Test func threadListsAndSweeps() throws {
        #expect(try ThreadCounts.parse("1,2,4,8") == [1, 2, 4, 8])
        #expect(try ThreadCounts.parse("1:16:x2") == [1, 2, 4, 8, 16])
        #expect(try ThreadCounts.parse("2:8:+2") == [2, 4, 6, 8])
        #expect(try ThreadCounts.parse("1,4:8:x2,4") == [1, 4, 8])
        for bad in ["0", "-1", "a", "1:", "8:1:x2", "1:8:x1", "1:8:*2", "1,,2", "2000"] {
            #expect(throws: LoadError.self, "\(bad)") { try ThreadCounts.parse(bad) }
        }
    }

    /// Found reading the parsers FuzzJobFile drives (a job file's
    /// `threads=` goes here): `n *= f` and `n += d` trapped on overflow when
    /// the factor or step was huge. Its corpus keeps a seed of it.
    @Test func hugeSweepFactorsAndStepsStopInsteadOfTrapping() throws {
        #expect(try ThreadCounts.parse("2:2:x9223372036854775807") == [2])
        #expect(try ThreadCounts.parse("3:1024:x4611686018427387904") == [3])
        #expect(try ThreadCounts.parse("1:1:+9223372036854775807") == [1])
        #expect(try ThreadCounts.parse("1000:1024:+9223372036854775800") == [1000])
        #expect(try ThreadCounts.parse("1024:1024:x2") == [1024])
    }

    @Test func strategies() throws {
        #expect(try EngineSpec.parseList("all") == EngineSpec.all)
        #expect(try EngineSpec.parseList("fair,hybrid-fair@1,os") == [.folio(.fair), .folio(.hybridFair, unfairness: 1), .os])
        #expect(throws: LoadError.self) { try EngineSpec.parseList("nope") }
        #expect(throws: LoadError.self) { try EngineSpec.parseList("fair@2") }
        #expect(throws: LoadError.self) { try EngineSpec.parseList("hybrid-fair@x") }
    }

    /// Bad arguments: a clear message naming the flag and exit status 2.
    @Test(arguments: [
        (["run", "--workload", "nope"], "unknown workload 'nope'"),
        (["run", "--strategy", "fast"], "unknown strategy 'fast'"),
        (["run", "--threads", "0"], "--threads '0'"),
        (["run", "--duration", "5"], "--duration '5'"),
        (["run", "--page-size", "3000"], "pageSize 3000"),
        (["run", "--format", "xml"], "--format 'xml'"),
        (["run", "--workload", "replay"], "needs --trace"),
        (["run", "--workload", "truncate-race", "--threads", "2"], "at least 3 threads"),
        (["run", "--no-such-flag"], "no-such-flag"),
        (["run", "--file-size", "10000B"], "multiple of the page size"),
        (["run", "--workload", "range-writers", "--file-size", "8KiB", "--threads", "3"], "need at least 3 pages"),
        (["run", "--config", "/nonexistent/folio.toml"], "/nonexistent/folio.toml"),
        (["compare", "/nonexistent/a.json", "/nonexistent/b.json"], "cannot read /nonexistent/a.json"),
        (["run", "--data", "lorem"], "--data 'lorem': allowed: pattern, text, random, zeros"),
        (["run", "--compression", "maybe"], "--compression 'maybe': allowed: on, off"),
        (["run", "--max-folio-order", "10"], "--max-folio-order 10: allowed: 0 to 9"),
        (["run", "--max-folio-order", "6", "--page-size", "64KiB"], "--max-folio-order 6: allowed: 0 to 5"),
    ] as [([String], String)])
    func badArgumentsExitWithStatus2(_ args: [String], _ message: String) {
        let (status, _, err) = folioLoad(args)
        #expect(status == 2, "\(args): status \(status)")
        #expect(err.contains(message), "\(args): \(err)")
    }

    @Test func collapseChurnSaysWhatItNeeds() {
        let (status, out, err) = folioLoad(["run", "--workload", "collapse-churn", "--strategy", "fair", "--threads", "4",
                                            "--max-folio-order", "0"] + tiny)
        #expect(status == 2)
        #expect(out.isEmpty)
        #expect(err.contains("--max-folio-order 1 or more"), "\(err)")
        let (s2, _, e2) = folioLoad(["run", "--workload", "collapse-churn", "--strategy", "fair", "--threads", "3", "--max-folio-order", "2"] + tiny)
        #expect(s2 == 2 && e2.contains("at least 4 threads"), "\(e2)")
        // The baselines collapse nothing and need no folio order.
        let (s3, _, e3) = folioLoad(["run", "--workload", "collapse-churn", "--strategy", "os", "--threads", "4",
                                     "--max-folio-order", "0"] + tiny)
        #expect(s3 == 0, "\(e3)")
    }

    @Test func helpExitsZero() {
        let (status, out, _) = folioLoad(["run", "--help"])
        #expect(status == 0)
        #expect(out.contains("--workload"))
    }

    @Test func aConfigFileSetsTheCacheAndTheDefaultStrategy() throws {
        let dir = temporaryDirectory()
        let path = dir + "/load.toml"
        try "[lock]\nstrategy = \"per-range\"\n[cache]\npage-size = \"8KiB\"\ncapacity = \"1MiB\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        var options = try RunOptions.parse(["--config", path])
        var p = try options.resolve()
        #expect(p.engines == [EngineSpec.folio(.perRange)])
        #expect(p.cache.pageSize == 8192 && p.cache.capacity == 1 << 20)
        options = try RunOptions.parse(["--config", path, "--strategy", "fair", "--capacity", "2MiB"])
        p = try options.resolve()
        #expect(p.engines == [EngineSpec.folio(.fair)] && p.cache.capacity == 2 << 20, "flags override the file")
        try "[cache]\npage-size = \"3000B\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (status, _, err) = folioLoad(["run", "--config", path] + tiny)
        #expect(status == 2)
        #expect(err.contains(path) && err.contains("page-size") && err.contains("3000"), "\(err)")
    }
}

@Suite struct JobFileTests {
    @Test func sectionsInheritGlobalKeys() throws {
        let jobs = try JobFile.parse("""
            ; a comment
            [global]
            threads=1,2
            duration = 30ms

            [hot]
            workload=zipf
            # another comment
            [cold]
            workload=uniform
            threads=4
            """, source: "test.fio")
        #expect(jobs.map { $0.name } == ["hot", "cold"])
        #expect(jobs[0].arguments == ["--threads", "1,2", "--duration", "30ms", "--workload", "zipf"])
        #expect(jobs[1].arguments == ["--duration", "30ms", "--workload", "uniform", "--threads", "4"])
    }

    @Test(arguments: [
        ("workload=zipf\n", "before any [section]"),
        ("[a]\nworkload\n", "expected key=value"),
        ("[a\n", "bad section header"),
        ("[global]\nthreads=1\n", "no [job] section"),
        ("[a]\noutput=x.json\n", "output option"),
        // Found reading the parser (FuzzJobFile checks every job has a
        // name): a blank name passed the `line.count > 2` check.
        ("[ ]\nworkload=zipf\n", "bad section header"),
        // Found by FuzzJobFile: a line `=` split to no parts and trapped.
        ("[a]\n=\n", "expected key=value"),
        ("[a]\n =  \n", "expected key=value"),
        ("[a]\n=zipf\n", "expected key=value"),
    ] as [(String, String)])
    func badJobFiles(_ text: String, _ message: String) {
        #expect(throws: LoadError.self) { try JobFile.parse(text, source: "j") }
        do { _ = try JobFile.parse(text, source: "j") } catch { #expect("\(error)".contains(message), "\(error)") }
    }

    /// Found by FuzzJobFile: "\r\n" is one Character, so splitting
    /// Characters at "\n" read `max-wait=200u\r\ns` as one value, and a CRLF
    /// comment line swallowed the key after it.
    @Test func crlfLineEndsAreLineBreaks() throws {
        let jobs = try JobFile.parse("[global]\r\nthreads=1\r\n[a]\r\nworkload=zipf\r\nmax-wait=200us\r\n", source: "j")
        #expect(jobs == [JobFile.Job(name: "a", arguments: ["--threads", "1", "--workload", "zipf", "--max-wait", "200us"])])
        let mixed = try JobFile.parse("[a]\nworkload=zipf\n; c\r\nthreads=4\n", source: "j")
        #expect(mixed == [JobFile.Job(name: "a", arguments: ["--workload", "zipf", "--threads", "4"])])
    }

    @Test func aJobFileRuns() throws {
        let dir = temporaryDirectory()
        let path = dir + "/two.fio"
        try """
            [global]
            strategy=per-page-bit
            threads=1
            duration=20ms
            warmup=5ms
            file-size=128KiB
            working-set=64KiB
            [reads]
            workload=zipf
            [writes]
            workload=range-writers
            threads=2
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let (status, out, err) = folioLoad(["run", "--job", path, "--format", "json", "--quiet"])
        #expect(status == 0, "\(err)")
        let report = try LoadReport.decode(json: Data(out.utf8), source: "stdout")
        #expect(report.results.map { $0.workload } == ["zipf", "range-writers"])
        #expect(report.results.map { $0.threads } == [1, 2])
        #expect(report.results.map { $0.job } == ["reads", "writes"], "results name their job")
        // A bad key in a job names the job and the flag.
        try "[j]\nworkload=zipf\nthreads=zero\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (s2, _, e2) = folioLoad(["run", "--job", path, "--quiet"])
        #expect(s2 == 2 && e2.contains("[j]") && e2.contains("zero"), "\(e2)")
    }
}

@Suite struct ReportTests {
    static func sample() -> LoadReport {
        func r(_ s: String, _ t: Int, _ ops: Double, wait: UInt64) -> LoadResult {
            LoadResult(workload: "hammer", strategy: s, threads: t, seconds: 1, operations: UInt64(ops), opsPerSecond: ops,
                       megabytesPerSecond: 1, latencyNs: Percentiles(p50: 10, p99: 100, p999: 1000, max: 5000),
                       lockWaitNs: Percentiles(p50: 1, p99: 2, p999: 3, max: wait), lockStatisticsAvailable: true,
                       perThreadOps: [UInt64(ops) / 2, UInt64(ops) / 2], minThreadOps: UInt64(ops) / 2, maxThreadOps: UInt64(ops) / 2,
                       jainIndex: 1, countsAddUp: true, hitRatio: 1, misses: 0, evictions: 0, slowAcquisitions: 0, parks: 0,
                       handoffs: 0, steals: 0, maxOvertaken: 0, cpuSeconds: 1, verification: "ok", job: nil)
        }
        return LoadReport(host: .init(cpus: 2, memoryBytes: 1 << 30), parameters: ["workload": "hammer"],
                          results: [r("barging", 1, 100, wait: 10), r("barging", 2, 200, wait: 20), r("fair", 2, 50, wait: 5), r("a<b&\"c\"", 4, 10, wait: 1)])
    }

    @Test func jsonRoundTripsAndHasTheStableFields() throws {
        let report = Self.sample()
        let text = report.json()
        #expect(try LoadReport.decode(json: Data(text.utf8), source: "x") == report)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["schemaVersion"] as? Int == 2)
        let first = try #require((object["results"] as? [[String: Any]])?.first)
        for key in ["workload", "strategy", "threads", "opsPerSecond", "latencyNs", "lockWaitNs", "perThreadOps", "jainIndex", "hitRatio"] {
            #expect(first[key] != nil, "missing \(key)")
        }
        for key in ["p50", "p99", "p999", "max"] {
            #expect((first["latencyNs"] as? [String: Any])?[key] != nil && (first["lockWaitNs"] as? [String: Any])?[key] != nil)
        }
        var wrong = object
        wrong["schemaVersion"] = 99
        let data = try JSONSerialization.data(withJSONObject: wrong)
        #expect(throws: LoadError.self) { try LoadReport.decode(json: data, source: "x") }
    }

    @Test func compareGivesRatios() {
        let a = Self.sample()
        var b = a
        b.results[1].opsPerSecond = 100   // barging, 2 threads: half
        b.results[2].lockWaitNs.max = 20  // fair: 4x the wait
        let text = LoadReport.compare(a, b, nameA: "A.json", nameB: "B.json")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("hammer") && $0.contains("barging") && $0.contains(" 2 ") && $0.contains("0.50") }, "\(text)")
        #expect(lines.contains { $0.contains("fair") && $0.contains("4.00") }, "\(text)")
    }

    @Test func compareThroughTheCommand() throws {
        let dir = temporaryDirectory()
        try Self.sample().json().write(toFile: dir + "/a.json", atomically: true, encoding: .utf8)
        try "not json".write(toFile: dir + "/b.json", atomically: true, encoding: .utf8)
        let (ok, out, _) = folioLoad(["compare", dir + "/a.json", dir + "/a.json"])
        #expect(ok == 0 && out.contains("1.00"))
        let (bad, _, err) = folioLoad(["compare", dir + "/a.json", dir + "/b.json"])
        #expect(bad == 2 && err.contains("b.json"), "\(err)")
    }

    @Test func svgIsWellFormed() throws {
        let svg = SVGPlot.render(Self.sample())
        let parser = XMLParser(data: Data(svg.utf8))
        let delegate = SVGCounter()
        parser.delegate = delegate
        #expect(parser.parse(), "SVG does not parse: \(parser.parserError.map { "\($0)" } ?? "")")
        #expect(delegate.root == "svg")
        #expect(delegate.polylines == 6, "2 panels × 3 strategies with more than one point… got \(delegate.polylines)")
        #expect(svg.contains("a&lt;b&amp;&quot;c&quot;"), "names are escaped")
    }

    @Test func textAndCSVHaveOneRowPerResult() {
        let report = Self.sample()
        let text = report.textTable().split(separator: "\n")
        #expect(text[0].contains("ops/s") && text[0].contains("p99 ns") && text[0].contains("Jain"))
        #expect(text.filter { $0.hasPrefix("hammer") }.count == 4)
        #expect(report.textTable().contains("agree in every run"))
        let csv = report.csv().split(separator: "\n")
        #expect(csv.count == 5)
        #expect(csv[4].contains("\"a<b&\"\"c\"\"\""), "quoted CSV cell: \(csv[4])")
    }
}

final class SVGCounter: NSObject, XMLParserDelegate {
    var root: String?
    var polylines = 0
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if root == nil { root = name }
        if name == "polyline" { polylines += 1 }
    }
}

/// Every workload in a tiny run against a Folio engine and the baselines:
/// the counts are consistent and the verifying workloads pass.
@Suite struct WorkloadRunTests {
    @Test(arguments: Workload.allCases.filter { $0.unavailableReason == nil })
    func tinyRunIsConsistent(_ workload: Workload) throws {
        var extra: [String] = []
        if workload == .replay {
            let path = temporaryDirectory() + "/trace.txt"
            try "0\n1\n2\n# comment\n3\n1\n".write(toFile: path, atomically: true, encoding: .utf8)
            extra = ["--trace", path]
        }
        let threads = workload == .truncateRace ? "3" : workload == .collapseChurn ? "4" : "1,2"
        if workload == .collapseChurn { extra = ["--max-folio-order", "2"] }
        let (status, out, err) = folioLoad(["run", "--workload", workload.rawValue, "--strategy", "hybrid-fair,per-inode,os,mutex-dict",
                                            "--threads", threads, "--format", "json", "--files", "2"] + tiny + extra)
        #expect(status == 0, "\(workload): \(err)")
        let report = try LoadReport.decode(json: Data(out.utf8), source: "stdout")
        #expect(report.results.count == 4 * (workload == .truncateRace || workload == .collapseChurn ? 1 : 2))
        for r in report.results {
            #expect(r.countsAddUp, "\(workload) \(r.strategy)")
            #expect(r.perThreadOps.count == r.threads)
            #expect(r.operations == r.perThreadOps.reduce(0, +))
            #expect(r.operations > 0, "\(workload) \(r.strategy) \(r.threads): no operations")
            #expect(r.jainIndex > 0 && r.jainIndex <= 1.0000001)
            #expect(r.lockStatisticsAvailable == r.strategy.hasPrefix("hybrid") || r.lockStatisticsAvailable == r.strategy.hasPrefix("per"))
            if r.strategy == "os" { #expect(r.hitRatio == nil) } else { #expect(r.hitRatio != nil) }
            if workload.stamped || workload == .hammer { #expect(r.verification == "ok", "\(r.strategy): \(r.verification ?? "nil")") }
        }
    }

    /// The hit ratio is measured, not assumed: a budget smaller than the
    /// uniform working set misses.
    @Test func hitRatioReflectsTheBudget() throws {
        let (status, out, err) = folioLoad(["run", "--workload", "uniform", "--strategy", "per-page-bit", "--threads", "1",
                                            "--capacity", "64KiB", "--format", "json"] + tiny)
        #expect(status == 0, "\(err)")
        let r = try #require(try LoadReport.decode(json: Data(out.utf8), source: "x").results.first)
        let ratio = try #require(r.hitRatio)
        #expect(ratio < 0.6, "16 of 64 pages cached, uniform reads: hit ratio \(ratio)")
        #expect((r.evictions ?? 0) > 0)
    }

    /// `--ops N --warmup 0` (no unit needed) is exactly one cold pass over a
    /// trace of N accesses, through every eviction policy: 40 pages read
    /// twice miss 40 times when the cache holds them all and 80 times when a
    /// 16-page LRU cache cycles through them. (With a warm-up, or with
    /// operations run before the measurement starts, the first count would
    /// be lower and vary from run to run.) One-page folios: readahead
    /// would read several pages per miss.
    @Test(arguments: EvictionPolicyKind.allCases)
    func replayWithNoWarmupIsOneColdPass(_ policy: EvictionPolicyKind) throws {
        let path = temporaryDirectory() + "/twice.txt"
        try ((0..<40).map(String.init) + (0..<40).map(String.init)).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        for (pages, misses) in [(64, 40), (16, policy == .lru ? 80 : nil)] {
            let (status, out, err) = folioLoad(["run", "--workload", "replay", "--trace", path, "--strategy", "per-page-bit", "--threads", "1",
                                                "--ops", "80", "--warmup", "0", "--page-size", "4KiB", "--file-size", "160KiB", "--max-folio-order", "0",
                                                "--capacity", "\(pages * 4)KiB",
                                                "--eviction", policy.rawValue, "--format", "json", "--quiet"])
            #expect(status == 0, "\(err)")
            let r = try #require(try LoadReport.decode(json: Data(out.utf8), source: "x").results.first)
            #expect(r.operations == 80)
            if let misses { #expect(r.misses == UInt64(misses), "\(policy), \(pages) pages: \(r.misses ?? 0) misses") }
        }
    }

    @Test func operationCountMode() throws {
        let (status, out, err) = folioLoad(["run", "--workload", "zipf", "--strategy", "fair", "--threads", "2", "--ops", "500",
                                            "--format", "json", "--warmup", "5ms", "--file-size", "256KiB", "--quiet"])
        #expect(status == 0, "\(err)")
        let r = try #require(try LoadReport.decode(json: Data(out.utf8), source: "x").results.first)
        #expect(r.perThreadOps == [500, 500])
    }

    @Test func outputFilesAndPlot() throws {
        let dir = temporaryDirectory()
        let (status, out, err) = folioLoad(["run", "--workload", "hammer", "--strategy", "barging,fair", "--threads", "1,2",
                                            "--format", "csv", "--output", dir + "/r.csv", "--json", dir + "/r.json", "--plot", dir + "/r.svg"] + tiny)
        #expect(status == 0, "\(err)")
        #expect(out.isEmpty)
        let csv = try String(contentsOfFile: dir + "/r.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 5)
        let report = try LoadReport.decode(json: try Data(contentsOf: URL(fileURLWithPath: dir + "/r.json")), source: "r.json")
        #expect(report.results.count == 4)
        let svg = try Data(contentsOf: URL(fileURLWithPath: dir + "/r.svg"))
        #expect(XMLParser(data: svg).parse())
    }
}

@Suite struct TraceTests {
    @Test func bothFormats() throws {
        let pages = try Trace.parse("5\n\n# c\n7\n", source: "t", pageSize: 4096)
        #expect(pages.accesses == [.init(write: false, page: 5), .init(write: false, page: 7)])
        let csv = try Trace.parse("op,offset,length\nr,0,4096\nw,4000,200\n", source: "t", pageSize: 4096)
        #expect(csv.accesses == [.init(write: false, page: 0), .init(write: true, page: 0), .init(write: true, page: 1)])
        for bad in ["x\n", "r,1\n", "q,0,1\n", "r,-1,5\n", "r,0,0\n", ""] {
            #expect(throws: LoadError.self, "\(bad)") { try Trace.parse(bad, source: "t", pageSize: 4096) }
        }
    }

    /// Found by FuzzTrace: "\r\n" is one Character, so splitting Characters
    /// at "\n" glued a CRLF line to the next one, and a CRLF comment line
    /// swallowed the page after it without a word.
    @Test func crlfLineEndsAreLineBreaks() throws {
        let pages = try Trace.parse("# c\r\n5\r\n6\r\n", source: "t", pageSize: 4096)
        #expect(pages.accesses == [.init(write: false, page: 5), .init(write: false, page: 6)])
        let mixed = try Trace.parse("# c\r\n5\n6\n", source: "t", pageSize: 4096)
        #expect(mixed.accesses == [.init(write: false, page: 5), .init(write: false, page: 6)])
        let csv = try Trace.parse("op,offset,length\r\nr,0,4096\r\nw,4096,1\r\n", source: "t", pageSize: 4096)
        #expect(csv.accesses == [.init(write: false, page: 0), .init(write: true, page: 1)])
    }

    /// Found reading the parser (FuzzTrace checks an accepted line has one
    /// field or three): empty fields were dropped, so `r,,0,4096` was read
    /// as `r,0,4096` and `5,` as `5`.
    @Test func emptyFieldsAreRejected() {
        for bad in ["r,,0,4096\n", "5,\n", ",5\n", "r,0,4096,\n", "op,,offset,length\n5\n"] {
            #expect(throws: LoadError.self, "\(bad.debugDescription)") { try Trace.parse(bad, source: "t", pageSize: 4096) }
        }
    }
}

/// The job files shipped in docs/examples parse and resolve (so they cannot rot).
@Suite struct ExampleJobFileTests {
    static let examples: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("docs/examples").path
    }()

    @Test func everyShippedJobFileResolves() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.examples).filter { $0.hasSuffix(".fio") }.sorted()
        #expect(files == ["cache-mix.fio", "fairness.fio", "hybrid-variants.fio", "spinning.fio"])
        for f in files {
            for job in try JobFile.load(path: Self.examples + "/" + f) {
                let p = try RunOptions.parse(job.arguments).resolve()
                #expect(!p.workloads.isEmpty && !p.engines.isEmpty, "\(f) [\(job.name)]")
            }
        }
        let fairness = try JobFile.load(path: Self.examples + "/fairness.fio")
        let p = try RunOptions.parse(fairness[0].arguments).resolve()
        #expect(p.threads == [1, 2, 4, 8, 16])
        #expect(p.engines.contains(.folio(.hybridFair, unfairness: 20)))
    }
}

/// The verifiers can fail: fed a bad page they report it, and a failed
/// verification makes the command exit with status 1.
@Suite struct VerificationTests {
    @Test func truncateRaceJudgeCatchesEachKindOfBadPage() {
        let pageSize = 512
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 16)
        defer { buffer.deallocate() }
        func judged(_ fill: (UnsafeMutableRawBufferPointer) -> Void, page: Int, ok: Bool = true, eofPages: Int = 4) -> String? {
            let shared = WorkloadShared(pages: 8)
            try? shared.truncate(to: eofPages) { () throws(LoadError) -> Bool in true }
            fill(buffer)
            let s = shared.snapshot(page)
            shared.judge(page, ok: ok, bytes: UnsafeRawBufferPointer(buffer), before: s, after: s)
            return shared.verificationFailure()
        }
        #expect(judged({ Stamp.fill($0, page: 2, version: 0) }, page: 2) == nil, "a good page passes")
        #expect(judged({ Stamp.fill($0, page: 3, version: 0) }, page: 2)?.contains("wrong index") == true)
        #expect(judged({ b in Stamp.fill(b, page: 2, version: 0); b[100] ^= 1 }, page: 2)?.contains("torn") == true)
        #expect(judged({ Stamp.fill($0, page: 2, version: 7) }, page: 2)?.contains("never written") == true)
        #expect(judged({ $0.initializeMemory(as: UInt8.self, repeating: 0) }, page: 6)?.contains("past EOF") == true)
        #expect(judged({ $0.initializeMemory(as: UInt8.self, repeating: 0) }, page: 1, ok: false)?.contains("past EOF") == true,
                "a spurious end-of-file below EOF")
    }

    /// A hammer verification over a real engine whose page 0 was changed
    /// behind the threads' backs.
    @Test func hammerVerificationCatchesALostWrite() throws {
        var p = RunParameters()
        p.workloads = [.hammer]
        p.fileSize = 64 << 10
        let driver = try WorkloadDriver(workload: .hammer, parameters: p, trace: nil)
        let dir = temporaryDirectory()
        let paths = try driver.prepareFiles(in: dir)
        let engine = try OSEngine(pageSize: p.pageSize, paths: paths)
        let session = try engine.makeSession()
        let workers = [WorkerState(), WorkerState()]
        for (t, w) in workers.enumerated() {
            w.lastValue = 41
            try session.faultWrite(file: 0, page: 0, offset: 8 * t, value: 41)
        }
        #expect(try driver.verifyHammer(engine: engine, workers: workers) == nil)
        try session.faultWrite(file: 0, page: 0, offset: 8, value: 40)  // thread 1's last write "lost"
        let failure = try driver.verifyHammer(engine: engine, workers: workers)
        #expect(failure?.contains("thread 1") == true && failure?.contains("40") == true, "\(failure ?? "nil")")
        try engine.shutDown()
    }

    @Test func aFailedVerificationExitsWithStatus1() {
        var report = ReportTests.sample()
        #expect(FolioLoad.Run.verificationFailure(in: report) == nil)
        report.results[2].verification = "failed: page 3 carries the stamp of page 4"
        let failure = FolioLoad.Run.verificationFailure(in: report)
        #expect(failure?.exitStatus == 1)
        #expect("\(failure.map { "\($0)" } ?? "")".contains("page 3 carries the stamp of page 4"))
        #expect(LoadError.verificationFailed("x").exitStatus == 1)
        #expect(LoadError.engine("x").exitStatus == 1)
        #expect(LoadError.badArgument("x").exitStatus == 2)
        #expect(LoadError.unavailable("x").exitStatus == 2)
    }
}
