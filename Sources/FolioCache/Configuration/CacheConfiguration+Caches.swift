import FolioLocks

extension AnyPageCache {
    /// A cache with the strategy and settings of `configuration` (validated
    /// first: nothing starts half-configured).
    public convenience init(configuration: CacheConfiguration) throws(FolioError) {
        try configuration.validate()
        try self.init(strategy: configuration.lock, configuration: configuration.cache)
    }
}

extension PageCache {
    /// A cache of this (build-time) strategy type with the tunables and
    /// settings of `configuration`. The configuration's strategy must be one
    /// this type implements (`fair`, `barging` and `hybrid-fair` are all
    /// `HybridFairLocking`); otherwise this throws rather than silently
    /// running a different strategy than the file names.
    public convenience init(configuration: CacheConfiguration) throws(FolioError) {
        try configuration.validate()
        guard let strategy = configuration.lock.visit(StrategyCast<Strategy>()) else {
            throw .invalidArgument(
                "lock strategy '\(configuration.lock.kind)' is not implemented by \(Strategy.self), the strategy type of this cache")
        }
        try self.init(strategy: strategy, configuration: configuration.cache)
    }
}

/// Builds the configured strategy and returns it if it is a `Target`
/// (a one-time dynamic cast at set-up).
struct StrategyCast<Target: LockStrategy>: LockStrategyVisitor {
    func visit<S: LockStrategy>(_ strategy: S) -> Target? { strategy as? Target }
}
