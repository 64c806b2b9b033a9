import FolioCache
import FolioLocks
import Foundation

/// folio-demo: every lock strategy on the same contention workloads, side by
/// side in one process. The main job until the load tool (folio-load) lands.
@main
enum FolioDemo {
    static func main() {
        let options: DemoOptions
        do {
            options = try DemoOptions(arguments: Array(CommandLine.arguments.dropFirst()))
        } catch {
            let text = error.description
            if text == DemoOptions.usage {
                print(text)
                exit(0)
            }
            FileHandle.standardError.write(Data("folio-demo: \(text)\n".utf8))
            exit(2)
        }
        print("folio-demo: \(options.threads) threads on \(ProcessInfo.processInfo.activeProcessorCount) cores, \(options.seconds) s per run")
        var failed = false
        for workload in options.workloads {
            print("\nworkload \(workload.rawValue) (\(workload.pages) page\(workload.pages == 1 ? "" : "s"))")
            var results: [RunResult] = []
            for kind in options.kinds {
                let r = LockStrategyConfiguration(kind: kind).visit(
                    ContentionVisitor(workload: workload, threads: options.threads, seconds: options.seconds))
                results.append(r)
                if r.violations > 0 { failed = true }
            }
            printTable(results)
        }
        if failed {
            FileHandle.standardError.write(Data("folio-demo: mutual exclusion violated (see 'torn' column)\n".utf8))
            exit(1)
        }
    }

    static func printTable(_ results: [RunResult]) {
        let baseline = results.first { $0.kind == .barging }?.opsPerSecond
        let header = ["strategy", "Mops/s", "x barging", "min/max", "Jain", "parks", "handoffs", "lost races", "max lost", "max wait (ms)", "torn"]
        var rows = [header]
        for r in results {
            let s = r.statistics
            rows.append([
                r.kind.rawValue,
                format(r.opsPerSecond / 1e6, 2),
                baseline.map { format(r.opsPerSecond / $0, 2) } ?? "-",
                format(r.minOverMax, 2),
                format(r.jainIndex, 3),
                String(s.parks), String(s.handoffs), String(s.lostRaces), String(s.maxLostRaces),
                format(Double(s.maxWaitNanoseconds) / 1e6, 2),
                String(r.violations),
            ])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        for (i, row) in rows.enumerated() {
            let line = row.enumerated().map { c, cell in
                c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  ")
            print(line)
            if i == 0 { print(String(repeating: "-", count: line.count)) }
        }
    }

    static func format(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }
}
