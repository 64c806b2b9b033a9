/// The hit loops (`hit-hot`, `hit-distinct`, `hit-uniform`): the loop of a
/// block cache's hit — look up a cached page, copy its bytes out, release —
/// through `session.read` (for the Folio engines `CachedFile.read(into:at:)`),
/// the loop `Benchmarks/RocksDBReaders` runs against RocksDB's block caches.
///
/// - `hit-hot`: every thread reads page 0, the one hot block;
/// - `hit-distinct`: thread t reads only page t × (file pages / threads), a
///   page of its own, away from the others';
/// - `hit-uniform`: every thread reads pages drawn uniformly over the whole
///   file (`--file-size`; give `--capacity` room for all of it).
///
/// One operation is `hitBatch` reads, so that the per-operation clock reads
/// and histogram record (~40 ns) cost under 1 ns a read and the rate is the
/// loop's own: reads per second = `megabytesPerSecond` × 10⁶ / page size
/// (= `opsPerSecond` × `hitBatch`); latency is per batch.
///
/// Every page a thread will read is cached before its loop starts: its first
/// operation reads them in (hit-hot: page 0; hit-distinct: its page;
/// hit-uniform: the whole file, in order). That operation falls in the
/// warm-up when there is one long enough for it (the file at `pread` speed);
/// with `--warmup 0` it is the first measured operation.
extension WorkloadDriver {
    static let hitBatch = 64

    /// The page `hit-distinct`'s thread `t` reads.
    func distinctPage(t: Int, threads: Int) -> Int { t * Swift.max(1, filePages / Swift.max(1, threads)) }

    /// `cursor` is -1 (`startCursor`) until the thread's pages are read in.
    func hitLoopStep<Session: LoadSession>(t: Int, threads: Int, session: Session, rng: inout SplitMix, cursor: inout Int,
                                           buffer: UnsafeMutableRawBufferPointer) throws(LoadError) -> StepOutcome {
        if cursor < 0 {
            let pages: Range<Int> = switch workload {
            case .hitUniform: 0..<filePages
            case .hitDistinct: distinctPage(t: t, threads: threads)..<distinctPage(t: t, threads: threads) + 1
            default: 0..<1
            }
            for p in pages { try session.read(file: 0, page: p, into: buffer) }
            cursor = 0
            return StepOutcome(bytes: pages.count * pageSize, accesses: pages.count)
        }
        switch workload {
        case .hitUniform:
            let n = filePages
            for _ in 0..<Self.hitBatch { try session.read(file: 0, page: rng.below(n), into: buffer) }
        default:
            let page = workload == .hitDistinct ? distinctPage(t: t, threads: threads) : 0
            for _ in 0..<Self.hitBatch { try session.read(file: 0, page: page, into: buffer) }
        }
        return StepOutcome(bytes: Self.hitBatch * pageSize, accesses: Self.hitBatch)
    }
}
