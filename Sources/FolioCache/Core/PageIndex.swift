/// The index of a page within a file: byte offset / page size. A distinct type
/// so that page indices, byte offsets and counts are never mixed up.
public struct PageIndex: RawRepresentable, Hashable, Comparable, Sendable, Strideable, CustomStringConvertible {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ value: UInt64) { self.rawValue = value }

    /// The largest index: the open end of "from here to the end of the file".
    public static let max = PageIndex(UInt64.max)

    @inlinable public static func < (a: PageIndex, b: PageIndex) -> Bool { a.rawValue < b.rawValue }
    @inlinable public func distance(to other: PageIndex) -> Int64 { Int64(bitPattern: other.rawValue &- rawValue) }
    @inlinable public func advanced(by n: Int64) -> PageIndex { PageIndex(rawValue &+ UInt64(bitPattern: n)) }
    public var description: String { "page \(rawValue)" }
}

extension Range where Bound == PageIndex {
    /// The same range as raw positions, for the range lock.
    @inlinable var rawRange: Range<UInt64> { lowerBound.rawValue..<upperBound.rawValue }
}
