/// `--data`: what the test files hold (and what the writing workloads write).
public enum DataKind: String, CaseIterable, Sendable, Codable {
    /// Page k of file f is the byte (31·k + f) mod 256 repeated: what the
    /// tool always wrote (the default). Every page compresses to almost
    /// nothing.
    case pattern
    /// Real text: the `TextCorpus`, repeated as often as the file needs.
    case text
    /// Seeded random bytes (`--seed`): incompressible.
    case random
    /// Zeros.
    case zeros

    static var allowed: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// The bytes of every page of every test file for one `DataKind`, computed
/// page by page (any page, in any order) so that a test can say what a file
/// must hold.
struct FileContent: Sendable {
    let kind: DataKind
    let seed: UInt64
    let pageSize: Int
    /// The corpus (`text` only).
    let corpus: TextCorpus?

    /// The content `parameters` ask for; for `text`, reads and checks the
    /// corpus (once per process).
    init(_ parameters: RunParameters) throws(LoadError) {
        kind = parameters.data
        seed = parameters.seed
        pageSize = parameters.pageSize
        if kind == .text {
            switch TextCorpus.shared {
            case .success(let c): corpus = c
            case .failure(let e): throw .corpus(e)
            }
        } else {
            corpus = nil
        }
    }

    /// Where file `file` starts in the corpus: 1 MiB further per file, so
    /// that the files of multi-file differ.
    func corpusStart(file: Int) -> Int {
        guard let n = corpus?.bytes.count, n > 0 else { return 0 }
        return (file &* (1 << 20)) % n
    }

    /// Fills `buffer` with page `page` of file `file` (`buffer.count` bytes
    /// from the page's start).
    func fill(_ buffer: UnsafeMutableRawBufferPointer, file: Int, page: Int) {
        switch kind {
        case .pattern:
            buffer.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: page &* 31 &+ file))
        case .zeros:
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
        case .random:
            // One generator per page, seeded from (seed, file, page) through
            // SplitMix itself, so that no two pages share a stream (seeds
            // one increment apart would give shifted copies — compressible
            // across pages of a large folio).
            var base = SplitMix(seed: seed ^ (UInt64(truncatingIfNeeded: file) &+ 1) &* 0xD1B5_4A32_D192_ED03)
            var pageSeed = SplitMix(seed: base.next() &+ UInt64(truncatingIfNeeded: page))
            var rng = SplitMix(seed: pageSeed.next())
            var o = 0
            while o + 8 <= buffer.count {
                buffer.storeBytes(of: rng.next(), toByteOffset: o, as: UInt64.self)
                o += 8
            }
            if o < buffer.count {
                var last = rng.next()
                while o < buffer.count {
                    buffer[o] = UInt8(truncatingIfNeeded: last)
                    last >>= 8
                    o += 1
                }
            }
        case .text:
            guard let bytes = corpus?.bytes, !bytes.isEmpty else {
                buffer.initializeMemory(as: UInt8.self, repeating: 0)
                return
            }
            let n = bytes.count
            // Byte o of the file is byte (start + o) mod n of the corpus.
            var from = (corpusStart(file: file) + page * pageSize) % n
            var o = 0
            bytes.withUnsafeBytes { src in
                while o < buffer.count {
                    let k = Swift.min(buffer.count - o, n - from)
                    (buffer.baseAddress! + o).copyMemory(from: src.baseAddress! + from, byteCount: k)
                    o += k
                    from = 0
                }
            }
        }
    }

    /// What thread `t` writes before it has read anything: for `pattern` the
    /// byte t + 1 repeated (as always); otherwise a page of this kind's
    /// content that lies past the end of the files (page `filePages + t` of
    /// file 0), so that what writers write is data of the same kind.
    func fillWriteBuffer(_ buffer: UnsafeMutableRawBufferPointer, thread t: Int, filePages: Int) {
        if kind == .pattern {
            buffer.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: t + 1))
        } else {
            fill(buffer, file: 0, page: filePages + t)
        }
    }
}
