import FolioCache
import Hummingbird
import Logging
import ServiceLifecycle
import Testing
@testable import FolioServeKit

/// A real server on a free port, real sockets, concurrent clients, then a
/// graceful shutdown through the ServiceGroup.
@Suite struct LiveServerTests {
    /// Runs `body` against a live server for `engine`, then shuts it down
    /// gracefully and returns the source (closed by then).
    func withServer(engine: String, readMode: FolioReadMode = .read, _ fixture: ServeFixture, _ body: @Sendable (Int) async throws -> Void) async throws -> any FileSource {
        let logger = Logger(label: "test")
        let options = fixture.options(engine: engine, readMode: readMode)
        let source = try options.makeSource()
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = ServeApplication.makeApplication(options: options, source: source, logger: logger) { portSink.yield($0) }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: SourceShutdownService(source: source, logger: logger)), .init(service: app)],
            logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw HTTPClient.Failure(description: "the server did not start") }
            do {
                try await body(port)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        return source
    }

    @Test(arguments: [("hybrid-fair", FolioReadMode.read), ("hybrid-fair", .view), ("per-range", .view), ("os", .read)])
    func concurrentClientsGetTheRightBytes(_ engine: String, _ readMode: FolioReadMode) async throws {
        let fixture = try ServeFixture()
        let names = fixture.files.keys.sorted()
        let files = fixture.files
        let source = try await withServer(engine: engine, readMode: readMode, fixture) { port in
            try await withThrowingTaskGroup(of: Void.self) { clients in
                for c in 0..<16 {
                    clients.addTask {
                        for i in 0..<20 {
                            let name = names[(c + i) % names.count]
                            let reply = try await HTTPClient.get(port: port, target: "/" + name)
                            #expect(reply.status == 200 && reply.body == files[name], "\(engine) /\(name): \(reply.status), \(reply.body.count) bytes")
                        }
                    }
                }
                try await clients.waitForAll()
            }
            // Request targets a browser or wrk would never send.
            for target in ["/../secret", "/sub/../../secret", "/%2e%2e/secret"] {
                #expect(try await HTTPClient.get(port: port, target: target).status == 400, "\(engine) \(target)")
            }
            #expect(try await HTTPClient.get(port: port, target: "/escape").status == 404)
            #expect(try await HTTPClient.get(port: port, target: "/nope").status == 404)
        }
        #expect(source.openFileCount == 0, "graceful shutdown left files open")
        if engine != "os" { #expect((source.cacheStatistics?.misses ?? 0) > 0) }
    }
}
