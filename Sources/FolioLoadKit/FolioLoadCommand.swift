import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `folio-load`: the bundled load-test tool (docs/load-testing.md).
public struct FolioLoad: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "folio-load",
        abstract: "Load-test Folio's lock strategies against each other and against the OS page cache.",
        discussion: "Without arguments: a short comparison of every strategy on hammer and zipf, writing folio-load-results.json and folio-load-results.svg.",
        subcommands: [Run.self, Compare.self],
        defaultSubcommand: Run.self)

    public init() {}

    /// Runs the tool on `arguments` (without the program name) and returns
    /// the exit status: 0 success, 1 a failed verification or engine error,
    /// 2 bad arguments or an unavailable workload.
    public static func execute(_ arguments: [String], standardOutput: (String) -> Void = { FileHandle.standardOutput.write(Data($0.utf8)) },
                               standardError: (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) -> Int32 {
        let args = arguments.isEmpty ? Run.mainJobArguments : arguments
        do {
            var command = try parseAsRoot(args)
            if let run = command as? Run {
                return run.execute(standardOutput: standardOutput, standardError: standardError)
            }
            if let compare = command as? Compare {
                return compare.execute(standardOutput: standardOutput, standardError: standardError)
            }
            try command.run()
            return 0
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                standardOutput(fullMessage(for: error) + "\n")
                return 0
            }
            standardError(fullMessage(for: error) + "\n")
            return 2
        }
    }

    public struct Run: ParsableCommand {
        public static let configuration = CommandConfiguration(abstract: "Run workloads against engines and report.")

        @OptionGroup public var options: RunOptions

        @Option(help: "A fio-style job file: [global] and [job] sections of flag=value lines.")
        public var job: String?

        @Option(help: "Output format: text, json or csv.")
        public var format: String = "text"

        @Option(help: "Write the report to FILE instead of standard output.")
        public var output: String?

        @Option(help: "Also write the JSON report to FILE.")
        public var json: String?

        @Option(help: "Write an SVG plot (throughput and max lock wait against threads).")
        public var plot: String?

        @Flag(help: "No progress line.")
        public var quiet = false

        public init() {}

        static let mainJobArguments = ["run", "--json", "folio-load-results.json", "--plot", "folio-load-results.svg"]

        public func run() throws {
            let status = execute(standardOutput: { print($0, terminator: "") }, standardError: { FileHandle.standardError.write(Data($0.utf8)) })
            if status != 0 { throw ExitCode(status) }
        }

        func execute(standardOutput: (String) -> Void, standardError: (String) -> Void) -> Int32 {
            do throws(LoadError) {
                guard let fmt = ReportFormat(rawValue: format) else {
                    throw .badArgument("--format '\(format)': allowed: text, json, csv")
                }
                var runs: [(String, RunParameters)] = []
                if let job {
                    for j in try JobFile.load(path: job) {
                        let opts: RunOptions
                        do { opts = try RunOptions.parse(j.arguments) } catch {
                            throw .badArgument("--job \(job) [\(j.name)]: \(RunOptions.message(for: error))")
                        }
                        do throws(LoadError) {
                            runs.append((j.name, try opts.resolve(environment: ProcessInfo.processInfo.environment)))
                        } catch {
                            throw .badArgument("--job \(job) [\(j.name)]: \(error)")
                        }
                    }
                } else {
                    runs.append(("run", try options.resolve(environment: ProcessInfo.processInfo.environment)))
                }
                let live = !quiet && isatty(STDERR_FILENO) != 0
                var combined: LoadReport? = nil
                var failure: LoadError? = nil
                for (name, parameters) in runs {
                    var runner = Runner(parameters: parameters)
                    if live {
                        runner.progress = { (n: Int, total: Int, label: String) in
                            FileHandle.standardError.write(Data("\r\u{1B}[K[\(n)/\(total)] \(label)".utf8))
                        }
                    }
                    var report: LoadReport
                    do throws(LoadError) { report = try runner.run() } catch {
                        if live { standardError("\r\u{1B}[K") }
                        throw error
                    }
                    if job != nil { for i in report.results.indices { report.results[i].job = name } }
                    if combined == nil { combined = report } else { combined?.results += report.results }
                    if failure == nil, let f = Self.verificationFailure(in: report) { failure = f }
                }
                if live { standardError("\r\u{1B}[K") }
                guard let report = combined else { return 0 }
                let text = report.rendered(fmt)
                if let output { try write(text, to: output) } else { standardOutput(text) }
                if let json { try write(report.json(), to: json) }
                if let plot { try write(SVGPlot.render(report), to: plot) }
                if output != nil || json != nil || plot != nil, fmt == .text || output != nil {
                    for (flag, path) in [("report", output), ("JSON", json), ("plot", plot)] {
                        if let path { standardError("\(flag): \(path)\n") }
                    }
                }
                if let failure { throw failure }
                return 0
            } catch {
                standardError("\(error)\n")
                return error.exitStatus
            }
        }

        /// The first failed verification of a report, as the error that makes
        /// the command exit with status 1 (after the report is written).
        static func verificationFailure(in report: LoadReport) -> LoadError? {
            guard let bad = report.results.first(where: { $0.verification?.hasPrefix("failed") == true }) else { return nil }
            return .verificationFailed("\(bad.workload) \(bad.strategy) \(bad.threads) threads: \(bad.verification ?? "")")
        }

        func write(_ text: String, to path: String) throws(LoadError) {
            do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw .badArgument("cannot write \(path): \(error.localizedDescription)")
            }
        }
    }

    public struct Compare: ParsableCommand {
        public static let configuration = CommandConfiguration(abstract: "Print B/A ratios of two JSON reports.")

        @Argument(help: "The baseline report (A).") public var a: String
        @Argument(help: "The report to compare (B).") public var b: String

        public init() {}

        public func run() throws {
            let status = execute(standardOutput: { print($0, terminator: "") }, standardError: { FileHandle.standardError.write(Data($0.utf8)) })
            if status != 0 { throw ExitCode(status) }
        }

        func execute(standardOutput: (String) -> Void, standardError: (String) -> Void) -> Int32 {
            do throws(LoadError) {
                let ra = try load(a), rb = try load(b)
                standardOutput(LoadReport.compare(ra, rb, nameA: a, nameB: b))
                return 0
            } catch {
                standardError("\(error)\n")
                return error.exitStatus
            }
        }

        func load(_ path: String) throws(LoadError) -> LoadReport {
            guard let data = FileManager.default.contents(atPath: path) else { throw .badArgument("cannot read \(path)") }
            return try LoadReport.decode(json: data, source: path)
        }
    }
}
