import FolioCache
import FolioTestSupport
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Process crashes: `folio-crash-writer` (a helper executable of this
/// package) writes stamped records through Folio, with background
/// writeback and eviction running, and reports each `sync()` that returned
/// on a pipe; the test SIGKILLs it at a seeded random moment, reopens the
/// file through a new cache and checks that every record a reported sync
/// covered is intact, byte for byte. Each kill rotates through the
/// strategies. `FOLIO_CRASH_KILLS=N` sets the number of kills (24 by
/// default). Replay with `FOLIO_SEED=<seed>`.
@Suite struct ProcessCrashTests {
    /// The helper, built beside the test bundle.
    static var helper: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("folio-crash-writer").path
    }

    /// The helper's stdout, read as it comes on another thread.
    final class Output: Sendable {
        let data = Mutex(Data())
        let done = DispatchSemaphore(value: 0)
        var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
    }

    /// The last complete "synced N" line: records 0..<N were acknowledged.
    static func acknowledged(_ data: Data) -> Int {
        let text = String(decoding: data, as: UTF8.self)
        let complete = text.hasSuffix("\n") ? text : String(text[..<(text.lastIndex(of: "\n") ?? text.startIndex)])
        return complete.split(separator: "\n").last { $0.hasPrefix("synced ") }.flatMap { line in Int(line.dropFirst("synced ".count)) } ?? 0
    }

    @Test func killedWriterKeepsEverySyncedRecord() throws {
        let seed = testSeed()
        let kills = ProcessInfo.processInfo.environment["FOLIO_CRASH_KILLS"].flatMap(Int.init) ?? 24
        print("ProcessCrashTests: seed=\(seed) (replay: FOLIO_SEED=\(seed)) kills=\(kills)")
        try #require(FileManager.default.isExecutableFile(atPath: Self.helper), "the helper \(Self.helper) was not built")
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var rng = SplitMix64(seed: seed)
        var acknowledgedTotal = 0
        var killsWithRecords = 0
        for round in 0..<kills {
            let kind = LockStrategyKind.allCases[round % LockStrategyKind.allCases.count]
            let runSeed = rng.next()
            let path = directory + "/records-\(round)"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.helper)
            process.arguments = [String(runSeed), path, kind.rawValue]
            let pipe = Pipe()
            process.standardOutput = pipe
            let errors = Pipe()
            process.standardError = errors
            let output = Output()
            try process.run()
            DispatchQueue.global().async {
                while true {
                    let chunk = pipe.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    output.data.withLock { $0.append(chunk) }
                }
                output.done.signal()
            }
            // Once it has opened the file (startup takes a while on a busy
            // machine), kill it somewhere in its first 5–100 ms of writing.
            let ready = waitUntil(seconds: 60) { output.text.hasPrefix("ready\n") || !process.isRunning }
            #expect(ready && process.isRunning, "kill \(round): the helper did not start (\(output.text.prefix(200)))")
            usleep(UInt32(5_000 + rng.next() % 95_000))
            let stillRunning = process.isRunning
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            output.done.wait()
            let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(stillRunning, "kill \(round): the helper had exited by itself (status \(process.terminationStatus)): \(complaint)")
            #expect(complaint.isEmpty, "kill \(round): the helper reported \(complaint)")
            let synced = Self.acknowledged(output.data.withLock { $0 })
            acknowledgedTotal += synced
            if synced > 0 { killsWithRecords += 1 }
            // Reopen through a new cache and check every acknowledged record.
            let cache = try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: 4096, capacity: 1 << 20))
            let file = try cache.open(path: path, options: [])
            let bytes = try file.read(count: synced * CrashRecord.size, at: 0)
            try file.close()
            #expect(bytes.count == synced * CrashRecord.size, "kill \(round) (\(kind), run seed \(runSeed)): \(synced) records acknowledged but the file holds \(bytes.count) bytes")
            for n in 0..<min(synced, bytes.count / CrashRecord.size) {
                let expected = CrashRecord.bytes(seed: runSeed, number: n)
                if Array(bytes[n * CrashRecord.size..<(n + 1) * CrashRecord.size]) != expected {
                    Issue.record("kill \(round) (\(kind), run seed \(runSeed)): record \(n) of \(synced) acknowledged is not intact")
                    break
                }
            }
        }
        print("ProcessCrashTests: \(kills) kills, \(acknowledgedTotal) acknowledged records verified, \(killsWithRecords) kills after at least one sync")
        #expect(killsWithRecords >= kills / 2, "too few kills came after a sync (\(killsWithRecords) of \(kills)): the test proves little")
    }
}
