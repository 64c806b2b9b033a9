import FolioLocks
import Synchronization

/// A lock word owned by a class, as a folio owns its state word.
final class TestWord: Sendable {
    let word = Atomic<UInt64>(0)
    var key: UInt { UInt(bitPattern: ObjectIdentifier(self).hashValue) }
    var bits: UInt64 { word.load(ordering: .relaxed) }
}

/// The bit-lock flavours under test, behind one interface.
enum BitFlavour: Sendable, CustomStringConvertible {
    case plain
    case hybrid(HybridLockPolicy)

    func lock(_ w: TestWord, _ lot: ParkingLot, _ stats: LockStatistics? = nil) {
        switch self {
        case .plain: BitLock.lock(w.word, key: w.key, lot: lot, statistics: stats)
        case .hybrid(let p): HybridLock.lock(w.word, key: w.key, lot: lot, policy: p, statistics: stats)
        }
    }
    func lock(_ w: TestWord, _ lot: ParkingLot, timeout: Duration, _ stats: LockStatistics? = nil) -> Bool {
        switch self {
        case .plain: BitLock.lock(w.word, key: w.key, lot: lot, timeout: timeout, statistics: stats)
        case .hybrid(let p): HybridLock.lock(w.word, key: w.key, lot: lot, policy: p, timeout: timeout, statistics: stats)
        }
    }
    func tryLock(_ w: TestWord, _ lot: ParkingLot) -> Bool {
        switch self {
        case .plain: BitLock.tryLock(w.word)
        case .hybrid(let p): HybridLock.tryLock(w.word, key: w.key, lot: lot, policy: p)
        }
    }
    func unlock(_ w: TestWord, _ lot: ParkingLot, _ stats: LockStatistics? = nil) {
        switch self {
        case .plain: BitLock.unlock(w.word, key: w.key, lot: lot)
        case .hybrid(let p): HybridLock.unlock(w.word, key: w.key, lot: lot, policy: p, statistics: stats)
        }
    }
    /// Unlock and subtract `extra` from the word in one atomic.
    func unlock(_ w: TestWord, _ lot: ParkingLot, subtracting extra: UInt64) {
        switch self {
        case .plain: BitLock.unlock(w.word, key: w.key, lot: lot, subtracting: extra)
        case .hybrid(let p): HybridLock.unlock(w.word, key: w.key, lot: lot, policy: p, subtracting: extra)
        }
    }

    var description: String {
        switch self {
        case .plain: "bit"
        case .hybrid(let p) where p == .fair: "fair"
        case .hybrid(let p) where p == .barging: "barging"
        case .hybrid(let p): "hybrid(\(p))"
        }
    }

    static let all: [BitFlavour] = [.plain, .hybrid(.hybrid), .hybrid(.fair), .hybrid(.barging)]
        + HybridLockPolicy.testVariants.map { .hybrid($0) }
}

extension HybridLockPolicy {
    /// Every variant of the hybrid measured in docs/fairness.md beside the
    /// presets: the kernel-faithful one, one woken waiter at a time (with and
    /// without spinning), the unlocker yielding on a handoff.
    static let testVariants: [HybridLockPolicy] = [
        .kernel,
        HybridLockPolicy(spinLimit: 40, handoffSpin: 0),  // the default before the sweep
        HybridLockPolicy(spinLimit: 0, singleWaker: true, handoffSpin: 0),
        HybridLockPolicy(spinLimit: 40, maxSpinners: 1, singleWaker: true, handoffSpin: 0),
        HybridLockPolicy(spinLimit: 0, singleWaker: true, yieldOnHandoff: true, handoffSpin: 0),
        HybridLockPolicy(spinLimit: 0, yieldOnHandoff: true, handoffSpin: 0),
        HybridLockPolicy(spinLimit: 0, singleWaker: true, handoffSpin: 2_000),
        HybridLockPolicy.restricted,
    ]
}
