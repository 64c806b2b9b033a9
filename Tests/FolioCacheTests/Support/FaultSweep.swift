import FolioCache
import FolioTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where file A of a fault sweep lives, and how its backends are made.
enum SweepMedium: String, CaseIterable, CustomStringConvertible {
    /// `FaultInjectingBackend` over a `MemoryBackend` (faults at the
    /// backend's calls).
    case memory
    /// `POSIXBackend` over a real file, with the faults in the system calls
    /// below it (`FaultInjector.systemCalls`): EINTR and short transfers
    /// reach the backend's retry loops.
    case posix
    var description: String { rawValue }
}

/// One user operation of the scripted workload, and what became of it.
struct SweepStep {
    enum Kind { case open, read, write, report, truncate, other }
    let name: String
    /// Which handle of file A (0, 1, 2), nil for file B and cache-wide steps.
    let handle: Int?
    let kind: Kind
    /// The injector's call count before and after the step: an injection
    /// with `call` in `callsBefore + 1 ... callsAfter` happened during it.
    let callsBefore: Int
    let callsAfter: Int
    let error: FolioError?
    /// Which handles of A were open after the step.
    let openAfter: [Bool]
}

/// The scripted workload of the N-th-I/O sweep (docs/reliability.md): one
/// pass through every engine call site that does I/O — open, read miss,
/// write (its read-in of a partly written page), flush, background
/// writeback, eviction writeback (under the budget and by `shrink`), view
/// fault, view write, truncate down and up, sync, close of a handle that is
/// not the last and of the last one, a reopen — on file A (two handles of one
/// mapping, then a third), with file B in the same cache beside it, never
/// faulted. The model tracks every acknowledged byte of both files.
struct FaultSweepRun<S: LockStrategy> {
    let strategy: S
    let medium: SweepMedium
    let injector: FaultInjector
    let pageSize = 512
    let path: String
    var memory: MemoryBackend?
    var steps: [SweepStep] = []
    var shadowA: [UInt8]
    var shadowB: [UInt8]
    var handles: [CachedFile<S>?] = [nil, nil, nil]
    let cache: PageCache<S>
    let fileB: CachedFile<S>
    let backendB: MemoryBackend
    var failures: [String] = []

    static var initialA: [UInt8] { (0..<6 * 512).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) } }

    init(strategy: S, medium: SweepMedium, injector: FaultInjector, directory: String) throws(FolioError) {
        self.strategy = strategy
        self.medium = medium
        self.injector = injector
        self.path = directory + "/a-\(medium)"
        shadowA = Self.initialA
        shadowB = (0..<16 * 512).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        switch medium {
        case .memory:
            memory = MemoryBackend(path: "A", contents: shadowA, identity: FileIdentity(device: 0xF0, inode: 1))
        case .posix:
            _ = FileManager.default.createFile(atPath: path, contents: Data(shadowA))
        }
        // Eight pages: reading B pushes A's dirty pages out (eviction
        // writeback); one page per folio and LRU, so that the run is the same
        // every time and the victims are the ones the script means.
        cache = try PageCache(strategy: strategy, configuration: .init(pageSize: pageSize, capacity: 8 * pageSize, evictionPolicy: .lru, maxFolioOrder: 0))
        backendB = MemoryBackend(path: "B", contents: shadowB)
        fileB = try cache.open(backend: backendB)
    }

    func makeBackendA() throws(FolioError) -> any IOBackend {
        switch medium {
        case .memory:
            // `memory` is set for this medium.
            guard let memory else { throw .invalidArgument("no memory backend") }
            return FaultInjectingBackend(wrapping: memory, injector: injector)
        case .posix:
            return try POSIXBackend(path: path, options: [], systemCalls: injector.systemCalls())
        }
    }

    /// What file A holds on its medium now.
    func diskA() -> [UInt8] {
        switch medium {
        case .memory: return memory?.contents ?? []
        case .posix: return (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
        }
    }

    mutating func step(_ name: String, handle: Int?, _ kind: SweepStep.Kind, _ body: (inout FaultSweepRun) throws(FolioError) -> Void) {
        let before = injector.calls
        var error: FolioError? = nil
        do throws(FolioError) { try body(&self) } catch let thrown { error = thrown }
        steps.append(SweepStep(name: name, handle: handle, kind: kind, callsBefore: before, callsAfter: injector.calls, error: error,
                               openAfter: handles.map { $0.map { !$0.isClosed } ?? false }))
    }

    func handle(_ i: Int) throws(FolioError) -> CachedFile<S> {
        guard let h = handles[i] else { throw .closed(path: "handle \(i) of A was never opened") }
        return h
    }

    /// Writes through handle `i` (or its view); on failure, reads back what
    /// the cache holds now (faults suspended) and adopts it, after checking
    /// that every page of the range is wholly old or wholly new (a write is
    /// per page, not atomic across pages).
    mutating func writeA(_ i: Int, at offset: Int, _ data: [UInt8], view: FileView<S>? = nil) throws(FolioError) {
        do throws(FolioError) {
            let h = try handle(i)
            if let view { try view.store(data, at: Int64(offset)) } else { try h.write(data, at: Int64(offset)) }
        } catch {
            if let h = handles[i], !h.isClosed { adoptAfterFailedWrite(h, at: offset, data) }
            throw error
        }
        if shadowA.count < offset + data.count { shadowA += [UInt8](repeating: 0, count: offset + data.count - shadowA.count) }
        shadowA.replaceSubrange(offset..<offset + data.count, with: data)
    }

    mutating func adoptAfterFailedWrite(_ h: CachedFile<S>, at offset: Int, _ data: [UInt8]) {
        let got: [UInt8]
        let size: Int64
        do throws(FolioError) {
            (got, size) = try injector.withFaultsSuspended { () throws(FolioError) in
                (try h.read(count: data.count, at: Int64(offset)), try h.size())
            }
        } catch {
            failures.append("reading back a failed write at \(offset) +\(data.count) threw \(error)")
            return
        }
        if let failure = modelAfterFailedWrite(into: &shadowA, at: offset, data, got: got, size: size, pageSize: pageSize) { failures.append(failure) }
    }

    static func stamp(_ tag: Int, _ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: tag &* 31 &+ $0 % 251) } }

    /// The script.
    mutating func run() {
        step("open A (handle 0)", handle: 0, .open) { r throws(FolioError) in r.handles[0] = try r.cache.open(backend: r.makeBackendA()) }
        step("read A 0 +1024 (misses)", handle: 0, .read) { r throws(FolioError) in
            let got = try r.handle(0).read(count: 1024, at: 0)
            if got != Array(r.shadowA[0..<1024]) { r.failures.append("read A 0 +1024 returned wrong bytes") }
        }
        step("write A 700 +600 (read-in of page 2)", handle: 0, .write) { r throws(FolioError) in try r.writeA(0, at: 700, Self.stamp(3, 600)) }
        step("write A 4096 +512 (past EOF, a hole before it)", handle: 0, .write) { r throws(FolioError) in try r.writeA(0, at: 4096, Self.stamp(4, 512)) }
        step("read B 0 +2048 twice, 2048 +4096 (eviction writeback of A)", handle: nil, .other) { r throws(FolioError) in
            // B's first pages, used twice, outrank A's (S3-FIFO's main queue).
            try r.checkB(0, 2048)
            try r.checkB(0, 2048)
            try r.checkB(2048, 4096)
        }
        step("flush A", handle: 0, .report) { r throws(FolioError) in try r.handle(0).flush() }
        step("open A again (handle 1 joins)", handle: 1, .open) { r throws(FolioError) in r.handles[1] = try r.cache.open(backend: r.makeBackendA()) }
        step("write A 100 +50 through handle 1", handle: 1, .write) { r throws(FolioError) in try r.writeA(1, at: 100, Self.stamp(8, 50)) }
        step("background writeback pass", handle: nil, .other) { r throws(FolioError) in r.cache.backgroundWritebackPass() }
        step("write A 1500 +100", handle: 0, .write) { r throws(FolioError) in try r.writeA(0, at: 1500, Self.stamp(10, 100)) }
        step("write B, read B 2048 +4096 (eviction writeback of A)", handle: nil, .other) { r throws(FolioError) in
            let data = Self.stamp(11, 512)
            try r.fileB.write(data, at: 0)
            r.shadowB.replaceSubrange(0..<512, with: data)
            try r.checkB(2048, 4096)
        }
        step("write A 200 +40; shrink to 0 (forced eviction writeback)", handle: 0, .write) { r throws(FolioError) in
            try r.writeA(0, at: 200, Self.stamp(12, 40))
            r.cache.shrink(toBytes: 0)
        }
        step("view of A: fault-in read 2000 +300, store 2600 +200", handle: 0, .write) { r throws(FolioError) in
            let view = try r.handle(0).map(0..<8192, mode: .readWrite, faultAround: 0)
            defer { view.unmap() }
            let got = try view.copyBytes(at: 2000, count: 300)
            if got != Array(r.shadowA[2000..<2300]) { r.failures.append("view read of A 2000 +300 returned wrong bytes") }
            try r.writeA(0, at: 2600, Self.stamp(13, 200), view: view)
        }
        step("truncate A to 2700", handle: 0, .truncate) { r throws(FolioError) in
            try r.handle(0).truncate(to: 2700)
            r.shadowA.removeSubrange(2700...)
        }
        step("truncate A to 5000", handle: 0, .truncate) { r throws(FolioError) in
            try r.handle(0).truncate(to: 5000)
            r.shadowA += [UInt8](repeating: 0, count: 5000 - r.shadowA.count)
        }
        step("write A 4900 +100", handle: 0, .write) { r throws(FolioError) in try r.writeA(0, at: 4900, Self.stamp(16, 100)) }
        step("sync A through handle 1", handle: 1, .report) { r throws(FolioError) in try r.handle(1).sync() }
        step("close handle 1 (not the last)", handle: 1, .report) { r throws(FolioError) in try r.handle(1).close() }
        step("write A 10 +10", handle: 0, .write) { r throws(FolioError) in try r.writeA(0, at: 10, Self.stamp(19, 10)) }
        step("close handle 0 (the last)", handle: 0, .report) { r throws(FolioError) in try r.handle(0).close() }
        step("open A (handle 2)", handle: 2, .open) { r throws(FolioError) in r.handles[2] = try r.cache.open(backend: r.makeBackendA()) }
        step("read all of A (misses)", handle: 2, .read) { r throws(FolioError) in
            let got = try r.handle(2).read(count: 8192, at: 0)
            if got != r.shadowA { r.failures.append("reading A after reopening returned wrong bytes (\(got.count) vs \(r.shadowA.count))") }
        }
        step("write A 0 +512", handle: 2, .write) { r throws(FolioError) in try r.writeA(2, at: 0, Self.stamp(23, 512)) }
        step("sync A", handle: 2, .report) { r throws(FolioError) in try r.handle(2).sync() }
    }

    mutating func checkB(_ offset: Int, _ count: Int) throws(FolioError) {
        let got = try fileB.read(count: count, at: Int64(offset))
        if got != Array(shadowB[offset..<offset + count]) { failures.append("file B read \(offset) +\(count) returned wrong bytes") }
    }
}
