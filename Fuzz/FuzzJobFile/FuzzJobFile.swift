import FolioLoadKit
import FuzzSupport

/// libFuzzer harness for folio-load's job-file parser (`JobFile.parse`,
/// Sources/FolioLoadKit/JobFile.swift) and what its values go through: the
/// `run` option parser and `RunOptions.resolve` (thread counts and sweeps,
/// strategies, sizes, durations, the cache checks).
///
/// Input: the job file's text.
///
/// Invariants (a violation aborts, and libFuzzer keeps the input):
/// - an accepted file has jobs, each with a non-empty name other than
///   `global`, and arguments in `--key value` pairs with non-empty keys and
///   values and no output keys;
/// - blank lines are skipped: doubling every newline gives the same jobs;
/// - a job whose options resolve has valid parameters (`validate()` passes
///   again; thread counts from 1 to `ThreadCounts.maxThreads`, no repeats).
/// Jobs naming `config` are not resolved (that reads a file).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJobFile(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    checkJobFile(text)
    return 0
}

func parse(_ text: String) -> Result<[JobFile.Job], LoadError> {
    Result { () throws(LoadError) in try JobFile.parse(text, source: "fuzz.fio") }
}

func checkJobFile(_ text: String) {
    let spaced = String(String.UnicodeScalarView(text.unicodeScalars.flatMap { $0 == "\n" ? ["\n", "\n"] : [$0] }))
    switch (parse(text), parse(spaced)) {
    case (.success(let jobs), .success(let again)):
        Fuzz.check(jobs == again, "blank lines changed the jobs: \(jobs) vs \(again): \(text.debugDescription)")
        Fuzz.check(!jobs.isEmpty, "an accepted job file without jobs: \(text.debugDescription)")
        for job in jobs.prefix(3) {  // the option parser is slow: ~100 resolutions a second under ASan
            checkJob(job, text: text)
        }
    case (.failure(let error), .failure):
        Fuzz.keep(error.description.utf8.count)
    case (let a, let b):
        Fuzz.check(false, "blank lines changed whether the file is accepted: \(a) vs \(b): \(text.debugDescription)")
    }
}

func checkJob(_ job: JobFile.Job, text: String) {
    Fuzz.check(!job.name.isEmpty, "a job without a name: \(text.debugDescription)")
    Fuzz.check(job.name != "global", "[global] taken for a job: \(text.debugDescription)")
    let arguments = job.arguments
    Fuzz.check(arguments.count % 2 == 0, "arguments not in pairs: \(arguments)")
    var keys: [String] = []
    for i in stride(from: 0, to: arguments.count - 1, by: 2) {
        let flag = arguments[i], value = arguments[i + 1]
        Fuzz.check(flag.hasPrefix("--") && flag.count > 2, "not a flag: \(flag.debugDescription) in \(arguments)")
        let key = String(flag.dropFirst(2))
        Fuzz.check(!JobFile.outputKeys.contains(key), "an output key passed as a run option: \(key)")
        Fuzz.check(!value.isEmpty, "an empty value for \(flag)")
        keys.append(key)
    }
    guard !keys.contains("config") else { return }
    let options: RunOptions
    do { options = try RunOptions.parse(arguments) } catch {
        Fuzz.keep(RunOptions.message(for: error).utf8.count)
        return
    }
    do throws(LoadError) {
        let p = try options.resolve()
        do throws(LoadError) { try p.validate() } catch {
            Fuzz.check(false, "resolved parameters fail validate(): \(error): \(arguments)")
        }
        Fuzz.check(!p.threads.isEmpty && p.threads.allSatisfy { $0 >= 1 && $0 <= ThreadCounts.maxThreads },
                   "thread counts out of range: \(p.threads): \(arguments)")
        Fuzz.check(Set(p.threads).count == p.threads.count, "repeated thread counts: \(p.threads): \(arguments)")
        Fuzz.check(!p.engines.isEmpty && !p.workloads.isEmpty, "nothing to run: \(arguments)")
        Fuzz.keep(p.threads.count &+ p.engines.count)
    } catch {
        Fuzz.keep(error.description.utf8.count)
    }
}
