extension PageTable {
    convenience init(blockShift: Int) { self.init() }
}
