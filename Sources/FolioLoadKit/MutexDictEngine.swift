import FolioCache
import Synchronization

/// The cache a Swift programmer would write first: a `Dictionary` of pages
/// with LRU order, all behind one `Mutex`, reading misses from the file with
/// `pread` while holding the lock. The same byte budget as the Folio engines.
final class MutexDictEngine: LoadEngine, Sendable {
    let spec = EngineSpec.mutexDict
    let pageSize: Int
    let io: OSEngine
    let state: Mutex<LRUPages>

    init(pageSize: Int, capacity: Int, paths: [String]) throws(LoadError) {
        self.pageSize = pageSize
        io = try OSEngine(pageSize: pageSize, paths: paths)
        state = Mutex(LRUPages(capacityPages: max(1, capacity / pageSize)))
    }

    func makeSession() throws(LoadError) -> MutexDictSession { MutexDictSession(engine: self) }

    func counters() -> EngineCounters {
        state.withLock { EngineCounters(misses: $0.misses, evictions: $0.evictions, lock: nil, lockWaits: nil) }
    }

    func resetCounters() {
        state.withLock {
            $0.misses = 0
            $0.evictions = 0
        }
    }

    func dropCache() throws(LoadError) {
        try state.withLock { (s: inout LRUPages) throws(LoadError) in
            for (key, bytes) in s.takeDirty() { try io.pwrite(key.file, bytes: bytes, at: key.page * pageSize) }
            s.removeAll()
        }
    }

    func shutDown() throws(LoadError) {
        let dirty = state.withLock { $0.takeDirty() }
        for (key, bytes) in dirty { try io.pwrite(key.file, bytes: bytes, at: key.page * pageSize) }
        try io.shutDown()
    }

    /// Runs `body` on the cached bytes of a page, reading it in on a miss and
    /// evicting the least recently used page (written back if dirty) — all
    /// under the one lock.
    /// The logical size of `file` in pages (lock held).
    func size(_ s: inout LRUPages, _ file: Int) throws(LoadError) -> Int {
        if let n = s.sizes[file] { return n }
        let n = try OSSession(engine: io).sizePages(file: file)
        s.sizes[file] = n
        return n
    }

    func withPage<R: Sendable>(_ key: PageKey, dirty: Bool, extending: Bool = false, _ body: (inout [UInt8]) -> R) throws(LoadError) -> R {
        try state.withLock { (s: inout LRUPages) throws(LoadError) -> R in
            if extending { s.sizes[key.file] = Swift.max(try size(&s, key.file), key.page + 1) }
            do {
                if s.lookup(key) == nil {
                    var bytes = [UInt8](repeating: 0, count: pageSize)
                    try io.pread(key.file, bytes: &bytes, at: key.page * pageSize)
                    s.misses += 1
                    if let (victim, victimBytes, wasDirty) = s.insert(key, bytes), wasDirty {
                        try io.pwrite(victim.file, bytes: victimBytes, at: victim.page * pageSize)
                    }
                }
                return s.update(key, dirty: dirty, body)
            }
        }
    }
}

struct PageKey: Hashable, Sendable {
    var file: Int
    var page: Int
}

/// A dictionary of pages in LRU order (an intrusive doubly-linked list over
/// array slots), the textbook structure.
struct LRUPages: ~Copyable {
    struct Node {
        var key: PageKey
        var bytes: [UInt8]
        var dirty: Bool
        var prev: Int
        var next: Int
    }
    let capacityPages: Int
    var index: [PageKey: Int] = [:]
    var nodes: [Node] = []
    var head = -1  // most recent
    var tail = -1  // least recent
    var misses: UInt64 = 0
    var evictions: UInt64 = 0
    /// Logical file sizes in pages (writes may extend a file before their
    /// pages reach it), filled from the file on first use.
    var sizes: [Int: Int] = [:]

    init(capacityPages: Int) { self.capacityPages = capacityPages }

    /// The slot of `key`, moved to the front, or nil.
    mutating func lookup(_ key: PageKey) -> Int? {
        guard let i = index[key] else { return nil }
        unlink(i)
        pushFront(i)
        return i
    }

    /// Inserts a page at the front; returns the evicted page if the budget
    /// was full.
    mutating func insert(_ key: PageKey, _ bytes: [UInt8]) -> (PageKey, [UInt8], Bool)? {
        if nodes.count < capacityPages {
            nodes.append(Node(key: key, bytes: bytes, dirty: false, prev: -1, next: -1))
            index[key] = nodes.count - 1
            pushFront(nodes.count - 1)
            return nil
        }
        let victim = tail
        unlink(victim)
        let old = nodes[victim]
        index[old.key] = nil
        nodes[victim] = Node(key: key, bytes: bytes, dirty: false, prev: -1, next: -1)
        index[key] = victim
        pushFront(victim)
        evictions += 1
        return (old.key, old.bytes, old.dirty)
    }

    mutating func update<R>(_ key: PageKey, dirty: Bool, _ body: (inout [UInt8]) -> R) -> R {
        guard let i = index[key] else { preconditionFailure("page just inserted") }
        if dirty { nodes[i].dirty = true }
        return body(&nodes[i].bytes)
    }

    /// Drops pages of `file` at or past `pages` (truncate).
    mutating func drop(file: Int, from pages: Int) {
        for (key, i) in index where key.file == file && key.page >= pages {
            nodes[i].bytes = []
            nodes[i].dirty = false
            nodes[i].key = PageKey(file: -1, page: i)
            index[key] = nil
            index[nodes[i].key] = i
        }
    }

    /// Forgets every page (sizes included: they are on the file now).
    mutating func removeAll() {
        index = [:]
        nodes = []
        head = -1
        tail = -1
        sizes = [:]
    }

    /// Every dirty page, marked clean.
    mutating func takeDirty() -> [(PageKey, [UInt8])] {
        var out: [(PageKey, [UInt8])] = []
        for i in nodes.indices where nodes[i].dirty && nodes[i].key.file >= 0 {
            out.append((nodes[i].key, nodes[i].bytes))
            nodes[i].dirty = false
        }
        return out
    }

    private mutating func unlink(_ i: Int) {
        let p = nodes[i].prev, n = nodes[i].next
        if p >= 0 { nodes[p].next = n } else { head = n }
        if n >= 0 { nodes[n].prev = p } else { tail = p }
        nodes[i].prev = -1
        nodes[i].next = -1
    }

    private mutating func pushFront(_ i: Int) {
        nodes[i].next = head
        nodes[i].prev = -1
        if head >= 0 { nodes[head].prev = i }
        head = i
        if tail < 0 { tail = i }
    }
}

final class MutexDictSession: LoadSession {
    let engine: MutexDictEngine
    init(engine: MutexDictEngine) { self.engine = engine }

    func read(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) {
        try engine.withPage(PageKey(file: file, page: page), dirty: false) { bytes in
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<min($0.count, buffer.count)])) }
        }
    }

    func write(file: Int, page: Int, from buffer: UnsafeRawBufferPointer) throws(LoadError) {
        try engine.withPage(PageKey(file: file, page: page), dirty: true, extending: true) { bytes in
            bytes.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<min($0.count, buffer.count)])) }
        }
    }

    func faultWrite(file: Int, page: Int, offset: Int, value: UInt64) throws(LoadError) {
        try engine.withPage(PageKey(file: file, page: page), dirty: true) { bytes in
            bytes.withUnsafeMutableBytes { $0.storeBytes(of: value, toByteOffset: offset, as: UInt64.self) }
        }
    }

    func mapRead(file: Int, mapPages: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool {
        guard page < (try sizePages(file: file)) else { return false }
        try read(file: file, page: page, into: buffer)
        return true
    }

    func viewRead(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool {
        try mapRead(file: file, mapPages: 0, page: page, into: buffer)
    }

    /// Every access is under the one lock.
    var pageReadsAreAtomic: Bool { true }

    func readPage(file: Int, page: Int, into buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> Bool {
        try mapRead(file: file, mapPages: 0, page: page, into: buffer)
    }

    /// Pages only: nothing to collapse.
    func compact(file: Int) throws(LoadError) -> Bool { false }

    func truncate(file: Int, pages: Int) throws(LoadError) {
        // Under the lock, so that no miss re-reads a page being cut.
        try engine.state.withLock { (s: inout LRUPages) throws(LoadError) in
            s.drop(file: file, from: pages)
            s.sizes[file] = pages
            try OSSession(engine: engine.io).truncate(file: file, pages: pages)
        }
    }

    func sizePages(file: Int) throws(LoadError) -> Int {
        try engine.state.withLock { (s: inout LRUPages) throws(LoadError) -> Int in try engine.size(&s, file) }
    }
}
