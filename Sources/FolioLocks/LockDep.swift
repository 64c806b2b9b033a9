#if DebugLocks
import CFolioShims
#if canImport(Glibc)
import Glibc
#endif

/// The lock checker of the `DebugLocks` trait: Linux's lockdep, at the
/// granularity the kernel cannot afford — every folio lock included.
///
/// Every checked lock operation (`RawWordMutex`, `ShortLock`,
/// `ReaderWriterLock`, `RangeLock`, and the lock strategies' folio locks)
/// reports here with its lock's *class* (`LockClass`), its instance (an
/// address), its mode and its call site:
///
/// - **Owner.** Each thread keeps a stack of the locks it holds, with the
///   sites that took them. An unlock of a lock the thread does not hold is
///   reported: as *unlock by a non-owner* when another thread holds it
///   (naming that thread and where it took the lock), else as a *double
///   unlock* (naming where it was last released).
/// - **Order.** The first time a thread takes a lock of class B (blocking, in
///   any mode — shared counts) while holding one of class A, the edge A → B is
///   learned, with both sites. If B already reaches A through learned edges,
///   the acquisition inverts the order and is reported with the sites of
///   both: this acquisition's, and those of every edge of the path that
///   went the other way. As in lockdep, only the held locks down to the
///   first one taken by a blocking acquisition are predecessors (the rest
///   are implied), and a **trylock adds no edge** — it cannot wait, so it
///   cannot close a cycle — but it is recorded as held, so what is taken
///   under it does get edges. A timed acquisition (`lock(…, timeout:)`) gives
///   up rather than deadlock and counts as a trylock too.
/// - **Same class.** Two locks of one class may nest only if they carry an
///   order (`Order`: a domain and a position range, e.g. a file and a
///   folio's pages) in the same domain and the new one lies wholly *after*
///   the held one: folio locks of one file in ascending index. Anything
///   else — descending or overlapping positions, two files, or a class
///   without an order — is reported (lockdep's "possible recursive
///   locking"), as is taking a lock the thread already holds.
///
/// **Reports** go to the observers a test installs (`addObserver`); one that
/// returns true consumes the report (and an unlock it concerns is not
/// performed). Otherwise the process traps with the report's message — or,
/// with `FOLIO_LOCKDEP_REPORT=print`, prints it to stderr and goes on (to
/// survey a whole test run). `FOLIO_LOCKDEP_DUMP=path` writes the learned
/// graph (and any printed reports) to `path` at exit; `%p` in it becomes the
/// process id.
///
/// Cost (only with the trait): per acquisition a thread-local lookup, a scan
/// of the held stack, a set lookup per predecessor (the graph's global lock
/// only for an edge this thread has not seen), and a push under the thread's
/// own uncontended lock; per release a search of the stack. See
/// docs/performance.md, "Debug locks".
public enum LockDep {
    /// Where a lock lies among the locks of its class that may nest: within
    /// one `domain` (a file), locks are taken in ascending, non-overlapping
    /// `start..<end` (a folio's pages, a range lock's range).
    public struct Order: Sendable, Equatable {
        public var domain: UInt
        public var start: UInt64
        public var end: UInt64
        @inlinable public init(domain: UInt, start: UInt64, end: UInt64) {
            self.domain = domain
            self.start = start
            self.end = end
        }
    }

    /// A problem the checker found.
    public struct Report: Sendable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            /// An acquisition that closes a cycle of learned edges.
            case inversion
            /// Two locks of one class taken against their order (descending
            /// folio indices) or overlapping.
            case outOfOrder
            /// A lock taken again by its holder, or two locks of a class with
            /// no order between them.
            case recursive
            /// An unlock by a thread that does not hold the lock while
            /// another does.
            case nonOwnerUnlock
            /// An unlock of a lock nobody holds.
            case doubleUnlock
            /// An unlock in another mode than the lock is held in.
            case wrongMode
        }
        public let kind: Kind
        /// The classes involved (for an inversion: the held one, then the one
        /// being taken).
        public let classes: [String]
        /// The sites involved, as `file:line` (for an inversion: the held
        /// lock's and this acquisition's, then both of every edge of the
        /// reverse path).
        public let sites: [String]
        public let message: String
        public var description: String { message }
    }

    /// A learned edge: a lock of class `to` was taken (at `toSite`) while one
    /// of class `from` was held (taken at `fromSite`), first by thread
    /// `thread`.
    public struct Edge: Sendable, CustomStringConvertible {
        public let from: String
        public let to: String
        public let fromSite: String
        public let toSite: String
        /// The held lock had been taken by a trylock.
        public let fromTrylock: Bool
        public let thread: Int
        public var description: String {
            "\(from) -> \(to)    held since \(fromSite)\(fromTrylock ? " (trylock)" : ""), taken at \(toSite) (thread #\(thread))"
        }
    }

    public struct ObserverID: Sendable, Hashable { let value: Int }

    // MARK: Hooks (the lock primitives call these)

    /// Before a blocking acquisition: checks it against the held locks
    /// (same class, learned order) and learns its edges.
    public static func willAcquire(_ c: LockClass, instance: UInt, mode: LockMode, order: Order? = nil, site: LockSite) {
        let t = ThreadRecord.current
        // (The owner reads its own stack without its lock: only it writes it.)
        if t.held.isEmpty { return }
        var reports: [Report] = []
        for h in t.held where h.cls == c.id {
            // A held empty range (a range lock's) excludes nothing.
            if let ho = h.order, ho.start == ho.end { continue }
            if instance != 0 && h.instance == instance {
                reports.append(sameClassReport(.recursive, t, h, c, mode, site, what: "the thread already holds this very lock (\(h.mode)) — it would wait for itself"))
            } else if let o = order, let ho = h.order, o.domain == ho.domain {
                if o.start < ho.end {
                    reports.append(sameClassReport(.outOfOrder, t, h, c, mode, site,
                        what: "positions \(o.start)..<\(o.end) taken while holding \(ho.start)..<\(ho.end) of the same domain: locks of this class are taken in ascending order only"))
                }
            } else {
                reports.append(sameClassReport(.recursive, t, h, c, mode, site,
                    what: order == nil ? "two locks of this class nested, and the class has no order between its locks" : "two locks of this class from different domains nested (no order between domains)"))
            }
        }
        var i = t.held.count - 1
        while i >= 0 {
            let h = t.held[i]
            if h.cls != c.id, let r = learnEdge(t, from: h, to: c.id, site: site) { reports.append(r) }
            // Below the first blocking acquisition, edges are implied.
            if !h.isTry { break }
            i -= 1
        }
        for r in reports { _ = deliver(r) }
    }

    /// After an acquisition (blocking or try) succeeded: the lock is held.
    public static func acquired(_ c: LockClass, instance: UInt, mode: LockMode, order: Order? = nil, site: LockSite, isTry: Bool) {
        let t = ThreadRecord.current
        t.lock.rawLock()
        t.held.append(Held(cls: c.id, instance: instance, mode: mode, order: order, site: site, isTry: isTry))
        t.lock.rawUnlock()
    }

    /// Before a release: checks that this thread holds the lock (in `mode`,
    /// if given). Returns false if it does not and an observer consumed the
    /// report: the caller then does not touch the lock.
    @discardableResult
    public static func willRelease(_ c: LockClass, instance: UInt, mode: LockMode?, site: LockSite) -> Bool {
        let t = ThreadRecord.current
        t.lock.rawLock()
        if let i = t.held.lastIndex(where: { $0.instance == instance && $0.cls == c.id && (mode == nil || $0.mode == mode) }) {
            t.held.remove(at: i)
            t.noteRelease(Released(cls: c.id, instance: instance, site: site, time: MonotonicClock.nanoseconds()))
            t.lock.rawUnlock()
            return true
        }
        let heldOtherMode = t.held.last(where: { $0.instance == instance && $0.cls == c.id })
        t.lock.rawUnlock()
        let report: Report
        if let h = heldOtherMode, let mode {
            report = Report(kind: .wrongMode, classes: [c.name], sites: [h.site.description, site.description],
                message: "unlock of '\(c.name)' in mode \(mode) at \(site) by thread #\(t.number), which holds it \(h.mode) (taken at \(h.site))")
        } else {
            report = unheldReport(t, c, instance: instance, mode: mode, site: site)
        }
        return !deliver(report)
    }

    // MARK: Observers

    /// Installs `body` to see every report; it returns true to consume one
    /// (the process then neither traps nor prints). Tests filter on their
    /// own classes and let the rest through.
    @discardableResult
    public static func addObserver(_ body: @escaping @Sendable (Report) -> Bool) -> ObserverID {
        state.lock.rawLock()
        defer { state.lock.rawUnlock() }
        state.nextObserver += 1
        let id = ObserverID(value: state.nextObserver)
        state.observers.append((id, body))
        return id
    }

    public static func removeObserver(_ id: ObserverID) {
        state.lock.rawLock()
        state.observers.removeAll { $0.id == id }
        state.lock.rawUnlock()
    }

    // MARK: The learned graph

    /// Every edge learned so far, in the order learned.
    public static func learnedEdges() -> [Edge] {
        state.graphLock.rawLock()
        let raw = state.edgeOrder.map { ($0, state.edges[$0]!) }
        state.graphLock.rawUnlock()
        return raw.map { key, info in
            Edge(from: className(key >> 20), to: className(key & 0xF_FFFF), fromSite: info.fromSite.description,
                 toSite: info.toSite.description, fromTrylock: info.fromTry, thread: info.thread)
        }
    }

    /// The learned graph as text, one edge a line, sorted by class names.
    public static func graphDescription() -> String {
        let lines = learnedEdges().map(\.description).sorted()
        return lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
    }

    /// The messages of the reports printed so far (`FOLIO_LOCKDEP_REPORT=print`).
    public static func printedReports() -> [String] {
        state.lock.rawLock()
        defer { state.lock.rawUnlock() }
        return state.printed
    }

    /// Writes the graph and any printed reports to `path`.
    public static func writeGraph(toPath path: String) {
        var text = "# FOLIO_LOCKDEP learned edges (held class -> taken class)\n" + graphDescription()
        let printed = printedReports()
        if !printed.isEmpty {
            text += "# reports\n" + printed.map { "REPORT " + $0.replacingNewlines() }.joined(separator: "\n") + "\n"
        }
        guard let f = fopen(path, "w") else { return }
        fputs(text, f)
        fclose(f)
    }

    // MARK: Internals

    static let state = LockDepState()

    static func registerClass(_ name: String) -> Int {
        state.lock.rawLock()
        defer { state.lock.rawUnlock() }
        if let id = state.classIDs[name] { return id }
        let id = state.classNames.count
        state.classNames.append(name)
        state.classIDs[name] = id
        state.adjacencyGrow(to: id + 1)
        return id
    }

    static func className(_ id: Int) -> String {
        state.lock.rawLock()
        defer { state.lock.rawUnlock() }
        return id < state.classNames.count ? state.classNames[id] : "class #\(id)"
    }

    static func edgeKey(_ from: Int, _ to: Int) -> Int { from << 20 | to }

    /// Learns `from.cls → to` unless known; returns an inversion report if
    /// `to` already reaches `from.cls` (the edge is then not added).
    static func learnEdge(_ t: ThreadRecord, from h: Held, to: Int, site: LockSite) -> Report? {
        let key = edgeKey(h.cls, to)
        if t.knownEdges.contains(key) { return nil }
        t.knownEdges.insert(key)
        state.graphLock.rawLock()
        if state.edges[key] != nil {
            state.graphLock.rawUnlock()
            return nil
        }
        if let path = state.path(from: to, to: h.cls) {
            let reverse = path.map { ($0, state.edges[edgeKey($0.0, $0.1)]!) }
            state.graphLock.rawUnlock()
            return inversionReport(t, held: h, taking: to, site: site, reverse: reverse)
        }
        state.edges[key] = EdgeInfo(fromSite: h.site, toSite: site, fromTry: h.isTry, thread: t.number)
        state.adjacency[h.cls].append(to)
        state.edgeOrder.append(key)
        state.graphLock.rawUnlock()
        return nil
    }

    static func inversionReport(_ t: ThreadRecord, held h: Held, taking to: Int, site: LockSite, reverse: [((Int, Int), EdgeInfo)]) -> Report {
        let a = className(h.cls), b = className(to)
        var sites = [h.site.description, site.description]
        var lines = [
            "lock order inversion: thread #\(t.number) takes '\(b)' at \(site) while holding '\(a)' (taken at \(h.site)),",
            "but '\(b)' -> '\(a)' was learned before:",
        ]
        for ((x, y), info) in reverse {
            lines.append("  '\(className(x))' held (taken at \(info.fromSite)\(info.fromTry ? ", trylock" : "")) when '\(className(y))' was taken at \(info.toSite) (thread #\(info.thread))")
            sites += [info.fromSite.description, info.toSite.description]
        }
        return Report(kind: .inversion, classes: [a, b], sites: sites, message: lines.joined(separator: "\n"))
    }

    static func sameClassReport(_ kind: Report.Kind, _ t: ThreadRecord, _ h: Held, _ c: LockClass, _ mode: LockMode, _ site: LockSite, what: String) -> Report {
        let title = kind == .outOfOrder ? "locks of one class out of order" : "possible recursive locking"
        return Report(kind: kind, classes: [c.name, c.name], sites: [h.site.description, site.description],
            message: "\(title): thread #\(t.number) takes '\(c.name)' (\(mode)) at \(site) while holding '\(c.name)' (\(h.mode), taken at \(h.site)): \(what)")
    }

    /// The report for an unlock of a lock this thread does not hold: who
    /// holds it, or where it was last released.
    static func unheldReport(_ t: ThreadRecord, _ c: LockClass, instance: UInt, mode: LockMode?, site: LockSite) -> Report {
        state.lock.rawLock()
        let threads = Array(state.threads.values)
        state.lock.rawUnlock()
        var holder: (ThreadRecord, Held)? = nil
        var last: (ThreadRecord, Released)? = nil
        for other in threads {
            other.lock.rawLock()
            if holder == nil, other !== t, let h = other.held.last(where: { $0.instance == instance && $0.cls == c.id }) {
                holder = (other, h)
            }
            for r in other.released where r.instance == instance && r.cls == c.id {
                if last == nil || r.time > last!.1.time { last = (other, r) }
            }
            other.lock.rawUnlock()
        }
        let what = mode.map { " (\($0))" } ?? ""
        if let (owner, h) = holder {
            return Report(kind: .nonOwnerUnlock, classes: [c.name], sites: [h.site.description, site.description],
                message: "unlock by a non-owner: thread #\(t.number) unlocks '\(c.name)'\(what) at \(site), but thread #\(owner.number) holds it (\(h.mode), taken at \(h.site))")
        }
        if let (releaser, r) = last {
            return Report(kind: .doubleUnlock, classes: [c.name], sites: [r.site.description, site.description],
                message: "double unlock: thread #\(t.number) unlocks '\(c.name)'\(what) at \(site), which nobody holds; it was last unlocked at \(r.site) (thread #\(releaser.number))")
        }
        return Report(kind: .doubleUnlock, classes: [c.name], sites: [site.description],
            message: "unlock of a lock nobody holds: thread #\(t.number) unlocks '\(c.name)'\(what) at \(site) (no recent unlock of it is known)")
    }

    /// Gives a report to the observers; returns whether one consumed it.
    /// Unconsumed, it traps (or, with `FOLIO_LOCKDEP_REPORT=print`, prints).
    static func deliver(_ report: Report) -> Bool {
        state.lock.rawLock()
        let observers = state.observers
        state.lock.rawUnlock()
        for (_, body) in observers where body(report) { return true }
        if state.printOnly {
            // A pattern in a loop is printed once.
            guard state.firstTime(report) else { return false }
            state.lock.rawLock()
            state.printed.append(report.message)
            state.lock.rawUnlock()
            let line = "FOLIO_LOCKDEP: \(report.message)\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
            return false
        }
        fatalError("FOLIO_LOCKDEP: \(report.message)")
    }
}

// MARK: - State

/// One held lock on a thread's stack.
struct Held {
    let cls: Int
    let instance: UInt
    let mode: LockMode
    let order: LockDep.Order?
    let site: LockSite
    let isTry: Bool
}

/// A recent release, for double-unlock reports.
struct Released {
    let cls: Int
    let instance: UInt
    let site: LockSite
    let time: UInt64
}

struct EdgeInfo {
    let fromSite: LockSite
    let toSite: LockSite
    let fromTry: Bool
    let thread: Int
}

/// The checker's own lock: the futex word lock, never checked (id 0 is no
/// registered class).
final class InternalLock: @unchecked Sendable {
    // @unchecked Sendable: a futex word touched only atomically.
    let word: UnsafeMutablePointer<UInt32>
    init() {
        word = .allocate(capacity: 1)
        word.initialize(to: 0)
    }
    deinit { word.deallocate() }
    var mutex: RawWordMutex { RawWordMutex(word: word, lockClass: LockClass(unregisteredID: 0)) }
    func rawLock() { mutex.rawLock() }
    func rawUnlock() { mutex.rawUnlock() }
}

extension LockClass {
    /// A class the registry does not know (the checker's own locks).
    init(unregisteredID: Int) { self.id = unregisteredID }
}

/// A thread's held stack and recent releases.
final class ThreadRecord: @unchecked Sendable {
    // @unchecked Sendable: `held`, `released` and `releasedNext` are written
    // only by the owning thread, under `lock`, and read by other threads only
    // under `lock` (reports); the owner reads `held` without it. `knownEdges`
    // is touched only by the owning thread. `number` and `tid` are immutable.
    let number: Int
    let tid: Int32
    let lock = InternalLock()
    var held: [Held] = []
    var released: [Released] = []
    var releasedNext = 0
    var knownEdges = Set<Int>()
    static let releaseMemory = 64

    init(number: Int) {
        self.number = number
        self.tid = folio_gettid()
        held.reserveCapacity(16)
    }

    func noteRelease(_ r: Released) {
        if released.count < ThreadRecord.releaseMemory {
            released.append(r)
        } else {
            released[releasedNext] = r
            releasedNext = (releasedNext + 1) % ThreadRecord.releaseMemory
        }
    }

    /// The calling thread's record (made on first use; freed at thread exit).
    static var current: ThreadRecord {
        if let p = pthread_getspecific(LockDep.state.key) {
            return Unmanaged<ThreadRecord>.fromOpaque(p).takeUnretainedValue()
        }
        let s = LockDep.state
        s.lock.rawLock()
        s.nextThread += 1
        let t = ThreadRecord(number: s.nextThread)
        s.threads[ObjectIdentifier(t)] = t
        s.lock.rawUnlock()
        pthread_setspecific(s.key, Unmanaged.passRetained(t).toOpaque())
        return t
    }
}

/// The process-wide state: class registry, threads, observers (under
/// `lock`); the learned graph (under `graphLock`).
final class LockDepState: @unchecked Sendable {
    // @unchecked Sendable: every mutable field is accessed under `lock` or
    // `graphLock` as marked; `key` and `printOnly` are immutable.
    let lock = InternalLock()
    var classNames: [String] = ["lockdep internal"]
    var classIDs: [String: Int] = [:]
    var threads: [ObjectIdentifier: ThreadRecord] = [:]
    var nextThread = 0
    var observers: [(id: LockDep.ObserverID, body: @Sendable (LockDep.Report) -> Bool)] = []
    var nextObserver = 0
    var printed: [String] = []
    var seenReports = Set<String>()

    let graphLock = InternalLock()
    var adjacency: [[Int]] = [[]]
    var edges: [Int: EdgeInfo] = [:]
    var edgeOrder: [Int] = []

    let key: pthread_key_t
    let printOnly: Bool

    init() {
        var k = pthread_key_t()
        let rc = pthread_key_create(&k) { p in
            guard let p else { return }
            let t = Unmanaged<ThreadRecord>.fromOpaque(p).takeRetainedValue()
            let s = LockDep.state
            s.lock.rawLock()
            s.threads[ObjectIdentifier(t)] = nil
            s.lock.rawUnlock()
        }
        precondition(rc == 0, "LockDep: pthread_key_create failed (\(rc))")
        key = k
        printOnly = getenv("FOLIO_LOCKDEP_REPORT").map { String(cString: $0) } == "print"
        if getenv("FOLIO_LOCKDEP_DUMP") != nil {
            atexit {
                guard let raw = getenv("FOLIO_LOCKDEP_DUMP") else { return }
                let path = String(cString: raw).lockDepReplacing("%p", with: "\(getpid())")
                LockDep.writeGraph(toPath: path)
            }
        }
    }

    /// Grows the adjacency lists for class ids below `count` (under `lock`;
    /// takes `graphLock`).
    func adjacencyGrow(to count: Int) {
        graphLock.rawLock()
        while adjacency.count < count { adjacency.append([]) }
        graphLock.rawUnlock()
    }

    /// A path of learned edges from `a` to `b`, as (from, to) pairs, if any
    /// (under `graphLock`; breadth first, so the shortest).
    func path(from a: Int, to b: Int) -> [(Int, Int)]? {
        if a == b { return [] }
        var parent: [Int: Int] = [a: a]
        var queue = [a]
        var head = 0
        while head < queue.count {
            let x = queue[head]
            head += 1
            for y in adjacency[x] where parent[y] == nil {
                parent[y] = x
                if y == b {
                    var out: [(Int, Int)] = []
                    var cur = b
                    while cur != a {
                        let p = parent[cur]!
                        out.append((p, cur))
                        cur = p
                    }
                    return out.reversed()
                }
                queue.append(y)
            }
        }
        return nil
    }

    /// Whether a report with this message's kind and sites is new (a pattern
    /// in a loop is reported once).
    func firstTime(_ r: LockDep.Report) -> Bool {
        let key = r.kind.rawValue + "|" + r.sites.joined(separator: "|")
        lock.rawLock()
        defer { lock.rawUnlock() }
        return seenReports.insert(key).inserted
    }
}

extension String {
    func replacingNewlines() -> String {
        split(separator: "\n", omittingEmptySubsequences: false).joined(separator: " / ")
    }

    func lockDepReplacing(_ target: String, with replacement: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
#endif
