import FolioCache
import Foundation
@testable import FolioServeKit
#if canImport(Glibc)
import Glibc
#endif

/// A served directory with known files: `hot.bin` (4 KiB), `big.bin`
/// (300 KiB, many pages), `sub/a.txt`, `empty`, a link inside
/// (`alias` → hot.bin) and one out (`escape` → a file beside the directory).
final class ServeFixture {
    let base: String
    let root: String
    let files: [String: [UInt8]]

    init() throws {
        base = NSTemporaryDirectory() + "folio-serve-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        root = base + "/root"
        try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        func bytes(_ n: Int, _ salt: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ salt &* 7 &+ ($0 >> 9)) } }
        let files: [String: [UInt8]] = [
            "hot.bin": bytes(4096, 1), "big.bin": bytes(300 * 1024 + 123, 2), "sub/a.txt": Array("hello\n".utf8), "empty": [],
        ]
        for (name, content) in files {
            _ = FileManager.default.createFile(atPath: root + "/" + name, contents: Data(content))
        }
        _ = FileManager.default.createFile(atPath: base + "/secret", contents: Data("secret\n".utf8))
        try FileManager.default.createSymbolicLink(atPath: root + "/alias", withDestinationPath: "hot.bin")
        try FileManager.default.createSymbolicLink(atPath: root + "/escape", withDestinationPath: base + "/secret")
        self.files = files
    }

    deinit { try? FileManager.default.removeItem(atPath: base) }

    /// Every engine the server offers: the OS baseline and each strategy.
    static let engines = ["os"] + LockStrategyKind.allCases.map(\.rawValue)

    func options(engine: String, readMode: FolioReadMode = .read) -> ServeOptions {
        ServeOptions(root: root, port: 0, engine: engine, readMode: readMode, environment: ["FOLIO_CACHE_PAGE_SIZE": "4KiB"])
    }
}
