// folio-heartbeat <strategy> <async|sync> [seed]
//
// The pool-blocking scenario of issue 13, in a process of its own (so that
// its cooperative pool is not shared with other tests): 64 tasks read
// through a backend with 1 ms of injected read latency, half of their reads
// misses, 8 more tasks read a page a thread keeps locked for 300 ms, and a
// heartbeat task sleeps 5 ms at a time on the cooperative pool. Prints one
// line, `idle <ticks/s> <max late ms> load <ticks/s> <max late ms> reads
// <ok> <bad>`. `sync` does the same reads with the synchronous API inside
// the tasks (the control: the pool blocks).
import FolioCache
import FolioTestSupport
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

let pageSize = 4096
let warmPages = 256
let lockedPage = 7
let readers = 64, readsPerTask = 12, lockWaiters = 8

func pattern(_ page: Int) -> UInt8 { UInt8(truncatingIfNeeded: page &* 31 &+ 7) }

/// Ticks of a task that sleeps 5 ms at a time until `stop`: rate and worst lateness.
@concurrent
func heartbeat(until stop: Flag, minimum: Duration) async -> (rate: Double, maxLateMs: Double) {
    let clock = ContinuousClock()
    let start = clock.now
    var ticks = 0
    var worst: Duration = .zero
    while !stop.value.load(ordering: .relaxed) || clock.now - start < minimum {
        let before = clock.now
        try? await Task.sleep(for: .milliseconds(5))
        let late = clock.now - before - .milliseconds(5)
        if late > worst { worst = late }
        ticks += 1
    }
    let seconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
    return (Double(ticks) / seconds, Double(worst.components.attoseconds) / 1e15 + Double(worst.components.seconds) * 1000)
}

final class Flag: Sendable {
    let value: Atomic<Bool>
    init(_ v: Bool) { value = Atomic(v) }
}

final class Counts: Sendable {
    let ok = Atomic<Int>(0)
    let bad = Atomic<Int>(0)
}

struct Scenario: LockStrategyVisitor {
    let async: Bool
    let seed: UInt64
    func visit<S: LockStrategy>(_ strategy: S) -> @Sendable () async throws -> String {
        { try await run(strategy) }
    }

    @concurrent
    func run<S: LockStrategy>(_ strategy: S) async throws -> String {
        let cache = try PageCache(strategy: strategy, configuration: .init(
            pageSize: pageSize, capacity: 64 << 20, maxFolioOrder: 0, optimisticReads: false))
        let pages = warmPages + readers * readsPerTask
        var contents = [UInt8](repeating: 0, count: pages * pageSize)
        for p in 0..<pages { for i in 0..<pageSize { contents[p * pageSize + i] = pattern(p) } }
        let backend = MemoryBackend(path: "heartbeat", contents: contents)
        let file = try cache.open(backend: backend)
        for p in 0..<warmPages { _ = try file.read(count: pageSize, at: Int64(p * pageSize)) }
        backend.setReadDelay(microseconds: 1000)

        let idle = await heartbeat(until: Flag(true), minimum: .milliseconds(300))

        // A thread holds the locked page (a writer through a view) for 300 ms.
        let view = try file.map(Int64(lockedPage * pageSize)..<Int64((lockedPage + 1) * pageSize), mode: .readWrite)
        let holding = Atomic<Bool>(false)
        spawnThread {
            _ = try? view.withUnsafeMutableBytes(at: 0, count: 1) { _ in
                holding.store(true, ordering: .releasing)
                usleep(300_000)
            }
        }
        while !holding.load(ordering: .acquiring) { usleep(100) }

        let stop = Flag(false)
        let counts = Counts()
        let beat = Task { await heartbeat(until: stop, minimum: .milliseconds(300)) }
        let useAsync = self.async
        let seed = self.seed
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<(readers + lockWaiters) {
                group.addTask {
                    var rng = SplitMix64(seed: seed &+ UInt64(t))
                    let count = t < readers ? readsPerTask : 1
                    for i in 0..<count {
                        let page: Int
                        if t >= readers { page = lockedPage }
                        else if i % 2 == 0 { page = Int(rng.next() % UInt64(warmPages)) }
                        else { page = warmPages + t * readsPerTask + i }
                        let bytes: [UInt8]?
                        if useAsync {
                            bytes = try? await file.async.read(count: pageSize, at: Int64(page * pageSize))
                        } else {
                            bytes = try? file.read(count: pageSize, at: Int64(page * pageSize))
                        }
                        let want = [UInt8](repeating: pattern(page), count: pageSize)
                        if bytes == want { counts.ok.add(1, ordering: .relaxed) } else { counts.bad.add(1, ordering: .relaxed) }
                    }
                }
            }
        }
        stop.value.store(true, ordering: .relaxed)
        let load = await beat.value
        try file.close()
        return "idle \(idle.rate) \(idle.maxLateMs) load \(load.rate) \(load.maxLateMs) reads \(counts.ok.load(ordering: .relaxed)) \(counts.bad.load(ordering: .relaxed))"
    }
}

@concurrent
func main() async -> Int32 {
    let args = CommandLine.arguments
    guard args.count >= 3, let kind = LockStrategyKind(rawValue: args[1]), args[2] == "async" || args[2] == "sync" else {
        print("usage: folio-heartbeat <strategy> <async|sync> [seed]")
        return 2
    }
    let seed = args.count > 3 ? UInt64(args[3]) ?? 1 : 1
    let body = LockStrategyConfiguration(kind: kind).visit(Scenario(async: args[2] == "async", seed: seed))
    do {
        print(try await body())
        return 0
    } catch {
        print("error \(error)")
        return 1
    }
}

exit(await main())
