/// `--threads`: a list (`1,2,4,8`) or a sweep `FROM:TO:xFACTOR` (`1:16:x2` →
/// 1, 2, 4, 8, 16) or `FROM:TO:+STEP` (`2:8:+2` → 2, 4, 6, 8); lists and
/// sweeps may be mixed with commas.
public enum ThreadCounts {
    public static let maxThreads = 1024

    public static func parse(_ text: String) throws(LoadError) -> [Int] {
        var out: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let p = String(part)
            let fields = p.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            switch fields.count {
            case 1:
                out.append(try count(fields[0], in: text))
            case 3:
                let from = try count(fields[0], in: text), to = try count(fields[1], in: text)
                guard from <= to else { throw .badArgument("--threads '\(text)': sweep \(p) goes down (\(from) > \(to))") }
                let step = fields[2]
                if step.hasPrefix("x"), let f = Int(step.dropFirst()), f >= 2 {
                    var n = from
                    // Stop on overflow too: a huge factor or step is a
                    // sweep of one count, not a trap.
                    while n <= to {
                        out.append(n)
                        let (next, overflow) = n.multipliedReportingOverflow(by: f)
                        if overflow { break }
                        n = next
                    }
                } else if step.hasPrefix("+"), let d = Int(step.dropFirst()), d >= 1 {
                    var n = from
                    while n <= to {
                        out.append(n)
                        let (next, overflow) = n.addingReportingOverflow(d)
                        if overflow { break }
                        n = next
                    }
                } else {
                    throw .badArgument("--threads '\(text)': step '\(step)' must be xFACTOR (factor ≥ 2) or +STEP (step ≥ 1)")
                }
            default:
                throw .badArgument("--threads '\(text)': '\(p)' is neither a count nor FROM:TO:xFACTOR / FROM:TO:+STEP")
            }
        }
        var seen = Set<Int>()
        return out.filter { seen.insert($0).inserted }
    }

    static func count(_ s: String, in text: String) throws(LoadError) -> Int {
        guard let n = Int(s), n >= 1, n <= maxThreads else {
            throw .badArgument("--threads '\(text)': '\(s)' is not a thread count from 1 to \(maxThreads)")
        }
        return n
    }
}
