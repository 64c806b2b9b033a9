#if canImport(Glibc)
import Glibc
#endif

/// What the libFuzzer harnesses in `Fuzz/` share: an invariant check that
/// turns a wrong answer into a crash libFuzzer reports, a sink that keeps
/// results alive in `-O` builds, and a reader that takes parameters off the
/// front of an input. Not part of Folio; built only with `ENABLE_FUZZ`.
public enum Fuzz {
    /// Aborts (SIGABRT: libFuzzer writes the input as `crash-<sha1>`) with
    /// `message` on standard error when `condition` is false. Unlike
    /// `precondition`, kept and printed in every build mode.
    public static func check(
        _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
        file: StaticString = #fileID, line: UInt = #line
    ) {
        guard !condition() else { return }
        let text = "fuzz invariant violated at \(file):\(line): \(message())\n"
        text.utf8CString.withUnsafeBufferPointer { buffer in
            _ = write(2, buffer.baseAddress, buffer.count - 1)
        }
        abort()
    }

    /// Folds `value` into `sink`, so that the optimizer cannot prove the
    /// work that produced it unused (docs/fuzzing.md; a harness whose result
    /// is dead gets folded away and its coverage stays at 1–2).
    @inline(never)
    public static func keep(_ value: Int) { sink &+= value }

    /// Something the harnesses write and nobody reads; one per process, and
    /// libFuzzer runs one input at a time on one thread.
    nonisolated(unsafe) public static var sink = 0

    /// The input as bytes (libFuzzer may pass a null pointer for an empty input).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}

/// Parameters taken off the front of a fuzz input: each read consumes bytes
/// and yields 0 once the input is used up, so every input is valid.
public struct FuzzReader {
    public private(set) var rest: ArraySlice<UInt8>

    public init(_ bytes: [UInt8]) { rest = bytes[...] }

    public mutating func byte() -> UInt8 {
        guard let b = rest.first else { return 0 }
        rest = rest.dropFirst()
        return b
    }

    /// `count` bytes, little-endian.
    public mutating func integer(bytes count: Int) -> Int {
        var value = 0
        for i in 0..<count { value |= Int(byte()) << (8 * i) }
        return value
    }
}
