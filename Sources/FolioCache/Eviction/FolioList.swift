/// An intrusive doubly linked list threaded through folios' `policyPrev` /
/// `policyNext` links: `policyPrev` points toward the head (newer),
/// `policyNext` toward the tail (older). It holds no references and no lock:
/// its owner's lock protects it, and the cache's folio pool keeps every listed folio
/// alive. Unmanaged links, so that list operations touch no reference counts.
struct FolioList {
    typealias Link = Unmanaged<Folio>

    /// Newest.
    var head: Link?
    /// Oldest.
    var tail: Link?
    /// Folios in the list.
    private(set) var count = 0

    @inline(__always) static func link(_ f: Folio) -> Link { Unmanaged.passUnretained(f) }
    @inline(__always) static func same(_ a: Link?, _ b: Folio) -> Bool {
        a?.toOpaque() == Unmanaged.passUnretained(b).toOpaque()
    }
    /// The neighbour toward the head (newer), nil at the head.
    @inline(__always) static func newer(_ l: Link) -> Link? { l._withUnsafeGuaranteedRef { $0.policyPrev } }
    /// The neighbour toward the tail (older), nil at the tail.
    @inline(__always) static func older(_ l: Link) -> Link? { l._withUnsafeGuaranteedRef { $0.policyNext } }

    /// Whether `folio` is in this list. A folio with nil links is listed only
    /// if it is the sole element (it is then the head). A folio in a
    /// *different* list must not be asked about.
    @inline(__always) func contains(_ folio: Folio) -> Bool {
        folio.policyPrev != nil || folio.policyNext != nil || Self.same(head, folio)
    }

    @inline(__always) mutating func pushHead(_ folio: Folio) {
        let l = Self.link(folio)
        folio.policyPrev = nil
        folio.policyNext = head
        if let h = head { h._withUnsafeGuaranteedRef { $0.policyPrev = l } } else { tail = l }
        head = l
    }

    @inline(__always) mutating func unlink(_ folio: Folio) {
        let p = folio.policyPrev
        let n = folio.policyNext
        if let p { p._withUnsafeGuaranteedRef { $0.policyNext = n } } else { head = n }
        if let n { n._withUnsafeGuaranteedRef { $0.policyPrev = p } } else { tail = p }
        folio.policyPrev = nil
        folio.policyNext = nil
    }

    /// Adds a folio that no list tracks, at the head. `owner` names the
    /// policy in the trap message.
    mutating func insert(_ folio: Folio, owner: StaticString) {
        precondition(!contains(folio), "\(owner).insert: folio is already tracked")
        pushHead(folio)
        count += 1
    }

    /// Removes a folio this list tracks.
    mutating func remove(_ folio: Folio, owner: StaticString) {
        precondition(contains(folio), "\(owner).remove: folio is not tracked (removed twice, or never inserted)")
        unlink(folio)
        count -= 1
    }
}
