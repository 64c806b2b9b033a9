import FolioTestSupport
import Synchronization

/// Threads and tasks race for one lock, the tasks' waits cancelled at
/// random: `threads` threads run `threadStep` (a blocking acquisition, the
/// critical section, the release) for as long as the tasks run, and `tasks`
/// tasks make `iterations` attempts each — `attempt` picks one from the
/// task's generator and returns it, and it runs in a task of its own that is
/// cancelled one time in eight. Every generator is seeded from `seed` (print
/// it: a failure replays with FOLIO_TEST_SEED). Returns whether the threads
/// stopped (within 10 s of the tasks' end): false means one is stuck.
func raceThreadsAndCancelledTasks(
    seed: UInt64, iterations: Int, threads: Int = 2, tasks: Int = 8,
    threadStep: @escaping @Sendable (inout SplitMix64) -> Void,
    attempt: @escaping @Sendable (inout SplitMix64) -> @Sendable () async -> Void
) async -> Bool {
    let threadsDone = Atomic<Int>(0)
    let tasksDone = Atomic<Bool>(false)
    for t in 0..<threads {
        spawnThread {
            var rng = SplitMix64(seed: seed &+ 100 &+ UInt64(t))
            while !tasksDone.load(ordering: .relaxed) { threadStep(&rng) }
            threadsDone.add(1, ordering: .releasing)
        }
    }
    await withTaskGroup(of: Void.self) { group in
        for t in 0..<tasks {
            group.addTask {
                var rng = SplitMix64(seed: seed &+ UInt64(t))
                for _ in 0..<iterations {
                    let waiter = Task(operation: attempt(&rng))
                    if rng.next() % 8 == 0 { waiter.cancel() }
                    await waiter.value
                }
            }
        }
    }
    tasksDone.store(true, ordering: .relaxed)
    return await eventually { threadsDone.load(ordering: .acquiring) == threads }
}
