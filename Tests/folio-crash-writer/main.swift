// folio-crash-writer SEED PATH STRATEGY: the process the crash test kills.
// Writes stamped records (`CrashRecord`) through a Folio cache, in order,
// overwriting each record once with garbage first (so an unsynced record
// can be visibly wrong), and syncs after every few records; it prints
// "ready" once the file is open, and "synced N" (records 0..<N are durable)
// after each sync returns, each line with one write(2). Background
// writeback runs meanwhile, and the budget is small, so writeback and
// eviction race with the kill. Before each "synced N" it reads records
// 0..<N back through its cache and checks them. Runs until killed (an error:
// exit 1; a record that reads back wrong: exit 3; the message on stderr).
import FolioCache
import FolioTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Writes `line` to descriptor `fd` with one write(2): no stdio buffer
/// that a SIGKILL could catch half-flushed.
func say(_ line: String, to fd: Int32) {
    var bytes = Array(line.utf8)
    bytes.append(10)
    _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
}

let args = CommandLine.arguments
guard args.count == 4, let seed = UInt64(args[1]), let kind = LockStrategyKind(rawValue: args[3]) else {
    say("usage: folio-crash-writer SEED PATH STRATEGY", to: 2)
    exit(2)
}
let path = args[2]

do {
    let cache = try AnyPageCache(
        strategy: .init(kind: kind),
        configuration: .init(pageSize: 4096, capacity: 16 * 4096, writebackInterval: .milliseconds(2)))
    let file = try cache.open(path: path, options: [.create, .truncate])
    say("ready", to: 1)
    var rng = SplitMix64(seed: seed)
    var n = 0
    while true {
        let offset = Int64(n * CrashRecord.size)
        let garbage = [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next() | 1), count: CrashRecord.size)
        try file.write(garbage, at: offset)
        try file.write(CrashRecord.bytes(seed: seed, number: n), at: offset)
        n += 1
        if rng.next() % 4 == 0 {
            try file.sync()
            // Before reporting: the cache must read back every record it
            // acknowledges (a wrong one here is the writer's failure, not
            // the crash's: exit 3 and say which, and the test sees it).
            let back = try file.read(count: n * CrashRecord.size, at: 0)
            for k in 0..<n where Array(back[min(back.count, k * CrashRecord.size)..<min(back.count, (k + 1) * CrashRecord.size)]) != CrashRecord.bytes(seed: seed, number: k) {
                say("folio-crash-writer: record \(k) of \(n) reads back wrong before the crash", to: 2)
                exit(3)
            }
            say("synced \(n)", to: 1)
        }
    }
} catch {
    say("folio-crash-writer: \(error)", to: 2)
    exit(1)
}
