import FolioCache
import FolioTestSupport
import Foundation
import Testing

/// fsx-style model test (after xfstests' fsx): a seeded random sequence of
/// read / write / truncate-down / truncate-up / flush / sync / close-reopen /
/// forced-eviction operations against a shadow byte array, checked on every
/// read, on every size query, and by reading the file from disk after each
/// close. Writes stamp their bytes with the operation number so a bad byte
/// names the operation that wrote it.
///
/// 100 000 operations per strategy by default; `FOLIO_FSX_OPS=N` sets the
/// count, `FOLIO_SOAK=1` runs 1 000 000. Replay a failure with
/// `FOLIO_SEED=<seed> swift test --filter FsxModelTests`.
struct FsxRunner {
    let kind: LockStrategyKind
    let seed: UInt64
    let operations: Int
    let pageSize = 512
    let maxFileSize = 48 * 1024
    var rng: SplitMix64
    var shadow: [UInt8] = []
    var log: [String] = []
    let path: String

    init(kind: LockStrategyKind, seed: UInt64, operations: Int) {
        self.kind = kind
        self.seed = seed
        self.operations = operations
        self.rng = SplitMix64(seed: seed)
        self.path = temporaryDirectory() + "/fsx-\(kind.rawValue)"
    }

    mutating func note(_ s: String) {
        log.append(s)
        if log.count > 30 { log.removeFirst(log.count - 30) }
    }

    func failure(_ what: String) -> String {
        "fsx \(kind.rawValue) seed=\(seed) (replay: FOLIO_SEED=\(seed)): \(what)\nlast operations:\n" + log.joined(separator: "\n")
    }

    mutating func random(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }

    /// Returns nil on success, else a failure description.
    mutating func run() -> String? {
        do {
            // A small budget (24 pages) so eviction and writeback of dirty
            // pages happen all the time.
            let cache = try AnyPageCache(
                strategy: .init(kind: kind, waitTableBuckets: 1),
                configuration: .init(pageSize: pageSize, capacity: 24 * pageSize,
                                     evictionPolicy: seed % 2 == 0 ? .sieve : .lru))
            var file = try cache.open(path: path, options: [.create, .truncate])
            for op in 1...operations {
                let choice = random(100)
                switch choice {
                case 0..<35:  // read
                    let off = random(maxFileSize + 1024)
                    let len = random(3 * pageSize)
                    note("\(op): read \(off) +\(len)")
                    let got = try file.read(count: len, at: Int64(off))
                    let expected = off >= shadow.count ? [] : Array(shadow[off..<min(shadow.count, off + len)])
                    if got != expected {
                        let i = firstDifference(got, expected)
                        return failure("read \(off) +\(len): \(got.count) bytes, expected \(expected.count); first difference at offset \(off + i): got \(i < got.count ? String(got[i]) : "end") expected \(i < expected.count ? String(expected[i]) : "end")")
                    }
                case 35..<70:  // write, stamped with the operation number
                    let off = random(maxFileSize)
                    let len = 1 + random(3 * pageSize)
                    note("\(op): write \(off) +\(len)")
                    let data = (0..<len).map { UInt8(truncatingIfNeeded: op &* 31 &+ $0 % 251) }
                    try file.write(data, at: Int64(off))
                    if shadow.count < off + len { shadow += [UInt8](repeating: 0, count: off + len - shadow.count) }
                    shadow.replaceSubrange(off..<off + len, with: data)
                case 70..<78:  // truncate down
                    let n = random(shadow.count + 1)
                    note("\(op): truncate down \(n)")
                    try file.truncate(to: Int64(n))
                    shadow.removeSubrange(n...)
                case 78..<84:  // truncate up
                    let n = shadow.count + random(4 * pageSize)
                    note("\(op): truncate up \(n)")
                    try file.truncate(to: Int64(n))
                    shadow += [UInt8](repeating: 0, count: n - shadow.count)
                case 84..<88:
                    note("\(op): flush")
                    try file.flush()
                case 88..<90:
                    note("\(op): sync")
                    try file.sync()
                case 90..<94:  // forced eviction
                    let keep = random(12) * pageSize
                    note("\(op): evict to \(keep) bytes")
                    cache.shrink(toBytes: keep)
                case 94..<96:  // close, check the disk, reopen
                    note("\(op): close + reopen")
                    try file.close()
                    let disk = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
                    if disk != shadow {
                        let i = firstDifference(disk, shadow)
                        return failure("after close the file on disk has \(disk.count) bytes, expected \(shadow.count); first difference at \(i)")
                    }
                    if cache.statistics.residentBytes != 0 { return failure("close left \(cache.statistics.residentBytes) bytes resident") }
                    file = try cache.open(path: path, options: [])
                default:
                    note("\(op): size")
                    let s = try file.size()
                    if s != Int64(shadow.count) { return failure("size \(s), expected \(shadow.count)") }
                }
                if cache.statistics.residentBytes > 24 * pageSize {
                    return failure("resident \(cache.statistics.residentBytes) bytes exceeds the 24-page budget after a single-threaded operation")
                }
            }
            try file.close()
            let disk = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
            if disk != shadow { return failure("final file on disk differs from the model (\(disk.count) vs \(shadow.count) bytes)") }
            try? FileManager.default.removeItem(atPath: path)
            return nil
        } catch {
            return failure("threw \(error)")
        }
    }
}

/// Index of the first differing byte (or the shorter length).
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
    for i in 0..<min(a.count, b.count) where a[i] != b[i] { return i }
    return min(a.count, b.count)
}

@Suite struct FsxModelTests {
    static var operations: Int {
        let env = ProcessInfo.processInfo.environment
        if let n = env["FOLIO_FSX_OPS"].flatMap(Int.init), n > 0 { return n }
        return env["FOLIO_SOAK"] == "1" ? 1_000_000 : 100_000
    }

    @Test(arguments: LockStrategyKind.allCases)
    func randomOperationsMatchTheModel(_ kind: LockStrategyKind) {
        let seed = testSeed()
        print("FsxModelTests \(kind.rawValue): seed=\(seed) operations=\(Self.operations)")
        var runner = FsxRunner(kind: kind, seed: seed, operations: Self.operations)
        if let failure = runner.run() {
            Issue.record(Comment(rawValue: failure))
        }
    }
}
