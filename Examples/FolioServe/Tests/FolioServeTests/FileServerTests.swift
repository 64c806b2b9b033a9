import FolioCache
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Testing
@testable import FolioServeKit

/// The responses, for every engine, through the server's own handler.
@Suite struct FileServerTests {
    let logger = Logger(label: "test")

    func get(_ path: String, _ source: any FileSource) async -> (Int, [UInt8]) {
        let response = await FileServer.respond(to: path, source: source, allocator: ByteBufferAllocator(), logger: logger)
        let collected = Collected()
        try? await response.body.write(CollectingWriter(collected: collected))
        return (Int(response.status.code), collected.bytes)
    }

    @Test(arguments: ServeFixture.engines, FolioReadMode.allCases)
    func everyEngineServesTheRightBytesAndRefusesTheRest(_ engine: String, _ mode: FolioReadMode) async throws {
        let fixture = try ServeFixture()
        let source = try fixture.options(engine: engine, readMode: mode).makeSource()
        #expect(source.name == engine)
        for _ in 0..<2 {  // the second round is served from what the first cached
            for (name, content) in fixture.files {
                let (status, body) = await get("/" + name, source)
                #expect(status == 200 && body == content, "\(engine) /\(name): \(status), \(body.count) bytes")
            }
        }
        #expect(await get("/alias", source) == (200, fixture.files["hot.bin"] ?? []))
        #expect(await get("/sub%2Fa.txt", source) == (200, Array("hello\n".utf8)))
        for missing in ["/nope", "/sub", "/escape", "/", "/sub/a.txt/x"] {
            #expect(await get(missing, source).0 == 404, "\(engine) \(missing)")
        }
        for bad in ["/../secret", "/sub/../../secret", "/%2e%2e/secret", "/a%00"] {
            #expect(await get(bad, source).0 == 400, "\(engine) \(bad)")
        }
        try await source.shutdown()
    }

    @Test func anUnknownEngineIsAnOptionError() {
        #expect(throws: ServeOptionError.self) {
            try ServeOptions(root: "/tmp", engine: "per-bit").makeSource()
        }
        #expect(throws: ServeError.self) { try ServeOptions(root: "/nonexistent-\(UInt64.random(in: 0...UInt64.max))").makeSource() }
    }

    @Test func shutdownClosesEveryOpenFile() async throws {
        let fixture = try ServeFixture()
        let source = try #require(try fixture.options(engine: "hybrid-fair").makeSource() as? FolioFileSource<HybridFairLocking>)
        _ = await get("/hot.bin", source)
        _ = await get("/big.bin", source)
        let open = source.openHandles
        #expect(open.count == 2)
        try await source.shutdown()
        #expect(open.allSatisfy { $0.isClosed })
        #expect(source.openHandles.isEmpty)
    }
}

/// A response body's bytes.
final class Collected: @unchecked Sendable {
    // @unchecked Sendable: written by the one body write a test awaits, read after it.
    var bytes: [UInt8] = []
}

/// Collects a response body into `collected`.
struct CollectingWriter: ResponseBodyWriter {
    let collected: Collected
    mutating func write(_ buffer: ByteBuffer) async throws { collected.bytes += buffer.readableBytesView }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
