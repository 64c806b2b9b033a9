@_spi(FolioInternals) import FolioCache

// Reference models of the eviction policies, written as plainly as
// possible (arrays; index 0 is the head, i.e. the newest), for the policy
// unit tests and the engine's replay test. Each reports its hits and its
// victims in order.

/// The eviction policy of a kind, as a plain model of `capacity` objects.
func makeNaiveModel(_ kind: EvictionPolicyKind, capacity: Int, residentLimit: Int? = nil) -> any NaiveModel {
    switch kind {
    case .lru: NaiveLRU(capacity: residentLimit ?? capacity)
    case .sieve: NaiveSieve(capacity: residentLimit ?? capacity)
    case .s3fifo: NaiveS3FIFO(capacity: capacity, residentLimit: residentLimit)
    }
}

protocol NaiveModel {
    var evicted: [UInt64] { get }
    mutating func request(_ id: UInt64) -> Bool
}

struct NaiveLRU: NaiveModel {
    let capacity: Int
    var list: [UInt64] = []  // most recent first
    var evicted: [UInt64] = []
    init(capacity: Int) { self.capacity = capacity }

    mutating func request(_ id: UInt64) -> Bool {
        if let i = list.firstIndex(of: id) {
            list.remove(at: i)
            list.insert(id, at: 0)
            return true
        }
        if list.count >= capacity { evicted.append(list.removeLast()) }
        list.insert(id, at: 0)
        return false
    }
}

/// The paper's pseudo-code: hand starts at the tail, moves toward the head
/// (`prev`), wraps to the tail; after evicting `obj`, `hand = obj.prev`.
struct NaiveSieve: NaiveModel {
    let capacity: Int
    var list: [(id: UInt64, visited: Bool)] = []  // newest first
    var hand: Int?  // index into list; nil = the tail
    var evicted: [UInt64] = []
    init(capacity: Int) { self.capacity = capacity }

    mutating func request(_ id: UInt64) -> Bool {
        if let i = list.firstIndex(where: { $0.id == id }) {
            list[i].visited = true
            return true
        }
        if list.count >= capacity {
            var o = hand ?? list.count - 1
            while list[o].visited {
                list[o].visited = false
                o = o == 0 ? list.count - 1 : o - 1
            }
            evicted.append(list[o].id)
            list.remove(at: o)
            hand = o == 0 ? nil : o - 1  // obj.prev (toward the head); indices below o do not shift
        }
        list.insert((id, false), at: 0)
        if let h = hand { hand = h + 1 }
        return false
    }
}

/// S3-FIFO as libCacheSim 0.3.5 implements it, counting objects
/// (scripts/policy-check/reference_models.py has the same model, checked
/// against the libCacheSim wheel miss for miss): small FIFO of 10 % of the
/// capacity (floor), main FIFO of the rest, ghost FIFO of 90 % (floor) of
/// evicted-from-small keys. A hit: frequency + 1 (capped at 3, which changes
/// nothing). A miss: the ghost is looked up (a hit there drops the entry);
/// evict while full — from main if main is over its share or small is empty
/// (oldest; frequency ≥ 1 → back to main's head with frequency − 1, else
/// evicted), else from small until one is evicted (oldest; frequency ≥ 2 →
/// to main's head with frequency 0, else evicted, key to the ghost) — then
/// insert: into main if the key was in the ghost, or while nothing was ever
/// evicted and small is full; else into small.
struct NaiveS3FIFO: NaiveModel {
    let capacity: Int
    /// Objects held at most: the capacity, or fewer where the engine charges
    /// the ghost's memory to the budget (its queue sizes still come from the
    /// capacity).
    let residentLimit: Int
    let smallCapacity: Int
    let mainCapacity: Int
    let ghostCapacity: Int
    var small: [(id: UInt64, freq: Int)] = []
    var main: [(id: UInt64, freq: Int)] = []
    var ghost: [UInt64] = []  // newest first
    var hasEvicted = false
    var evicted: [UInt64] = []
    init(capacity: Int, residentLimit: Int? = nil) {
        self.capacity = capacity
        self.residentLimit = residentLimit ?? capacity
        smallCapacity = Int(Double(capacity) * 0.1)
        mainCapacity = capacity - smallCapacity
        ghostCapacity = Int(Double(capacity) * 0.9)
    }

    mutating func request(_ id: UInt64) -> Bool {
        if let i = small.firstIndex(where: { $0.id == id }) {
            small[i].freq = min(small[i].freq + 1, 3)
            return true
        }
        if let i = main.firstIndex(where: { $0.id == id }) {
            main[i].freq = min(main[i].freq + 1, 3)
            return true
        }
        var ghostHit = false
        if let g = ghost.firstIndex(of: id) {
            ghost.remove(at: g)
            ghostHit = true
        }
        while small.count + main.count >= residentLimit { evictOne() }
        if ghostHit || (!hasEvicted && small.count >= smallCapacity) {
            main.insert((id, 0), at: 0)
        } else {
            small.insert((id, 0), at: 0)
        }
        return false
    }

    mutating func evictOne() {
        hasEvicted = true
        if main.count > mainCapacity || small.isEmpty {
            while let t = main.popLast() {
                if t.freq >= 1 {
                    main.insert((t.id, t.freq - 1), at: 0)
                } else {
                    evicted.append(t.id)
                    return
                }
            }
        } else {
            while let t = small.popLast() {
                if t.freq >= 2 {
                    main.insert((t.id, 0), at: 0)
                } else {
                    evicted.append(t.id)
                    if ghostCapacity > 0 && !ghost.contains(t.id) {
                        ghost.insert(t.id, at: 0)
                        if ghost.count > ghostCapacity { ghost.removeLast() }
                    }
                    return
                }
            }
        }
    }
}
