import FolioCache
@testable import FolioLoadKit
import FolioTestSupport
import Foundation
import Testing

/// The text corpus: the bytes this machine kind has, checked against the
/// constants; real text; and a corpus that differs is refused by name.
@Suite struct TextCorpusTests {
    @Test func fnv1a64MatchesTheReferenceVectors() {
        // From the FNV reference (Fowler/Noll/Vo test suite).
        #expect(FNV1a64.hash([]) == 0xCBF2_9CE4_8422_2325)
        #expect(FNV1a64.hash(Array("a".utf8)) == 0xAF63_DC4C_8601_EC8C)
        #expect(FNV1a64.hash(Array("foobar".utf8)) == 0x8594_4171_F739_67E8)
        #expect(FNV1a64.hex(0xAB) == "0x00000000000000ab")
    }

    @Test func theCorpusMatchesItsFingerprint() throws {
        let corpus = try TextCorpus.shared.get()
        #expect(corpus.bytes.count == TextCorpus.expectedLength)
        #expect(FNV1a64.hash(corpus.bytes) == TextCorpus.expectedFingerprint)
        #expect(TextCorpus.manifest.reduce(0) { $0 + $1.length } == TextCorpus.expectedLength)
        let paths = TextCorpus.manifest.map(\.path)
        #expect(paths == paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, "sorted path order")
        #expect(!paths.contains { $0.hasPrefix("usr/include") }, "never /usr/include")
        #expect(paths.contains("usr/share/common-licenses/GPL-3") && !paths.contains("usr/share/common-licenses/GPL"),
                "licenses, symbolic links skipped")
        #expect(paths.contains { $0.hasPrefix("opt/swift/usr/include/") && $0.hasSuffix(".h") })
    }

    @Test func theCorpusIsText() throws {
        let bytes = try TextCorpus.shared.get().bytes
        #expect(!bytes.contains(0), "no NUL bytes: nothing binary")
        let printable = bytes.filter { (0x20...0x7E).contains($0) || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }.count
        #expect(Double(printable) / Double(bytes.count) > 0.999, "\(printable) of \(bytes.count) bytes printable ASCII")
        #expect(String(validating: bytes, as: UTF8.self) != nil, "valid UTF-8")
        let words = bytes.split { !(0x41...0x5A).contains($0) && !(0x61...0x7A).contains($0) }.count
        #expect(words > bytes.count / 12, "words: \(words)")
        // Compressible as text is (LZ4 keeps well under half of each 64 KiB
        // chunk), unlike random bytes (below).
        var total = 0, compressed = 0
        for start in stride(from: 0, to: bytes.count - 65_536, by: 65_536) {
            let chunk = Array(bytes[start..<start + 65_536])
            let c = try #require(try LZ4Block.compress(chunk), "chunk at \(start) incompressible")
            total += chunk.count
            compressed += c.count
        }
        #expect(Double(total) / Double(compressed) > 2.0, "LZ4 ratio \(Double(total) / Double(compressed))")
    }

    /// A copy of the corpus under another root loads; a changed, missing or
    /// extra file is refused with an error naming it.
    @Test func aCorpusThatDiffersIsRefusedByName() throws {
        let root = temporaryDirectory()
        for e in TextCorpus.manifest {
            let to = root + "/" + e.path
            try FileManager.default.createDirectory(atPath: (to as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "/" + e.path, toPath: to)
        }
        // A symbolic link is not part of the corpus.
        try FileManager.default.createSymbolicLink(atPath: root + "/usr/share/common-licenses/GPL", withDestinationPath: "GPL-3")
        #expect(try TextCorpus.load(root: root).bytes == TextCorpus.shared.get().bytes)

        func failure() -> TextCorpusError? {
            do { _ = try TextCorpus.load(root: root); return nil } catch { return error }
        }
        let bsd = root + "/usr/share/common-licenses/BSD"
        let original = try Data(contentsOf: URL(fileURLWithPath: bsd))
        try (original + Data("!".utf8)).write(to: URL(fileURLWithPath: bsd))
        guard case .filesDiffer(let changed)? = failure() else { Issue.record("a changed file loaded"); return }
        #expect(changed.count == 1)
        guard case .changed(let path, 1499, _, 1500, _)? = changed.first else { Issue.record("\(changed)"); return }
        #expect(path == bsd)
        #expect("\(TextCorpusError.filesDiffer(changed))".contains(bsd + " differs: 1500 bytes"))

        try original.write(to: URL(fileURLWithPath: bsd))
        try FileManager.default.removeItem(atPath: root + "/usr/share/common-licenses/MPL-2.0")
        try "int x;\n".write(toFile: root + "/opt/swift/usr/include/extra.h", atomically: true, encoding: .utf8)
        guard case .filesDiffer(let two)? = failure() else { Issue.record("a missing file loaded"); return }
        #expect(two.contains { if case .missing(let p, 16726, _) = $0 { p.hasSuffix("/MPL-2.0") } else { false } }, "\(two)")
        #expect(two.contains { if case .unexpected(let p, 7, _) = $0 { p.hasSuffix("/extra.h") } else { false } }, "\(two)")

        // The whole-corpus constant is checked too.
        try FileManager.default.removeItem(atPath: root + "/opt/swift/usr/include/extra.h")
        try FileManager.default.copyItem(atPath: "/usr/share/common-licenses/MPL-2.0", toPath: root + "/usr/share/common-licenses/MPL-2.0")
        #expect(throws: TextCorpusError.self) { try TextCorpus.load(root: root, expectedFingerprint: 1) }

        // Through the tool: exit status 2 and a message naming the option.
        let e = LoadError.corpus(.filesDiffer(changed))
        #expect(e.exitStatus == 2)
        #expect(e.description.contains("--data text") && e.description.contains(bsd) && e.description.contains("--data pattern, random or zeros"))
    }
}

/// `--data`: what the files hold after a run through the engine.
@Suite struct DataTests {
    static let pageSize = 4096

    static func parameters(_ data: DataKind, fileSize: Int, workload: Workload = .zipf) -> RunParameters {
        var p = RunParameters()
        p.data = data
        p.fileSize = fileSize
        p.workingSet = 64 << 10
        p.workloads = [workload]
        p.threads = [2]
        p.duration = .milliseconds(30)
        p.warmup = .milliseconds(5)
        p.cache.maxFolioOrder = 4
        return p
    }

    /// Creates the files, runs `workload` on them with `spec`, and returns
    /// file 0 as it is afterwards (the engine shut down: written back).
    static func fileAfterRun(_ p: RunParameters, spec: EngineSpec = .folio(.hybridFair)) throws -> [UInt8] {
        let driver = try WorkloadDriver(workload: p.workloads[0], parameters: p, trace: nil)
        let dir = temporaryDirectory()
        let paths = try driver.prepareFiles(in: dir)
        let result = try Runner(parameters: p).measure(driver, spec: spec, threads: 2, paths: paths)
        #expect(result.operations > 0)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: paths[0])))
    }

    @Test func textFilesHoldTheCorpusRepeated() throws {
        let corpus = try TextCorpus.shared.get().bytes
        let size = 1 << 20  // larger than the corpus: it wraps once
        #expect(size > corpus.count)
        let file = try Self.fileAfterRun(Self.parameters(.text, fileSize: size))
        #expect(file.count == size)
        #expect(file[0..<corpus.count].elementsEqual(corpus), "file 0 starts with the corpus")
        #expect(file[corpus.count...].elementsEqual(corpus[0..<(size - corpus.count)]), "and repeats it")
    }

    @Test func randomFilesAreSeededAndIncompressible() throws {
        var p = Self.parameters(.random, fileSize: 256 << 10)
        let file = try Self.fileAfterRun(p)
        #expect(file.count == 256 << 10)
        // Incompressible, also across pages (a large folio's worth at once).
        for start in stride(from: 0, to: file.count, by: 65_536) {
            #expect(try LZ4Block.compress(Array(file[start..<start + 65_536])) == nil, "64 KiB at \(start) compressed")
        }
        let pages = stride(from: 0, to: file.count, by: Self.pageSize).map { Array(file[$0..<$0 + Self.pageSize]) }
        #expect(Set(pages).count == pages.count, "no two pages alike")
        var histogram = [Int](repeating: 0, count: 256)
        for b in file { histogram[Int(b)] += 1 }
        #expect(histogram.min()! > 700 && histogram.max()! < 1350, "byte frequencies: \(histogram.min()!)…\(histogram.max()!)")
        // The same seed gives the same bytes (here through another engine);
        // another seed, others.
        #expect(try Self.fileAfterRun(p, spec: .os) == file)
        p.seed = 7
        #expect(try Self.fileAfterRun(p, spec: .os) != file)
    }

    @Test func zerosFilesAreZeros() throws {
        let file = try Self.fileAfterRun(Self.parameters(.zeros, fileSize: 256 << 10))
        #expect(file.count == 256 << 10 && file.allSatisfy { $0 == 0 })
    }

    /// Writers write data of the kind too: after range-writers over zeros
    /// the file is still zeros (the old byte-per-thread buffers would show),
    /// and over text every page is a page of the corpus.
    @Test func writersWriteDataOfTheKind() throws {
        let zeros = try Self.fileAfterRun(Self.parameters(.zeros, fileSize: 256 << 10, workload: .rangeWriters))
        #expect(zeros.allSatisfy { $0 == 0 }, "a writer wrote something else than zeros")
        let text = try Self.fileAfterRun(Self.parameters(.text, fileSize: 256 << 10, workload: .rangeWriters))
        let corpus = Data(try TextCorpus.shared.get().bytes)
        let twice = corpus + corpus
        let foreign = stride(from: 0, to: text.count, by: Self.pageSize).filter { twice.range(of: Data(text[$0..<$0 + Self.pageSize])) == nil }
        #expect(foreign.isEmpty, "pages that are not corpus text: \(foreign.map { $0 / Self.pageSize })")
        let pattern = try Self.fileAfterRun(Self.parameters(.pattern, fileSize: 256 << 10, workload: .zipf))
        for page in [0, 1, 63] { #expect(pattern[page * Self.pageSize] == UInt8(truncatingIfNeeded: page * 31), "pattern: the default as before") }
    }

    /// The verifying workloads write their own stamps: they still verify
    /// whatever `--data` says.
    @Test func stampedWorkloadsStillVerify() throws {
        for data in ["text", "random", "zeros"] {
            let (status, out, err) = folioLoad(["run", "--workload", "truncate-race,hammer", "--strategy", "per-range,mutex-dict", "--threads", "3",
                                                "--data", data, "--format", "json"] + tiny)
            #expect(status == 0, "\(data): \(err)")
            let report = try LoadReport.decode(json: Data(out.utf8), source: "stdout")
            #expect(report.results.count == 4 && report.results.allSatisfy { $0.verification == "ok" }, "\(data)")
            #expect(report.parameters["data"] == data)
        }
    }

    @Test func optionsCarryDataCompressionAndFolioOrder() throws {
        var p = try RunOptions.parse(["--data", "random", "--compression", "on", "--max-folio-order", "3"]).resolve()
        #expect(p.data == .random && p.cache.compression.enabled && p.cache.maxFolioOrder == 3)
        #expect(p.described["compression"] == "on" && p.described["max-folio-order"] == "3" && p.described["data"] == "random")
        p = try RunOptions.parse([]).resolve()
        #expect(p.data == .pattern && !p.cache.compression.enabled, "defaults: today's pattern, compression off")
        #expect(p.described["data-corpus"] == nil)
        p = try RunOptions.parse(["--data", "text"]).resolve()
        #expect(p.described["data-corpus"] == "\(TextCorpus.expectedLength) bytes, FNV-1a 64 \(FNV1a64.hex(TextCorpus.expectedFingerprint))")
        // The configuration file's [compression] enabled and max-folio-order;
        // the flags override them.
        let path = temporaryDirectory() + "/c.toml"
        try "[cache]\nmax-folio-order = 2\n[compression]\nenabled = true\n".write(toFile: path, atomically: true, encoding: .utf8)
        p = try RunOptions.parse(["--config", path]).resolve()
        #expect(p.cache.compression.enabled && p.cache.maxFolioOrder == 2)
        p = try RunOptions.parse(["--config", path, "--compression", "off", "--max-folio-order", "4"]).resolve()
        #expect(!p.cache.compression.enabled && p.cache.maxFolioOrder == 4)
        // A job file's bad value names the job and the value.
        let job = temporaryDirectory() + "/j.fio"
        try "[j]\nworkload=zipf\ndata=lorem\n".write(toFile: job, atomically: true, encoding: .utf8)
        let (status, _, err) = folioLoad(["run", "--job", job, "--quiet"])
        #expect(status == 2 && err.contains("[j]") && err.contains("--data 'lorem'"), "\(err)")
    }
}

/// The large-folio and compression fields (schema version 2).
@Suite struct LargeFolioFieldTests {
    static let newFields = ["collapses", "collapseAborts", "splits", "readaheadFolios", "compressedFolios", "logicalBytes",
                            "residentBytes", "effectiveCapacity", "checksumFailures"]

    @Test func everyFolioResultHasTheFieldsAndBaselinesDoNot() throws {
        let (status, out, err) = folioLoad(["run", "--workload", "scan", "--strategy", "per-page-bit,per-inode,os,mutex-dict", "--threads", "1",
                                            "--max-folio-order", "4", "--compression", "on", "--format", "json"] + tiny)
        #expect(status == 0, "\(err)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(object["schemaVersion"] as? Int == 2)
        #expect(LoadReport.currentSchemaVersion == 2)
        let parameters = try #require(object["parameters"] as? [String: String])
        #expect(parameters["compression"] == "on" && parameters["max-folio-order"] == "4" && parameters["data"] == "pattern")
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.count == 4)
        for r in results {
            let strategy = r["strategy"] as? String ?? "?"
            #expect(r["bytesSaved"] == nil, "bytesSaved is gone in version 2")
            if strategy == "os" || strategy == "mutex-dict" {
                for f in Self.newFields { #expect(r[f] == nil || r[f] is NSNull, "\(strategy) has \(f)") }
                continue
            }
            for f in Self.newFields { #expect(r[f] != nil && !(r[f] is NSNull), "\(strategy) lacks \(f)") }
            let aborts = try #require(r["collapseAborts"] as? [String: Any])
            #expect(Set(aborts.keys) == ["busy", "pinned", "notUptodate", "notAllCached", "dirty", "pastEOF"], "\(aborts.keys)")
            let logical = try #require(r["logicalBytes"] as? Int), resident = try #require(r["residentBytes"] as? Int)
            #expect(resident > 0 && logical >= resident, "\(strategy): \(logical) logical, \(resident) resident")
            let capacity = try #require(r["effectiveCapacity"] as? Double)
            #expect(abs(capacity - Double(logical) / Double(resident)) < 1e-9)
        }
        // And they decode into the typed report.
        let report = try LoadReport.decode(json: Data(out.utf8), source: "stdout")
        #expect(report.results.filter { $0.residentBytes != nil }.map(\.strategy) == ["per-page-bit", "per-inode"])
    }

    /// Counters are deltas over the measured phase; bytes and compressed
    /// folios are values at its end.
    @Test func countersAreDeltasAndBytesAreValues() {
        func stats(_ n: UInt64, resident: Int, logical: Int, compressed: Int) -> CacheStatistics {
            var s = CacheStatistics(residentBytes: resident, residentFolios: 1, evictionOverheadBytes: 0, misses: n, evictions: n,
                                    writebacks: 0, reclaimSkips: 0)
            s.collapses = n
            s.collapseAborts = [.busy: n, .pastEOF: 2 * n]
            s.splits = 3 * n
            s.readaheadFolios = 4 * n
            s.checksumFailures = 5 * n
            s.compressedFolios = compressed
            s.logicalBytes = logical
            return s
        }
        let c = LargeFolioCounters(stats(10, resident: 1000, logical: 2500, compressed: 7), since: stats(4, resident: 9, logical: 9, compressed: 1))
        #expect(c.collapses == 6 && c.splits == 18 && c.readaheadFolios == 24 && c.checksumFailures == 30)
        #expect(c.collapseAborts == [.busy: 6, .pinned: 0, .notUptodate: 0, .notAllCached: 0, .dirty: 0, .pastEOF: 12])
        #expect(c.residentBytes == 1000 && c.logicalBytes == 2500 && c.compressedFolios == 7 && c.effectiveCapacity == 2.5)
    }

    /// The text table shows a large-folio column only when some result makes
    /// it non-zero; the CSV always has them all.
    @Test func theTableShowsTheColumnsOnlyWhenNonZero() {
        var report = ReportTests.sample()
        let quiet = report.textTable().split(separator: "\n")[0]
        for header in ["collapses", "splits", "readahead folios", "compressed folios", "eff. capacity", "checksum failures"] {
            #expect(!quiet.contains(header), "\(header) shown with nothing to show")
        }
        let csvHeader = report.csv().split(separator: "\n")[0]
        for header in ["collapses", "collapse aborts", "splits", "readahead folios", "compressed folios", "logical MiB", "resident MiB",
                       "eff. capacity", "checksum failures"] {
            #expect(csvHeader.contains(header), "CSV lacks \(header)")
        }
        for i in report.results.indices {
            report.results[i].collapses = 0
            report.results[i].collapseAborts = ["busy": 0, "pinned": 0]
            report.results[i].residentBytes = 1 << 20
            report.results[i].logicalBytes = 1 << 20
        }
        report.results[1].collapseAborts = ["busy": 3, "pinned": 1]
        report.results[2].compressedFolios = 4
        report.results[2].logicalBytes = 3 << 20
        report.results[2].effectiveCapacity = 3
        let lines = report.textTable().split(separator: "\n")
        #expect(lines[0].contains("collapse aborts") && !lines[0].contains("collapses"), "\(lines[0])")
        #expect(lines[0].contains("compressed folios") && lines[0].contains("eff. capacity") && lines[0].contains("resident MiB"))
        #expect(!lines[0].contains("splits"))
        #expect(lines[3].contains("busy:3 pinned:1"), "\(lines[3])")
        #expect(lines[4].contains("3.00") && lines[4].contains("3.0"), "\(lines[4])")
        #expect(lines[0].hasSuffix("check"), "check stays the last column")
    }

    /// `compare` still reads version-1 reports; other versions are refused.
    @Test func versionOneReportsStillDecode() throws {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(ReportTests.sample().json().utf8)) as? [String: Any])
        object["schemaVersion"] = 1
        var results = try #require(object["results"] as? [[String: Any]])
        for i in results.indices { results[i]["bytesSaved"] = NSNull(); results[i]["collapses"] = NSNull() }
        object["results"] = results
        let v1 = try LoadReport.decode(json: try JSONSerialization.data(withJSONObject: object), source: "v1")
        #expect(v1.schemaVersion == 1 && v1.results.count == 4 && v1.results[0].residentBytes == nil)
        object["schemaVersion"] = 3
        do {
            _ = try LoadReport.decode(json: try JSONSerialization.data(withJSONObject: object), source: "v3.json")
            Issue.record("version 3 decoded")
        } catch {
            #expect("\(error)".contains("v3.json: schema version 3"), "\(error)")
        }
    }
}

/// collapse-churn: a collapser calling `compact()`, a truncater, readers and
/// writers on one file of stamped pages, for every strategy.
@Suite struct CollapseChurnTests {
    /// Every strategy (and both baselines) runs it, every run verifies, every
    /// role works, and with every Folio strategy the collapser merges runs.
    /// A run that verified but where a thread did nothing or nothing was
    /// collapsed is run again (at most three times, longer each time): on
    /// this shared 2-core machine a busy neighbour can starve a thread for
    /// a whole short run. A failed verification is never retried.
    @Test func runsForEveryStrategyAndVerifies() throws {
        var pending = EngineSpec.all.map(\.description)
        var shortfalls: [String: String] = [:]
        for attempt in 1...3 where !pending.isEmpty {
            let (status, out, err) = folioLoad(["run", "--workload", "collapse-churn", "--strategy", pending.joined(separator: ","),
                                                "--threads", "4", "--max-folio-order", "2", "--format", "json",
                                                "--duration", "\(150 * attempt)ms", "--warmup", "10ms",
                                                "--file-size", "256KiB", "--working-set", "64KiB", "--quiet"])
            #expect(status == 0, "\(err)")
            let report = try LoadReport.decode(json: Data(out.utf8), source: "stdout")
            #expect(report.results.map(\.strategy) == pending)
            for r in report.results {
                #expect(r.verification == "ok", "\(r.strategy): \(r.verification ?? "nil")")
                #expect(r.threadRoles == ["collapser", "truncater", "reader", "writer"], "\(r.strategy)")
                #expect(r.countsAddUp)
                let baseline = r.strategy == "os" || r.strategy == "mutex-dict"
                if baseline { #expect(r.collapses == nil && r.splits == nil, "\(r.strategy)") }
                if !r.perThreadOps.allSatisfy({ $0 > 0 }) {
                    shortfalls[r.strategy] = "a role did nothing: \(r.perThreadOps)"
                } else if !baseline && (r.collapses ?? 0) == 0 {
                    shortfalls[r.strategy] = "no collapse; aborts \(r.collapseAborts ?? [:])"
                } else {
                    shortfalls[r.strategy] = nil
                    pending.removeAll { $0 == r.strategy }
                }
            }
        }
        #expect(pending.isEmpty, "after three runs: \(shortfalls)")
    }

    /// The readers' judge: a page mixing two versions of itself passes only
    /// for a read path that is not atomic (the kernel's pread) while the
    /// file changed; never when it was quiet, never for an atomic path,
    /// never with another page's stamp. Rewrites never extend the file.
    @Test func theJudgeAllowsTearsOnlyWhereTheyAreLegal() throws {
        let pageSize = 512
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 16)
        defer { buffer.deallocate() }
        func mixed(_ page: Int, _ other: Int) {
            Stamp.fill(buffer, page: page, version: 1)
            let half = UnsafeMutableRawBufferPointer(rebasing: buffer[256...])
            Stamp.fill(half, page: other, version: 2)
        }
        func judged(tearable: Bool, quiet: Bool, other: Int = 2) throws -> String? {
            let shared = WorkloadShared(pages: 4)
            // Versions 1 and 2 of page 2 were written.
            try shared.write(2) { (_: UInt64) throws(LoadError) in }
            try shared.write(2) { (_: UInt64) throws(LoadError) in }
            mixed(2, other)
            let before = shared.snapshot(2)
            if !quiet { try shared.write(2) { (_: UInt64) throws(LoadError) in } }
            let after = shared.snapshot(2)
            shared.judge(2, ok: true, bytes: UnsafeRawBufferPointer(buffer), before: before, after: after, tearable: tearable, path: "plain read")
            return shared.verificationFailure()
        }
        #expect(try judged(tearable: true, quiet: false) == nil, "pread racing a pwrite may mix versions")
        #expect(try judged(tearable: false, quiet: false)?.contains("torn") == true, "an atomic read never")
        #expect(try judged(tearable: true, quiet: true)?.contains("torn") == true, "nor anything when nothing changed")
        #expect(try judged(tearable: true, quiet: false, other: 3)?.contains("torn") == true, "nor another page's stamp")
        #expect(try judged(tearable: false, quiet: false)?.hasSuffix("(plain read)") == true, "the path is named")

        let shared = WorkloadShared(pages: 8)
        try shared.truncate(to: 3) { () throws(LoadError) -> Bool in true }
        var wrote = false
        #expect(try shared.rewrite(5) { (_: UInt64) throws(LoadError) in wrote = true } == false)
        #expect(!wrote && shared.snapshot(5).eofPages == 3, "a rewrite past EOF does nothing")
        #expect(try shared.rewrite(1) { (_: UInt64) throws(LoadError) in wrote = true } == true)
        #expect(wrote && shared.snapshot(1).content > 0 && shared.snapshot(1).eofPages == 3)
    }
}
