import Logging

/// The logger a `PageCache` uses when none is given.
public enum PageCacheLogging {
    /// `Logger(label: "folio")`: whatever handler the host bootstrapped
    /// (swift-log's default, a stream at `.info`, otherwise). The cache logs
    /// at `.debug` and `.trace` only, so nothing appears unless the host
    /// lowers the level.
    public static var defaultLogger: Logger { Logger(label: "folio") }
}
