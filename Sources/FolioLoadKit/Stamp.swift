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
                return .failure(StampError("page \(page) is torn: the stamp at byte \(s) (\(describe(buffer, at: s))) differs from the one at byte 0 (\(describe(buffer, at: 0)))"))
            }
            s += size
        }
        if f == 0 && i == 0 && v == 0 { return .success(0) }
        if f != fileID { return .failure(StampError("page \(page) carries file id \(String(f, radix: 16)), not this file's")) }
        if i != UInt32(truncatingIfNeeded: page) { return .failure(StampError("page \(page) carries the stamp of page \(i) (version \(v)): a page from the wrong index")) }
        return .success(v)
    }
}

extension Stamp {
    /// Whether every stamp of `buffer` is page `page`'s with a version of
    /// at most `maxVersion`, or all zeros (a page mixing versions passes).
    static func everyStamp(_ buffer: UnsafeRawBufferPointer, page: Int, atMost maxVersion: UInt64) -> Bool {
        var s = 0
        while s + size <= buffer.count {
            let f = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: s, as: UInt32.self))
            let i = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: s + 4, as: UInt32.self))
            let v = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: s + 8, as: UInt64.self))
            let zero = f == 0 && i == 0 && v == 0
            guard zero || (f == fileID && i == UInt32(truncatingIfNeeded: page) && v <= maxVersion) else { return false }
            s += size
        }
        return true
    }
}

extension Stamp {
    /// The stamp at byte `s`, for messages: "page P, version V" (or what
    /// else is there).
    static func describe(_ buffer: UnsafeRawBufferPointer, at s: Int) -> String {
        let f = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: s, as: UInt32.self))
        let i = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: s + 4, as: UInt32.self))
        let v = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: s + 8, as: UInt64.self))
        if f == 0 && i == 0 && v == 0 { return "zeros" }
        if f != fileID { return "not a stamp: \(String(f, radix: 16)) \(String(i, radix: 16)) \(String(v, radix: 16))" }
        return "page \(i), version \(v)"
    }
}

struct StampError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
