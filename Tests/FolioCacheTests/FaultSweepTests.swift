import FolioCache
import FolioTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// SQLite's approach to I/O errors: run a scripted workload that touches
/// every engine call site that does I/O (`FaultSweepRun`) once without
/// faults to count its I/O calls, then once per call N with the Nth call
/// failing — transiently (the next try succeeds) or persistently (every
/// call from N on fails until the fault clears) — for every strategy.
/// After each run (`finish`): the error surfaced where docs/reliability.md
/// says, every handle heard of a writeback error once, no acknowledged
/// byte was lost once the fault cleared, no torn page was cached, and the
/// other file of the cache was never disturbed.
@Suite struct FaultSweepTests {
    struct Variant: CustomStringConvertible {
        let fault: FaultInjector.Fault
        let persistent: Bool
        /// The layers below the engine must absorb it: no step may throw.
        let silent: Bool
        var description: String { "\(fault)\(persistent ? " persistent" : " transient")" }
    }

    static func variants(_ medium: SweepMedium) -> [Variant] {
        switch medium {
        case .memory:
            // A backend's short read is looped over by the engine; its short
            // write is a torn write that fails with EIO.
            return [Variant(fault: .error(EIO), persistent: false, silent: false),
                    Variant(fault: .error(ENOSPC), persistent: true, silent: false),
                    Variant(fault: .shortTransfer, persistent: false, silent: false)]
        case .posix:
            // Below POSIXBackend: its loops retry EINTR and short transfers.
            return [Variant(fault: .error(EIO), persistent: false, silent: false),
                    Variant(fault: .error(EINTR), persistent: false, silent: true),
                    Variant(fault: .shortTransfer, persistent: false, silent: true)]
        }
    }

    struct Sweep: LockStrategyVisitor {
        let medium: SweepMedium
        let directory: String
        func visit<S: LockStrategy>(_ strategy: S) -> Result<(runs: Int, calls: Int, failures: [String]), FolioError> {
            Result { () throws(FolioError) in
                // The fault-free run: how many I/O calls, and that every call site did I/O.
                var clean = try FaultSweepRun(strategy: strategy, medium: medium, injector: FaultInjector(), directory: directory)
                clean.run()
                let total = clean.injector.calls
                clean.finish(transient: true, silentFaults: true)
                var failures = clean.failures.map { "fault-free run: \($0)\n\(clean.describe())" }
                let doing = { (name: String) in clean.steps.first { $0.name.hasPrefix(name) }.map { $0.callsAfter - $0.callsBefore } ?? 0 }
                for site in ["read B 0", "background writeback", "write B, read B", "write A 200", "view of A", "truncate A to 2700", "sync A", "close handle 0"] where doing(site) == 0 {
                    failures.append("fault-free run: step '\(site)' did no I/O, so the sweep does not test it\n\(clean.describe())")
                }
                for op in FaultInjector.Operation.allCases where op != .open || medium == .posix {
                    if clean.injector.calls(of: op) == 0 { failures.append("fault-free run made no \(op) call") }
                }
                var runs = 0
                for variant in FaultSweepTests.variants(medium) {
                    for n in 1...total {
                        let injector = FaultInjector(rules: [.init(trigger: .call(n), fault: variant.fault, persistent: variant.persistent)])
                        var run = try FaultSweepRun(strategy: strategy, medium: medium, injector: injector, directory: directory)
                        run.run()
                        run.finish(transient: !variant.persistent, silentFaults: variant.silent)
                        runs += 1
                        if !run.failures.isEmpty {
                            let what = injector.injections.first.map { "\($0)" } ?? "nothing injected"
                            failures.append("\(S.self) \(medium), \(variant) at I/O \(n) of \(total) (\(what)):\n    "
                                            + run.failures.joined(separator: "\n    ") + "\n" + run.describe())
                        }
                        if failures.count > 3 { return (runs, total, failures) }
                    }
                }
                if medium == .posix {
                    // A storm: half of all calls interrupted, a quarter of
                    // the transfers short, all absorbed by the loops.
                    let injector = FaultInjector(seed: 42, rules: [.init(trigger: .probability(0.5), fault: .error(EINTR)),
                                                                   .init([.read, .write], trigger: .probability(0.25), fault: .shortTransfer)])
                    var run = try FaultSweepRun(strategy: strategy, medium: medium, injector: injector, directory: directory)
                    run.run()
                    run.finish(transient: true, silentFaults: true)
                    runs += 1
                    if injector.injections.count < total / 2 { failures.append("the EINTR storm injected only \(injector.injections.count) faults") }
                    failures += run.failures.map { "\(S.self) posix, EINTR and short-transfer storm: \($0)\n\(run.describe())" }
                }
                return (runs, total, failures)
            }
        }
    }

    @Test(arguments: SweepMedium.allCases, testedStrategies)
    func failingEveryIOInTurnLosesNothing(_ medium: SweepMedium, _ kind: LockStrategyKind) throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (runs, calls, failures) = try LockStrategyConfiguration(kind: kind).visit(Sweep(medium: medium, directory: directory)).get()
        print("FaultSweepTests \(medium) \(kind.rawValue): \(runs) runs, each failing one of \(calls) I/O calls (\(Self.variants(medium).map(\.description).joined(separator: ", ")))")
        for failure in failures { Issue.record(Comment(rawValue: failure)) }
    }
}
