// PolicySim: replays a trace through Folio's eviction policies and prints the
// miss ratio, for comparison with libCacheSim on the same request sequence
// (scripts/policy-check/run.sh; results in docs/eviction.md).
//
//     PolicySim <trace-file> <capacity>[,<capacity>…] <policy>[,<policy>…]
//     PolicySim hit-cost [<threads>[,<threads>…] [<folios> [<hits-per-thread>]]]
//
// trace-file: one object id per line (the ARC/LIRS trace format; only the
//             first whitespace-separated field of a line is used; blank lines
//             are skipped). Ids are unsigned decimal integers.
// capacity:   cache size in objects.
// policy:     lru | sieve | s3-fifo (EvictionPolicyKind raw values).
//
// Each (policy, capacity) pair is simulated exactly like the unit tests'
// driver: a dictionary id → Folio for residency; on a hit `access`; on a miss,
// if the cache is full, `candidates(limit: 1).first` is removed, then a new
// `Folio(index: PageIndex(id))` is inserted. Output: one line per pair,
//
//     policy capacity requests misses miss_ratio
//
// `hit-cost` measures the hit path alone: each thread calls `access` on
// random resident folios (a precomputed index sequence), all threads on one
// policy; it prints ns per hit and total hits/s per policy and thread count.
//
// (The sources live in PolicySim/Sources, not PolicySim/, so that
// package-benchmark's plugin — which runs every executable target whose
// directory sits directly in Benchmarks/ — does not take this tool for a
// benchmark.)
@_spi(FolioInternals) import FolioCache
import Foundation
import Synchronization

@main
enum PolicySim {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.first == "hit-cost" { hitCost(Array(args.dropFirst())); return }
        guard args.count == 3 else { usage() }
        let trace: [UInt64]
        do {
            trace = try readTrace(args[0])
        } catch {
            fail("\(args[0]): \(error)")
        }
        let capacities = args[1].split(separator: ",").map { s -> Int in
            guard let c = Int(s), c > 0 else { fail("bad capacity '\(s)'") }
            return c
        }
        let kinds = args[2].split(separator: ",").map { s -> EvictionPolicyKind in
            guard let k = EvictionPolicyKind(rawValue: String(s)) else {
                fail("unknown policy '\(s)' (one of: \(EvictionPolicyKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return k
        }
        print("policy capacity requests misses miss_ratio")
        for kind in kinds {
            for capacity in capacities {
                let misses = simulate(trace, policy: makePolicy(kind, capacity: capacity), capacity: capacity)
                let ratio = trace.isEmpty ? 0 : Double(misses) / Double(trace.count)
                print("\(kind) \(capacity) \(trace.count) \(misses) \(ratio)")
            }
        }
    }

    /// A policy for a cache of `capacity` 4 KiB folios.
    static func makePolicy(_ kind: EvictionPolicyKind, capacity: Int) -> any EvictionPolicy {
        switch kind {
        case .lru: LRUPolicy()
        case .sieve: SievePolicy()
        case .s3fifo: S3FIFOPolicy(capacity: capacity * 4096, pageSize: 4096)
        }
    }

    /// Returns the number of misses.
    static func simulate(_ trace: [UInt64], policy: any EvictionPolicy, capacity: Int) -> Int {
        var resident: [UInt64: Folio] = [:]
        resident.reserveCapacity(capacity)
        // Folio internals (its index) are not API: keep the id beside it.
        var idOf: [ObjectIdentifier: UInt64] = [:]
        var misses = 0
        for id in trace {
            if let f = resident[id] {
                policy.access(f)
                continue
            }
            misses += 1
            let hint = policy.prepareInsert(file: 0, index: PageIndex(id), order: 0)
            if resident.count >= capacity {
                guard let victim = policy.victims(bytes: 4096).first else {
                    fail("\(policy.kind): no eviction candidate with \(policy.count) folios tracked")
                }
                policy.evicted(victim)
                if let victimID = idOf.removeValue(forKey: ObjectIdentifier(victim)) { resident[victimID] = nil }
            }
            let f = Folio(index: PageIndex(id))
            resident[id] = f
            idOf[ObjectIdentifier(f)] = id
            policy.insert(f, hint: hint)
        }
        // The policy must track exactly the resident set.
        if policy.count != resident.count {
            fail("\(policy.kind): count \(policy.count) != resident \(resident.count)")
        }
        for f in resident.values { policy.remove(f) }
        return misses
    }

    struct TraceError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses the first field of every non-blank line as a decimal UInt64.
    static func readTrace(_ path: String) throws -> [UInt64] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TraceError(description: "cannot read file")
        }
        var ids: [UInt64] = []
        ids.reserveCapacity(data.count / 6)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var line = 1
            var value: UInt64 = 0
            var digits = 0
            var inFirstField = true  // until the first blank after the first digit
            var bad = false
            func endLine() throws {
                if bad { throw TraceError(description: "line \(line): not an unsigned integer id") }
                if digits > 0 { ids.append(value) }
                value = 0
                digits = 0
                inFirstField = true
                line += 1
            }
            for b in raw {
                switch b {
                case UInt8(ascii: "\n"):
                    try endLine()
                case UInt8(ascii: "\r"):
                    continue
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: ","):
                    if digits > 0 { inFirstField = false }
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    guard inFirstField else { continue }
                    let (m, o1) = value.multipliedReportingOverflow(by: 10)
                    let (s, o2) = m.addingReportingOverflow(UInt64(b - UInt8(ascii: "0")))
                    if o1 || o2 { bad = true }
                    value = s
                    digits += 1
                default:
                    if inFirstField { bad = true }
                }
            }
            if digits > 0 || bad { try endLine() }
        }
        return ids
    }

    /// Hit-path cost: `threads` threads each doing `hits` accesses to random
    /// folios among `folios` resident ones.
    static func hitCost(_ args: [String]) {
        let threadCounts = (args.count > 0 ? args[0] : "1,2,4").split(separator: ",").map { s -> Int in
            guard let t = Int(s), t > 0 else { fail("bad thread count '\(s)'") }
            return t
        }
        let nFolios = args.count > 1 ? Int(args[1]) ?? 0 : 10_000
        let hits = args.count > 2 ? Int(args[2]) ?? 0 : 2_000_000
        guard nFolios > 0, hits > 0 else { usage() }
        print("policy threads folios hits_per_thread ns_per_hit total_mhits_per_s")
        for kind in EvictionPolicyKind.allCases {
            for threads in threadCounts {
                let seconds: Double = switch kind {
                case .lru: timeHits(LRUPolicy(), threads: threads, folios: nFolios, hits: hits)
                case .sieve: timeHits(SievePolicy(), threads: threads, folios: nFolios, hits: hits)
                case .s3fifo: timeHits(S3FIFOPolicy(capacity: nFolios * 4096, pageSize: 4096), threads: threads, folios: nFolios, hits: hits)
                }
                let total = Double(threads * hits)
                let nsPerHit = seconds * 1e9 / Double(hits)  // wall time per hit, per thread
                print("\(kind) \(threads) \(nFolios) \(hits) \(String(format: "%.1f", nsPerHit)) \(String(format: "%.1f", total / seconds / 1e6))")
            }
        }
    }

    /// Generic (specialized per policy: no existential dispatch) and with +0
    /// folio references (`Unmanaged`), so that the loop measures the policy's
    /// `access`, not retain/release traffic on the folios' reference counts.
    static func timeHits<P: EvictionPolicy>(_ policy: P, threads: Int, folios nFolios: Int, hits: Int) -> Double {
        let folios = (0..<nFolios).map { Folio(index: PageIndex(UInt64($0))) }
        for f in folios { policy.insert(f) }
        let refs = folios.map { Unmanaged.passUnretained($0) }
        // Per-thread index sequences (xorshift), generated before timing.
        let sequences: [[Int32]] = (0..<threads).map { t in
            var x = UInt64(0x9E37_79B9_7F4A_7C15) &* UInt64(t + 1)
            return (0..<65_536).map { _ in
                x ^= x << 13; x ^= x >> 7; x ^= x << 17
                return Int32(truncatingIfNeeded: x % UInt64(nFolios))
            }
        }
        let ready = Atomic<Int>(0)
        let done = DispatchGroup()
        let start = ContinuousClock.now
        for t in 0..<threads {
            done.enter()
            let seq = sequences[t]
            let thread = Thread {
                ready.wrappingAdd(1, ordering: .acquiringAndReleasing)
                while ready.load(ordering: .acquiring) < threads {}
                seq.withUnsafeBufferPointer { s in
                    refs.withUnsafeBufferPointer { r in
                        for i in 0..<hits {
                            r[Int(s[i & 0xFFFF])]._withUnsafeGuaranteedRef { policy.access($0) }
                        }
                    }
                }
                done.leave()
            }
            thread.start()
        }
        done.wait()
        let elapsed = ContinuousClock.now - start
        for f in folios { policy.remove(f) }
        withExtendedLifetime(folios) {}
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    static func usage() -> Never {
        fail("usage: PolicySim <trace-file> <capacity>[,<capacity>…] <lru|sieve|s3-fifo>[,…]\n"
            + "       PolicySim hit-cost [<threads>[,…] [<folios> [<hits-per-thread>]]]")
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("PolicySim: \(message)\n".utf8))
        exit(2)
    }
}
