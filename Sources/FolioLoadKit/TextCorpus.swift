import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The text `--data text` fills test files with: real text, not generated
/// filler, built the same way on every machine of this kind (Debian with the
/// Swift 6.3.1 toolchain in /opt/swift) from files that do not change with
/// what else is installed — the base system's license texts and the
/// toolchain's own headers and documentation (never /usr/include, which
/// changes with installed packages) — concatenated in sorted path order
/// (bytewise). Its manifest (every file's path, length and fingerprint) and
/// the fingerprint of the whole are constants below; a machine whose files
/// differ gets a `TextCorpusError` naming what differed, never other data.
public struct TextCorpus: Sendable {
    /// The corpus, 895 543 bytes.
    public let bytes: [UInt8]

    /// Where the corpus comes from, relative to the file system root: a
    /// directory (searched recursively, symbolic links skipped — the
    /// licenses' `GPL` → `GPL-3` and the like would only repeat a file) and
    /// the name suffixes taken there (nil: every regular file).
    public static let sources: [(directory: String, suffixes: [String]?)] = [
        ("usr/share/common-licenses", nil),
        ("opt/swift/usr/include", [".h"]),
        ("opt/swift/usr/share/doc/swift", [".md"]),
        ("opt/swift/usr/share/man/man1", [".1"]),
        ("opt/swift/usr/share/swift", [".txt", ".strings"]),
    ]

    public struct Entry: Sendable, Equatable {
        public var path: String
        public var length: Int
        public var fingerprint: UInt64
    }

    /// Every file of the corpus, in corpus order, with its length and FNV-1a
    /// 64 fingerprint (as found on this machine kind when the tool was
    /// written).
    public static let manifest: [Entry] = [
        .init(path: "opt/swift/usr/include/SourceKit/sourcekitd.h", length: 25430, fingerprint: 0x32DD61788952A7E5),
        .init(path: "opt/swift/usr/include/llvm-c/lto.h", length: 30579, fingerprint: 0xEDCC89B479660BD1),
        .init(path: "opt/swift/usr/include/swift/ExecutorImpl.h", length: 11929, fingerprint: 0x20073D1169810441),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/actor-isolated-call.md", length: 1875, fingerprint: 0x9C14FC31FAA6CFA5),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/always-available-domain.md", length: 976, fingerprint: 0x285CED9E53BDA938),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/availability-unrecognized-name.md", length: 765, fingerprint: 0xE903B86F8B5BAA38),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/clang-declaration-import.md", length: 632, fingerprint: 0xA3FFDDE806B94551),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/compilation-caching.md", length: 1175, fingerprint: 0xAA7163F9286576D7),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/conformance-isolation.md", length: 2787, fingerprint: 0xF53A88F03E690C62),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/deprecated-declaration.md", length: 2307, fingerprint: 0x9021E3757E223AAE),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/diagnostic-groups.md", length: 2662, fingerprint: 0x49A431A303329C02),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/diagnostics.md", length: 223, fingerprint: 0x5554DA42059FB5FC),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/dynamic-callable-requirements.md", length: 1649, fingerprint: 0x902B0934FBBB64DD),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/dynamic-exclusivity.md", length: 63, fingerprint: 0x10ECB78A8184B8FC),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/embedded-restrictions.md", length: 3273, fingerprint: 0xCD298F041DC5E3FF),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/error-in-future-swift-version.md", length: 1531, fingerprint: 0x5B8623CD9569D62D),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/exclusivity-violation.md", length: 2818, fingerprint: 0xB24ABB08F63969B5),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/existential-any.md", length: 1346, fingerprint: 0x1A82E24D3C1D46C9),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/existential-member-access-limitations.md", length: 3632, fingerprint: 0xB074C93AF37922B2),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/explicit-sendable-annotations.md", length: 1085, fingerprint: 0x76FD82B448806D50),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/foreign-reference-type.md", length: 1661, fingerprint: 0xAB1572E328DCEA49),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/implementation-only-deprecated.md", length: 1612, fingerprint: 0x327B3A0C99AAF66B),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/isolated-conformances.md", length: 1885, fingerprint: 0xD304A9CA5D69567B),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/member-import-visibility.md", length: 1176, fingerprint: 0x93B99EC88463F8FE),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/missing-module-on-known-paths.md", length: 1596, fingerprint: 0x8CEF4EAFDA975D3C),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/module-not-testable.md", length: 491, fingerprint: 0x39C1B92800B95A34),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/module-version-missing.md", length: 1091, fingerprint: 0x49AC0D55A73700DD),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/multiple-inheritance.md", length: 2024, fingerprint: 0x8B6494AC4E1FE115),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/mutable-global-variable.md", length: 2440, fingerprint: 0x928DC7C9BD5B691B),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/nominal-types.md", length: 1513, fingerprint: 0x6273F9EA4D2E67DC),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/nonisolated-nonsending-by-default.md", length: 2314, fingerprint: 0x4718550D14C9F894),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/opaque-type-inference.md", length: 3362, fingerprint: 0x406C1D809D275642),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/performance-hints.md", length: 52, fingerprint: 0xC54902E8C3470EBC),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/preconcurrency-import.md", length: 195, fingerprint: 0x3CA205FF53B58BAA),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/property-wrapper-requirements.md", length: 759, fingerprint: 0x0F16BC313DDD21C4),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/protocol-type-non-conformance.md", length: 4348, fingerprint: 0x3280B297B809F22F),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/result-builder-methods.md", length: 2513, fingerprint: 0xC550C95580B3B7E1),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/semantic-copies.md", length: 59, fingerprint: 0xFF949DBEC21D3DE3),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/sendable-closure-captures.md", length: 2842, fingerprint: 0xF51FFD6C13421D2E),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/sendable-metatypes.md", length: 2096, fingerprint: 0xE6E8865248FB8345),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/sending-closure-risks-data-race.md", length: 2562, fingerprint: 0xA4BD4B1F2DC1668D),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/sending-risks-data-race.md", length: 2317, fingerprint: 0xE5DE6F6FCA40ECBB),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/strict-language-features.md", length: 598, fingerprint: 0xBE91FF21849FE0FF),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/strict-memory-safety.md", length: 2399, fingerprint: 0x063E59AD3449903B),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/string-interpolation-conformance.md", length: 1909, fingerprint: 0x3342122115E5A092),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/temporary-pointers.md", length: 3058, fingerprint: 0xA6D2A677CB71C017),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/trailing-closure-matching.md", length: 5991, fingerprint: 0xA355CF050EBCE9C0),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/unknown-warning-group.md", length: 573, fingerprint: 0x2BE0E5856A60F07F),
        .init(path: "opt/swift/usr/share/doc/swift/diagnostics/upcoming-language-features.md", length: 869, fingerprint: 0xC26FD385BE3E69F9),
        .init(path: "opt/swift/usr/share/man/man1/swift.1", length: 7089, fingerprint: 0x28E0D7D87A9A6DEE),
        .init(path: "opt/swift/usr/share/swift/LICENSE.txt", length: 11751, fingerprint: 0x9B80538157A5291D),
        .init(path: "opt/swift/usr/share/swift/diagnostics/en.strings", length: 488341, fingerprint: 0x0CFE341DAF0896FD),
        .init(path: "usr/share/common-licenses/Apache-2.0", length: 11358, fingerprint: 0x2EB9294A0308D938),
        .init(path: "usr/share/common-licenses/Artistic", length: 6111, fingerprint: 0xF240E4AB4A9D9A8C),
        .init(path: "usr/share/common-licenses/BSD", length: 1499, fingerprint: 0xD39726C1A97A4764),
        .init(path: "usr/share/common-licenses/CC0-1.0", length: 7048, fingerprint: 0xF92EC4039367C961),
        .init(path: "usr/share/common-licenses/GFDL-1.2", length: 20432, fingerprint: 0x0F59AC5EE5448C2E),
        .init(path: "usr/share/common-licenses/GFDL-1.3", length: 22955, fingerprint: 0x146728FEC95C64B3),
        .init(path: "usr/share/common-licenses/GPL-1", length: 12632, fingerprint: 0x900EE7CFA8F450A6),
        .init(path: "usr/share/common-licenses/GPL-2", length: 18092, fingerprint: 0xA36465B10012A32E),
        .init(path: "usr/share/common-licenses/GPL-3", length: 35149, fingerprint: 0x3A7B2FCBC1B66470),
        .init(path: "usr/share/common-licenses/LGPL-2", length: 25381, fingerprint: 0xF220DBB646EE2DDD),
        .init(path: "usr/share/common-licenses/LGPL-2.1", length: 26530, fingerprint: 0x0F3FD96EC19D27DC),
        .init(path: "usr/share/common-licenses/LGPL-3", length: 7652, fingerprint: 0x8489A15F634D5275),
        .init(path: "usr/share/common-licenses/MPL-1.1", length: 25755, fingerprint: 0x82B3CE0DDA6568A2),
        .init(path: "usr/share/common-licenses/MPL-2.0", length: 16726, fingerprint: 0xAF50002DC83CC3C9),
    ]

    /// The length and FNV-1a 64 fingerprint of the whole corpus.
    public static let expectedLength = 895543
    public static let expectedFingerprint: UInt64 = 0x9E9306B8F5ECBE4C

    /// The corpus of this machine, read and checked once per process.
    public static let shared: Result<TextCorpus, TextCorpusError> = Result { () throws(TextCorpusError) in try load() }

    /// Reads the corpus under `root` (a test points this at a copy) and
    /// checks it against the manifest and the whole-corpus fingerprint.
    public static func load(root: String = "/", manifest: [Entry] = Self.manifest,
                            expectedLength: Int = Self.expectedLength,
                            expectedFingerprint: UInt64 = Self.expectedFingerprint) throws(TextCorpusError) -> TextCorpus {
        let found = try files(under: root)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(expectedLength)
        var entries: [Entry] = []
        for path in found {
            let full = join(root, path)
            guard let data = FileManager.default.contents(atPath: full) else {
                throw .unreadable(path: full, reason: "it exists but cannot be read")
            }
            let b = [UInt8](data)
            entries.append(Entry(path: path, length: b.count, fingerprint: FNV1a64.hash(b)))
            bytes += b
        }
        let differences = Self.differences(expected: manifest, found: entries, root: root)
        if !differences.isEmpty { throw .filesDiffer(differences) }
        let fingerprint = FNV1a64.hash(bytes)
        guard bytes.count == expectedLength, fingerprint == expectedFingerprint else {
            throw .fingerprintDiffers(expectedLength: expectedLength, expectedFingerprint: expectedFingerprint,
                                      length: bytes.count, fingerprint: fingerprint)
        }
        return TextCorpus(bytes: bytes)
    }

    /// The corpus files under `root`, relative to it, in corpus order.
    static func files(under root: String) throws(TextCorpusError) -> [String] {
        var out: [String] = []
        for source in sources {
            let directory = join(root, source.directory)
            // A missing directory is not an error here: its files show up
            // as missing in the comparison with the manifest, by name.
            guard let enumerator = FileManager.default.enumerator(atPath: directory) else { continue }
            while let relative = enumerator.nextObject() as? String {
                let name = (relative as NSString).lastPathComponent
                if let suffixes = source.suffixes, !suffixes.contains(where: { name.hasSuffix($0) }) { continue }
                var st = stat()
                guard lstat(join(directory, relative), &st) == 0 else {
                    throw .unreadable(path: join(directory, relative), reason: String(cString: strerror(errno)))
                }
                guard st.st_mode & S_IFMT == S_IFREG else { continue }
                out.append(source.directory + "/" + relative)
            }
        }
        return out.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func differences(expected: [Entry], found: [Entry], root: String) -> [TextCorpusError.Difference] {
        var out: [TextCorpusError.Difference] = []
        let byPath = Dictionary(found.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let known = Set(expected.map(\.path))
        for e in expected {
            guard let f = byPath[e.path] else {
                out.append(.missing(path: join(root, e.path), length: e.length, fingerprint: e.fingerprint))
                continue
            }
            if f != e {
                out.append(.changed(path: join(root, e.path), expectedLength: e.length, expectedFingerprint: e.fingerprint,
                                    length: f.length, fingerprint: f.fingerprint))
            }
        }
        for f in found where !known.contains(f.path) {
            out.append(.unexpected(path: join(root, f.path), length: f.length, fingerprint: f.fingerprint))
        }
        return out
    }

    static func join(_ a: String, _ b: String) -> String {
        a.hasSuffix("/") ? a + b : a + "/" + b
    }
}

/// Why the text corpus could not be built: this machine's files are not the
/// ones folio-load was written against (another OS release or toolchain), so
/// `--data text` would not be the same data.
public enum TextCorpusError: Error, Equatable, CustomStringConvertible {
    public enum Difference: Equatable, Sendable, CustomStringConvertible {
        case missing(path: String, length: Int, fingerprint: UInt64)
        case unexpected(path: String, length: Int, fingerprint: UInt64)
        case changed(path: String, expectedLength: Int, expectedFingerprint: UInt64, length: Int, fingerprint: UInt64)

        public var description: String {
            switch self {
            case .missing(let p, let n, let h): "\(p) is missing (expected \(n) bytes, fingerprint \(FNV1a64.hex(h)))"
            case .unexpected(let p, let n, let h): "\(p) is not in the corpus manifest (\(n) bytes, fingerprint \(FNV1a64.hex(h)))"
            case .changed(let p, let en, let eh, let n, let h):
                "\(p) differs: \(n) bytes, fingerprint \(FNV1a64.hex(h)); expected \(en) bytes, fingerprint \(FNV1a64.hex(eh))"
            }
        }
    }

    case unreadable(path: String, reason: String)
    /// Files missing, added or changed (all of them, in corpus order).
    case filesDiffer([Difference])
    /// Every file matched but the whole did not (the constants disagree).
    case fingerprintDiffers(expectedLength: Int, expectedFingerprint: UInt64, length: Int, fingerprint: UInt64)

    public var description: String {
        let what: String
        switch self {
        case .unreadable(let p, let r): what = "cannot read \(p): \(r)"
        case .filesDiffer(let d):
            what = d.prefix(3).map(\.description).joined(separator: "; ")
                + (d.count > 3 ? "; and \(d.count - 3) more difference\(d.count == 4 ? "" : "s")" : "")
        case .fingerprintDiffers(let en, let eh, let n, let h):
            what = "the corpus is \(n) bytes, fingerprint \(FNV1a64.hex(h)); expected \(en) bytes, fingerprint \(FNV1a64.hex(eh))"
        }
        return "the text corpus differs from the one this folio-load was built for (license texts and Swift toolchain files; "
            + "another OS release or toolchain?), so --data text would not be the same data: \(what). "
            + "Use --data pattern, random or zeros on this machine."
    }
}

/// 64-bit FNV-1a. An identity fingerprint — "are these the bytes the corpus
/// was defined with" — not an integrity checksum: it is not collision
/// resistant against anyone choosing the bytes, which does not matter here.
/// (Neither the platform nor a dependency of FolioLoadKit offers a hash;
/// liblz4's bundled xxHash is not exported.)
enum FNV1a64 {
    static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01B3

    static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBufferPointer { b in
            var h = offsetBasis
            for x in b {
                h ^= UInt64(x)
                h = h &* prime
            }
            return h
        }
    }

    static func hex(_ h: UInt64) -> String {
        let s = String(h, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - s.count) + s
    }
}
