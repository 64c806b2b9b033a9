import Foundation

/// The `--plot` SVG: for each workload, throughput against threads (one line
/// per strategy) and the longest lock wait against threads. Plain SVG 1.1,
/// no scripts, fonts the browser has.
enum SVGPlot {
    static let panelWidth = 520.0
    static let panelHeight = 320.0
    static let margin = (left: 80.0, right: 20.0, top: 40.0, bottom: 50.0)
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    static func render(_ report: LoadReport) -> String {
        let workloads = unique(report.results.map(\.workload))
        let strategies = unique(report.results.map(series))
        let legendHeight = 24.0 * Double((strategies.count + 3) / 4) + 10
        let width = 2 * panelWidth + 20
        let height = Double(workloads.count) * (panelHeight + 20) + legendHeight + 40
        var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(fmt(width))" height="\(fmt(height))" viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect x="0" y="0" width="\(fmt(width))" height="\(fmt(height))" fill="white"/>
        <text x="10" y="22" font-size="16" font-weight="bold">folio-load: throughput and longest lock wait against threads</text>

        """
        if let n = report.results.compactMap(\.repeats).max() {
            svg += "<text x=\"\(fmt(width - 10))\" y=\"22\" text-anchor=\"end\">lines: medians of \(n) interleaved runs; whiskers: min–max</text>\n"
        }
        for (i, s) in strategies.enumerated() {
            let x = 10 + Double(i % 4) * 200, y = 40 + Double(i / 4) * 24
            svg += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(y))\" x2=\"\(fmt(x + 24))\" y2=\"\(fmt(y))\" stroke=\"\(color(i))\" stroke-width=\"3\"/>"
            svg += "<text x=\"\(fmt(x + 30))\" y=\"\(fmt(y + 4))\">\(escape(s))</text>\n"
        }
        for (row, w) in workloads.enumerated() {
            let y0 = 30 + legendHeight + Double(row) * (panelHeight + 20)
            let rs = report.results.filter { $0.workload == w }
            svg += panel(x0: 0, y0: y0, title: "\(w): throughput", yLabel: "operations / s", results: rs, strategies: strategies,
                         range: { $0.spread?["opsPerSecond"].map { ($0.min, $0.max) } }) { $0.opsPerSecond }
            svg += panel(x0: panelWidth + 20, y0: y0, title: "\(w): longest lock wait", yLabel: "max wait (ms)", results: rs, strategies: strategies,
                         range: { r in r.lockStatisticsAvailable ? r.spread?["lockWaitNs.max"].map { ($0.min / 1e6, $0.max / 1e6) } : nil }) {
                $0.lockStatisticsAvailable ? Double($0.lockWaitNs.max) / 1e6 : nil
            }
        }
        svg += "</svg>\n"
        return svg
    }

    /// `range`: a repeated result's (min, max), drawn as a whisker through
    /// its median's point.
    static func panel(x0: Double, y0: Double, title: String, yLabel: String, results: [LoadResult], strategies: [String],
                      range: (LoadResult) -> (Double, Double)? = { _ in nil }, value: (LoadResult) -> Double?) -> String {
        let threads = unique(results.map(\.threads)).sorted()
        let values = results.compactMap(value) + results.compactMap { range($0)?.1 }
        let yMax = niceCeiling(values.max() ?? 1)
        let plotW = panelWidth - margin.left - margin.right, plotH = panelHeight - margin.top - margin.bottom
        let left = x0 + margin.left, top = y0 + margin.top
        // Threads on a log2 axis (sweeps are usually powers of two).
        let lo = log2(Double(threads.first ?? 1)), hi = log2(Double(threads.last ?? 1))
        func px(_ t: Int) -> Double { hi == lo ? left + plotW / 2 : left + (log2(Double(t)) - lo) / (hi - lo) * plotW }
        func py(_ v: Double) -> Double { top + plotH - (yMax == 0 ? 0 : v / yMax * plotH) }
        var s = "<g>\n<text x=\"\(fmt(left))\" y=\"\(fmt(y0 + 24))\" font-size=\"14\" font-weight=\"bold\">\(escape(title))</text>\n"
        s += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(plotW))\" height=\"\(fmt(plotH))\" fill=\"none\" stroke=\"#999\"/>\n"
        for k in 0...4 {
            let v = yMax * Double(k) / 4, y = py(v)
            s += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(y))\" x2=\"\(fmt(left + plotW))\" y2=\"\(fmt(y))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\">\(escape(axisLabel(v)))</text>\n"
        }
        for t in threads {
            s += "<text x=\"\(fmt(px(t)))\" y=\"\(fmt(top + plotH + 16))\" text-anchor=\"middle\">\(t)</text>\n"
        }
        s += "<text x=\"\(fmt(left + plotW / 2))\" y=\"\(fmt(top + plotH + 36))\" text-anchor=\"middle\">threads</text>\n"
        s += "<text transform=\"translate(\(fmt(x0 + 16)),\(fmt(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (i, strategy) in strategies.enumerated() {
            let points = results.filter { series($0) == strategy }.sorted { $0.threads < $1.threads }
                .compactMap { r in value(r).map { (px(r.threads), py($0)) } }
            guard !points.isEmpty else { continue }
            s += "<polyline fill=\"none\" stroke=\"\(color(i))\" stroke-width=\"2\" points=\"\(points.map { "\(fmt($0.0)),\(fmt($0.1))" }.joined(separator: " "))\"/>\n"
            for (x, y) in points { s += "<circle cx=\"\(fmt(x))\" cy=\"\(fmt(y))\" r=\"3\" fill=\"\(color(i))\"/>" }
            s += "\n"
            for r in results where series(r) == strategy {
                guard value(r) != nil, let (lo, hi) = range(r) else { continue }
                let x = px(r.threads), yLo = py(lo), yHi = py(hi)
                s += "<g class=\"range\" stroke=\"\(color(i))\" stroke-width=\"1.5\">"
                s += "<line x1=\"\(fmt(x))\" y1=\"\(fmt(yLo))\" x2=\"\(fmt(x))\" y2=\"\(fmt(yHi))\"/>"
                s += "<line x1=\"\(fmt(x - 4))\" y1=\"\(fmt(yLo))\" x2=\"\(fmt(x + 4))\" y2=\"\(fmt(yLo))\"/>"
                s += "<line x1=\"\(fmt(x - 4))\" y1=\"\(fmt(yHi))\" x2=\"\(fmt(x + 4))\" y2=\"\(fmt(yHi))\"/></g>\n"
            }
        }
        return s + "</g>\n"
    }

    /// One line per engine — per job and engine when the results come from
    /// a job file.
    static func series(_ r: LoadResult) -> String { r.job.map { "\($0): \(r.strategy)" } ?? r.strategy }

    static func color(_ i: Int) -> String { palette[i % palette.count] }
    static func fmt(_ x: Double) -> String { String(format: "%.1f", x) }

    static func unique<T: Hashable>(_ xs: [T]) -> [T] {
        var seen = Set<T>()
        return xs.filter { seen.insert($0).inserted }
    }

    static func niceCeiling(_ x: Double) -> Double {
        guard x > 0 else { return 1 }
        let p = pow(10, floor(log10(x)))
        for m in [1.0, 2, 2.5, 5, 10] where m * p >= x { return m * p }
        return 10 * p
    }

    static func axisLabel(_ v: Double) -> String {
        func trimmed(_ x: Double, _ suffix: String) -> String {
            var s = String(format: "%.2f", x)
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
            return s + suffix
        }
        if v >= 1e6 { return trimmed(v / 1e6, "M") }
        if v >= 1e3 { return trimmed(v / 1e3, "k") }
        return trimmed(v, "")
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
