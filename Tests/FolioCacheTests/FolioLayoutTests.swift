@_spi(FolioInternals) @testable import FolioCache
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// glibc's `malloc_usable_size` (declared in <malloc.h>, which the Glibc
/// module does not export).
@_silgen_name("malloc_usable_size")
func mallocUsableSize(_ pointer: UnsafeMutableRawPointer?) -> Int

/// Per-page metadata must stay within the 64 bytes of Linux's struct page.
@Suite struct FolioLayoutTests {
    /// A struct with Folio's stored properties in declaration order: its size
    /// plus the 16-byte object header is the instance size the runtime asks
    /// malloc for.
    struct StoredProperties {
        var state: UInt64
        var index: PageIndex
        var data: UnsafeMutableRawPointer?
        var mapping: AnyObject?
        var policyPrev: Unmanaged<Folio>?
        var policyNext: Unmanaged<Folio>?
    }

    @Test func folioFitsInSixtyFourBytes() {
        let instance = 16 + MemoryLayout<StoredProperties>.size
        let folio = Folio(index: PageIndex(1))
        let usable = mallocUsableSize(Unmanaged.passUnretained(folio).toOpaque())
        print("Folio: \(instance) bytes per instance (object header 16 + stored properties \(MemoryLayout<StoredProperties>.size)); malloc_usable_size \(usable)")
        #expect(instance <= 64)
        #expect(usable >= instance && usable <= 72)
    }
}
