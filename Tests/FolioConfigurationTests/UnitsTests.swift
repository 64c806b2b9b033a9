import FolioConfiguration
import Testing

@Suite struct UnitsTests {
    @Test func sizes() {
        #expect(Units.parseSize("4KiB") == 4096)
        #expect(Units.parseSize("64 MiB") == 64 << 20)
        #expect(Units.parseSize("1TiB") == 1 << 40)
        #expect(Units.parseSize("512") == 512)
        #expect(Units.parseSize("512B") == 512)
        #expect(Units.parseSize("1_048_576") == 1 << 20)
        for bad in ["", "KiB", "4kib", "4KB", "4 MB", "1.5MiB", "-4KiB", "_4KiB", "4_KiB", "99999999999999TiB", "4KiB extra"] {
            #expect(Units.parseSize(bad) == nil, "\(bad)")
        }
        #expect(Units.formatSize(65536) == "64KiB")
        #expect(Units.formatSize(3 << 30) == "3GiB")
        #expect(Units.formatSize(1000) == "1000B")
    }

    @Test func durations() {
        #expect(Units.parseDuration("1ms") == .milliseconds(1))
        #expect(Units.parseDuration("10s") == .seconds(10))
        #expect(Units.parseDuration("250us") == .microseconds(250))
        #expect(Units.parseDuration("250µs") == .microseconds(250))
        #expect(Units.parseDuration("3 min") == .seconds(180))
        #expect(Units.parseDuration("2h") == .seconds(7200))
        #expect(Units.parseDuration("7ns") == .nanoseconds(7))
        for bad in ["", "10", "1m", "1.5s", "-1s", "s", "1 fortnight", "999999999999h"] {
            #expect(Units.parseDuration(bad) == nil, "\(bad)")
        }
        #expect(Units.formatDuration(.seconds(120)) == "2min")
        #expect(Units.formatDuration(.microseconds(250)) == "250us")
    }
}
