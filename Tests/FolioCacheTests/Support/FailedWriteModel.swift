/// After a write of `data` at `offset` failed: the cache now shows `got`
/// there (read back with the fault suspended) and the file is `size` bytes.
/// Checks that each page of the range is wholly the model's old bytes or
/// wholly the new ones (a write is per page, not atomic across pages), then
/// makes `model` what the cache shows. Returns a failure, or nil.
func modelAfterFailedWrite(into model: inout [UInt8], at offset: Int, _ data: [UInt8], got: [UInt8], size: Int64, pageSize: Int) -> String? {
    var old = model
    if old.count < Int(size) { old += [UInt8](repeating: 0, count: Int(size) - old.count) }
    var page = offset - offset % pageSize
    while page < offset + data.count {
        let lo = max(page, offset), hi = min(page + pageSize, offset + data.count)
        let now = Array(got[min(got.count, lo - offset)..<min(got.count, hi - offset)])
        let wasOld = lo >= old.count ? now.isEmpty : now == Array(old[lo..<min(hi, old.count)])
        if !wasOld && now != Array(data[(lo - offset)..<(hi - offset)]) {
            return "failed write at \(offset) +\(data.count): page at \(page) is torn (neither old nor new)"
        }
        page += pageSize
    }
    model = old
    if model.count > Int(size) { model.removeSubrange(Int(size)...) }
    // (A write past EOF that failed whole reads back nothing there.)
    if !got.isEmpty { model.replaceSubrange(offset..<offset + got.count, with: got) }
    return nil
}
