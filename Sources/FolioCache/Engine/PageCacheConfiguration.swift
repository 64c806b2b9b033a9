/// What a cache is built with. `validate()` rejects anything the engine
/// cannot honour, with a message naming the field, the value and what is
/// allowed.
public struct PageCacheConfiguration: Sendable, Equatable {
    /// Bytes per page: a power of two from 512 B to 64 KiB.
    public var pageSize: Int
    /// The byte budget for resident folio data. At least one page.
    public var capacity: Int
    /// Which folios leave first when the budget is exceeded.
    public var evictionPolicy: EvictionPolicyKind
    /// Views: on a fault, also map up to this many following pages of the
    /// view that are already cached, with trylock only (0: off; at most
    /// `maxFaultAroundPages`).
    public var faultAroundPages: Int

    public static let minPageSize = 512
    public static let maxPageSize = 64 * 1024
    public static let maxFaultAroundPages = 64

    public init(pageSize: Int = 4096, capacity: Int = 64 << 20, evictionPolicy: EvictionPolicyKind = .sieve, faultAroundPages: Int = 0) {
        self.pageSize = pageSize
        self.capacity = capacity
        self.evictionPolicy = evictionPolicy
        self.faultAroundPages = faultAroundPages
    }

    public func validate() throws(FolioError) {
        guard pageSize >= Self.minPageSize, pageSize <= Self.maxPageSize, pageSize & (pageSize - 1) == 0 else {
            throw .invalidArgument("pageSize \(pageSize) is not a power of two from \(Self.minPageSize) to \(Self.maxPageSize)")
        }
        guard capacity >= pageSize else {
            throw .invalidArgument("capacity \(capacity) bytes is smaller than one page (\(pageSize) bytes)")
        }
        guard faultAroundPages >= 0, faultAroundPages <= Self.maxFaultAroundPages else {
            throw .invalidArgument("faultAroundPages \(faultAroundPages) is not from 0 to \(Self.maxFaultAroundPages)")
        }
    }
}
