import Synchronization

/// Counters of one open file (its mapping, shared by every handle of it).
/// Off the hit path except `hits`, which is striped (`StripedCounter`).
@usableFromInline
final class FileCounters: Sendable {
    /// Pages that `read` found cached (each page of a read once).
    @usableFromInline let hits = StripedCounter()
    /// Pages read from the backend because they were not cached.
    let misses = Atomic<UInt64>(0)
    /// Folios written back.
    let writebacks = Atomic<UInt64>(0)
    /// Failed writebacks and fsyncs recorded against the file.
    let writebackErrors = Atomic<UInt64>(0)
    init() {}
}

/// A snapshot of one file's counters: the file, not the cache
/// (`CachedFile.fileStatistics`; `CachedFile.statistics` is the whole
/// cache's). Every handle of a file opened more than once shares them.
public struct FileStatistics: Sendable, Equatable {
    /// Pages `read` found cached, each page of a read counted once. (Writes
    /// and views are not counted: a hit is a read served from memory.)
    public var hits: UInt64
    /// Pages read from the backend because they were not cached.
    public var misses: UInt64
    /// Folios of this file written back (flush, sync, close, reclaim,
    /// background writeback).
    public var writebacks: UInt64
    /// Writeback and fsync failures recorded against the file (each also
    /// reported to every handle's next flush, sync or close).
    public var writebackErrors: UInt64

    /// A snapshot with the given counts (all zero by default).
    public init(hits: UInt64 = 0, misses: UInt64 = 0, writebacks: UInt64 = 0, writebackErrors: UInt64 = 0) {
        self.hits = hits
        self.misses = misses
        self.writebacks = writebacks
        self.writebackErrors = writebackErrors
    }
}

extension FileCounters {
    var snapshot: FileStatistics {
        FileStatistics(
            hits: hits.sum, misses: misses.load(ordering: .relaxed), writebacks: writebacks.load(ordering: .relaxed),
            writebackErrors: writebackErrors.load(ordering: .relaxed))
    }
}

extension CachedFile {
    /// This file's own counters (the file, shared by all its handles;
    /// `statistics` is the whole cache's). Kept after close.
    public var fileStatistics: FileStatistics { mapping.counters.snapshot }
}

extension PageCache {
    /// Hits and writeback errors: those of the open files, plus those of
    /// the files closed before (`retire`).
    func fillFileTotals(_ s: inout CacheStatistics) {
        var hits = counters.retiredHits.load(ordering: .relaxed)
        var errors = counters.retiredWritebackErrors.load(ordering: .relaxed)
        for mapping in openFiles.current() {
            hits &+= mapping.counters.hits.sum
            errors &+= mapping.counters.writebackErrors.load(ordering: .relaxed)
        }
        s.hits = hits
        s.writebackErrors = errors
    }

    /// A file closes (its last handle, or shutdown): its hits and errors
    /// move to the cache's totals.
    func retire(_ file: FileCounters) {
        counters.retiredHits.wrappingAdd(file.hits.sum, ordering: .relaxed)
        counters.retiredWritebackErrors.wrappingAdd(file.writebackErrors.load(ordering: .relaxed), ordering: .relaxed)
    }
}
