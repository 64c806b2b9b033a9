/// Stamped pages for the verifying workloads: every 16 bytes of a page hold
/// (file id, page index, version), so a read can prove it got the right page
/// of the right file, whole, in a version that was written.
enum Stamp {
    static let fileID: UInt32 = 0xF011_0AD0
    static let size = 16

    static func fill(_ buffer: UnsafeMutableRawBufferPointer, page: Int, version: UInt64) {
        var s = 0
        while s + size <= buffer.count {
            buffer.storeBytes(of: fileID.littleEndian, toByteOffset: s, as: UInt32.self)
            buffer.storeBytes(of: UInt32(truncatingIfNeeded: page).littleEndian, toByteOffset: s + 4, as: UInt32.self)
            buffer.storeBytes(of: version.littleEndian, toByteOffset: s + 8, as: UInt64.self)
            s += size
        }
    }

    /// The page's version (0 for an all-zero page), or a description of
    /// what is wrong with it.
    static func check(_ buffer: UnsafeRawBufferPointer, page: Int) -> Result<UInt64, StampError> {
        guard buffer.count >= size else { return .success(0) }
        let f = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let i = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let v = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        var s = size
        while s + size <= buffer.count {
            if buffer.loadUnaligned(fromByteOffset: s, as: UInt64.self) != buffer.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                || buffer.loadUnaligned(fromByteOffset: s + 8, as: UInt64.self) != buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self) {
                return .failure(StampError("page \(page) is torn: the stamp at byte \(s) differs from the one at byte 0"))
            }
            s += size
        }
        if f == 0 && i == 0 && v == 0 { return .success(0) }
        if f != fileID { return .failure(StampError("page \(page) carries file id \(String(f, radix: 16)), not this file's")) }
        if i != UInt32(truncatingIfNeeded: page) { return .failure(StampError("page \(page) carries the stamp of page \(i) (version \(v)): a page from the wrong index")) }
        return .success(v)
    }
}

struct StampError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
