import FolioLocks

/// A strategy chosen at run time: its kind and tunables. `makeStrategy()`
/// returns it as an existential that generic code opens (`func f<S:
/// LockStrategy>(_ s: S)` called with `any LockStrategy`), so the run-time
/// choice runs the same specialized code as a build-time one.
public struct LockStrategyConfiguration: Sendable, Equatable {
    public var kind: LockStrategyKind
    /// Tunables of `hybrid-fair` (and of the per-inode rw lock's fairness).
    /// Ignored by the presets, which are fixed.
    public var hybridPolicy: HybridLockPolicy
    /// Buckets of the parking lot; nil uses the process-wide 256-bucket lot.
    public var waitTableBuckets: Int?

    public init(kind: LockStrategyKind, hybridPolicy: HybridLockPolicy = .hybrid, waitTableBuckets: Int? = nil) {
        self.kind = kind
        self.hybridPolicy = hybridPolicy
        self.waitTableBuckets = waitTableBuckets
    }

    /// The policy the hybrid lock of this kind actually runs with.
    public var effectivePolicy: HybridLockPolicy? {
        switch kind {
        case .hybridFair, .perInode: hybridPolicy
        case .fair: .fair
        case .barging: .barging
        case .perPageBit, .perRange: nil
        }
    }

    public func makeStrategy() -> any LockStrategy {
        let lot = waitTableBuckets.map { ParkingLot(bucketCount: $0) } ?? .shared
        switch kind {
        case .perPageBit: return PerPageBitLocking(lot: lot)
        case .hybridFair: return HybridFairLocking(policy: hybridPolicy, lot: lot)
        case .fair: return HybridFairLocking.fair(lot: lot)
        case .barging: return HybridFairLocking.barging(lot: lot)
        case .perInode: return PerInodeLocking(policy: hybridPolicy, lot: lot)
        case .perRange: return PerRangeLocking(lot: lot)
        }
    }
}
