import SystemPackage
import FolioCache
import FolioTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `POSIXBackend`'s loops over the system calls, with the calls substituted
/// (`SystemCalls`): interrupted calls are retried, short transfers
/// continued, failures thrown with the errno and the offset where the
/// transfer stopped.
@Suite struct SystemCallTests {
    func file(_ contents: [UInt8]) -> (String, String) {
        let directory = temporaryDirectory()
        let path = directory + "/sys"
        _ = FileManager.default.createFile(atPath: path, contents: Data(contents))
        return (directory, path)
    }

    @Test func interruptedAndShortReadsAndWritesComplete() throws {
        let contents = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 11) }
        let (directory, path) = file(contents)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Every call interrupted once in two, every transfer short.
        let injector = FaultInjector(seed: 7, rules: [.init(trigger: .probability(0.5), fault: .error(EINTR)),
                                                      .init([.sync, .truncate], trigger: .call(1), fault: .error(EINTR)),
                                                      .init([.read, .write], trigger: .always, fault: .shortTransfer)])
        let backend = try POSIXBackend(path: path, options: [], systemCalls: injector.systemCalls())
        var buffer = [UInt8](repeating: 0, count: 10_000)
        let n = try buffer.withUnsafeMutableBytes { try backend.read(into: $0, at: 0) }
        #expect(n == 10_000 && buffer == contents)
        let shortReads = injector.injections.filter { $0.operation == .read && $0.fault == .shortTransfer }.count
        #expect(shortReads >= 10, "the reads were not short (\(shortReads)): the loop was not exercised")
        let data = [UInt8](repeating: 0xAB, count: 5000)
        try data.withUnsafeBytes { try backend.write($0, at: 7000) }
        try backend.sync()
        try backend.truncate(to: 11_000)
        #expect(try backend.size() == 12_000 - 1000)
        try backend.close()
        let disk = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(disk == Array(contents[..<7000]) + data[..<4000])
        #expect(injector.injections.contains { $0.fault == .error(EINTR) && $0.operation == .sync })
        #expect(injector.injections.contains { $0.fault == .error(EINTR) && $0.operation == .truncate })
    }

    @Test func failuresNameTheOffsetWhereTheTransferStopped() throws {
        let (directory, path) = file([UInt8](repeating: 1, count: 8192))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The first read is short (half: 2048 of 4096), the second fails.
        let injector = FaultInjector(rules: [.init([.read], trigger: .call(1), fault: .shortTransfer),
                                             .init([.read], trigger: .call(2), fault: .error(EIO))])
        let backend = try POSIXBackend(path: path, options: [], systemCalls: injector.systemCalls())
        var buffer = [UInt8](repeating: 0, count: 4096)
        #expect(throws: FolioError.io(operation: "pread", path: path, offset: 100 + 2048, errno: Errno(rawValue: EIO))) {
            _ = try buffer.withUnsafeMutableBytes { try backend.read(into: $0, at: 100) }
        }
        // A write that transfers nothing is an error, not a loop.
        let zero = SystemCalls(open: SystemCalls.live.open, pread: SystemCalls.live.pread, pwrite: { _, _, _, _ in 0 },
                               fstat: SystemCalls.live.fstat, ftruncate: SystemCalls.live.ftruncate, fsync: SystemCalls.live.fsync, close: SystemCalls.live.close)
        let stuck = try POSIXBackend(path: path, options: [], systemCalls: zero)
        #expect(throws: FolioError.io(operation: "pwrite", path: path, offset: 0, errno: Errno(rawValue: EIO))) {
            try [UInt8](repeating: 2, count: 10).withUnsafeBytes { try stuck.write($0, at: 0) }
        }
        // Interrupted close is not retried and not an error; a failed one is.
        let closing = FaultInjector(rules: [.init([.close], trigger: .call(1), fault: .error(EINTR))])
        try POSIXBackend(path: path, options: [], systemCalls: closing.systemCalls()).close()
        let failing = FaultInjector(rules: [.init([.close], trigger: .call(1), fault: .error(EIO))])
        #expect(throws: FolioError.io(operation: "close", path: path, offset: nil, errno: Errno(rawValue: EIO))) {
            try POSIXBackend(path: path, options: [], systemCalls: failing.systemCalls()).close()
        }
    }

    @Test func openRetriesInterruptionsAndFailsWithoutAnIdentity() throws {
        let (directory, path) = file([1, 2, 3])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let interrupted = FaultInjector(rules: [.init([.open], trigger: .call(1), fault: .error(EINTR)),
                                                .init([.size], trigger: .call(1), fault: .error(EINTR))])
        let backend = try POSIXBackend(path: path, options: [], systemCalls: interrupted.systemCalls())
        #expect(backend.identity != nil)
        #expect(interrupted.calls(of: .open) == 2 && interrupted.calls(of: .size) == 2)
        // fstat failing at open: no identity, so no open (a second open of
        // the file could not join the first's mapping).
        let noStat = FaultInjector(rules: [.init([.size], trigger: .call(1), fault: .error(EIO))])
        #expect(throws: FolioError.openFailed(path: path, errno: Errno(rawValue: EIO))) {
            _ = try POSIXBackend(path: path, options: [], systemCalls: noStat.systemCalls())
        }
    }
}
