@_spi(FolioInternals) @testable import FolioCache
import FolioLocks
import FolioTestSupport
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The page table: its open addressing (linear probing, backward-shift
/// deletion, growth) and multi-page entries against models, on seeded random
/// sequences dense enough to make long probe runs and wrap-arounds; the
/// lock-free lookup's checks one by one; and lock-free lookups racing with
/// collapses and splits.
@Suite struct PageTableTests {
    @Test func matchesADictionaryModel() {
        let seed = testSeed()
        print("PageTableTests seed=\(seed)")
        var rng = SplitMix64(seed: seed)
        let table = PageTable()
        var model: [UInt64: Folio] = [:]
        // Keys with the same low 6 bits land in one shard: stress a few
        // shards, with 400 consecutive keys (which the hash spreads almost
        // perfectly) and 400 scattered ones (which collide like random keys).
        let scattered = (0..<400).map { _ in rng.next() % (1 << 30) }
        var wrapped = 0
        for step in 0..<stressIterations(60_000) {
            let high = rng.next() % 2 == 0 ? rng.next() % 400 : scattered[Int(rng.next() % 400)]
            let key = high << 6 | (rng.next() % 3)
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
            if step % 1_000 == 999 { wrapped = max(wrapped, table.layoutReport().wrappedEntries) }
        }
        #expect(table.count == model.count)
        let all = table.pinnedFolios()
        #expect(all.count == model.count)
        #expect(all.map(\.index.rawValue) == model.keys.sorted())
        for f in all { f.unpin() }
        let report = table.layoutReport()
        #expect(report.violations.isEmpty, "\(report.violations.prefix(5)) (seed \(seed))")
        print("PageTableTests.matchesADictionaryModel: \(model.count) folios; largest slot array \(report.largestCapacity), longest probe \(report.longestProbe), wrapped entries up to \(wrapped), retired arrays \(report.retiredArrays)")
        // A pinned folio is not removed by reclaim-style removal.
        if let (_, f) = model.first {
            f.pin()
            #expect(!table.remove(f, onlyIfUnpinned: true))
            f.unpin()
            #expect(table.remove(f, onlyIfUnpinned: true))
        }
    }

    /// Folios of orders 0…4 in a table of 16-page blocks against a model of
    /// which folio covers each page: inserts (all or nothing), removes,
    /// lookups of every kind, collapses of runs of small folios into one,
    /// splits of one into a random tiling, their refusal when an old folio is
    /// pinned, and snapshots from random pages (each folio once, ascending,
    /// a straddling one included).
    @Test func multiPageFoliosMatchAPageModel() {
        let seed = testSeed()
        print("PageTableTests.multiPageFoliosMatchAPageModel seed=\(seed)")
        var rng = SplitMix64(seed: seed)
        let table = PageTable(blockShift: 4)
        var model = PageModel()
        // Blocks whose number has the same low 6 bits share a shard: 120
        // blocks of 16 pages in each of three shards, about 70% of them
        // cached at a time (≈ 4,000 pages in ≈ 800 folios, one entry each, in
        // 512–1,024 slots), so slot arrays grow to hundreds of slots. Half the blocks are consecutive (a file
        // read in order, which Fibonacci hashing spreads almost perfectly),
        // half scattered over a large range (home slots as good as random,
        // so probe runs get long). Eight of the scattered ones are chosen so
        // that their first page homes at the last slot of every array of up
        // to 4,096 slots: whenever two of those pages are cached, one of them
        // wraps around to the front.
        var blocks: [UInt64] = []
        for shard: UInt64 in 0..<3 {
            var endHomed = 0
            for k: UInt64 in 0..<120 {
                var number = k < 60 ? k : rng.next() % (1 << 24)
                while k >= 60 && endHomed < 8 && table.homeSlot(of: (number << 6 | shard) << 4, capacity: 4_096) != 4_095 {
                    number = rng.next() % (1 << 24)
                }
                if k >= 60 && endHomed < 8 { endHomed += 1 }
                blocks.append(number << 6 | shard)
            }
        }
        func randomBlockStart() -> UInt64 { blocks[Int(rng.next() % UInt64(blocks.count))] << 4 }
        var largestCapacity = 0, longestProbe = 0, wrappedRuns = 0, retired = 0
        var counts: [String: Int] = [:]
        for step in 0..<stressIterations(40_000) {
            let roll = rng.next() % 100
            let op = roll < 30 ? "insert" : roll < 40 ? "remove" : roll < 70 ? "lookup" : roll < 84 ? "collapse" : roll < 98 ? "split" : "snapshot"
            counts[op, default: 0] += 1
            let context = "step \(step) (\(op), seed \(seed))"
            switch op {
            case "insert":
                let order = [0, 0, 0, 1, 1, 2, 3, 4][Int(rng.next() % 8)]
                let start = randomBlockStart() | (rng.next() % UInt64(16 >> order)) << UInt64(order)
                let f = Folio(index: PageIndex(start), order: UInt8(order))
                let taken = (start..<start + UInt64(1 << order)).lazy.compactMap { model.byPage[$0] }.first
                if let existing = table.insertOrPinExisting(f) {
                    #expect(existing === taken, "\(context): insert at \(start) of order \(order) returned the folio at \(existing.index.rawValue), not the one covering its first taken page")
                    #expect(existing.pinCount == 1, "\(context): the existing folio is not pinned once")
                    #expect(!f.flags.contains(.detached) && f.state.load(ordering: .relaxed) & Folio.publishedBit == 0, "\(context): a refused folio was published")
                    existing.unpin()
                } else {
                    #expect(taken == nil, "\(context): insert at \(start) of order \(order) over the folio at \(taken?.index.rawValue ?? 0)")
                    model.add(f)
                }
            case "remove":
                guard let f = model.randomFolio(&rng) else {
                    #expect(!table.remove(Folio(index: PageIndex(randomBlockStart())), onlyIfUnpinned: false), "\(context): removed a folio never inserted")
                    break
                }
                if rng.next() % 4 == 0 {
                    f.pin()
                    #expect(!table.remove(f, onlyIfUnpinned: true), "\(context): removed a pinned folio")
                    #expect(table.remove(f, onlyIfUnpinned: true, allowedPins: 1), "\(context): the caller's own pin stopped the removal")
                    f.unpin()
                } else {
                    #expect(table.remove(f, onlyIfUnpinned: true), "\(context): remove of the folio at \(f.index.rawValue) of order \(f.order) failed")
                }
                #expect(f.flags.contains(.detached), "\(context): a removed folio is not detached")
                #expect(!table.remove(f, onlyIfUnpinned: false), "\(context): removed a folio twice")
                model.remove(f)
            case "lookup":
                let page = randomBlockStart() | rng.next() % 16
                let expected = model.byPage[page]
                let found = table.lookupAndPin(PageIndex(page))
                #expect(found === expected, "\(context): lookup of page \(page) found \(found.map { "the folio at \($0.index.rawValue)" } ?? "nothing"), the model \(expected.map { "the folio at \($0.index.rawValue)" } ?? "nothing")")
                found?.unpin()
                // Nothing else runs: the lock-free attempt alone is exact.
                let lockFree = table.lookupLockFree(PageIndex(page), acquire: { $0.tryPin() }, release: { $0.unpin() })
                #expect(lockFree?.takeUnretainedValue() === expected, "\(context): lock-free lookup of page \(page) differs from the model")
                lockFree?.takeUnretainedValue().unpin()
            case "collapse":
                // A run around a small folio, completed with order-0 folios
                // where pages are missing, collapsed into one folio.
                guard let seedFolio = model.randomFolio(&rng, where: { $0.order < 4 }) else { break }
                let order = Int(seedFolio.order) + 1 + Int(rng.next() % UInt64(4 - Int(seedFolio.order)))
                let start = seedFolio.index.rawValue & ~UInt64((1 << order) - 1)
                let run = start..<start + UInt64(1 << order)
                for page in run where model.byPage[page] == nil {
                    let filler = Folio(index: PageIndex(page))
                    #expect(table.insertOrPinExisting(filler) == nil, "\(context): filler insert at \(page) refused")
                    model.add(filler)
                }
                var old: [Folio] = []
                for page in run where model.byPage[page]!.index.rawValue == page { old.append(model.byPage[page]!) }
                let new = Folio(index: PageIndex(start), order: UInt8(order))
                if rng.next() % 8 == 0 {
                    let pinned = old[Int(rng.next() % UInt64(old.count))]
                    pinned.pin()
                    #expect(!table.replace(old, with: new), "\(context): collapse over a pinned folio")
                    pinned.unpin()
                    #expect(new.state.load(ordering: .relaxed) & Folio.publishedBit == 0, "\(context): a refused collapse published the new folio")
                    expectPages(run, of: table, match: model, context)
                }
                #expect(table.replace(old, with: new), "\(context): collapse of \(old.count) folios into \(start) of order \(order) refused")
                for f in old {
                    #expect(f.flags.contains(.detached), "\(context): a collapsed folio is not detached")
                    model.remove(f)
                }
                model.add(new)
                expectPages(run, of: table, match: model, context)
            case "split":
                guard let old = model.randomFolio(&rng, where: { $0.order > 0 }) else { break }
                var new: [Folio] = []
                func tile(_ start: UInt64, _ order: Int, top: Bool) {
                    if order > 0 && (top || rng.next() % 2 == 0) {
                        tile(start, order - 1, top: false)
                        tile(start + UInt64(1 << (order - 1)), order - 1, top: false)
                    } else {
                        new.append(Folio(index: PageIndex(start), order: UInt8(order)))
                    }
                }
                tile(old.index.rawValue, Int(old.order), top: true)
                if rng.next() % 8 == 0 {
                    old.pin()
                    #expect(!table.replace(old, with: new), "\(context): split of a pinned folio")
                    old.unpin()
                    #expect(new.allSatisfy { $0.state.load(ordering: .relaxed) & Folio.publishedBit == 0 }, "\(context): a refused split published a new folio")
                    expectPages(old.pages.rawRange, of: table, match: model, context)
                }
                #expect(table.replace(old, with: new), "\(context): split of the folio at \(old.index.rawValue) of order \(old.order) into \(new.count) refused")
                #expect(old.flags.contains(.detached), "\(context): a split folio is not detached")
                model.remove(old)
                for f in new { model.add(f) }
                expectPages(old.pages.rawRange, of: table, match: model, context)
            default:
                // From a random page, often inside a folio.
                let from = PageIndex(randomBlockStart() | rng.next() % 16)
                let large = rng.next() % 3 == 0
                let predicate: (Folio) -> Bool = large ? { $0.order >= 2 } : { _ in true }
                let got = table.pinnedFolios(from: from, where: predicate)
                let expected = model.folios.filter { $0.endIndex > from && predicate($0) }.sorted { $0.index < $1.index }
                #expect(got.map(ObjectIdentifier.init) == expected.map(ObjectIdentifier.init), "\(context): snapshot from \(from.rawValue)\(large ? " of order ≥ 2" : "") has \(got.count) folios at \(got.prefix(4).map(\.index.rawValue)), the model \(expected.count) at \(expected.prefix(4).map(\.index.rawValue))")
                for f in got {
                    #expect(f.pinCount == 1, "\(context): a snapshot folio is not pinned once")
                    f.unpin()
                }
                #expect(table.count == model.folios.count, "\(context): count \(table.count), model \(model.folios.count)")
                #expect(table.entryCount == model.folios.count, "\(context): \(table.entryCount) entries, model \(model.folios.count) folios")
            }
            if step % 5 == 0 { wrappedRuns += wrapsAround(table, shards: 0..<3) ? 1 : 0 }
            if step % 500 == 499 {
                let report = table.layoutReport()
                #expect(report.violations.isEmpty, "\(context): \(report.violations.prefix(5))")
                #expect(model.folios.allSatisfy { $0.pinCount == 0 }, "\(context): a pin leaked")
                largestCapacity = max(largestCapacity, report.largestCapacity)
                longestProbe = max(longestProbe, report.longestProbe)
                retired = report.retiredArrays
            }
        }
        let report = table.layoutReport()
        #expect(report.violations.isEmpty, "\(report.violations.prefix(5)) (seed \(seed))")
        print("PageTableTests.multiPageFoliosMatchAPageModel: \(counts.sorted { $0.key < $1.key }), \(model.folios.count) folios on \(model.byPage.count) pages; largest slot array \(largestCapacity), longest probe \(longestProbe), a probe run wrapped around in \(wrappedRuns) of \(stressIterations(40_000) / 5) samples, retired arrays \(retired)")
        // The run did reach what it is meant to stress.
        if stressIterations(40_000) >= 40_000 {
            #expect(largestCapacity >= 512 && retired >= 3 && longestProbe >= 8 && wrappedRuns > 0, "the run did not stress growth, long probe runs and wrap-around (seed \(seed))")
        }
    }

    /// Whether a probe run wraps from the end of the slot array of one of
    /// `shards` to its front (cheap: only the front run is read).
    func wrapsAround(_ table: PageTable, shards: Range<Int>) -> Bool {
        for n in shards {
            let shard = table.shard(number: n)
            shard.mutex.lock()
            defer { shard.mutex.unlock() }
            guard let array = shard.slotArray else { continue }
            var slot = 0
            while slot < array.capacity && array.loadPointer(slot) != 0 {
                if table.homeSlot(of: array.loadKey(slot), capacity: array.capacity) > slot { return true }
                slot += 1
            }
        }
        return false
    }

    /// Every page of `pages` looks up (locked and lock-free) to the folio the
    /// model says covers it.
    func expectPages(_ pages: Range<UInt64>, of table: PageTable, match model: PageModel, _ context: String) {
        var wrong: [String] = []
        for page in pages {
            let found = table.lookupAndPin(PageIndex(page))
            if found !== model.byPage[page] { wrong.append("page \(page) looks up to \(found.map { "the folio at \($0.index.rawValue) of order \($0.order)" } ?? "nothing")") }
            found?.unpin()
            let lockFree = table.lookupLockFree(PageIndex(page), acquire: { $0.tryPin() }, release: { $0.unpin() })
            if lockFree?.takeUnretainedValue() !== model.byPage[page] { wrong.append("page \(page): the lock-free lookup differs") }
            lockFree?.takeUnretainedValue().unpin()
        }
        #expect(wrong.isEmpty, "\(context): \(wrong.prefix(4))")
    }

    /// Backward-shift deletion across the end of a slot array, made certain
    /// rather than left to the hash: keys whose home is one of the last two
    /// slots of a 16-slot array form a probe run that wraps to the front;
    /// removing them in a random order must keep every other one reachable.
    @Test func backwardShiftAcrossTheEndOfTheArray() {
        let seed = testSeed()
        print("PageTableTests.backwardShiftAcrossTheEndOfTheArray seed=\(seed)")
        var rng = SplitMix64(seed: seed)
        let probe = PageTable()
        // Shard 0 keys (low 6 bits zero) homed at slot 14 or 15 of 16.
        let keys = (0..<UInt64(4_096)).map { $0 << 6 }.filter { probe.homeSlot(of: $0, capacity: 16) >= 14 }
        #expect(keys.count >= 10)
        for round in 0..<50 {
            let table = PageTable()
            let chosen = Array(keys.shuffled(using: &rng).prefix(10))  // 10 entries stay within 16 slots
            var present = chosen.map { Folio(index: PageIndex($0)) }
            for f in present { #expect(table.insertOrPinExisting(f) == nil) }
            let report = table.layoutReport()
            #expect(report.largestCapacity == 16 && report.wrappedEntries >= 8, "round \(round): no wrap-around (\(report)) (seed \(seed))")
            present.shuffle(using: &rng)
            while let f = present.popLast() {
                #expect(table.remove(f, onlyIfUnpinned: true), "round \(round): remove of \(f.index.rawValue) failed (seed \(seed))")
                for g in present {
                    let found = table.lookupLockFree(g.index, acquire: { $0.tryPin() }, release: { $0.unpin() })
                    #expect(found?.takeUnretainedValue() === g, "round \(round): \(g.index.rawValue) lost after removing \(f.index.rawValue) (seed \(seed))")
                    found?.takeUnretainedValue().unpin()
                }
                let after = table.layoutReport()
                #expect(after.violations.isEmpty, "round \(round): \(after.violations.prefix(3)) (seed \(seed))")
            }
        }
    }

    /// The lock-free lookup's checks, each against the slot state a race can
    /// show it, made by hand: a torn key/pointer pair (refused unless its
    /// folio covers the page), a slot that changes between the probe and the
    /// re-check, an array replaced by growth meanwhile, and folios that are
    /// not live. Every refusal must undo the acquire.
    @Test func lockFreeLookupRefusesWhatARaceCanShowIt() {
        let table = PageTable(blockShift: 4)
        // Blocks 1 and 65 share shard 1.
        let big = Folio(index: PageIndex(16), order: 4)
        let other = Folio(index: PageIndex(65 * 16 + 4), order: 2)
        #expect(table.insertOrPinExisting(big) == nil)
        #expect(table.insertOrPinExisting(other) == nil)
        let shard = table.shard(for: PageIndex(17))
        #expect(table.shard(for: other.index).words == shard.words)
        let array = shard.slotArray!
        let slot = table.find(16, in: array)!.slot  // big's one entry
        func lockFree(_ page: UInt64, acquire: (Folio) -> Bool = { $0.tryPin() }) -> Folio? {
            table.lookupLockFree(PageIndex(page), acquire: acquire, release: { $0.unpin() })?.takeUnretainedValue()
        }

        // A torn pair: big's key (order 4: it covers 17) with the pointer of a live folio of this
        // table that does not cover it (what a backward shift can show).
        array.storePointer(slot, PageTable.word(of: other))
        #expect(lockFree(17) == nil, "a torn pair was accepted")
        #expect(other.pinCount == 0, "a refused candidate stayed pinned")
        // A torn pair whose folio covers the page is the right answer.
        array.storePointer(slot, PageTable.word(of: big))
        let hit = lockFree(17)
        #expect(hit === big)
        hit?.unpin()

        // The slot changes between the probe and the re-check.
        let moved = lockFree(17) { candidate in
            guard candidate.tryPin() else { return false }
            array.storePointer(slot, PageTable.word(of: other))
            return true
        }
        #expect(moved == nil, "a folio whose slot changed after the probe was accepted")
        #expect(big.pinCount == 0)
        array.storePointer(slot, PageTable.word(of: big))

        // Growth replaces the array between the probe and the re-check.
        let regrown = lockFree(17) { candidate in
            guard candidate.tryPin() else { return false }
            shard.mutex.lock()
            table.grow(shard, to: array.capacity * 2)
            shard.mutex.unlock()
            return true
        }
        #expect(regrown == nil, "a folio found in a retired array was accepted")
        #expect(big.pinCount == 0)
        let again = lockFree(17)
        #expect(again === big, "the grown array lost an entry")
        again?.unpin()

        // Not live: never published, then detached.
        let current = shard.slotArray!
        let currentSlot = table.find(16, in: current)!.slot
        let stray = Folio(index: PageIndex(17))
        current.storePointer(currentSlot, PageTable.word(of: stray))
        #expect(lockFree(17) == nil, "an unpublished folio was accepted")
        stray.state.bitwiseOr(Folio.publishedBit, ordering: .releasing)
        stray.setFlags(.detached)
        #expect(lockFree(17) == nil, "a detached folio was accepted")
        #expect(stray.pinCount == 0)
        current.storePointer(currentSlot, PageTable.word(of: big))

        let report = table.layoutReport()
        #expect(report.violations.isEmpty, "\(report.violations)")
        #expect(report.retiredArrays == 1)
    }

    /// The unpinned lookup of per-inode and per-range (`lookupUnderPageRange`):
    /// the checks of the lock-free lookup without its pin — a torn pair, a
    /// folio that is not live (unpublished, detached, compressed) — and the
    /// seqlock's: a folio whose version is odd (the pool is giving it a new
    /// incarnation) is refused. A hit leaves no pin.
    @Test func unpinnedLookupRefusesWhatARaceCanShowIt() {
        let table = PageTable(blockShift: 4)
        let big = Folio(index: PageIndex(16), order: 4)
        let other = Folio(index: PageIndex(65 * 16 + 4), order: 2)
        #expect(table.insertOrPinExisting(big) == nil)
        #expect(table.insertOrPinExisting(other) == nil)
        let array = table.shard(for: PageIndex(17)).slotArray!
        let slot = table.find(16, in: array)!.slot
        func unpinned(_ page: UInt64) -> Folio? { table.lookupUnderPageRange(PageIndex(page))?.takeUnretainedValue() }

        let hit = unpinned(17)
        #expect(hit === big)
        #expect(big.pinCount == 0, "the unpinned lookup pinned")
        #expect(unpinned(15) == nil && unpinned(32) == nil)
        // A torn pair (big's key, other's pointer).
        array.storePointer(slot, PageTable.word(of: other))
        #expect(unpinned(17) == nil, "a torn pair was accepted")
        array.storePointer(slot, PageTable.word(of: big))
        // The pool inside a write of the version (a new incarnation).
        SeqCount.beginWrite(big.version)
        #expect(unpinned(17) == nil, "a folio being recycled was accepted")
        SeqCount.endWrite(big.version)
        #expect(unpinned(17) === big)
        // Compressed: a miss, as for a pinning lookup.
        big.setFlags(.compressed)
        #expect(unpinned(17) == nil, "a compressed folio was accepted")
        big.clearFlags(.compressed)
        // Never published, then detached.
        let stray = Folio(index: PageIndex(16), order: 4)
        array.storePointer(slot, PageTable.word(of: stray))
        #expect(unpinned(17) == nil, "an unpublished folio was accepted")
        stray.state.bitwiseOr(Folio.publishedBit, ordering: .releasing)
        stray.setFlags(.detached)
        #expect(unpinned(17) == nil, "a detached folio was accepted")
        array.storePointer(slot, PageTable.word(of: big))
        #expect(unpinned(17) === big && big.pinCount == 0)
    }

    /// Lock-free readers of a few pages of two tables, while a writer per
    /// table collapses 16 order-0 folios into one order-4 folio and splits it
    /// back (or removes it and inserts 16 new ones), over and over, and
    /// replaces one of 8 neighbours in other blocks of the same shard each
    /// cycle (so keys move between slots). Folios are recycled between the
    /// two tables the way the cache's pool recycles them: a folio detached by
    /// one writer and unpinned by everyone is free and may come back, at
    /// another page or order, in either table. Readers now and then yield
    /// between the probe and the pin, or the pin and the re-check. Every
    /// folio a reader gets must cover the page, be pinned, and be the
    /// incarnation that was in that table at some instant of the lookup
    /// (each incarnation records its table and its table's epoch before its
    /// insertion and before its removal). Breaking the `contains` check, the
    /// slot re-check, or the collapse's unlink-before-detach order (with the
    /// window widened) makes it fail within a run.
    @Test func lockFreeLookupsDuringCollapseAndSplit() {
        let seed = testSeed()
        print("PageTableTests.lockFreeLookupsDuringCollapseAndSplit seed=\(seed)")
        let race = CollapseRace(population: 128)
        let writers = race.tables.count
        let readers = 3
        let cycles = stressIterations(20_000)
        runThreads(writers + readers) { t in
            if t < writers {
                race.write(table: t, cycles: cycles, seed: seed &+ UInt64(t))
            } else {
                race.read(seed: seed &+ UInt64(t))
            }
        }
        let failures = race.failures.events
        #expect(failures.isEmpty, "\(failures.count) bad lookups, first: \(failures.prefix(5)) (seed \(seed))")
        let hits = race.hits.load(ordering: .relaxed), refused = race.refused.load(ordering: .relaxed)
        print("PageTableTests.lockFreeLookupsDuringCollapseAndSplit: \(hits) hits (\(race.bigHits.load(ordering: .relaxed)) of the order-4 folio), \(refused) lock-free attempts that found nothing")
        #expect(hits > 0 && race.bigHits.load(ordering: .relaxed) > 0, "the readers never found the folios (seed \(seed))")
        for table in race.tables {
            let report = table.layoutReport()
            #expect(report.violations.isEmpty && report.entries == 0, "\(report.violations.prefix(5)) (seed \(seed))")
        }
        // Every pin was dropped and every detached folio went back to the pool.
        #expect(race.population.allSatisfy { $0.state.load(ordering: .relaxed) & Folio.freeBit != 0 && $0.pinCount == 0 }, "a folio was not freed (seed \(seed))")
    }
}

/// Which folio covers each page, and the folios themselves.
struct PageModel {
    var byPage: [UInt64: Folio] = [:]
    var folios: [Folio] = []
    var position: [ObjectIdentifier: Int] = [:]

    mutating func add(_ f: Folio) {
        for page in f.pages.rawRange {
            precondition(byPage[page] == nil, "PageModel: page \(page) is taken")
            byPage[page] = f
        }
        position[ObjectIdentifier(f)] = folios.count
        folios.append(f)
    }

    mutating func remove(_ f: Folio) {
        for page in f.pages.rawRange { byPage[page] = nil }
        let i = position.removeValue(forKey: ObjectIdentifier(f))!
        let last = folios.removeLast()
        if i < folios.count {
            folios[i] = last
            position[ObjectIdentifier(last)] = i
        }
    }

    func randomFolio(_ rng: inout SplitMix64, where predicate: (Folio) -> Bool = { _ in true }) -> Folio? {
        guard !folios.isEmpty else { return nil }
        let start = Int(rng.next() % UInt64(folios.count))
        for k in 0..<min(folios.count, 64) {
            let f = folios[(start + k) % folios.count]
            if predicate(f) { return f }
        }
        return nil
    }
}

/// The shared state of `lockFreeLookupsDuringCollapseAndSplit`.
final class CollapseRace: @unchecked Sendable {
    // @unchecked Sendable: `tables`, `population` and `incarnations` are
    // immutable after init (the objects they hold are thread-safe: tables by
    // their locks, folios by their atomic state word, incarnations by their
    // atomics); a folio's `index` is written only by the writer that claimed
    // it while it is free, before a release publishes it, and read only by
    // threads that pinned it.

    /// What one incarnation of a folio is: the table it was put in, its
    /// geometry, and its table's epochs just before its insertion and just
    /// before its removal (0: not removed).
    final class Incarnation: Sendable {
        let table = Atomic<Int>(-1)
        let index = Atomic<UInt64>(0)
        let order = Atomic<Int>(0)
        let birth = Atomic<Int>(0)
        let death = Atomic<Int>(0)
    }

    /// The pages the writers collapse and split: one block of 16.
    static let pages: Range<UInt64> = 0..<16
    /// Pages of other blocks of the same shard (shard 0), where each writer
    /// keeps 8 order-0 neighbours and replaces one per cycle: 24 entries in
    /// 32 slots, so probe runs are long, the block's keys are displaced from
    /// their home slots, and deletions shift them around.
    static let neighbourPages: [UInt64] = (1...12).map { UInt64($0 * 64) << 4 | UInt64($0 % 16) }
    let tables = [PageTable(blockShift: 4), PageTable(blockShift: 4)]
    let population: [Folio]
    let incarnations: [ObjectIdentifier: Incarnation]
    /// A table's change counter: bumped by its writer before and after
    /// every change.
    final class Epoch: Sendable {
        let value = Atomic<Int>(1)
    }
    let epochs = [Epoch(), Epoch()]
    let writersDone = Atomic<Int>(0)
    let hits = Atomic<Int>(0)
    let bigHits = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let failures = EventLog<String>()
    let failureCount = Atomic<Int>(0)

    init(population size: Int) {
        population = (0..<size).map { _ in
            let f = Folio(index: PageIndex(0))
            f.state.store(Folio.freeBit, ordering: .relaxed)  // in the "pool"
            return f
        }
        incarnations = Dictionary(uniqueKeysWithValues: population.map { (ObjectIdentifier($0), Incarnation()) })
    }

    func incarnation(_ f: Folio) -> Incarnation { incarnations[ObjectIdentifier(f)]! }

    /// The pool's `take`: a free folio, now at `index` of `order` for table
    /// `table`, not yet published. Unlisted from the start (there is no
    /// eviction policy), so that its detach and last unpin free it again.
    func claim(order: UInt8, at index: UInt64, table: Int, _ rng: inout SplitMix64) -> Folio {
        while true {
            let start = Int(rng.next() % UInt64(population.count))
            for k in 0..<population.count {
                let f = population[(start + k) % population.count]
                let s = f.state.load(ordering: .acquiring)
                guard s & Folio.freeBit != 0 else { continue }
                let fresh = Folio.unlistedBit | Folio.geometryBits(order: order, pageShift: 12)
                guard f.state.compareExchange(expected: s, desired: fresh, ordering: .acquiringAndReleasing).exchanged else { continue }
                f.index = PageIndex(index)
                let inc = incarnation(f)
                inc.table.store(table, ordering: .relaxed)
                inc.index.store(index, ordering: .relaxed)
                inc.order.store(Int(order), ordering: .relaxed)
                inc.death.store(0, ordering: .relaxed)
                return f
            }
            sched_yield()  // every folio is in a table or still pinned by a reader
        }
    }

    /// One change of table `t`, between two bumps of its epoch: `born` and
    /// `dying` record the epoch `e` before it. A reader of the table that
    /// finds a folio born at `e` read an epoch ≥ `e` after the lookup (the
    /// bump happens before the publication it pinned through); one that read
    /// an epoch > `e` before the lookup started after the change, so it
    /// cannot find a folio that died at `e`. (The death is recorded before
    /// the change, not after it: once detached, a folio can be freed by a
    /// reader's unpin and claimed by the other writer at once.) The dying
    /// folios are then freed, unless a reader still pins one (its unpin
    /// frees it).
    func change(_ t: Int, born: [Folio], dying: [Folio], _ body: () -> Void) {
        let e = epochs[t].value.add(1, ordering: .acquiringAndReleasing).newValue
        for f in born { incarnation(f).birth.store(e, ordering: .relaxed) }
        for f in dying { incarnation(f).death.store(e, ordering: .relaxed) }
        body()
        epochs[t].value.add(1, ordering: .acquiringAndReleasing)
        for f in dying { f.retireIfIdle() }
    }

    func fail(_ message: String) {
        if failureCount.add(1, ordering: .relaxed).newValue <= 20 { failures.append(message) }
    }

    func write(table t: Int, cycles: Int, seed: UInt64) {
        defer { writersDone.add(1, ordering: .releasing) }
        var rng = SplitMix64(seed: seed)
        let table = tables[t]
        func smalls() -> [Folio] { CollapseRace.pages.map { claim(order: 0, at: $0, table: t, &rng) } }
        var small = smalls()
        var neighbours = CollapseRace.neighbourPages.shuffled(using: &rng).prefix(8).map { claim(order: 0, at: $0, table: t, &rng) }
        change(t, born: small + neighbours, dying: []) {
            for f in (small + neighbours).shuffled(using: &rng) where table.insertOrPinExisting(f) != nil { fail("writer \(t): initial insert refused") }
        }
        for cycle in 0..<cycles {
            // Replace one neighbour by a new one at a page not in use.
            let leaving = Int(rng.next() % UInt64(neighbours.count))
            let free = CollapseRace.neighbourPages.filter { page in !neighbours.contains { $0.index.rawValue == page } }
            let arriving = claim(order: 0, at: free[Int(rng.next() % UInt64(free.count))], table: t, &rng)
            change(t, born: [arriving], dying: [neighbours[leaving]]) {
                if !table.remove(neighbours[leaving], onlyIfUnpinned: false) { fail("writer \(t) cycle \(cycle): neighbour remove refused") }
                if table.insertOrPinExisting(arriving) != nil { fail("writer \(t) cycle \(cycle): neighbour insert refused") }
            }
            neighbours[leaving] = arriving

            // Collapse 16 → 1.
            let big = claim(order: 4, at: 0, table: t, &rng)
            change(t, born: [big], dying: small) {
                if rng.next() % 8 == 0 {
                    // A pinned old folio stops the collapse, and nothing changes.
                    let pinned = small[Int(rng.next() % 16)]
                    pinned.pin()
                    if table.replace(small, with: big) { fail("writer \(t) cycle \(cycle): collapse over a pinned folio") }
                    pinned.unpin()
                    for page in CollapseRace.pages {
                        let f = table.lookupAndPinLocked(PageIndex(page))
                        if f !== small[Int(page)] { fail("writer \(t) cycle \(cycle): a refused collapse changed page \(page)") }
                        f?.unpin()
                    }
                }
                // Readers pin the old folios all the time: do not let that stop it.
                if !table.replace(small, with: big, allowedPins: .max) { fail("writer \(t) cycle \(cycle): collapse refused") }
            }
            // Split 1 → 16, or remove the big folio and insert 16 new ones.
            let fresh = smalls()
            change(t, born: fresh, dying: [big]) {
                if cycle % 4 == 3 {
                    if !table.remove(big, onlyIfUnpinned: false) { fail("writer \(t) cycle \(cycle): remove refused") }
                    for f in fresh.shuffled(using: &rng) where table.insertOrPinExisting(f) != nil { fail("writer \(t) cycle \(cycle): insert refused") }
                } else if !table.replace(big, with: fresh, allowedPins: .max) {
                    fail("writer \(t) cycle \(cycle): split refused")
                }
            }
            small = fresh
        }
        change(t, born: [], dying: small + neighbours) {
            for f in small + neighbours where !table.remove(f, onlyIfUnpinned: false) { fail("writer \(t): final remove refused") }
        }
    }

    func read(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let watched: [UInt64] = [0, 5, 10, 15] + CollapseRace.neighbourPages.prefix(4)
        while writersDone.load(ordering: .acquiring) < tables.count && failureCount.load(ordering: .relaxed) < 20 {
            let t = Int(rng.next() % UInt64(tables.count))
            let page = watched[Int(rng.next() % UInt64(watched.count))]
            let lockFree = rng.next() % 8 != 0
            // Now and then a reader gives up the processor between the probe
            // and the pin, or between the pin and the re-check, as a reader
            // preempted there would: the writers then recycle folios under it.
            let pause = rng.next() % 64
            let e0 = epochs[t].value.load(ordering: .acquiring)
            let found = lockFree
                ? tables[t].lookupLockFree(PageIndex(page), acquire: { candidate in
                    if pause == 0 { sched_yield() }
                    let pinned = candidate.tryPin()
                    if pause == 1 { sched_yield() }
                    return pinned
                }, release: { $0.unpin() })
                : tables[t].lookupAndPinUnretained(PageIndex(page))
            let e1 = epochs[t].value.load(ordering: .acquiring)
            guard let found else {
                if lockFree { refused.add(1, ordering: .relaxed) }
                continue
            }
            let f = found.takeUnretainedValue()
            let inc = incarnation(f)
            let what = "\(lockFree ? "lookupLockFree" : "lookupAndPinUnretained") of page \(page) in table \(t) between epochs \(e0) and \(e1) found the folio at \(f.index.rawValue) of order \(f.order)"
            if !f.contains(PageIndex(page)) { fail("\(what): it does not cover the page") }
            if f.pinCount < 1 { fail("\(what): it is not pinned") }
            if inc.table.load(ordering: .relaxed) != t { fail("\(what): it is in table \(inc.table.load(ordering: .relaxed))") }
            if inc.index.load(ordering: .relaxed) != f.index.rawValue || inc.order.load(ordering: .relaxed) != Int(f.order) { fail("\(what): its incarnation is at \(inc.index.load(ordering: .relaxed)) of order \(inc.order.load(ordering: .relaxed))") }
            let birth = inc.birth.load(ordering: .relaxed), death = inc.death.load(ordering: .relaxed)
            if birth > e1 { fail("\(what): it was inserted at epoch \(birth), after the lookup") }
            if death != 0 && death < e0 { fail("\(what): it was removed at epoch \(death), before the lookup") }
            hits.add(1, ordering: .relaxed)
            if f.order == 4 { bigHits.add(1, ordering: .relaxed) }
            f.unpin()
        }
    }
}
