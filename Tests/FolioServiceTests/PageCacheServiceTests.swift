import FolioCache
import FolioService
import FolioTestSupport
import Foundation
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

/// `PageCacheService` in a real `ServiceGroup`: background writeback while
/// it runs; a graceful shutdown (or a cancellation) shuts the cache down
/// before `run()` returns, so data written before is on disk after.
@Suite struct PageCacheServiceTests {
    @Test func gracefulShutdownShutsTheCacheDownFirst() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (logger, logs) = CapturingLogHandler.logger()
        let cache = try PageCache(strategy: HybridFairLocking(), configuration: .init(pageSize: 4096), logger: logger)
        let file = try cache.open(path: dir + "/svc")
        try file.write(Array("written before shutdown".utf8), at: 8192)
        try await testGracefulShutdown { trigger in
            let service = PageCacheService(cache: cache, writebackInterval: .milliseconds(5), metricsInterval: .milliseconds(5))
            let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // The service started (generous: in the full parallel suite the
                // 2-thread cooperative pool is shared with blocking tests).
                #expect(await eventually(seconds: 300) { cache.isWritingBackInBackground }, "the service did not start")
                #expect(!cache.isShutDown)
                // Background writeback runs while the service does: the page
                // reaches the file without a flush.
                let path = dir + "/svc"
                #expect(await eventually(seconds: 60) { ((try? Data(contentsOf: URL(fileURLWithPath: path)))?.count ?? 0) == 8192 + 23 },
                        "background writeback did not run")
                try file.write(Array("and just before".utf8), at: 0)
                trigger.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
        #expect(cache.isShutDown && !cache.isWritingBackInBackground)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/svc")))
        #expect(Array(bytes[0..<15]) == Array("and just before".utf8) && Array(bytes[8192...]) == Array("written before shutdown".utf8))
        #expect(throws: FolioError.shutDown) { _ = try cache.open(path: dir + "/more") }
        #expect(logs.all.contains { $0.message == "shut down" }, "\(logs.all)")
    }

    /// A cancelled group (no graceful shutdown) shuts the cache down too.
    @Test func cancellationShutsTheCacheDown() async throws {
        let backend = MemoryBackend(path: "cancelled")
        let cache = try PageCache(strategy: PerPageBitLocking(), configuration: .init(pageSize: 4096))
        let file = try cache.open(backend: backend)
        try file.write([9, 9], at: 0)
        let group = ServiceGroup(configuration: .init(services: [PageCacheService(cache: cache, writebackInterval: nil)], logger: Logger(label: "t")))
        let task = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(20))
        task.cancel()
        _ = await task.result
        #expect(cache.isShutDown && backend.contents == [9, 9])
    }

    /// A failed shutdown is the service's error (the group reports it).
    @Test func aFailedShutdownIsThrown() async throws {
        let backend = MemoryBackend(path: "no-space")
        let cache = try PageCache(strategy: PerPageBitLocking(), configuration: .init(pageSize: 4096))
        let file = try cache.open(backend: backend)
        try file.write([1], at: 0)
        backend.failNextWrites(100, errno: ENOSPC)
        await testGracefulShutdown { trigger in
            let group = ServiceGroup(configuration: .init(services: [PageCacheService(cache: cache, writebackInterval: nil)], logger: Logger(label: "t")))
            trigger.triggerGracefulShutdown()
            await #expect(throws: (any Error).self) { try await group.run() }
        }
        #expect(cache.isShutDown && !file.isClosed)
    }
}
