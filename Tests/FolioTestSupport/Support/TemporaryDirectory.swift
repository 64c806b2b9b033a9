import Foundation

/// A fresh temporary directory for a test's files.
public func temporaryDirectory() -> String {
    let dir = NSTemporaryDirectory() + "folio-tests-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
