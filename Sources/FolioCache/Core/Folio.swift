import FolioLocks
import Synchronization

/// The bits of a folio's state word. Bits 0 and 1 belong to the bit lock
/// (`BitLockBits`): the per-page strategies lock a folio by setting bit 0 of
/// this very word, so a folio costs no lock storage of its own.
///
/// | bit | flag | set / cleared by |
/// |---|---|---|
/// | 0 | locked | the per-page strategies (`BitLockBits.locked`) |
/// | 1 | parked | the per-page strategies (`BitLockBits.parked`) |
/// | 2 | uptodate | the filler, with the folio locked |
/// | 3 | dirty | writers, with the folio locked |
/// | 4 | writeback | writeback, with the folio locked |
/// | 5 | referenced | readers, without a lock (atomic or) |
/// | 6 | compressed | collapse / compression, with the folio locked |
public struct FolioFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let locked = FolioFlags(rawValue: BitLockBits.locked)
    public static let parked = FolioFlags(rawValue: BitLockBits.parked)
    public static let uptodate = FolioFlags(rawValue: 1 << 2)
    public static let dirty = FolioFlags(rawValue: 1 << 3)
    public static let writeback = FolioFlags(rawValue: 1 << 4)
    public static let referenced = FolioFlags(rawValue: 1 << 5)
    public static let compressed = FolioFlags(rawValue: 1 << 6)
}

/// The unit the cache holds: `2^order` contiguous pages of one file starting at
/// an index aligned to `2^order`.
///
/// This is the part of a folio the lock strategies need: its atomic state word
/// (whose low two bits are the per-page lock) and the key under which threads
/// wait for it. The engine adds its data, pin count and mapping.
public final class Folio: Sendable {
    /// Flags and the per-page lock bits. See `FolioFlags`.
    public let state = Atomic<UInt64>(0)
    /// First page of the folio.
    public let index: PageIndex
    /// log2 of the number of pages.
    public let order: UInt8

    public init(index: PageIndex, order: UInt8 = 0) {
        self.index = index
        self.order = order
    }

    /// The parking-lot key of this folio: its address. Stable while the folio
    /// is alive, which any thread locking it guarantees by holding a reference.
    @inlinable public var lockKey: UInt { UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque()) }

    /// A racy snapshot of the flags, for assertions and diagnostics.
    public var flags: FolioFlags { FolioFlags(rawValue: state.load(ordering: .relaxed)) }

    /// Sets flags with one atomic or; returns the previous flags. The lock
    /// bits cannot be set this way.
    @discardableResult
    @inlinable public func setFlags(_ f: FolioFlags) -> FolioFlags {
        precondition(f.rawValue & BitLockBits.mask == 0, "the lock bits belong to the lock strategy")
        return FolioFlags(rawValue: state.bitwiseOr(f.rawValue, ordering: .acquiringAndReleasing).oldValue)
    }

    /// Clears flags with one atomic and; returns the previous flags. The lock
    /// bits cannot be cleared this way.
    @discardableResult
    @inlinable public func clearFlags(_ f: FolioFlags) -> FolioFlags {
        precondition(f.rawValue & BitLockBits.mask == 0, "the lock bits belong to the lock strategy")
        return FolioFlags(rawValue: state.bitwiseAnd(~f.rawValue, ordering: .acquiringAndReleasing).oldValue)
    }
}
