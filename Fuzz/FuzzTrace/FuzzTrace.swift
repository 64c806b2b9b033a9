import FolioLoadKit
import FuzzSupport

/// libFuzzer harness for folio-load's block-trace parser (`Trace.parse`,
/// Sources/FolioLoadKit/Trace.swift).
///
/// Input: one byte choosing the page size (512 B << (byte % 8), so 512 B to
/// 64 KiB), then the trace text.
///
/// Invariants (a violation aborts, and libFuzzer keeps the input):
/// - an accepted trace has accesses, all to pages ≥ 0;
/// - every data line of an accepted trace has one field or three (a page
///   number, or op,offset,length: no empty fields taken for absent ones);
/// - blank lines are skipped: doubling every newline gives the same trace;
/// - lines are independent: the trace is the concatenation of its lines'
///   accesses, each line parsed alone (so no line is swallowed by, or glued
///   to, its neighbour), and a trace whose every line is fine on its own is
///   accepted (unless a header-like `op,…` line follows an access).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTrace(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzReader(Fuzz.bytes(data, size))
    let pageSize = 512 << Int(input.byte() % 8)
    let text = String(decoding: input.rest, as: UTF8.self)
    checkTrace(text, pageSize: pageSize)
    return 0
}

func parse(_ text: String, _ pageSize: Int) -> Result<Trace, LoadError> {
    Result { () throws(LoadError) in try Trace.parse(text, source: "fuzz", pageSize: pageSize) }
}

/// The text's lines, split at U+000A only.
func lines(_ text: String) -> [String] {
    text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
}

func isNoAccesses(_ error: LoadError) -> Bool {
    if case .badArgument(let message) = error { return message.hasSuffix(": no accesses") }
    return false
}

func trimmed(_ s: some StringProtocol) -> String {
    let scalars = s.unicodeScalars.drop { $0.properties.isWhitespace }
    var t = String(String.UnicodeScalarView(scalars))
    while let last = t.unicodeScalars.last, last.properties.isWhitespace { t.unicodeScalars.removeLast() }
    return t
}

func checkTrace(_ text: String, pageSize: Int) {
    let whole = parse(text, pageSize)
    var concatenated: [Trace.Access] = []
    var everyLineFine = true
    var headerLike = false
    for line in lines(text) {
        switch parse(line, pageSize) {
        case .success(let t): concatenated += t.accesses
        case .failure(let e) where isNoAccesses(e): break
        case .failure: everyLineFine = false
        }
        let data = trimmed(line)
        if trimmed(data.split(separator: ",", omittingEmptySubsequences: false)[0]).lowercased() == "op" { headerLike = true }
        if case .success = whole, !data.isEmpty, !data.hasPrefix("#") {
            // Characters, as the parser splits: a comma with a combining
            // mark after it is one Character and no separator.
            let commas = data.reduce(0) { $1 == "," ? $0 + 1 : $0 }
            Fuzz.check(commas == 0 || commas == 2, "accepted a line with \(commas + 1) fields: \(line.debugDescription)")
        }
    }
    switch whole {
    case .success(let trace):
        Fuzz.check(!trace.accesses.isEmpty, "an accepted trace without accesses: \(text.debugDescription)")
        Fuzz.check(trace.accesses.allSatisfy { $0.page >= 0 }, "an accepted trace with a negative page: \(text.debugDescription)")
        Fuzz.check(concatenated == trace.accesses,
                   "the trace is not its lines' accesses: \(trace.accesses.count) accesses, its lines alone give \(concatenated.count): \(text.debugDescription)")
        let spaced = String(String.UnicodeScalarView(text.unicodeScalars.flatMap { $0 == "\n" ? ["\n", "\n"] : [$0] }))
        switch parse(spaced, pageSize) {
        case .success(let again):
            Fuzz.check(again.accesses == trace.accesses, "blank lines changed the trace: \(text.debugDescription)")
        case .failure(let e):
            Fuzz.check(false, "blank lines made an accepted trace fail (\(e)): \(text.debugDescription)")
        }
        Fuzz.keep(trace.accesses.count)
    case .failure(let error):
        Fuzz.check(!(everyLineFine && !headerLike && !concatenated.isEmpty),
                   "rejected (\(error)) although each line alone is fine: \(text.debugDescription)")
        Fuzz.keep(error.description.utf8.count)
    }
}
