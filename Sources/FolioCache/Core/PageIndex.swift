/// The index of a page within a file: byte offset / page size. A distinct type
/// so that page indices, byte offsets and counts are never mixed up.
public struct PageIndex: RawRepresentable, Hashable, Comparable, Sendable, Strideable, CustomStringConvertible {
    /// The page number (0 for the page holding byte 0).
    public var rawValue: UInt64
    /// The index of page number `rawValue`.
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// The index of page number `value`.
    @inlinable public init(_ value: UInt64) { self.rawValue = value }

    /// The largest index: the open end of "from here to the end of the file".
    public static let max = PageIndex(UInt64.max)

    /// Whether `a` comes before `b` in the file.
    @inlinable public static func < (a: PageIndex, b: PageIndex) -> Bool { a.rawValue < b.rawValue }
    /// The number of pages from this index to `other` (negative if `other` is
    /// before it; wrapping arithmetic).
    @inlinable public func distance(to other: PageIndex) -> Int64 { Int64(bitPattern: other.rawValue &- rawValue) }
    /// The index `n` pages after this one (before it for negative `n`;
    /// wrapping arithmetic).
    @inlinable public func advanced(by n: Int64) -> PageIndex { PageIndex(rawValue &+ UInt64(bitPattern: n)) }
    /// `page N`.
    public var description: String { "page \(rawValue)" }
}

extension Range where Bound == PageIndex {
    /// The same range as raw positions, for the range lock.
    @inlinable var rawRange: Range<UInt64> { lowerBound.rawValue..<upperBound.rawValue }
}
