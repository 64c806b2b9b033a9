import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Working directories to remove if the process is interrupted (SIGINT,
/// SIGTERM), so that a stopped run does not leave its test files behind.
final class InterruptCleanup: @unchecked Sendable {
    // @unchecked Sendable: `paths` is accessed only under `lock`; `sources`
    // is written once, by `install`, before any signal can be delivered to it.
    static let shared = InterruptCleanup()

    private let lock = NSLock()
    private var paths: Set<String> = []
    private var sources: [any DispatchSourceSignal] = []

    func add(_ path: String) { lock.withLock { _ = paths.insert(path) } }
    func remove(_ path: String) { lock.withLock { _ = paths.remove(path) } }

    /// Removes the registered directories, then exits with 128 + the signal.
    func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                let doomed = lock.withLock { paths }
                for p in doomed { try? FileManager.default.removeItem(atPath: p) }
                FileHandle.standardError.write(Data("\ninterrupted; removed \(doomed.count) working director\(doomed.count == 1 ? "y" : "ies")\n".utf8))
                exit(128 + sig)
            }
            source.resume()
            sources.append(source)
        }
    }
}

extension FolioLoad {
    /// Called by the executable: interrupted runs clean up their files.
    public static func installInterruptCleanup() { InterruptCleanup.shared.install() }
}
