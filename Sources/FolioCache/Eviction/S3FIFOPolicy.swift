import FolioLocks
import Synchronization

/// S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction",
/// SOSP 2023), as libCacheSim 0.3.5 implements it, counting bytes.
///
/// Three FIFO queues: **small** (10 % of the budget), **main** (the rest) and
/// a **ghost** of the keys of folios recently evicted from small (bounded by
/// 90 % of the budget in the bytes those folios weighed; `GhostFIFO`). Each
/// folio has a 2-bit access frequency in its state word.
///
/// * A miss: `prepareInsert`, before room is made, looks the key up in the
///   ghost and drops it there (libCacheSim's lookup does); `insert` puts the
///   folio into main if it was in the ghost, else into small — except while
///   the cache is first filling (nothing evicted yet) and small is full, when
///   it goes to main. Frequency 0.
/// * `access` (a hit): frequency + 1, capped at 3 — done by the engine's
///   access hook on the folio's state word, **lock-free**, and only while it
///   is below 3 (a hot folio's word is read, not written).
/// * Choosing a victim: if main holds more than its share or small is empty,
///   from main — its oldest folio, if its frequency is ≥ 1, goes back to the
///   head of main with frequency − 1 (a 2-bit CLOCK), else it is the victim;
///   otherwise from small — its oldest folio, if its frequency is ≥ 2, moves
///   to the head of main with frequency 0, else it is the victim and its key
///   goes to the ghost when it is evicted; this repeats until a victim or
///   small is empty.
///
/// Victims leave their queue when handed out (so a batch of victims is the
/// reference's sequence) and wait in a *chosen* list until reclaim settles
/// them: `evicted` (a small victim's key joins the ghost), `keep` (back to
/// the head of the queue it came from) or `remove`.
///
/// Memory: the ghost's fixed arrays, `overheadBytes`, charged to the cache's
/// budget — about 0.5 % of it with 4 KiB pages (≈ 16 bytes per remembered
/// folio, 0.9 of a folio remembered per budgeted page).
///
/// Preconditions (the `EvictionPolicy` contract): as SIEVE's — `insert` once
/// per folio whose links are nil, one `evicted` or `remove` per `insert`,
/// `access` on any folio.
@_spi(FolioInternals) public final class S3FIFOPolicy: EvictionPolicy, @unchecked Sendable {
    // @unchecked Sendable: the queues, the ghost, the byte counts and every
    // tracked folio's links and queue bits are read and written only with
    // `lock` held; `trackedCount` and `trackedBytes` are atomic (written under
    // the lock, read without it); the frequency lives in the folio's atomic
    // state word.

    public var kind: EvictionPolicyKind { .s3fifo }

    /// Which queue a folio is in (bits 21–23 of its state word).
    enum Queue: UInt64 {
        case none = 0, small = 1, main = 2, chosenFromSmall = 3, chosenFromMain = 4
    }

    let lock = ShortLock(.policy)
    var small = FolioList()
    var main = FolioList()
    var chosen = FolioList()
    var smallBytes = 0
    var mainBytes = 0
    /// Whether any victim was ever chosen (libCacheSim's `has_evicted`).
    var hasEvicted = false
    var ghost: GhostFIFO
    /// Small's share (10 % of the capacity, in whole pages): main is over
    /// its share when it holds more than the rest.
    public let smallCapacity: Int
    /// Bytes main may hold before victims come from it.
    public let mainCapacity: Int
    /// A small folio with at least this frequency moves to main.
    public static let moveToMainThreshold: UInt64 = 2
    let trackedCount = Atomic<Int>(0)
    let trackedBytes = Atomic<Int>(0)

    /// A policy for a cache of `capacity` bytes of `pageSize`-byte pages.
    public init(capacity: Int, pageSize: Int, smallRatio: Double = 0.1, ghostRatio: Double = 0.9) {
        // In whole pages, as libCacheSim's count-based queues are.
        smallCapacity = Int(Double(capacity / pageSize) * smallRatio) * pageSize
        mainCapacity = capacity - smallCapacity
        ghost = GhostFIFO(capacityBytes: Int(Double(capacity) * ghostRatio), pageSize: pageSize)
    }

    public var count: Int { trackedCount.load(ordering: .relaxed) }
    public var bytes: Int { trackedBytes.load(ordering: .relaxed) }
    /// The ghost's memory.
    public var overheadBytes: Int { ghost.memoryBytes }

    func ghostKey(_ folio: Folio) -> UInt64 {
        GhostFIFO.key(file: folio.mapping?.id ?? 0, page: folio.index.rawValue, order: folio.order)
    }

    /// The hint of a miss whose key was in the ghost: insert into main.
    static let ghostHit = InsertionHint(rawValue: 1)

    public func prepareInsert(file: UInt64, index: PageIndex, order: UInt8) -> InsertionHint {
        let key = GhostFIFO.key(file: file, page: index.rawValue, order: order)
        lock.lock()
        defer { lock.unlock() }
        return ghost.remove(key) ? S3FIFOPolicy.ghostHit : .none
    }

    public func insert(_ folio: Folio, hint: InsertionHint) {
        lock.lock()
        defer { lock.unlock() }
        precondition(folio.policyQueue == Queue.none.rawValue && folio.policyPrev == nil && folio.policyNext == nil,
                     "S3FIFOPolicy.insert: folio is already tracked")
        folio.setAccessFrequency(0)
        if hint == S3FIFOPolicy.ghostHit || (!hasEvicted && smallBytes >= smallCapacity) {
            push(folio, to: .main)
        } else {
            push(folio, to: .small)
        }
        trackedCount.wrappingAdd(1, ordering: .relaxed)
        trackedBytes.wrappingAdd(folio.byteCount, ordering: .relaxed)
    }

    public func access(_ folio: Folio) { folio.bumpAccessFrequency() }

    /// Collapse and split: the new folios go to the head of main if any old
    /// one was in main (or chosen from it), else to the head of small, with
    /// the highest frequency among the old — the pages keep their standing
    /// instead of starting over as a miss would. An old folio that was
    /// handed out as a victim just leaves the chosen list (reclaim then
    /// finds it detached).
    public func replace(_ old: [Folio], with new: [Folio]) {
        lock.lock()
        defer { lock.unlock() }
        var toMain = false
        var freq: UInt64 = 0
        for o in old {
            let q = Queue(rawValue: o.policyQueue) ?? .none
            precondition(q != .none, "S3FIFOPolicy.replace: an old folio is not tracked")
            if q == .main || q == .chosenFromMain { toMain = true }
            freq = max(freq, o.accessFrequency)
            unlink(o, from: q)
            trackedCount.wrappingSubtract(1, ordering: .relaxed)
            trackedBytes.wrappingSubtract(o.byteCount, ordering: .relaxed)
        }
        for n in new {
            precondition(n.policyQueue == Queue.none.rawValue && n.policyPrev == nil && n.policyNext == nil,
                         "S3FIFOPolicy.replace: a new folio is already tracked")
            n.setAccessFrequency(freq)
            push(n, to: toMain ? .main : .small)
            trackedCount.wrappingAdd(1, ordering: .relaxed)
            trackedBytes.wrappingAdd(n.byteCount, ordering: .relaxed)
        }
    }

    public func remove(_ folio: Folio) { drop(folio, evicted: false) }

    public func evicted(_ folio: Folio) { drop(folio, evicted: true) }

    func drop(_ folio: Folio, evicted: Bool) {
        let key = evicted ? ghostKey(folio) : 0
        lock.lock()
        defer { lock.unlock() }
        let q = Queue(rawValue: folio.policyQueue) ?? .none
        precondition(q != .none, "S3FIFOPolicy.remove: folio is not tracked (removed twice, or never inserted)")
        unlink(folio, from: q)
        if evicted && q == .chosenFromSmall { ghost.insert(key) }
        trackedCount.wrappingSubtract(1, ordering: .relaxed)
        trackedBytes.wrappingSubtract(folio.byteCount, ordering: .relaxed)
    }

    /// Back to the head of the queue the victim came from.
    public func keep(_ folio: Folio) {
        lock.lock()
        defer { lock.unlock() }
        switch Queue(rawValue: folio.policyQueue) ?? .none {
        case .chosenFromSmall:
            unlink(folio, from: .chosenFromSmall)
            push(folio, to: .small)
        case .chosenFromMain:
            unlink(folio, from: .chosenFromMain)
            push(folio, to: .main)
        default:
            break  // already settled (evicted or removed by someone else), or never chosen
        }
    }

    public func victims(bytes: Int) -> [Folio] { choose(limit: Int.max, bytes: bytes) }

    public func candidates(limit: Int) -> [Folio] { choose(limit: limit, bytes: Int.max) }

    /// The S3-FIFO eviction loop, handing out victims until `limit` of them
    /// or `bytes` of them. Victims chosen earlier and not yet settled are
    /// offered again once the queues have nothing more.
    func choose(limit: Int, bytes: Int) -> [Folio] {
        guard limit > 0, bytes > 0 else { return [] }
        lock.lock()
        defer { lock.unlock() }
        hasEvicted = hasEvicted || trackedCount.load(ordering: .relaxed) > 0
        var out: [Folio] = []
        var covered = 0
        // Each main folio goes round at most 3 times (its frequency falls by
        // one each time), each small folio at most once: a bound on steps.
        var steps = 4 * trackedCount.load(ordering: .relaxed) + 4
        while out.count < limit && covered < bytes && steps > 0 {
            steps -= 1
            if mainBytes > mainCapacity || small.tail == nil {
                // From main: a 2-bit CLOCK over its FIFO.
                guard let tail = main.tail else { break }
                let folio = tail.takeUnretainedValue()
                let freq = folio.accessFrequency
                unlink(folio, from: .main)
                if freq >= 1 {
                    push(folio, to: .main)
                    folio.setAccessFrequency(freq - 1)
                } else {
                    push(folio, to: .chosenFromMain)
                    out.append(folio)
                    covered += folio.byteCount
                }
            } else {
                // From small, until one victim (or small is empty): a folio
                // used often enough moves to main instead.
                while let tail = small.tail {
                    steps -= 1
                    let folio = tail.takeUnretainedValue()
                    unlink(folio, from: .small)
                    if folio.accessFrequency >= S3FIFOPolicy.moveToMainThreshold {
                        push(folio, to: .main)
                        folio.setAccessFrequency(0)
                    } else {
                        push(folio, to: .chosenFromSmall)
                        out.append(folio)
                        covered += folio.byteCount
                        break
                    }
                }
            }
        }
        if out.count < limit && covered < bytes {
            // Victims handed out before and not yet settled, oldest first.
            var f = chosen.tail
            while let cur = f, out.count < limit, covered < bytes {
                let folio = cur.takeUnretainedValue()
                if !out.contains(where: { $0 === folio }) {
                    out.append(folio)
                    covered += folio.byteCount
                }
                f = FolioList.newer(cur)
            }
        }
        return out
    }

    func push(_ folio: Folio, to q: Queue) {
        switch q {
        case .small:
            small.pushHead(folio)
            smallBytes += folio.byteCount
        case .main:
            main.pushHead(folio)
            mainBytes += folio.byteCount
        case .chosenFromSmall, .chosenFromMain:
            chosen.pushHead(folio)
        case .none:
            return
        }
        folio.policyQueue = q.rawValue
    }

    func unlink(_ folio: Folio, from q: Queue) {
        switch q {
        case .small:
            small.unlink(folio)
            smallBytes -= folio.byteCount
        case .main:
            main.unlink(folio)
            mainBytes -= folio.byteCount
        case .chosenFromSmall, .chosenFromMain:
            chosen.unlink(folio)
        case .none:
            return
        }
        folio.policyQueue = Queue.none.rawValue
    }
}

extension Folio {
    /// S3-FIFO's access frequency, 0…3 (bits 19–20 of the state word).
    @inlinable var accessFrequency: UInt64 { (state.load(ordering: .relaxed) >> 19) & 3 }

    /// The access hook's S3-FIFO part: frequency + 1 unless it is 3 already.
    /// Lock-free; reads only, once the folio is hot.
    @inlinable func bumpAccessFrequency() {
        var s = state.load(ordering: .relaxed)
        while (s >> 19) & 3 < 3 {
            let (ok, current) = state.weakCompareExchange(expected: s, desired: s &+ (1 << 19), ordering: .relaxed)
            if ok { return }
            s = current
        }
    }

    /// Sets the frequency (the policy, under its lock; a concurrent bump may
    /// land before or after, as with any hit racing with eviction).
    func setAccessFrequency(_ f: UInt64) {
        setStateBits(mask: 3 << 19, to: (f & 3) << 19)
    }

    /// S3-FIFO's queue of this folio (bits 21–23), written only under the
    /// policy's lock.
    var policyQueue: UInt64 {
        get { (state.load(ordering: .relaxed) >> 21) & 7 }
        set { setStateBits(mask: 7 << 21, to: (newValue & 7) << 21) }
    }

    /// Replaces the bits under `mask` of the state word, preserving every
    /// other bit whatever other threads do to them meanwhile.
    func setStateBits(mask: UInt64, to value: UInt64) {
        var s = state.load(ordering: .relaxed)
        while true {
            let (ok, current) = state.weakCompareExchange(expected: s, desired: (s & ~mask) | value, ordering: .relaxed)
            if ok { return }
            s = current
        }
    }
}
