import FolioLocks

/// A file in memory that can lose power: what a disk with a volatile write
/// cache does to the writes it was never told to make durable (SQLite's
/// crash VFS, dm-log-writes). Reads see every write, as the OS shows them;
/// `sync()` makes everything so far durable; every write and truncate
/// since the last sync is *held back*. `crashImage(seed:)` is the file as
/// it could be found after a power loss now: the durable contents with each
/// held operation, in order, independently applied, dropped or torn — a
/// torn write has each of its sectors applied or dropped — so the file is
/// some mix of old and new whole sectors, and everything a sync covered is
/// intact. For tests of what a cache promises about durability
/// (docs/reliability.md).
public final class CrashSimulatingBackend: IOBackend, @unchecked Sendable {
    // @unchecked Sendable: every mutable field is accessed only under `lock`.

    /// The file's name for messages.
    public let path: String
    /// The granularity of a torn write.
    public let sectorSize: Int
    /// The identity given at init (nil: never shared between opens).
    public let identity: FileIdentity?
    let lock = ShortLock()
    var current: [UInt8]
    var durable: [UInt8]
    var held: [Held] = []
    var afterEach: (@Sendable (CrashSimulatingBackend) -> Void)?

    enum Held {
        /// What reached the disk: whole sectors from `offset` (`bytes` as
        /// the file held them after the write, zeros past its end, as a file
        /// system writes a block), of which `end` is the write's own end.
        case write(offset: Int, bytes: [UInt8], end: Int)
        case truncate(Int)
    }

    /// A file named `path` whose durable contents are `contents`, torn in
    /// sectors of `sectorSize` bytes (at least 1).
    public init(path: String = "crash", contents: [UInt8] = [], sectorSize: Int = 512, identity: FileIdentity? = nil) {
        self.path = path
        self.current = contents
        self.durable = contents
        self.sectorSize = max(1, sectorSize)
        self.identity = identity
    }

    /// What a reader of the file sees now (every write, durable or not).
    public var contents: [UInt8] { lock.withLock { current } }
    /// What survives any power loss now: the contents at the last sync.
    public var durableContents: [UInt8] { lock.withLock { durable } }
    /// Writes and truncates held back since the last sync.
    public var heldOperations: Int { lock.withLock { held.count } }
    /// The held operations, for a failing test's message.
    package var heldDescription: String {
        lock.withLock {
            "durable \(durable.count) bytes; held: " + held.map { op in
                switch op {
                case .write(let offset, let bytes, let end): return "write \(offset)..<\(offset + bytes.count) (end \(end))"
                case .truncate(let n): return "truncate \(n)"
                }
            }.joined(separator: ", ")
        }
    }

    /// Calls `body` after every write, truncate and sync, with no lock of
    /// the backend held (from the thread that made the call, inside the
    /// cache's call): a test takes its crash images there, at every point
    /// the disk's state changes. The cache holds its locks then (a folio's,
    /// during writeback): `body` must not call into a cache.
    public func afterEachOperation(_ body: (@Sendable (CrashSimulatingBackend) -> Void)?) {
        lock.withLock { afterEach = body }
    }

    func notify() {
        if let body = lock.withLock({ afterEach }) { body(self) }
    }

    func checkOffset(_ operation: String, _ offset: Int64) throws(FolioError) {
        guard offset >= 0, offset <= Int64(Int32.max) else {
            throw .invalidArgument("\(operation) of '\(path)': offset \(offset) is outside a memory file")
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FolioError) -> Int {
        try checkOffset("pread", offset)
        return lock.withLock {
            let start = Int(offset)
            guard start < current.count, let dst = buffer.baseAddress else { return 0 }
            let n = min(buffer.count, current.count - start)
            current.withUnsafeBytes { src in
                if let base = src.baseAddress { dst.copyMemory(from: base + start, byteCount: n) }
            }
            return n
        }
    }

    public func write(_ data: UnsafeRawBufferPointer, at offset: Int64) throws(FolioError) {
        try checkOffset("pwrite", offset)
        guard data.count > 0 else { return }
        lock.withLock {
            let start = Int(offset), end = start + data.count
            Self.apply(.write(offset: start, bytes: [UInt8](data), end: end), to: &current)
            let lo = start / sectorSize * sectorSize
            let hi = (end + sectorSize - 1) / sectorSize * sectorSize
            var sectors = Array(current[lo..<min(hi, current.count)])
            sectors += repeatElement(0, count: hi - lo - sectors.count)
            held.append(.write(offset: lo, bytes: sectors, end: end))
        }
        notify()
    }

    public func size() throws(FolioError) -> Int64 { lock.withLock { Int64(current.count) } }

    public func truncate(to size: Int64) throws(FolioError) {
        try checkOffset("ftruncate", size)
        lock.withLock {
            Self.apply(.truncate(Int(size)), to: &current)
            held.append(.truncate(Int(size)))
        }
        notify()
    }

    public func sync() throws(FolioError) {
        lock.withLock {
            durable = current
            held.removeAll()
        }
        notify()
    }

    public func close() throws(FolioError) {}

    static func apply(_ op: Held, to bytes: inout [UInt8]) {
        switch op {
        case .write(let offset, let data, let end):
            apply(data, from: 0, count: data.count, at: offset, end: end, to: &bytes)
        case .truncate(let n):
            resize(&bytes, to: n)
        }
    }

    /// Writes `count` bytes of `data` from `from` at `offset`; sectors
    /// written past the file's end (and past the write's own, `end`) leave
    /// the file no longer than the write made it. (Raw copies: this runs
    /// for every crash image a test takes.)
    static func apply(_ data: [UInt8], from: Int, count: Int, at offset: Int, end: Int, to bytes: inout [UInt8]) {
        let length = max(bytes.count, end)
        if bytes.count < offset + count { resize(&bytes, to: offset + count) }
        bytes.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in
                if let d = dst.baseAddress, let s = src.baseAddress { (d + offset).copyMemory(from: s + from, byteCount: count) }
            }
        }
        if bytes.count > length { resize(&bytes, to: length) }
    }

    static func resize(_ bytes: inout [UInt8], to n: Int) {
        if n < bytes.count {
            bytes.removeLast(bytes.count - n)
        } else if n > bytes.count {
            bytes.append(contentsOf: [UInt8](repeating: 0, count: n - bytes.count))
        }
    }

    /// The file as a power loss now could leave it, chosen by `seed`: over
    /// the durable contents, in order, each held write is applied (a third
    /// of the time), dropped (a third) or torn (a third: each sector it
    /// covers applied or dropped alone); the held truncates that land are
    /// the first k of them, k uniform (size changes are journaled in
    /// order). A write past the end that lands leaves zeros in any gap
    /// before it, as a file system's hole.
    public func crashImage(seed: UInt64) -> [UInt8] {
        let (base, ops) = lock.withLock { (durable, held) }
        var image = base
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // Size changes are metadata, which a journal keeps in order: the
        // truncates that land are a prefix of those held.
        let truncates = ops.reduce(0) { n, op in if case .truncate = op { return n + 1 } else { return n } }
        var truncatesLanding = Int(next() % UInt64(truncates + 1))
        for op in ops {
            let fate = next() % 3
            switch op {
            case .truncate:
                if truncatesLanding > 0 { Self.apply(op, to: &image) }
                truncatesLanding -= 1
            case .write where fate == 1:
                continue
            case .write(let offset, let data, let end):
                if fate == 0 {
                    Self.apply(op, to: &image)
                    continue
                }
                // Torn: sector by sector.
                var at = offset
                while at < offset + data.count {
                    if next() & 1 == 0 {
                        Self.apply(data, from: at - offset, count: sectorSize, at: at, end: min(end, at + sectorSize), to: &image)
                    }
                    at += sectorSize
                }
            }
        }
        return image
    }
}
