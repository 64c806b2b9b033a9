@testable import FolioCache
import FolioTestSupport
import Testing

/// The page table's open addressing (linear probing, backward-shift
/// deletion, growth) against a dictionary model, on a seeded random sequence
/// dense enough to make long probe runs and wrap-arounds.
@Suite struct PageTableTests {
    @Test func matchesADictionaryModel() {
        let seed = testSeed()
        print("PageTableTests seed=\(seed)")
        var rng = SplitMix64(seed: seed)
        let table = PageTable()
        var model: [UInt64: Folio] = [:]
        for step in 0..<stressIterations(60_000) {
            // Keys with the same low 6 bits land in one shard: stress a few shards.
            let key = (rng.next() % 400) << 6 | (rng.next() % 3)
            let index = PageIndex(key)
            switch rng.next() % 3 {
            case 0:
                let f = Folio(index: index)
                if let existing = table.insertOrPinExisting(f) {
                    #expect(model[key] === existing, "step \(step): insert found a different folio (seed \(seed))")
                    existing.unpin()
                } else {
                    #expect(model[key] == nil, "step \(step): insert over an existing key (seed \(seed))")
                    model[key] = f
                }
            case 1:
                if let f = model[key] {
                    #expect(table.remove(f, onlyIfUnpinned: true), "step \(step): remove failed (seed \(seed))")
                    #expect(f.flags.contains(.detached))
                    model[key] = nil
                } else {
                    #expect(!table.remove(Folio(index: index), onlyIfUnpinned: false))
                }
            default:
                let found = table.lookupAndPin(index)
                #expect(found === model[key], "step \(step): lookup of \(key) wrong (seed \(seed))")
                found?.unpin()
            }
        }
        #expect(table.count == model.count)
        let all = table.pinnedFolios()
        #expect(all.count == model.count)
        #expect(all.map(\.index.rawValue) == model.keys.sorted())
        for f in all { f.unpin() }
        // A pinned folio is not removed by reclaim-style removal.
        if let (_, f) = model.first {
            f.pin()
            #expect(!table.remove(f, onlyIfUnpinned: true))
            f.unpin()
            #expect(table.remove(f, onlyIfUnpinned: true))
        }
    }
}
