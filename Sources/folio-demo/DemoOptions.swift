import FolioCache

/// Command-line options of the demo. Parsing errors are thrown, printed and
/// turned into exit status 2 by `main`.
struct DemoOptions {
    var threads = 8
    var seconds = 1.0
    var kinds = LockStrategyKind.allCases
    var workloads = Workload.allCases

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    static let usage = """
        usage: folio-demo [--threads N] [--seconds S] [--strategy NAME|all] [--workload hammer|spread|all]

        Runs every lock strategy on the same contention workloads, one after the
        other in this process, and prints throughput and fairness side by side.
          --threads N     worker threads (default 8; more than cores on purpose)
          --seconds S     measured time per strategy and workload (default 1)
          --strategy S    one of: \(LockStrategyKind.allCases.map(\.rawValue).joined(separator: ", ")), all
          --workload W    hammer (all threads on one page) or spread (64 pages)
        """

    init(arguments: [String]) throws(UsageError) {
        var it = arguments.makeIterator()
        func value(_ flag: String) throws(UsageError) -> String {
            guard let v = it.next() else { throw UsageError(description: "\(flag) needs a value") }
            return v
        }
        while let arg = it.next() {
            switch arg {
            case "--threads":
                let v = try value(arg)
                guard let n = Int(v), (1...1024).contains(n) else {
                    throw UsageError(description: "--threads: '\(v)' is not a whole number from 1 to 1024")
                }
                threads = n
            case "--seconds":
                let v = try value(arg)
                guard let s = Double(v), s > 0, s <= 3600 else {
                    throw UsageError(description: "--seconds: '\(v)' is not a number of seconds in (0, 3600]")
                }
                seconds = s
            case "--strategy":
                kinds = try Self.choices(arg, try value(arg), noun: "strategy")
            case "--workload":
                workloads = try Self.choices(arg, try value(arg), noun: "workload")
            case "-h", "--help":
                throw UsageError(description: Self.usage)
            default:
                throw UsageError(description: "unknown argument '\(arg)'\n\n\(Self.usage)")
            }
        }
    }
}

extension DemoOptions {
    /// `all`, or one named case of `T`.
    static func choices<T: CaseIterable & RawRepresentable>(_ flag: String, _ v: String, noun: String) throws(UsageError) -> [T]
    where T.RawValue == String {
        if v == "all" { return Array(T.allCases) }
        if let one = T(rawValue: v) { return [one] }
        let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
        throw UsageError(description: "\(flag): unknown \(noun) '\(v)'; allowed: \(allowed), all")
    }
}

enum Workload: String, CaseIterable {
    /// Every thread changes the same page: the page-lock microbenchmark of the
    /// 2020 fairness discussion.
    case hammer
    /// Each change goes to one of 64 pages at random: low contention.
    case spread

    var pages: Int { self == .hammer ? 1 : 64 }
}
