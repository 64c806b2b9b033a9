import FolioLocks

/// A strategy chosen at run time: its kind and tunables.
///
/// Two ways to use it:
/// - `visit(_:)` switches on the kind once and calls the visitor's generic
///   `visit(_:)` with the *concrete* strategy type, so the code the visitor
///   runs is specialized for it exactly as with a build-time choice (one
///   dispatch at set-up, none per lock operation).
/// - `makeStrategy()` returns an existential. Generic code can open it
///   (`func f<S: LockStrategy>(_ s: S)` called with `any LockStrategy`), but
///   the opened call runs the unspecialized generic: every lock operation is
///   then an indirect witness call (measured: +1–3 ns per lock/unlock pair,
///   docs/performance.md). Fine for set-up and tests, not for hot loops.
public struct LockStrategyConfiguration: Sendable, Equatable {
    /// The strategy or preset to build.
    public var kind: LockStrategyKind
    /// Tunables of `hybrid-fair` (and of the per-inode rw lock's fairness).
    /// Ignored by the presets, which are fixed.
    public var hybridPolicy: HybridLockPolicy
    /// Buckets of the parking lot; nil uses the process-wide 256-bucket lot.
    public var waitTableBuckets: Int?

    /// A configuration of `kind`; `hybridPolicy` and `waitTableBuckets`
    /// default to the hybrid policy and the shared parking lot.
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
        case .hybridKernel: .kernel
        case .perPageBit, .perRange: nil
        }
    }

    /// Largest parking-lot bucket count a configuration may ask for.
    public static let maxWaitTableBuckets = 1 << 20

    /// Throws `FolioError.invalidArgument` naming a bad value: a bucket
    /// count that is not a power of two from 1 to `maxWaitTableBuckets`, a
    /// negative spin limit. (`AnyPageCache` and configuration files check it.)
    public func validate() throws(FolioError) {
        if let buckets = waitTableBuckets {
            guard buckets >= 1, buckets <= Self.maxWaitTableBuckets, buckets & (buckets - 1) == 0 else {
                throw .invalidArgument("waitTableBuckets \(buckets) is not a power of two from 1 to \(Self.maxWaitTableBuckets)")
            }
        }
        guard hybridPolicy.spinLimit >= 0 else {
            throw .invalidArgument("spinLimit \(hybridPolicy.spinLimit) is negative")
        }
    }

    /// Builds the configured strategy and passes it, with its concrete type,
    /// to `visitor`. Inlinable, so that the caller's module specializes the
    /// visitor's generic code for each concrete strategy.
    @inlinable
    public func visit<V: LockStrategyVisitor>(_ visitor: V) -> V.Result {
        let lot = waitTableBuckets.map { ParkingLot(bucketCount: $0) } ?? .shared
        switch kind {
        case .perPageBit: return visitor.visit(PerPageBitLocking(lot: lot))
        case .hybridFair: return visitor.visit(HybridFairLocking(policy: hybridPolicy, lot: lot))
        case .fair: return visitor.visit(HybridFairLocking.fair(lot: lot))
        case .barging: return visitor.visit(HybridFairLocking.barging(lot: lot))
        case .hybridKernel: return visitor.visit(HybridFairLocking.kernel(lot: lot))
        case .perInode: return visitor.visit(PerInodeLocking(policy: hybridPolicy, lot: lot))
        case .perRange: return visitor.visit(PerRangeLocking(lot: lot))
        }
    }

    /// Builds the configured strategy as an existential (every lock operation
    /// through it is an unspecialized witness call; see the type's discussion).
    public func makeStrategy() -> any LockStrategy {
        let lot = waitTableBuckets.map { ParkingLot(bucketCount: $0) } ?? .shared
        switch kind {
        case .perPageBit: return PerPageBitLocking(lot: lot)
        case .hybridFair: return HybridFairLocking(policy: hybridPolicy, lot: lot)
        case .fair: return HybridFairLocking.fair(lot: lot)
        case .barging: return HybridFairLocking.barging(lot: lot)
        case .hybridKernel: return HybridFairLocking.kernel(lot: lot)
        case .perInode: return PerInodeLocking(policy: hybridPolicy, lot: lot)
        case .perRange: return PerRangeLocking(lot: lot)
        }
    }
}

/// Generic code to run with a strategy chosen at run time; see
/// `LockStrategyConfiguration.visit(_:)`.
public protocol LockStrategyVisitor {
    /// What the visit returns.
    associatedtype Result
    /// Runs with the configured strategy, specialized for its concrete type `S`.
    func visit<S: LockStrategy>(_ strategy: S) -> Result
}
