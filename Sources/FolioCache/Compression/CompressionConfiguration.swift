/// Compression of cold clean folios (`PageCache+Compression.swift`) and the
/// interval of the background collapse that builds large folios
/// (`PageCache.startBackgroundCollapse`).
public struct CompressionConfiguration: Sendable, Equatable {
    /// Whether reclaim may keep cold clean folios LZ4-compressed (the
    /// compressed tier; large folios compress best).
    public var enabled: Bool
    /// Keep a compressed folio only if compression saves at least this
    /// fraction of its bytes (0 ≤ value < 1; 0.25 means "at least a quarter").
    public var minimumSaving: Double
    /// The share of the cache's budget compressed folios may take (0 < value
    /// ≤ 1): while they take more, reclaim evicts the oldest of them instead
    /// of compressing more; the rest of the budget holds uncompressed
    /// folios. At LZ4's 2.5× on text, 0.8 makes a cache full of cold data
    /// hold 2.2× its budget (docs/large-folios.md).
    public var maximumShare: Double
    /// Whether a decompressed folio keeps its compressed block beside its
    /// bytes (charged to the budget) until they change, so that when it is
    /// cold again reclaim drops the bytes instead of compressing them anew
    /// (OpenZFS's compressed ARC keeps both copies too). Measured in
    /// docs/performance.md.
    public var keepCompressedCopy: Bool
    /// How often the background collapse looks for aligned runs of cached
    /// base pages to merge into large folios.
    public var collapseInterval: Duration

    /// The shortest collapse interval (1 ms).
    public static let minimumInterval: Duration = .milliseconds(1)
    /// The longest collapse interval (one day).
    public static let maximumInterval: Duration = .seconds(86_400)

    /// A configuration with the given fields; by default compression is off,
    /// a folio must shrink by a quarter, compressed folios may take 80 % of
    /// the budget, compressed copies are kept and collapse runs every 10 s.
    public init(enabled: Bool = false, minimumSaving: Double = 0.25, maximumShare: Double = 0.8,
                keepCompressedCopy: Bool = true, collapseInterval: Duration = .seconds(10)) {
        self.enabled = enabled
        self.minimumSaving = minimumSaving
        self.maximumShare = maximumShare
        self.keepCompressedCopy = keepCompressedCopy
        self.collapseInterval = collapseInterval
    }

    /// Checks `minimumSaving` (0 up to, not including, 1), `maximumShare`
    /// (above 0 up to 1) and `collapseInterval` (`minimumInterval` to
    /// `maximumInterval`).
    ///
    /// - Throws: `FolioError.invalidArgument` naming the first bad field.
    public func validate() throws(FolioError) {
        guard minimumSaving >= 0, minimumSaving < 1 else {
            throw .invalidArgument("compression.minimumSaving \(minimumSaving) is not a fraction from 0 up to (not including) 1")
        }
        guard maximumShare > 0, maximumShare <= 1 else {
            throw .invalidArgument("compression.maximumShare \(maximumShare) is not a fraction above 0 up to 1")
        }
        guard collapseInterval >= Self.minimumInterval, collapseInterval <= Self.maximumInterval else {
            throw .invalidArgument("compression.collapseInterval \(collapseInterval) is not from \(Self.minimumInterval) to \(Self.maximumInterval)")
        }
    }
}
