import SystemPackage
import FolioCache
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension FaultSweepRun {
    /// After the script: the fault clears; every open handle of A reads back
    /// the model (no torn page is cached), syncs (reporting an error it has
    /// not reported yet at most once) and closes; the file on its medium is
    /// the model (no acknowledged byte lost) and reads back so through a new
    /// handle; file B was never disturbed. Then the contract's rules about
    /// who hears of which fault (docs/reliability.md).
    mutating func finish(transient: Bool, silentFaults: Bool) {
        let injections = injector.injections
        injector.clearFaults()
        var endReports = [0, 0, 0]
        for i in handles.indices {
            guard let h = handles[i], !h.isClosed else { continue }
            do throws(FolioError) {
                let got = try h.read(count: 1 << 16, at: 0)
                if got != shadowA { failures.append("after the fault cleared, handle \(i) reads \(got.count) bytes of A that differ from the model (\(shadowA.count)) at \(firstDifference(got, shadowA))") }
            } catch {
                failures.append("after the fault cleared, handle \(i) cannot read A: \(error)")
            }
            do throws(FolioError) { try h.sync() } catch {
                endReports[i] += 1
                do throws(FolioError) { try h.sync() } catch { failures.append("handle \(i): sync fails twice after the fault cleared: \(error)") }
            }
            do throws(FolioError) { try h.close() } catch { failures.append("handle \(i): close after the fault cleared threw \(error)") }
        }
        let disk = diskA()
        if disk != shadowA {
            failures.append("A on its medium differs from the model after every handle closed: \(disk.count) vs \(shadowA.count) bytes, first difference at \(firstDifference(disk, shadowA))")
        }
        do throws(FolioError) {
            let again = try cache.open(backend: makeBackendA())
            let got = try again.read(count: 1 << 16, at: 0)
            if got != shadowA { failures.append("A reopened reads differently from the model at \(firstDifference(got, shadowA))") }
            try again.close()
        } catch {
            failures.append("reopening A after the fault cleared threw \(error)")
        }
        do throws(FolioError) {
            let got = try fileB.read(count: 1 << 16, at: 0)
            if got != shadowB { failures.append("file B reads differently from its model") }
            try fileB.close()
            if backendB.contents != shadowB { failures.append("file B on its medium differs from its model") }
        } catch {
            failures.append("file B threw \(error)")
        }
        for s in steps where s.handle == nil && s.error != nil {
            failures.append("step '\(s.name)' (file B or the cache, never faulted) threw \(String(describing: s.error))")
        }
        checkContract(injections, transient: transient, silentFaults: silentFaults, endReports: endReports)
    }

    func errnoOf(_ e: FolioError) -> Int32? {
        switch e {
        case .io(_, _, _, let n): return n.rawValue
        case .openFailed(_, let n): return n.rawValue
        default: return nil
        }
    }

    func stepIndex(ofCall call: Int) -> Int? {
        steps.firstIndex { $0.callsBefore < call && call <= $0.callsAfter }
    }

    mutating func checkContract(_ injections: [FaultInjector.Injection], transient: Bool, silentFaults: Bool, endReports: [Int]) {
        let errnos = Set(injections.map { i -> Int32 in if case .error(let e) = i.fault { return e } else { return EIO } })
        let firstStep = injections.first.flatMap { stepIndex(ofCall: $0.call) } ?? steps.count
        // No error without a fault, none but the injected ones.
        for (k, s) in steps.enumerated() {
            guard let error = s.error else { continue }
            if case .closed = error, let h = s.handle, k > 0, !steps[k - 1].openAfter[h] { continue }
            if k < firstStep { failures.append("step \(k) '\(s.name)' threw \(error) before any fault was injected") }
            if errnoOf(error).map({ !errnos.contains($0) }) ?? true {
                failures.append("step \(k) '\(s.name)' threw \(error), not an injected errno \(errnos.sorted())")
            }
        }
        // Faults that the layers below absorb (EINTR and short transfers
        // under POSIXBackend, a short read at a backend): nothing surfaces.
        if silentFaults {
            for (k, s) in steps.enumerated() where s.error != nil { failures.append("step \(k) '\(s.name)' threw \(s.error!) for a fault that must be absorbed") }
            if endReports.contains(where: { $0 > 0 }) { failures.append("a sync after the fault cleared reported an absorbed fault") }
            return
        }
        guard let first = injections.first, let i = stepIndex(ofCall: first.call) else { return }
        let s = steps[i]
        let before = i > 0 ? steps[i - 1].openAfter : [false, false, false]
        let torn = first.fault == .shortTransfer
        switch first.operation {
        case .read where !torn, .truncate, .size, .open, .sync:
            if s.error == nil { failures.append("\(first) in step \(i) '\(s.name)': the step did not throw") }
        case .close:
            // Only a join closes the redundant descriptor with `try?`.
            if s.kind != .open && s.error == nil { failures.append("\(first) in step \(i) '\(s.name)': close did not throw") }
        case .write:
            if s.kind == .report && s.error == nil { failures.append("\(first) in step \(i) '\(s.name)': the step did not throw") }
        case .read:
            break
        }
        // A writeback or fsync error reaches every handle open when it
        // happened, once each (errseq); a handle opened later never hears of it.
        guard first.operation == .write || first.operation == .sync else { return }
        for h in 0..<3 {
            let wasOpen = before[h] || (s.handle == h && s.kind != .open)
            let reports = steps[i...].filter { $0.handle == h && $0.kind == .report && $0.error != nil }.count + endReports[h]
            if wasOpen && reports == 0 {
                failures.append("\(first) in step \(i) '\(s.name)': handle \(h), open then, never heard of it")
            }
            if transient && wasOpen && reports > 1 {
                failures.append("\(first) in step \(i) '\(s.name)': handle \(h) heard of it \(reports) times")
            }
            if transient && !wasOpen && reports > 0 {
                failures.append("\(first) in step \(i) '\(s.name)': handle \(h), opened after it, heard of it")
            }
        }
    }

    func describe() -> String {
        steps.enumerated().map { k, s in
            "  \(k) \(s.name): calls \(s.callsBefore + 1)...\(s.callsAfter)\(s.error.map { " threw \($0)" } ?? "")"
        }.joined(separator: "\n")
    }
}
