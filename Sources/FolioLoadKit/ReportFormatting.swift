import FolioCache
import Foundation

/// Output formats of `folio-load run`.
public enum ReportFormat: String, CaseIterable, Sendable {
    case text, json, csv
}

extension LoadReport {
    /// The report in `format`.
    public func rendered(_ format: ReportFormat) -> String {
        switch format {
        case .text: textTable()
        case .json: json()
        case .csv: csv()
        }
    }

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self), let s = String(data: data, encoding: .utf8) else { return "{}" }
        return s + "\n"
    }

    public static func decode(json data: Data, source: String) throws(LoadError) -> LoadReport {
        let report: LoadReport
        do { report = try JSONDecoder().decode(LoadReport.self, from: data) } catch {
            throw .badArgument("\(source): not a folio-load JSON report (\(error))")
        }
        guard LoadReport.readableSchemaVersions.contains(report.schemaVersion) else {
            throw .badArgument("\(source): schema version \(report.schemaVersion); this folio-load reads versions \(LoadReport.readableSchemaVersions.lowerBound) to \(LoadReport.readableSchemaVersions.upperBound)")
        }
        return report
    }

    static let columns = [
        "workload", "strategy", "threads", "ops/s", "MB/s", "p50 ns", "p99 ns", "p99.9 ns", "max ns",
        "wait p99 ns", "wait max ns", "min/max ops", "Jain", "hit %", "steals", "handoffs", "max overtaken", "CPU s", "check",
    ]

    /// A large-folio or compression column: in the CSV always, in the text
    /// table only when some result makes it say something.
    struct FolioColumn: Sendable {
        let header: String
        let cell: @Sendable (LoadResult) -> String?
        let shown: @Sendable (LoadResult) -> Bool
    }

    /// Counters appear in the table when non-zero in some result; the byte
    /// columns when compression changed something (some folio compressed,
    /// or logical ≠ resident bytes) — without it they only repeat the
    /// budget in every run.
    static let folioColumns: [FolioColumn] = {
        @Sendable func compressing(_ r: LoadResult) -> Bool {
            (r.compressedFolios ?? 0) > 0 || r.logicalBytes != r.residentBytes
        }
        @Sendable func mib(_ n: Int?) -> String? { n.map { String(format: "%.1f", Double($0) / 1_048_576) } }
        return [
            FolioColumn(header: "collapses", cell: { $0.collapses.map(String.init) }, shown: { ($0.collapses ?? 0) > 0 }),
            FolioColumn(header: "collapse aborts", cell: { r in
                r.collapseAborts.map { a in
                    let nonZero = CollapseAbort.allCases.compactMap { c in a[c.description].flatMap { $0 > 0 ? "\(c):\($0)" : nil } }
                    return nonZero.isEmpty ? "0" : nonZero.joined(separator: " ")
                }
            }, shown: { ($0.collapseAborts?.values.reduce(0, +) ?? 0) > 0 }),
            FolioColumn(header: "splits", cell: { $0.splits.map(String.init) }, shown: { ($0.splits ?? 0) > 0 }),
            FolioColumn(header: "readahead folios", cell: { $0.readaheadFolios.map(String.init) }, shown: { ($0.readaheadFolios ?? 0) > 0 }),
            FolioColumn(header: "compressed folios", cell: { $0.compressedFolios.map(String.init) }, shown: { ($0.compressedFolios ?? 0) > 0 }),
            FolioColumn(header: "logical MiB", cell: { mib($0.logicalBytes) }, shown: compressing),
            FolioColumn(header: "resident MiB", cell: { mib($0.residentBytes) }, shown: compressing),
            FolioColumn(header: "eff. capacity", cell: { $0.effectiveCapacity.map { String(format: "%.2f", $0) } }, shown: compressing),
            FolioColumn(header: "checksum failures", cell: { $0.checksumFailures.map(String.init) }, shown: { ($0.checksumFailures ?? 0) > 0 }),
        ]
    }()

    /// The large-folio columns of this report: all of them (CSV), or those
    /// some result makes non-zero (text).
    func folioColumns(all: Bool) -> [FolioColumn] {
        all ? Self.folioColumns : Self.folioColumns.filter { c in results.contains(where: c.shown) }
    }

    /// Whether the table gets a `job` column (results from a job file).
    var hasJobs: Bool { results.contains { $0.job != nil } }

    /// The basic columns up to "max overtaken", the large-folio columns,
    /// then "CPU s" and "check".
    func tableColumns(_ folio: [FolioColumn]) -> [String] {
        let base = Self.columns.dropLast(2) + folio.map(\.header) + Self.columns.suffix(2)
        return hasJobs ? ["job"] + base : Array(base)
    }

    /// `ranges`: numeric cells of repeated results get their range
    /// (`median [min–max]`; the text table) — the CSV keeps the medians.
    func rows(_ folio: [FolioColumn], ranges: Bool = false) -> [[String]] {
        let withJob = hasJobs
        return results.map { r in
            var cells = row(r, ranges: ranges)
            cells.insert(contentsOf: folio.map { $0.cell(r) ?? "-" }, at: cells.count - 2)
            return withJob ? [r.job ?? "-"] + cells : cells
        }
    }

    func row(_ r: LoadResult, ranges: Bool = false) -> [String] {
        // A numeric cell: the value (the median of a repeated result), and
        // with `ranges` its [min–max] over the repeats.
        func cell(_ figure: String, _ text: String, _ format: (Double) -> String) -> String {
            guard ranges, text != "-", let s = r.spread?[figure] else { return text }
            return "\(text) [\(format(s.min))–\(format(s.max))]"
        }
        let integer = { (x: Double) in String(LoadResult.Figure.integer(x)) }
        let balance = r.spread?["minOverMaxThreadOps"]?.median
            ?? (r.maxThreadOps == 0 ? nil : Double(r.minThreadOps) / Double(r.maxThreadOps))
        return [
            r.workload, r.strategy, String(r.threads),
            cell("opsPerSecond", Self.number(r.opsPerSecond), Self.number),
            cell("megabytesPerSecond", String(format: "%.1f", r.megabytesPerSecond)) { String(format: "%.1f", $0) },
            cell("latencyNs.p50", String(r.latencyNs.p50), integer), cell("latencyNs.p99", String(r.latencyNs.p99), integer),
            cell("latencyNs.p999", String(r.latencyNs.p999), integer), cell("latencyNs.max", String(r.latencyNs.max), integer),
            cell("lockWaitNs.p99", r.lockStatisticsAvailable ? String(r.lockWaitNs.p99) : "-", integer),
            cell("lockWaitNs.max", r.lockStatisticsAvailable ? String(r.lockWaitNs.max) : "-", integer),
            cell("minOverMaxThreadOps", balance.map { String(format: "%.2f", $0) } ?? "-") { String(format: "%.2f", $0) },
            cell("jainIndex", String(format: "%.3f", r.jainIndex)) { String(format: "%.3f", $0) },
            cell("hitRatio", r.hitRatio.map { String(format: "%.1f", $0 * 100) } ?? "-") { String(format: "%.1f", $0 * 100) },
            cell("steals", r.steals.map(String.init) ?? "-", integer), cell("handoffs", r.handoffs.map(String.init) ?? "-", integer),
            cell("maxOvertaken", r.maxOvertaken.map(String.init) ?? "-", integer),
            cell("cpuSeconds", String(format: "%.2f", r.cpuSeconds)) { String(format: "%.2f", $0) }, r.verification ?? "-",
        ]
    }

    /// An aligned table, units in the headers, and the sanity line.
    public func textTable() -> String {
        let folio = folioColumns(all: false)
        let header = tableColumns(folio)
        let table = [header] + rows(folio, ranges: true)
        let textColumns = hasJobs ? 3 : 2
        var widths = [Int](repeating: 0, count: header.count)
        for row in table { for (i, c) in row.enumerated() { widths[i] = Swift.max(widths[i], c.count) } }
        var out = ""
        for (n, row) in table.enumerated() {
            let cells = row.enumerated().map { i, c in
                i < textColumns ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[i] - c.count) + c
            }
            out += cells.joined(separator: "  ") + "\n"
            if n == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        let bad = results.filter { !$0.countsAddUp }
        out += bad.isEmpty
            ? "every thread's two counts of its operations (counter, latency samples) agree in every run\n"
            : "WARNING: the per-thread operation counts and latency samples disagree in \(bad.count) run(s)\n"
        if let n = results.compactMap(\.repeats).max() {
            out += "repeated: each figure is the median of \(n) runs, the engines interleaved, [min–max] over the runs\n"
        }
        out += "latency: every operation timed; wait: slow-path lock waits (Folio engines only); steals: woken waiters that found the lock taken; max overtaken: the most lost races of one acquisition\n"
        if !folio.isEmpty {
            out += "large folios (Folio engines): counters over the measured phase; folios and MiB at its end; eff. capacity: logical / resident bytes\n"
        }
        if parameters["data"] == DataKind.text.rawValue, let corpus = parameters["data-corpus"] {
            out += "data: text, a corpus of \(corpus) repeated through every file (docs/load-testing.md)\n"
        }
        return out
    }

    public func csv() -> String {
        let folio = folioColumns(all: true)
        return ([tableColumns(folio)] + rows(folio)).map { row in
            row.map { c in c.contains(",") || c.contains("\"") ? "\"" + c.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : c }
                .joined(separator: ",")
        }.joined(separator: "\n") + "\n"
    }

    static func number(_ x: Double) -> String {
        x >= 100 ? String(Int(x.rounded())) : String(format: "%.1f", x)
    }

    /// `B / A` per (job, workload, strategy, threads) present in both.
    public static func compare(_ a: LoadReport, _ b: LoadReport, nameA: String, nameB: String) -> String {
        struct Key: Hashable { var j: String?; var w: String; var s: String; var t: Int }
        var byKey: [Key: LoadResult] = [:]
        for r in a.results { byKey[Key(j: r.job, w: r.workload, s: r.strategy, t: r.threads)] = r }
        var rows: [[String]] = [["workload", "strategy", "threads", "ops/s A", "ops/s B", "B/A ops/s", "B/A p99", "B/A wait max", "B/A Jain"]]
        var unmatched = 0
        for r in b.results {
            guard let o = byKey[Key(j: r.job, w: r.workload, s: r.strategy, t: r.threads)] else { unmatched += 1; continue }
            func ratio(_ x: Double, _ y: Double) -> String { y == 0 ? (x == 0 ? "1.00" : "-") : String(format: "%.2f", x / y) }
            rows.append([r.workload, r.job.map { "\($0): \(r.strategy)" } ?? r.strategy, String(r.threads), number(o.opsPerSecond), number(r.opsPerSecond),
                         ratio(r.opsPerSecond, o.opsPerSecond), ratio(Double(r.latencyNs.p99), Double(o.latencyNs.p99)),
                         ratio(Double(r.lockWaitNs.max), Double(o.lockWaitNs.max)), ratio(r.jainIndex, o.jainIndex)])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = Swift.max(widths[i], c.count) } }
        var out = "A = \(nameA), B = \(nameB)\n"
        let nA = a.results.compactMap(\.repeats).max(), nB = b.results.compactMap(\.repeats).max()
        if nA != nil || nB != nil {
            out += "medians: A of \(nA ?? 1) run\(nA ?? 1 == 1 ? "" : "s") per point, B of \(nB ?? 1)\n"
        }
        for (n, row) in rows.enumerated() {
            out += row.enumerated().map { i, c in
                i < 2 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: "  ") + "\n"
            if n == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        if rows.count == 1 { out += "no (workload, strategy, threads) in common\n" }
        if unmatched > 0 { out += "\(unmatched) result(s) of B have no counterpart in A\n" }
        return out
    }
}
