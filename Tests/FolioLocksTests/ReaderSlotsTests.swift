import FolioLocks
import FolioTestSupport
import Foundation
import Testing
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `ReaderSlots`: a slot with a reader inside is never reported empty, and
/// memory freed only once every slot was seen empty since it went
/// unreachable is never read after its free. (Through the engine:
/// `OptimisticReadTests.aCopyNeverComesFromAFreedBuffer`.)
@Suite struct ReaderSlotsTests {
    static let live: UInt64 = 0x600D_F00D

    /// A new buffer of `live` words, as an address.
    @Sendable static func fresh() -> UInt64 {
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: 8)
        p.initialize(repeating: live, count: 8)
        return UInt64(UInt(bitPattern: p))
    }

    @Test func aSlotWithAReaderInsideIsNotEmpty() {
        let slots = ReaderSlots(slotCount: 4)
        #expect(slots.allSlots == 0b1111)
        #expect(slots.emptySlots() == 0b1111 && slots.readersInside == 0)
        let a = slots.enter()
        let b = slots.enter()
        #expect(slots.readersInside == 2)
        #expect(slots.emptySlots() & (1 << UInt64(a)) == 0 && slots.emptySlots() & (1 << UInt64(b)) == 0)
        slots.leave(a)
        #expect(slots.readersInside == 1)
        #expect(slots.emptySlots() & (1 << UInt64(b)) == 0, "one reader left a slot two had entered")
        slots.leave(b)
        #expect(slots.emptySlots() == 0b1111 && slots.readersInside == 0)
        #expect(ReaderSlots(slotCount: 64).allSlots == ~0)
        #expect(ReaderSlots().slotCount >= 4)
    }

    /// Real concurrency: readers load a shared pointer inside a section and
    /// read the word it points to; a reclaimer swaps in a fresh buffer,
    /// waits until every slot was seen empty, then poisons and frees the old
    /// one. No reader may ever read the poison. Shown to fail with the wait
    /// skipped (poison read in 112 sections over 20 000 swaps).
    @Test func memoryFreedAfterTheGracePeriodIsNeverRead() {
        let slots = ReaderSlots(slotCount: 4)
        let live = Self.live
        let poison: UInt64 = 0xDEAD_BEEF
        let fresh = Self.fresh
        let current = Atomic<UInt64>(fresh())
        let stop = Atomic<Bool>(false)
        let bad = Atomic<Int>(0)
        let reads = Atomic<Int>(0)
        let swaps = stressIterations(4_000)
        let ok = finishes(within: 60) {
            runThreads(3) { t in
                if t == 0 {
                    for _ in 0..<swaps {
                        let old = current.exchange(fresh(), ordering: .sequentiallyConsistent)
                        var pending = slots.allSlots
                        while pending != 0 {
                            pending &= ~slots.emptySlots()
                            if pending != 0 { sched_yield() }
                        }
                        guard let p = UnsafeMutablePointer<UInt64>(bitPattern: UInt(old)) else { continue }
                        RawAtomic64.storeRelaxed(p, poison)
                        p.deallocate()
                    }
                    stop.store(true, ordering: .relaxed)
                } else {
                    while !stop.load(ordering: .relaxed) {
                        // A section as long as a page copy: the word read
                        // over and over.
                        let value: UInt64 = slots.withSection {
                            let address = current.load(ordering: .acquiring)
                            guard let p = UnsafeMutablePointer<UInt64>(bitPattern: UInt(address)) else { return 0 }
                            var seen = live
                            for _ in 0..<64 where RawAtomic64.loadRelaxed(p) != live { seen = poison }
                            return seen
                        }
                        reads.wrappingAdd(1, ordering: .relaxed)
                        if value != live { bad.wrappingAdd(1, ordering: .relaxed) }
                    }
                }
            }
        }
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(current.load(ordering: .relaxed)))?.deallocate()
        print("ReaderSlotsTests: \(swaps) swaps, \(reads.load(ordering: .relaxed)) reads, \(bad.load(ordering: .relaxed)) of freed memory")
        #expect(ok, "did not finish")
        #expect(bad.load(ordering: .relaxed) == 0, "a reader read a buffer after its grace period")
        #expect(reads.load(ordering: .relaxed) > swaps, "the readers hardly ran: the test did not test")
    }
}
