import FolioLocks
#if canImport(Glibc)
import Glibc
#endif

/// Decides which I/O calls fail, and how: the rules of a fault-injection
/// run (SQLite's approach: fail the Nth I/O, for every N). One injector
/// serves a `FaultInjectingBackend` (faults at the backend's calls, over
/// any backend) or a `SystemCalls` layer below a `POSIXBackend`
/// (`systemCalls(over:)`: faults at the system calls, below the backend's
/// retry loops, so interrupted calls and short transfers are retried
/// there). It counts every call it sees and logs every fault it injects.
///
/// A rule fires on the Nth call of its operations (`.call(n)`, 1-based), at
/// random with a seeded probability (`.probability`), or on every call;
/// once fired, a **persistent** rule fails every later call of its
/// operations too, a **transient** one only that call (the next try
/// succeeds). `clearFaults()` is the fault clearing: every rule is removed.
public final class FaultInjector: @unchecked Sendable {
    // @unchecked Sendable: every mutable field is accessed only under `lock`.

    /// A kind of I/O call.
    public enum Operation: String, CaseIterable, Sendable {
        /// The call of that name: `open` is open(2) (below a `POSIXBackend`
        /// only), `size` is fstat, `sync` is fsync; the others are the
        /// backend's calls or pread, pwrite, ftruncate and close(2).
        case open, read, write, size, truncate, sync, close
    }

    /// What happens to a call a rule picks.
    public enum Fault: Sendable, Equatable, CustomStringConvertible {
        /// The call fails with this errno (`EIO`, `ENOSPC`, `EINTR`, …).
        case error(Int32)
        /// A read or write moves only part of its bytes: below a
        /// `POSIXBackend`, half of them (at least one) and the backend
        /// loops for the rest; at a backend, a read returns a prefix short
        /// of the file's end, and a write writes a prefix and then fails
        /// with `EIO` (a torn write). A rule with this fault counts and
        /// picks reads and writes only.
        case shortTransfer

        /// `errno N (message)` or `short transfer`.
        public var description: String {
            switch self {
            case .error(let e): return "errno \(e) (\(FolioError.message(e)))"
            case .shortTransfer: return "short transfer"
            }
        }
    }

    /// When a rule fires.
    public enum Trigger: Sendable, Equatable {
        /// On the nth call of the rule's operations (1-based).
        case call(Int)
        /// On each call with this probability, from the injector's seed.
        case probability(Double)
        /// On every call.
        case always
    }

    /// One fault-injection rule.
    public struct Rule: Sendable, Equatable {
        /// The calls the rule counts and may fail (a `.shortTransfer` rule
        /// counts only the reads and writes among them).
        public var operations: Set<Operation>
        /// When the rule fires.
        public var trigger: Trigger
        /// What a call the rule fires on gets.
        public var fault: Fault
        /// Once fired, keep failing every call of `operations`.
        public var persistent: Bool

        /// A rule over `operations` (by default every operation) that fails
        /// with `fault` (by default `EIO`) when `trigger` fires; transient
        /// unless `persistent`.
        public init(_ operations: Set<Operation> = Set(Operation.allCases), trigger: Trigger, fault: Fault = .error(EIO), persistent: Bool = false) {
            self.operations = operations
            self.trigger = trigger
            self.fault = fault
            self.persistent = persistent
        }
    }

    /// A fault that was injected.
    public struct Injection: Sendable, Equatable, CustomStringConvertible {
        /// The kind of call that got the fault.
        public var operation: Operation
        /// The call's number among all the calls the injector saw (1-based).
        public var call: Int
        /// The file offset of a read or write, the size of a truncate.
        public var offset: Int64?
        /// The fault the call got.
        public var fault: Fault

        /// What was injected into which call (number and offset).
        public var description: String {
            "\(fault) injected into \(operation) (I/O call \(call)\(offset.map { ", offset \($0)" } ?? ""))"
        }
    }

    let lock = ShortLock()
    var rules: [(rule: Rule, seen: Int, fired: Bool)]
    var random: UInt64
    var counts: [Operation: Int] = [:]
    var total = 0
    var log: [Injection] = []
    var suspended = 0

    /// With `rules`; `seed` drives `.probability` triggers (the same seed and
    /// calls give the same faults).
    public init(seed: UInt64 = 0, rules: [Rule] = []) {
        self.random = seed
        self.rules = rules.map { ($0, 0, false) }
    }

    /// Adds a rule (its count of calls starts now).
    public func add(_ rule: Rule) {
        lock.withLock { rules.append((rule, 0, false)) }
    }

    /// The fault clears: no call fails from now on.
    public func clearFaults() {
        lock.withLock { rules.removeAll() }
    }

    /// How many calls the injector saw, of every operation.
    public var calls: Int { lock.withLock { total } }
    /// How many calls of `operation` the injector saw.
    public func calls(of operation: Operation) -> Int { lock.withLock { counts[operation, default: 0] } }
    /// Every fault injected so far, in order.
    public var injections: [Injection] { lock.withLock { log } }

    /// Runs `body` with no fault injected and no call counted (on every
    /// thread: for a single-threaded test that must look at the cache
    /// without disturbing the run).
    package func withFaultsSuspended<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock.withLock { suspended += 1 }
        defer { lock.withLock { suspended -= 1 } }
        return try body()
    }

    /// Counts one call of `operation` and says which fault it gets, if any.
    /// The first rule that fires decides; every matching rule counts it.
    public func decide(_ operation: Operation, offset: Int64? = nil) -> Fault? {
        lock.withLock {
            if suspended > 0 { return nil }
            total += 1
            counts[operation, default: 0] += 1
            var chosen: Fault? = nil
            let transfers = operation == .read || operation == .write
            for i in rules.indices where rules[i].rule.operations.contains(operation) && (transfers || rules[i].rule.fault != .shortTransfer) {
                rules[i].seen += 1
                var fires = rules[i].fired && rules[i].rule.persistent
                if !fires {
                    switch rules[i].rule.trigger {
                    case .call(let n): fires = rules[i].seen == n
                    case .always: fires = true
                    case .probability(let p): fires = nextUnit() < p
                    }
                }
                if fires {
                    rules[i].fired = true
                    if chosen == nil { chosen = rules[i].rule.fault }
                }
            }
            if let chosen { log.append(Injection(operation: operation, call: total, offset: offset, fault: chosen)) }
            return chosen
        }
    }

    /// A uniform double in [0, 1) (SplitMix64; lock held).
    func nextUnit() -> Double {
        random &+= 0x9E37_79B9_7F4A_7C15
        var z = random
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }

    /// `base` with this injector's faults: a failing call returns `-errno`
    /// without reaching `base`; a short transfer moves half the bytes (at
    /// least one).
    public func systemCalls(over base: SystemCalls = .live) -> SystemCalls {
        SystemCalls(
            open: { [self] path, flags, mode in
                if case .error(let e) = decide(.open) { return -e }
                return base.open(path, flags, mode)
            },
            pread: { [self] fd, buffer, count, offset in
                switch decide(.read, offset: offset) {
                case .error(let e): return -Int(e)
                case .shortTransfer: return base.pread(fd, buffer, max(1, count / 2), offset)
                case nil: return base.pread(fd, buffer, count, offset)
                }
            },
            pwrite: { [self] fd, bytes, count, offset in
                switch decide(.write, offset: offset) {
                case .error(let e): return -Int(e)
                case .shortTransfer: return base.pwrite(fd, bytes, max(1, count / 2), offset)
                case nil: return base.pwrite(fd, bytes, count, offset)
                }
            },
            fstat: { [self] fd in
                if case .error(let e) = decide(.size) { return (-Int64(e), 0, 0, false) }
                return base.fstat(fd)
            },
            ftruncate: { [self] fd, size in
                if case .error(let e) = decide(.truncate, offset: size) { return -e }
                return base.ftruncate(fd, size)
            },
            fsync: { [self] fd in
                if case .error(let e) = decide(.sync) { return -e }
                return base.fsync(fd)
            },
            close: { [self] fd in
                // A failed close still releases the descriptor (Linux).
                let r = base.close(fd)
                if case .error(let e) = decide(.close) { return -e }
                return r
            })
    }
}
