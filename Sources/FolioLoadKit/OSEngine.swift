import FolioCache
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's page cache, straight through `pread` / `pwrite` (what a user
/// would do without Folio). View operations are `pread` / `pwrite` of the
/// same bytes.
final class OSEngine: LoadEngine, @unchecked Sendable {
    // @unchecked Sendable: the descriptors are immutable; pread/pwrite/
    // ftruncate are thread-safe.
    let spec = EngineSpec.os
    let pageSize: Int
    let fds: [Int32]

    init(pageSize: Int, paths: [String]) throws(LoadError) {
        self.pageSize = pageSize
        var fds: [Int32] = []
        for p in paths {
            let fd = open(p, O_RDWR)
            guard fd >= 0 else {
                for f in fds { close(f) }
                throw .engine("os: cannot open \(p): \(String(cString: strerror(errno)))")
            }
            fds.append(fd)
        }
        self.fds = fds
    }

    func makeSession() throws(LoadError) -> OSSession { OSSession(engine: self) }
    func counters() -> EngineCounters { EngineCounters(misses: nil, evictions: nil, lock: nil, lockWaits: nil) }
    func resetCounters() {}
    /// The kernel's page cache is the thing measured: nothing to drop.
    func dropCache() throws(LoadError) {}

    func shutDown() throws(LoadError) {
        var failure: LoadError? = nil
        for fd in fds {
            if fsync(fd) != 0 && failure == nil { failure = .engine("os: fsync: \(String(cString: strerror(errno)))") }
            close(fd)
        }
        if let failure { throw failure }
    }

    func pread(_ file: Int, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(LoadError) -> Int {
        while true {
            let n = Glibc.pread(fds[file], buffer.baseAddress, buffer.count, off_t(offset))
            if n >= 0 { return n }
            if errno != EINTR { throw .engine("os: pread at \(offset): \(String(cString: strerror(errno)))") }
        }
    }

    func pwrite(_ file: Int, bytes: [UInt8], at offset: Int) throws(LoadError) {
        let r: Result<Void, LoadError> = bytes.withUnsafeBytes { b in Result { () throws(LoadError) in try pwrite(file, b, at: offset) } }
        try r.get()
    }

    func pread(_ file: Int, bytes: inout [UInt8], at offset: Int) throws(LoadError) {
        let r: Result<Int, LoadError> = bytes.withUnsafeMutableBytes { b in Result { () throws(LoadError) in try pread(file, b, at: offset) } }
        _ = try r.get()
    }

    func pwrite(_ file: Int, _ buffer: UnsafeRawBufferPointer, at offset: Int) throws(LoadError) {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pwrite(fds[file], buffer.baseAddress.map { $0 + done }, buffer.count - done, off_t(offset + done))
            if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else {
                throw .engine("os: pwrite at \(offset + done): \(String(cString: strerror(errno)))")
            }
        }
    }
}

final class OSSession: LoadSession {
    let engine: OSEngine
    init(engine: OSEngine) { self.engine = engine }

    func read(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) {
        _ = try engine.pread(file, buffer, at: page * engine.pageSize)
    }

    func write(file: Int, page: Int, from buffer: UnsafeRawBufferPointer) throws(LoadError) {
        try engine.pwrite(file, buffer, at: page * engine.pageSize)
    }

    func faultWrite(file: Int, page: Int, offset: Int, value: UInt64) throws(LoadError) {
        var v = value
        let r: Result<Void, LoadError> = withUnsafeBytes(of: &v) { b in
            Result { () throws(LoadError) in try engine.pwrite(file, b, at: page * engine.pageSize + offset) }
        }
        try r.get()
    }

    func mapRead(file: Int, mapPages: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool {
        try engine.pread(file, buffer, at: page * engine.pageSize) == buffer.count
    }

    func viewRead(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool {
        try mapRead(file: file, mapPages: 0, page: page, into: buffer)
    }

    /// Linux's buffered `pread` copies without the page lock: it may see part
    /// of a concurrent `pwrite` of the same page.
    var pageReadsAreAtomic: Bool { false }

    func readPage(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool {
        try engine.pread(file, buffer, at: page * engine.pageSize) == buffer.count
    }

    /// The kernel's page cache collapses nothing on request.
    func compact(file: Int) throws(LoadError) -> Bool { false }

    func truncate(file: Int, pages: Int) throws(LoadError) {
        if ftruncate(engine.fds[file], off_t(pages * engine.pageSize)) != 0 {
            throw .engine("os: ftruncate: \(String(cString: strerror(errno)))")
        }
    }

    func sizePages(file: Int) throws(LoadError) -> Int {
        var st = stat()
        guard fstat(engine.fds[file], &st) == 0 else { throw .engine("os: fstat: \(String(cString: strerror(errno)))") }
        return Int(st.st_size) / engine.pageSize
    }
}
