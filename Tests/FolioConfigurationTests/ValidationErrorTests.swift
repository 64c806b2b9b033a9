import FolioCache
import FolioConfiguration
import Testing

/// Every way a configuration can be wrong yields an error naming the file,
/// the line (where the parser or the key locator knows it), the key, the bad
/// value and what is allowed.
@Suite struct ValidationErrorTests {
    @Test func syntaxErrorNamesLineAndColumn() throws {
        let e = try #require(rejection("[lock]\nstrategy = \"fair\"\n[cache\n"))
        #expect(e.kind == .syntax)
        #expect(e.line == 3)
        #expect(e.column != nil)
        #expect(e.description.hasPrefix("test.toml:3:"))
        #expect(e.description.contains("not valid TOML"))
    }

    /// Found by FuzzConfiguration: TOMLKit passes the text as a C string,
    /// so everything after a NUL was ignored and the file accepted.
    @Test func nulCharacterIsASyntaxError() throws {
        let e = try #require(rejection("[cache]\ncapacity = \"1GiB\"\n\0\n[lock]\nstrategy = \"bogus\"\n"))
        #expect(e.kind == .syntax)
        #expect(e.line == 3 && e.column == 1)
        #expect(e.description.hasPrefix("test.toml:3:1: error: not valid TOML: a NUL character"), "\(e)")
        let inString = try #require(rejection("[cache]\ncapacity = \"1Gi\0B\"\n"))
        #expect(inString.kind == .syntax && inString.line == 2 && inString.column == 16, "\(inString)")
    }

    /// Found by FuzzConfiguration: toml++ parses a table header's first key
    /// without checking one starts there, and `[%]` (or `[` and a line
    /// break) failed its assertion: folio-config check aborted (status 134).
    @Test func tableHeaderWithoutAKeyIsASyntaxError() throws {
        let cases: [(String, Int, Int)] = [
            ("[%]\n", 1, 2), ("[\n", 1, 2), ("[ #]\n", 1, 3), ("[[%]]\n", 1, 3), ("\u{FEFF}[%]\n", 1, 3),
            ("[lock]\nstrategy = \"fair\"\n  [=a]\n", 3, 4), ("[\u{FFFD}cache]\n", 1, 2), ("[\r\n", 1, 2),
        ]
        for (text, line, column) in cases {
            let e = try #require(rejection(text), "\(text.debugDescription)")
            #expect(e.kind == .syntax && e.line == line && e.column == column, "\(text.debugDescription): \(e)")
            #expect(e.message.contains("a table header needs a key"), "\(e)")
        }
        // Headers that do start with a key are toml++'s to judge.
        for text in ["[ lock ]\nstrategy = \"fair\"\n", "[\t\"lock\"]\nstrategy = \"fair\"\n", "[[cache]]\n", "[]\n"] {
            let e = rejectionOrNil(text)
            #expect(!(e?.message.contains("a table header needs a key") ?? false), "\(text.debugDescription): \(String(describing: e))")
        }
    }

    /// Found by FuzzConfiguration: toml++ asserts on a `}` where an array
    /// value belongs (`FOLIO_LOCK_STRATEGY=[ }` read as TOML, `a = [1, }`):
    /// folio-config check aborted.
    @Test func closingBraceWhereAnArrayValueBelongsIsASyntaxError() throws {
        let cases: [(String, Int, Int)] = [
            ("a=[}\n", 1, 4), ("[lock]\nstrategy = [ }\n", 2, 14), ("a=[1,}\n", 1, 6), ("a=[\n}\n", 2, 1),
            ("a=[#c\n}\n", 2, 1), ("a={b=[}}\n", 1, 7), ("s = \"\"\"x\\\n\"\"\"\na=[\n}\n", 4, 1),
        ]
        for (text, line, column) in cases {
            let e = try #require(rejection(text), "\(text.debugDescription)")
            #expect(e.kind == .syntax && e.line == line && e.column == column, "\(text.debugDescription): \(e)")
            #expect(e.message.contains("'}' right after"), "\(e)")
        }
        // Inside strings and comments it is text, for toml++ and the schema.
        let texts = ["[lock]\nstrategy = \"[}\"\n", "[lock]\nstrategy = '[,}'\n", "# a=[}\n", "[lock]\nstrategy = '''[\n}'''\n",
                     "[lock]\nstrategy = \"\\\"[}\"\n"]
        for text in texts {
            let e = rejectionOrNil(text)
            #expect(!(e?.message.contains("'}' right after") ?? false), "\(text.debugDescription): \(String(describing: e))")
        }
    }

    @Test func unknownTable() throws {
        let e = try #require(rejection("[lock]\nstrategy = \"fair\"\n\n[cahce]\ncapacity = 1\n"))
        #expect(e.kind == .unknownKey)
        #expect(e.key == "cahce")
        #expect(e.line == 4)
        #expect(e.description == "test.toml:4: error: cahce: unknown table; allowed tables: [lock], [cache], [compression], [writeback]")
    }

    @Test func unknownKeyListsTheTablesKeys() throws {
        let e = try #require(rejection("[cache]\npage-size = \"4KiB\"\ncapcity = \"1MiB\"\n"))
        #expect(e.kind == .unknownKey)
        #expect(e.key == "cache.capcity")
        #expect(e.line == 3)
        #expect(e.description == "test.toml:3: error: cache.capcity: unknown key; allowed keys in [cache]: capacity, page-size, max-folio-order, eviction, fault-around-pages, optimistic-reads")
    }

    @Test func unknownTopLevelKey() throws {
        let e = try #require(rejection("strategy = \"fair\"\n"))
        #expect(e.kind == .unknownKey)
        #expect(e.key == "strategy")
        #expect(e.line == 1)
    }

    @Test func tableGivenAsAValue() throws {
        let e = try #require(rejection("lock = \"fair\"\n"))
        #expect(e.kind == .wrongType)
        #expect(e.key == "lock")
        #expect(e.description.contains("expected a table"))
    }

    @Test func unknownStrategyListsTheStrategies() throws {
        let e = try #require(rejection("# comment\n[lock]\nstrategy = \"per-page\"\n"))
        #expect(e.kind == .invalidValue)
        #expect(e.description == "test.toml:3: error: lock.strategy = \"per-page\": unknown lock strategy; allowed: per-page-bit, hybrid-fair, fair, barging, hybrid-kernel, per-inode, per-range")
    }

    @Test func unknownEvictionPolicy() throws {
        let e = try #require(rejection("[cache]\neviction = \"arc\"\n"))
        #expect(e.description == "test.toml:2: error: cache.eviction = \"arc\": unknown eviction policy; allowed: lru, sieve, s3-fifo")
    }

    @Test func pageSizeNotAPowerOfTwo() throws {
        let e = try #require(rejection("[cache]\npage-size = 3000\n"))
        #expect(e.kind == .invalidValue)
        #expect(e.key == "cache.page-size")
        #expect(e.value == "3000")
        #expect(e.line == 2)
        #expect(e.description.contains("not a power of two from 512B to 64KiB; allowed: 512B, 1KiB, 2KiB, 4KiB, 8KiB, 16KiB, 32KiB, 64KiB"))
    }

    @Test func pageSizeTooLargeWithUnit() throws {
        let e = try #require(rejection("[cache]\npage-size = \"128KiB\"\ncapacity = \"1GiB\"\n"))
        #expect(e.key == "cache.page-size")
        #expect(e.value == "\"128KiB\"")
    }

    @Test func negativeSizes() throws {
        let a = try #require(rejection("[cache]\ncapacity = -4096\n"))
        #expect(a.description == "test.toml:2: error: cache.capacity = -4096: a size cannot be negative")
        let b = try #require(rejection("[cache]\ncapacity = \"-4KiB\"\n"))
        #expect(b.description.contains("a size cannot be negative"))
    }

    @Test func absurdCapacity() throws {
        let e = try #require(rejection("[cache]\ncapacity = \"2048GiB\"\n"))
        #expect(e.description == "test.toml:2: error: cache.capacity = \"2048GiB\": more than 1TiB; allowed: one page to 1TiB")
        let overflow = try #require(rejection("[cache]\ncapacity = \"99999999999TiB\"\n"))
        #expect(overflow.description.contains("not a size"))
    }

    @Test func capacityBelowOnePage() throws {
        let e = try #require(rejection("[cache]\npage-size = \"16KiB\"\ncapacity = \"8KiB\"\n"))
        #expect(e.key == "cache.capacity")
        #expect(e.line == 3)
        #expect(e.description.contains("smaller than one page (page-size 16KiB)"))
    }

    @Test func sizeWithDecimalOrUnknownUnit() throws {
        let e = try #require(rejection("[cache]\ncapacity = \"64MB\"\n"))
        #expect(e.description.contains("units B, KiB, MiB, GiB, TiB"))
        #expect(e.value == "\"64MB\"")
    }

    @Test func orderTooLargeForThePageSize() throws {
        let e = try #require(rejection("[cache]\npage-size = \"64KiB\"\ncapacity = \"1GiB\"\nmax-folio-order = 6\n"))
        #expect(e.key == "cache.max-folio-order")
        #expect(e.line == 4)
        #expect(e.description == "test.toml:4: error: cache.max-folio-order = 6: too large for page-size 64KiB (folios of at most 2MiB); allowed: 0 to 5")
        // The same order is fine with 4 KiB pages (4KiB << 6 = 256KiB).
        let ok = try CacheConfiguration.parse(toml: "[cache]\nmax-folio-order = 6\n")
        #expect(ok.cache.maxFolioOrder == 6)
    }

    @Test func wrongTypes() throws {
        let a = try #require(rejection("[lock]\nspin-limit = \"forty\"\n"))
        #expect(a.kind == .wrongType)
        #expect(a.description == "test.toml:2: error: lock.spin-limit = \"forty\": expected an integer, found a string")
        let b = try #require(rejection("[compression]\nenabled = \"yes\"\n"))
        #expect(b.description == "test.toml:2: error: compression.enabled = \"yes\": expected true or false, found a string")
        let c = try #require(rejection("[cache]\ncapacity = true\n"))
        #expect(c.description.contains("expected a size"))
        let d = try #require(rejection("[writeback]\ninterval = 5\n"))
        #expect(d.description == "test.toml:2: error: writeback.interval = 5: expected a duration string with a unit, such as \"1ms\" or \"10s\" or \"off\", found an integer")
        let f = try #require(rejection("[lock]\nstrategy = [\"fair\"]\n"))
        #expect(f.description.contains("found a TOML array"))
    }

    @Test func durations() throws {
        let a = try #require(rejection("[lock]\nmax-wait = \"1 fortnight\"\n"))
        #expect(a.description.contains("not a duration"))
        #expect(a.description.contains("units ns, us, ms, s, min, h"))
        let b = try #require(rejection("[writeback]\ninterval = \"2h\"\ninterval2 = 1\n"))
        #expect(b.key == "writeback.interval2")  // unknown keys are reported before values are read
        let c = try #require(rejection("[writeback]\ninterval = \"25h\"\n"))
        #expect(c.description == "test.toml:2: error: writeback.interval = \"25h\": out of range; allowed: 1ms to 24h, or \"off\"")
        let d = try #require(rejection("[compression]\ncollapse-interval = \"0s\"\n"))
        #expect(d.description.contains("out of range; allowed: 1ms to 24h"))
    }

    @Test func integerRanges() throws {
        let a = try #require(rejection("[lock]\nspin-limit = -1\n"))
        #expect(a.description == "test.toml:2: error: lock.spin-limit = -1: out of range; allowed: 0 to 1000000")
        let b = try #require(rejection("[lock]\nunfairness = \"lots\"\n"))
        #expect(b.description.contains("expected an integer or \"unbounded\""))
        let c = try #require(rejection("[cache]\nfault-around-pages = 65\n"))
        #expect(c.description.contains("allowed: 0 to 64"))
        let d = try #require(rejection("[lock]\nwait-table-buckets = 1000\n"))
        #expect(d.description == "test.toml:2: error: lock.wait-table-buckets = 1000: not a power of two; allowed: a power of two from 1 to 1048576")
    }

    @Test func fractions() throws {
        let e = try #require(rejection("[compression]\nmin-saving = 1.5\n"))
        #expect(e.description == "test.toml:2: error: compression.min-saving = 1.5: out of range; allowed: a fraction from 0 up to (not including) 1, such as 0.25")
    }

    @Test func missingFile() throws {
        do {
            _ = try CacheConfiguration.load(file: "/nonexistent/folio.toml", environment: [:])
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.kind == .unreadable)
            #expect(error.description == "/nonexistent/folio.toml: error: cannot read the configuration file: no such file")
        }
    }

    @Test func errorsNameTheRealFile() throws {
        let path = try temporaryFile("[cache]\n\n\npage-size = \"5KiB\"\n")
        do {
            _ = try AnyPageCache(configurationFile: path, environment: [:])
            Issue.record("accepted a bad page size")
        } catch {
            #expect(error.source == path)
            #expect(error.description.hasPrefix("\(path):4: error: cache.page-size = \"5KiB\""))
        }
    }

    @Test func dottedKeysAndInlineTablesAreTheSameSchema() throws {
        let e = try #require(rejection("lock.strategy = \"nope\"\n"))
        #expect(e.line == 1)
        #expect(e.key == "lock.strategy")
        let ok = try CacheConfiguration.parse(toml: "cache = { page-size = \"8KiB\", capacity = \"1MiB\" }\n")
        #expect(ok.cache.pageSize == 8192)
    }

    @Test func typeMismatchedStrategyForABuildTimeCache() throws {
        let path = try temporaryFile("[lock]\nstrategy = \"per-range\"\n")
        do {
            _ = try PageCache<PerInodeLocking>(configurationFile: path, environment: [:])
            Issue.record("a per-inode cache accepted a per-range file")
        } catch {
            #expect(error.key == "lock.strategy")
            #expect(error.description.contains("lock strategy 'per-range' is not implemented by PerInodeLocking"))
        }
    }
}

/// The error `toml` raises, or nil if it is accepted.
private func rejectionOrNil(_ toml: String) -> ConfigurationError? {
    do {
        _ = try CacheConfiguration.parse(toml: toml, source: "test.toml")
        return nil
    } catch {
        return error
    }
}
