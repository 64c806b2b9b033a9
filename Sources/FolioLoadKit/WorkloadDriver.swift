import FolioCache
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What one operation moved.
struct StepOutcome {
    /// Payload bytes read or written.
    var bytes: Int
    /// Page accesses (for the hit ratio).
    var accesses: Int
}

/// A workload's operations over an engine's session.
struct WorkloadDriver: Sendable {
    let workload: Workload
    let parameters: RunParameters
    let trace: Trace?
    /// Zipf over the working set (zipf, mixed, multi-file, scan-hot's hot set).
    let zipf: Zipf
    /// What the files hold (`--data`).
    let content: FileContent

    /// Throws only for `--data text` on a machine whose corpus differs.
    init(workload: Workload, parameters: RunParameters, trace: Trace?) throws(LoadError) {
        self.workload = workload
        self.parameters = parameters
        self.trace = trace
        content = try FileContent(parameters)
        let needsZipf: Set<Workload> = [.zipf, .mixed, .multiFile, .scanHot]
        zipf = Zipf(n: needsZipf.contains(workload) ? parameters.workingSetPages : 1, skew: parameters.zipfSkew)
    }

    var pageSize: Int { parameters.pageSize }
    var filePages: Int { parameters.filePages }
    var verifies: Bool { workload.stamped || workload == .hammer }
    /// Pages of the file the shared-file and truncate-race workloads use.
    var smallFilePages: Int { Swift.min(filePages, Swift.max(1, Swift.min(parameters.workingSetPages, 64))) }
    /// Pages of collapse-churn's file: the working set, at most 256 pages
    /// (16 folios of order 4 with 4 KiB pages), so that the truncater
    /// regrows it quickly.
    var churnFilePages: Int { Swift.min(filePages, Swift.max(1, Swift.min(parameters.workingSetPages, 256))) }
    /// Pages of the stamped file (truncate-race, collapse-churn).
    var stampedPages: Int { workload == .collapseChurn ? churnFilePages : smallFilePages }

    /// What each thread does, for workloads whose threads differ (in the
    /// report's `threadRoles`, beside `perThreadOps`).
    func roles(threads: Int) -> [String]? {
        switch workload {
        case .truncateRace: (0..<threads).map { $0 == 0 ? "mover" : $0 == 1 ? "truncater" : "reader" }
        case .collapseChurn: (0..<threads).map { Self.churnRole($0).rawValue }
        default: nil
        }
    }

    enum ChurnRole: String { case collapser, truncater, reader, writer }

    /// collapse-churn: thread 0 collapses, 1 truncates, then readers and
    /// writers alternate (2 reads, 3 writes, 4 reads…).
    static func churnRole(_ t: Int) -> ChurnRole {
        switch t {
        case 0: .collapser
        case 1: .truncater
        default: t % 2 == 0 ? .reader : .writer
        }
    }

    // MARK: Set-up

    /// Creates the run's files (fresh for every measurement, so that one
    /// engine's writes and truncates never leak into the next), filled with
    /// `--data`'s content — except truncate-race's, which are stamped pages
    /// (version 0) whatever `--data` says: its verifier needs the stamps.
    func prepareFiles(in directory: String) throws(LoadError) -> [String] {
        let count = workload == .multiFile ? parameters.files : 1
        var paths: [String] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 64)
        defer { buffer.deallocate() }
        for f in 0..<count {
            let path = (directory as NSString).appendingPathComponent("file-\(f).dat")
            let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw .engine("cannot create \(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            let pages = workload.stamped ? stampedPages : filePages
            for p in 0..<pages {
                if workload.stamped {
                    Stamp.fill(buffer, page: p, version: 0)
                } else {
                    content.fill(buffer, file: f, page: p)
                }
                var done = 0
                while done < pageSize {
                    let n = pwrite(fd, buffer.baseAddress! + done, pageSize - done, off_t(p * pageSize + done))
                    if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else {
                        throw .engine("cannot write \(path): \(String(cString: strerror(errno)))")
                    }
                }
            }
            paths.append(path)
        }
        return paths
    }

    func makeShared() -> WorkloadShared {
        WorkloadShared(pages: workload.stamped ? stampedPages : 0)
    }

    /// Where a thread's sequential cursor starts (scan, range-writers,
    /// replay).
    func startCursor(t: Int, threads: Int) -> Int {
        switch workload {
        case .replay: (trace?.accesses.count ?? 1) * t / threads
        // The mover starts with a truncate: it only ever writes pages at or
        // past EOF, never one a reader may have pinned.
        case .truncateRace, .collapseChurn: -1
        // The hit loops read their pages in first (HitLoops.swift).
        case .hitHot, .hitDistinct, .hitUniform: -1
        default: filePages * t / threads
        }
    }

    // MARK: Operations

    func step<Session: LoadSession>(t: Int, threads: Int, session: Session, rng: inout SplitMix, cursor: inout Int,
              buffer: UnsafeMutableRawBufferPointer, shared: WorkloadShared, counter: UInt64) throws(LoadError) -> StepOutcome {
        switch workload {
        case .hammer:
            // Each thread its own 8 bytes of page 0, so that the writes
            // never race with each other; the fault takes the page lock.
            try session.faultWrite(file: 0, page: 0, offset: 8 * t, value: counter)
            return StepOutcome(bytes: 8, accesses: 1)
        case .sharedFile:
            let n = smallFilePages
            let ok = try session.mapRead(file: 0, mapPages: n, page: rng.below(n), into: buffer)
            return StepOutcome(bytes: ok ? pageSize : 0, accesses: 1)
        case .zipf:
            try session.read(file: 0, page: zipf.sample(&rng), into: buffer)
            return StepOutcome(bytes: pageSize, accesses: 1)
        case .uniform:
            try session.read(file: 0, page: rng.below(filePages), into: buffer)
            return StepOutcome(bytes: pageSize, accesses: 1)
        case .scan:
            try session.read(file: 0, page: cursor % filePages, into: buffer)
            cursor = (cursor + 1) % filePages
            return StepOutcome(bytes: pageSize, accesses: 1)
        case .scanHot:
            let hot = parameters.workingSetPages
            if rng.next() & 1 == 0 || hot >= filePages {
                try session.read(file: 0, page: zipf.sample(&rng), into: buffer)
            } else {
                let cold = filePages - hot
                try session.read(file: 0, page: hot + cursor % cold, into: buffer)
                cursor = (cursor + 1) % cold
            }
            return StepOutcome(bytes: pageSize, accesses: 1)
        case .mixed:
            let page = zipf.sample(&rng)
            if rng.nextDouble() < parameters.readRatio {
                try session.read(file: 0, page: page, into: buffer)
            } else {
                try session.write(file: 0, page: page, from: UnsafeRawBufferPointer(buffer))
            }
            return StepOutcome(bytes: pageSize, accesses: 1)
        case .rangeWriters:
            let per = Swift.max(1, filePages / threads)
            let page = Swift.min(filePages - 1, t * per + cursor % per)
            cursor += 1
            try session.write(file: 0, page: page, from: UnsafeRawBufferPointer(buffer))
            return StepOutcome(bytes: pageSize, accesses: 1)
        case .multiFile:
            try session.read(file: rng.below(parameters.files), page: zipf.sample(&rng), into: buffer)
            return StepOutcome(bytes: pageSize, accesses: 1)
        case .replay:
            guard let trace else { return StepOutcome(bytes: 0, accesses: 0) }
            let a = trace.accesses[cursor % trace.accesses.count]
            cursor = (cursor + 1) % trace.accesses.count
            if a.write {
                try session.write(file: 0, page: a.page % filePages, from: UnsafeRawBufferPointer(buffer))
            } else {
                try session.read(file: 0, page: a.page % filePages, into: buffer)
            }
            return StepOutcome(bytes: pageSize, accesses: 1)
        case .hitHot, .hitDistinct, .hitUniform:
            return try hitLoopStep(t: t, threads: threads, session: session, rng: &rng, cursor: &cursor, buffer: buffer)
        case .truncateRace:
            return try truncateRaceStep(t: t, session: session, rng: &rng, cursor: &cursor, buffer: buffer, shared: shared)
        case .collapseChurn:
            return try collapseChurnStep(t: t, session: session, rng: &rng, cursor: &cursor, buffer: buffer, shared: shared)
        }
    }

    /// Whether a view read of a page may see a mix of its versions (and
    /// zeros) while the page is truncated and rewritten — allowed by the
    /// views' contract (docs/views.md: in-place reads are not atomic
    /// against truncates or writes of the same bytes), and what happens
    /// with large folios: a truncate through a large folio that a view is
    /// reading in place cannot split it, keeps it whole and zeroes its tail
    /// under the reader, and the regrow writes into it. With one-page
    /// folios the truncated folio is detached instead and the reader keeps
    /// stable bytes, so the check stays strict. (The baselines' view
    /// operations are their plain reads.)
    func viewReadsTear<Session: LoadSession>(_ session: Session) -> Bool {
        !session.pageReadsAreAtomic || parameters.cache.maxFolioOrder > 0
    }

    /// collapse-churn, on one file of stamped pages: thread 0 calls the
    /// file's `compact()` (the baselines, which cannot, sleep 1 ms instead);
    /// thread 1 truncates the file to a random size (cutting through large
    /// folios: splits) and regrows it page by page at EOF with new stamps;
    /// writers rewrite odd pages below EOF in place with new stamps; readers
    /// read pages and check every stamp as truncate-race does — any page by
    /// a plain read (atomic per page), even pages through a fresh view or
    /// their long-lived view. Views never read a page a writer may be
    /// rewriting in place: an in-place view read is not atomic against a
    /// writer of the same bytes (docs/views.md) — it would be a data race,
    /// not a finding.
    func collapseChurnStep<Session: LoadSession>(t: Int, session: Session, rng: inout SplitMix, cursor: inout Int,
                           buffer: UnsafeMutableRawBufferPointer, shared: WorkloadShared) throws(LoadError) -> StepOutcome {
        let pages = churnFilePages
        switch Self.churnRole(t) {
        case .collapser:
            if !(try session.compact(file: 0)) { usleep(1000) }
            return StepOutcome(bytes: 0, accesses: 0)
        case .truncater:
            return try regrowStep(session: session, pages: pages, rng: &rng, cursor: &cursor, buffer: buffer, shared: shared)
        case .writer:
            guard pages >= 2 else { return StepOutcome(bytes: 0, accesses: 0) }
            let page = rng.below(pages / 2) * 2 + 1
            let wrote = try shared.rewrite(page) { (v: UInt64) throws(LoadError) in
                Stamp.fill(buffer, page: page, version: v)
                try session.write(file: 0, page: page, from: UnsafeRawBufferPointer(buffer))
            }
            return StepOutcome(bytes: wrote ? pageSize : 0, accesses: wrote ? 1 : 0)
        case .reader:
            let how = rng.below(3)
            // Views: even pages only (see above).
            let p = how == 0 || pages < 2 ? rng.below(pages) : rng.below((pages + 1) / 2) * 2
            let before = shared.snapshot(p)
            let ok: Bool
            switch how {
            case 0: ok = try session.readPage(file: 0, page: p, into: buffer)
            case 1: ok = try session.mapRead(file: 0, mapPages: pages, page: p, into: buffer)
            default: ok = try session.viewRead(file: 0, page: p, into: buffer)
            }
            let after = shared.snapshot(p)
            shared.judge(p, ok: ok, bytes: UnsafeRawBufferPointer(buffer), before: before, after: after,
                         tearable: how == 0 ? !session.pageReadsAreAtomic : viewReadsTear(session),
                         path: how == 0 ? "plain read" : how == 1 ? "fresh view" : "long-lived view")
            return StepOutcome(bytes: ok ? pageSize : 0, accesses: 1)
        }
    }

    /// The truncater of truncate-race and collapse-churn: writes stamped
    /// pages at or past EOF in ascending order (`cursor`: the next page to
    /// write), and once it reaches the end of the file (`pages`), truncates
    /// it to a random page and starts again there.
    func regrowStep<Session: LoadSession>(session: Session, pages: Int, rng: inout SplitMix, cursor: inout Int,
                    buffer: UnsafeMutableRawBufferPointer, shared: WorkloadShared) throws(LoadError) -> StepOutcome {
        if cursor >= pages || cursor < 0 {
            let k = rng.below(pages)
            try shared.truncate(to: k) { () throws(LoadError) -> Bool in
                try session.truncate(file: 0, pages: k)
                return true
            }
            cursor = Swift.max(k, try session.sizePages(file: 0))
            return StepOutcome(bytes: 0, accesses: 0)
        }
        let page = cursor
        try shared.write(page) { (v: UInt64) throws(LoadError) in
            Stamp.fill(buffer, page: page, version: v)
            try session.write(file: 0, page: page, from: UnsafeRawBufferPointer(buffer))
        }
        cursor += 1
        return StepOutcome(bytes: pageSize, accesses: 1)
    }

    /// truncate-race: thread 0 truncates and regrows the file with stamped
    /// pages (only at or past EOF, ascending), thread 1 cuts it down, the
    /// others read pages through views and check every stamp.
    func truncateRaceStep<Session: LoadSession>(t: Int, session: Session, rng: inout SplitMix, cursor: inout Int,
                          buffer: UnsafeMutableRawBufferPointer, shared: WorkloadShared) throws(LoadError) -> StepOutcome {
        let pages = smallFilePages
        switch t {
        case 0:
            return try regrowStep(session: session, pages: pages, rng: &rng, cursor: &cursor, buffer: buffer, shared: shared)
        case 1:
            let k = rng.below(pages + 1)
            try shared.truncate(to: k) { () throws(LoadError) -> Bool in
                guard k < (try session.sizePages(file: 0)) else { return false }
                try session.truncate(file: 0, pages: k)
                return true
            }
            usleep(200)
            return StepOutcome(bytes: 0, accesses: 0)
        default:
            let p = rng.below(pages)
            let before = shared.snapshot(p)
            // Readers alternate: a fresh view per read (the fault path every
            // time) and the thread's long-lived view (entries reused and
            // validated, fault-around).
            let ok = rng.next() & 1 == 0
                ? try session.mapRead(file: 0, mapPages: pages, page: p, into: buffer)
                : try session.viewRead(file: 0, page: p, into: buffer)
            let after = shared.snapshot(p)
            shared.judge(p, ok: ok, bytes: UnsafeRawBufferPointer(buffer), before: before, after: after,
                         tearable: viewReadsTear(session))
            return StepOutcome(bytes: ok ? pageSize : 0, accesses: 1)
        }
    }

    /// hammer: every thread's 8 bytes of page 0 must hold the last value it
    /// wrote (nothing lost, nothing mixed up) — read back from the file,
    /// after the engine wrote back and dropped its cached pages.
    func verifyHammer<E: LoadEngine>(engine: E, workers: [WorkerState]) throws(LoadError) -> String? {
        try engine.dropCache()
        let session = try engine.makeSession()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: pageSize, alignment: 64)
        defer { buffer.deallocate() }
        try session.read(file: 0, page: 0, into: buffer)
        for (t, w) in workers.enumerated() where w.lastValue > 0 {
            let got = buffer.loadUnaligned(fromByteOffset: 8 * t, as: UInt64.self)
            if got != w.lastValue {
                return "page 0, bytes \(8 * t)..<\(8 * t + 8) (thread \(t)): read \(got), the thread last wrote \(w.lastValue)"
            }
        }
        return nil
    }
}

/// State the threads of one measurement share: the abort flag, and for
/// truncate-race what the file holds and when it changed.
final class WorkloadShared: @unchecked Sendable {
    // @unchecked Sendable: `abortFlag` is atomic; everything else is accessed
    // under `lock` (and `mutation` serializes the mover's and truncater's
    // changes with their bookkeeping).
    private let abortFlag = Atomic<Bool>(false)
    private let lock = NSLock()
    private let mutation = NSLock()
    private var changes: UInt64 = 0
    private var inFlight = 0
    private var eofPages: Int
    private var content: [UInt64]
    private var nextVersion: UInt64 = 0
    private var firstFailure: String?

    init(pages: Int) {
        eofPages = pages
        content = [UInt64](repeating: 0, count: pages)
    }

    var aborted: Bool { abortFlag.load(ordering: .relaxed) }
    func abort() { abortFlag.store(true, ordering: .relaxed) }

    func verificationFailure() -> String? { lock.withLock { firstFailure } }

    /// Records a failure found by the caller (the first one is kept).
    func fail(_ problem: String) {
        lock.withLock { if firstFailure == nil { firstFailure = problem } }
    }

    struct Snapshot {
        var changes: UInt64
        var inFlight: Int
        var eofPages: Int
        var content: UInt64
        var maxVersion: UInt64
    }

    func snapshot(_ p: Int) -> Snapshot {
        lock.withLock { Snapshot(changes: changes, inFlight: inFlight, eofPages: eofPages, content: content[p], maxVersion: nextVersion) }
    }

    func truncate(to k: Int, _ body: () throws(LoadError) -> Bool) throws(LoadError) {
        mutation.lock()
        defer { mutation.unlock() }
        lock.withLock { changes += 1; inFlight += 1 }
        var did = false
        defer {
            lock.withLock {
                if did {
                    eofPages = k
                    for p in k..<content.count { content[p] = 0 }
                }
                changes += 1
                inFlight -= 1
            }
        }
        did = try body()
    }

    /// Rewrites page `i` in place if it lies below EOF (false otherwise):
    /// never extends the file. Serialized with `write` and `truncate`, so
    /// EOF cannot move meanwhile.
    func rewrite(_ i: Int, _ body: (UInt64) throws(LoadError) -> Void) throws(LoadError) -> Bool {
        mutation.lock()
        defer { mutation.unlock() }
        guard lock.withLock({ i < eofPages }) else { return false }
        try record(i, body)
        return true
    }

    func write(_ i: Int, _ body: (UInt64) throws(LoadError) -> Void) throws(LoadError) {
        mutation.lock()
        defer { mutation.unlock() }
        try record(i, body)
    }

    /// A write of page `i` with a new version, `mutation` held.
    private func record(_ i: Int, _ body: (UInt64) throws(LoadError) -> Void) throws(LoadError) {
        let v: UInt64 = lock.withLock {
            changes += 1
            inFlight += 1
            nextVersion += 1
            return nextVersion
        }
        var done = false
        defer {
            lock.withLock {
                if done {
                    if eofPages < i { for p in eofPages..<i { content[p] = 0 } }
                    eofPages = Swift.max(eofPages, i + 1)
                    content[i] = v
                }
                changes += 1
                inFlight -= 1
            }
        }
        try body(v)
        done = true
    }

    /// Checks one read of page `p` through a view: a stamp of this page
    /// (never another index, never torn, never an unwritten version); and
    /// when nothing changed the file during the read, exactly its content,
    /// with "past EOF" exactly when it is. `tearable`: the read path does
    /// not promise a whole page of one version against a concurrent write
    /// (the kernel's `pread`), so while the file changed a mix of versions
    /// of this page passes — every stamp still this page's, none unwritten.
    /// `path` names the read path in a failure.
    func judge(_ p: Int, ok: Bool, bytes: UnsafeRawBufferPointer, before: Snapshot, after: Snapshot,
               tearable: Bool = false, path: String? = nil) {
        let quiet = before.changes == after.changes && before.inFlight == 0
        var problem: String?
        if ok, tearable, !quiet, Stamp.everyStamp(bytes, page: p, atMost: after.maxVersion) {
            return
        }
        if !ok {
            if quiet && p < before.eofPages { problem = "page \(p): the view reported it past EOF, but the file has \(before.eofPages) pages" }
        } else {
            switch Stamp.check(bytes, page: p) {
            case .failure(let e): problem = e.description
            case .success(let v):
                if v > after.maxVersion {
                    problem = "page \(p): version \(v) was never written"
                } else if quiet && p >= before.eofPages {
                    problem = "page \(p): the view returned bytes past EOF (\(before.eofPages) pages)"
                } else if quiet && v != before.content {
                    problem = "page \(p): read version \(v), the page holds version \(before.content)"
                }
            }
        }
        if let problem { fail(path.map { "\(problem) (\($0))" } ?? problem) }
    }
}
