import FolioLocks
import Synchronization

/// The async API of an open file (`CachedFile.async`): the same file, the
/// same engine and the same bytes as the synchronous calls, without ever
/// blocking the cooperative pool (docs/async.md).
///
/// - **A hit does not suspend.** A cached page that nobody holds locked is
///   copied in the caller's task, as the synchronous hit does.
/// - **A lock wait suspends the task** — for a folio lock (per-page bit,
///   hybrid fair and its presets) or a page range (per-inode's file lock,
///   per-range's range): the task is parked in the parking lot like a
///   thread, under the strategy's fairness rules, and resumed by the unlock
///   — a handoff to it is a handoff.
/// - **Everything else hops** once to the cache's I/O executor
///   (`PageCache.ioExecutor`, Folio's own threads unless you give it
///   another) and runs the synchronous operation there: a miss (with the
///   rest of the read: one hop per call, not per page), a write that must
///   fill or wait for the invalidate lock, `flush`, `sync`, `truncate` and
///   `close`.
///
/// Errors: `FolioError` as the synchronous calls throw, or
/// `CancellationError` when the task was cancelled while it waited for a
/// page lock (nothing was read or written for that page; pages before it
/// were). A hop is not interrupted by cancellation: it completes.
public struct AsyncCachedFile<Strategy: LockStrategy>: Sendable {
    /// The file.
    public let file: CachedFile<Strategy>

    @inlinable init(file: CachedFile<Strategy>) { self.file = file }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many were
    /// read (fewer only at end of file). `buffer` must stay valid until this
    /// returns.
    @inlinable
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) async throws -> Int {
        if offset < 0 || offset > Int64.max >> 2 || buffer.count > Int.max >> 2 {
            _ = try file.checkRange("read", offset: offset, count: buffer.count)
        }
        try file.checkOpen()
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        // The hit, inlined into the caller (specialized for its strategy).
        let (n, finished) = readWithoutWaiting(base, count: buffer.count, at: offset)
        if finished {
            file.cache.reclaimIfNeeded(cleanOnly: true)
            await yieldToResumedTasks()
            return n
        }
        return try await readRest(SendableBuffer(base, buffer.count), done: n, at: offset)
    }

    /// The rest of a read whose page at `done` would wait: suspend on its
    /// lock, or hop.
    ///
    /// A client's call arrives here unspecialized (the inlined `read` calls
    /// this generic entry: `@_specialize(exported:)` copies of it were
    /// built but not used by clients), and the generic miss path looks up
    /// metadata and retains the file's lock objects at every step. So the
    /// built-in strategies run a copy specialized in this module: the check
    /// is one metadata comparison.
    @usableFromInline
    func readRest(_ buffer: SendableBuffer, done already: Int, at offset: Int64) async throws -> Int {
        if Strategy.self == HybridFairLocking.self {
            return try await AsyncCachedFile<HybridFairLocking>(file: unsafeDowncast(file, to: CachedFile<HybridFairLocking>.self))
                .readRestBody(buffer, done: already, at: offset)
        }
        if Strategy.self == PerPageBitLocking.self {
            return try await AsyncCachedFile<PerPageBitLocking>(file: unsafeDowncast(file, to: CachedFile<PerPageBitLocking>.self))
                .readRestBody(buffer, done: already, at: offset)
        }
        if Strategy.self == PerInodeLocking.self {
            return try await AsyncCachedFile<PerInodeLocking>(file: unsafeDowncast(file, to: CachedFile<PerInodeLocking>.self))
                .readRestBody(buffer, done: already, at: offset)
        }
        if Strategy.self == PerRangeLocking.self {
            return try await AsyncCachedFile<PerRangeLocking>(file: unsafeDowncast(file, to: CachedFile<PerRangeLocking>.self))
                .readRestBody(buffer, done: already, at: offset)
        }
        return try await readRestBody(buffer, done: already, at: offset)
    }

    /// `readRest`'s body.
    func readRestBody(_ buffer: SendableBuffer, done already: Int, at offset: Int64) async throws -> Int {
        let base = buffer.base
        var done = already
        // Misses served here that lost their race to another filler: after
        // a few, hop (a page that keeps being taken is someone else's to fill).
        var lostRaces = 0
        while true {
            let pos = offset + Int64(done)
            let (want, inPage) = pieceOf(count: buffer.count - done, at: pos)
            let index = file.pageIndex(of: pos)
            var copied: Int
            switch try await file.readPageSuspending(index, from: inPage, count: want, into: base + done) {
            case .copied(let n):
                copied = n
            case .retry:
                continue
            case .miss:
                // A miss whose bytes the backend has in memory is served
                // here; one that would wait hops, with the rest of the read.
                switch lostRaces < 4 ? file.readMissWithoutWaiting(index, from: inPage, count: want, into: base + done) : .hop(nil) {
                case .copied(let n):
                    copied = n
                case .retry:
                    lostRaces += 1
                    continue
                case .hop(let hint):
                    let rest = SendableBuffer(base + done, buffer.count - done)
                    let file = self.file
                    done += try await offPool(file.cache) { () throws(FolioError) -> Int in
                        try file.readMissed(index, hint: hint, from: inPage, count: want, into: rest.mutable, at: pos)
                    }
                    return done
                }
            }
            if copied == 0 { return done }
            done += copied
            let (m, finished) = readWithoutWaiting(base + done, count: buffer.count - done, at: offset + Int64(done))
            done += m
            if finished {
                file.cache.reclaimIfNeeded(cleanOnly: true)
                return done
            }
        }
    }

    /// Reads up to `count` bytes at `offset` (fewer at end of file).
    @inlinable
    public func read(count: Int, at offset: Int64) async throws -> [UInt8] {
        _ = try file.checkRange("read", offset: offset, count: count)
        try file.checkOpen()
        let available = max(0, file.mapping.size.load(ordering: .acquiring) - offset)
        var out = [UInt8](repeating: 0, count: Int(min(Int64(count), available)))
        // The hit: straight into the array, in this task.
        let (n, finished) = out.withUnsafeMutableBytes { buf -> (Int, Bool) in
            guard let base = buf.baseAddress else { return (0, true) }
            return readWithoutWaiting(base, count: buf.count, at: offset)
        }
        if finished {
            file.cache.reclaimIfNeeded(cleanOnly: true)
            await yieldToResumedTasks()
            out.removeSubrange(n...)
            return out
        }
        return try await readRest(of: out, done: n, at: offset)
    }

    /// The rest of `read(count:at:)` through a buffer of its own (an
    /// array's bytes cannot be borrowed across a suspension).
    @usableFromInline
    func readRest(of array: [UInt8], done n: Int, at offset: Int64) async throws -> [UInt8] {
        var out = array
        let rest = SendableArray(count: out.count - n)
        let m = try await read(into: rest.buffer, at: offset + Int64(n))
        out.withUnsafeMutableBytes { buf in
            UnsafeMutableRawBufferPointer(rebasing: buf[n..<(n + m)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest.buffer[..<m]))
        }
        out.removeSubrange((n + m)...)
        return out
    }

    /// The page piece a read of `count` bytes at `pos` takes next, as the
    /// synchronous read cuts it: to the end of the folio (per-page
    /// strategies) or of the page, and of the file.
    func pieceOf(count: Int, at pos: Int64) -> (count: Int, inPage: Int) {
        let pageSize = file.pageSize
        let size = file.mapping.size.load(ordering: .acquiring)
        let inPage = Int(pos & Int64(pageSize - 1))
        let left = Strategy.locksFolios ? count : min(count, pageSize - inPage)
        return (max(0, min(left, Int(min(size - pos, Int64(Int.max))))), inPage)
    }

    /// Copies the pages that can be served without waiting, from `offset`
    /// on: how many bytes, and whether the read is finished (all of it, or
    /// EOF) — if not, the page at the returned count would wait.
    @inlinable
    func readWithoutWaiting(_ base: UnsafeMutableRawPointer, count: Int, at offset: Int64) -> (done: Int, finished: Bool) {
        let pageSize = file.pageSize
        var done = 0
        while done < count {
            let pos = offset + Int64(done)
            let size = file.mapping.size.load(ordering: .acquiring)
            if pos >= size { return (done, true) }
            let inPage = Int(pos & Int64(pageSize - 1))
            let left = Strategy.locksFolios ? count - done : min(count - done, pageSize - inPage)
            let want = min(left, Int(min(size - pos, Int64(Int.max))))
            guard let n = file.readPageWithoutWaiting(file.pageIndex(of: pos), from: inPage, count: want, into: base + done) else {
                return (done, false)
            }
            if n == 0 { return (done, true) }
            done += n
        }
        return (done, true)
    }

    /// Writes all of `bytes` at `offset` (extending the file as `write`
    /// does). `bytes` must stay valid until this returns.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) async throws {
        // A client's call arrives unspecialized: the built-in strategies run
        // a copy specialized here (as `readRest` does).
        if Strategy.self == HybridFairLocking.self {
            return try await AsyncCachedFile<HybridFairLocking>(file: unsafeDowncast(file, to: CachedFile<HybridFairLocking>.self))
                .writeBody(bytes, at: offset)
        }
        if Strategy.self == PerPageBitLocking.self {
            return try await AsyncCachedFile<PerPageBitLocking>(file: unsafeDowncast(file, to: CachedFile<PerPageBitLocking>.self))
                .writeBody(bytes, at: offset)
        }
        if Strategy.self == PerInodeLocking.self {
            return try await AsyncCachedFile<PerInodeLocking>(file: unsafeDowncast(file, to: CachedFile<PerInodeLocking>.self))
                .writeBody(bytes, at: offset)
        }
        if Strategy.self == PerRangeLocking.self {
            return try await AsyncCachedFile<PerRangeLocking>(file: unsafeDowncast(file, to: CachedFile<PerRangeLocking>.self))
                .writeBody(bytes, at: offset)
        }
        try await writeBody(bytes, at: offset)
    }

    /// `write(_:at:)`'s body.
    func writeBody(_ bytes: UnsafeRawBufferPointer, at offset: Int64) async throws {
        _ = try file.checkRange("write", offset: offset, count: bytes.count)
        try file.checkOpen()
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let pageSize = file.pageSize
        var done = 0
        while done < bytes.count {
            let pos = offset + Int64(done)
            let inPage = Int(pos & Int64(pageSize - 1))
            let n = min(bytes.count - done, pageSize - inPage)
            let index = file.pageIndex(of: pos)
            if file.writePageWithoutWaiting(index, at: inPage, from: base + done, count: n) {
                done += n
                continue
            }
            if try await file.writePageSuspending(index, at: inPage, from: base + done, count: n) {
                done += n
                continue
            }
            // Not cached, or a truncate holds the invalidate lock: the rest in one hop.
            let rest = SendableBuffer(UnsafeMutableRawPointer(mutating: base + done), bytes.count - done)
            let file = self.file
            try await offPool(file.cache) { () throws(FolioError) in
                try file.write(UnsafeRawBufferPointer(rest.mutable), at: pos)
            }
            return
        }
        file.cache.reclaimIfNeeded(cleanOnly: true)
        await yieldToResumedTasks()
    }

    /// Gives this pool thread up for a moment while a task handed a lock has
    /// not run yet (`ResumedTasks`): a task whose reads and writes all hit
    /// never suspends, and enough of them would keep that task — and whoever
    /// waits for its lock — off the pool for ever. One relaxed load when
    /// nobody is pending.
    @inlinable
    func yieldToResumedTasks() async {
        if ResumedTasks.anyPending { await Task.yield() }
    }

    /// Writes `bytes` at `offset`.
    public func write(_ bytes: [UInt8], at offset: Int64) async throws {
        try await bytes.withUnsafeBytesAsync { try await write($0, at: offset) }
    }

    /// The logical size in bytes (never suspends).
    public func size() throws(FolioError) -> Int64 { try file.size() }

    /// `CachedFile.flush()` on the I/O executor.
    public func flush() async throws {
        let file = self.file
        try await offPool(file.cache) { () throws(FolioError) in try file.flush() }
    }

    /// `CachedFile.sync()` on the I/O executor.
    public func sync() async throws {
        let file = self.file
        try await offPool(file.cache) { () throws(FolioError) in try file.sync() }
    }

    /// `CachedFile.truncate(to:)` on the I/O executor.
    public func truncate(to newSize: Int64) async throws {
        let file = self.file
        try await offPool(file.cache) { () throws(FolioError) in try file.truncate(to: newSize) }
    }

    /// `CachedFile.close()` on the I/O executor.
    public func close() async throws {
        let file = self.file
        try await offPool(file.cache) { () throws(FolioError) in try file.close() }
    }
}

extension CachedFile {
    /// This file's async API (docs/async.md): `try await file.async.read(count:at:)`.
    /// (Not overloads of the synchronous names: in an async context Swift
    /// prefers an async overload, and every synchronous call there would
    /// have to be awaited.)
    @inlinable public var async: AsyncCachedFile<Strategy> { AsyncCachedFile(file: self) }
}

/// Runs `work` — a synchronous, possibly blocking engine call — on
/// `cache`'s I/O executor, off the cooperative pool: one hop there and one
/// back (counted: `CacheStatistics.asyncHops`).
func offPool<S: LockStrategy, T: Sendable>(_ cache: PageCache<S>, _ work: @escaping @Sendable () throws(FolioError) -> T) async throws(FolioError) -> T {
    cache.counters.asyncHops.wrappingAdd(1, ordering: .relaxed)
    return try await withTaskExecutorPreference(cache.ioExecutor) { () async throws(FolioError) -> T in
        // Nonisolated: runs on the preferred executor even when the caller
        // is isolated to an actor (whose isolation the closure inherits).
        try await runOnPreferredExecutor(work)
    }
}

@concurrent
func runOnPreferredExecutor<T: Sendable>(_ work: @Sendable () throws(FolioError) -> T) async throws(FolioError) -> T {
    try work()
}

/// A caller's buffer carried into a hop. The caller awaits the hop, so the
/// buffer outlives it.
@usableFromInline
struct SendableBuffer: @unchecked Sendable {
    // @unchecked Sendable: used only by the one hop its creator awaits; the
    // creator does not touch the bytes meanwhile.
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let count: Int
    @usableFromInline init(_ base: UnsafeMutableRawPointer, _ count: Int) {
        self.base = base
        self.count = count
    }
    var mutable: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: count) }
}

/// A result array filled through a raw buffer across suspensions.
final class SendableArray: @unchecked Sendable {
    // @unchecked Sendable: owned by one `read(count:at:)` call, which awaits
    // every use of `buffer` before `take`.
    let buffer: UnsafeMutableRawBufferPointer
    init(count: Int) {
        buffer = .allocate(byteCount: count, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
    }
    deinit { buffer.deallocate() }
    func take(_ n: Int) -> [UInt8] { [UInt8](buffer.prefix(n)) }
}

extension Array where Element == UInt8 {
    /// The bytes of an array across an await: copied to a buffer the call
    /// owns (an array's `withUnsafeBytes` closure cannot suspend).
    func withUnsafeBytesAsync<R>(_ body: (UnsafeRawBufferPointer) async throws -> R) async throws -> R {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(count, 1), alignment: 16)
        defer { copy.deallocate() }
        withUnsafeBytes { copy.copyMemory(from: $0) }
        return try await body(UnsafeRawBufferPointer(rebasing: copy[..<count]))
    }
}
