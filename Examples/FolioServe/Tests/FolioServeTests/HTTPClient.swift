import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client over a socket (one request per connection), so
/// that the tests can send request targets a URL library would normalize
/// (`/../x`). Blocking: call it through `get`, which runs it on threads of
/// its own (never the singleton pool, which the `os` engine's server reads
/// on: clients blocked there would wait for a server that waits for them).
enum HTTPClient {
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 8)
        pool.start()
        return pool
    }()
    struct Reply: Sendable {
        var status: Int
        var body: [UInt8]
    }

    static func get(port: Int, target: String) async throws -> Reply {
        try await HTTPClient.pool.runIfActive { try blockingGet(port: port, target: target) }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func blockingGet(port: Int, target: String) throws -> Reply {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect: errno \(errno)") }
        let request = Array("GET \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            sent += n
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw Failure(description: "recv: errno \(errno)") }
            if n == 0 { break }
            response += chunk[..<n]
        }
        return try parse(response)
    }

    /// Status and body of a response with a Content-Length (what the server sends).
    static func parse(_ response: [UInt8]) throws -> Reply {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0...(max(response.count - 4, -1))).first(where: { Array(response[$0..<$0 + 4]) == separator }) else {
            throw Failure(description: "no end of headers in \(response.count) bytes")
        }
        let head = String(decoding: response[..<end], as: UTF8.self).split(separator: "\r\n")
        guard let statusLine = head.first, statusLine.hasPrefix("HTTP/1.1 "),
              let status = Int(statusLine.dropFirst(9).prefix(3)) else { throw Failure(description: "bad status line") }
        let body = Array(response[(end + 4)...])
        let lengthLine = head.dropFirst().first { $0.lowercased().hasPrefix("content-length:") }
        if let lengthLine, let length = Int(lengthLine.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) {
            guard body.count == length else { throw Failure(description: "body \(body.count) bytes, Content-Length \(length)") }
        }
        return Reply(status: status, body: body)
    }
}
