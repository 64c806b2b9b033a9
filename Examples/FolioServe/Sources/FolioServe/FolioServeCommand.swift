import ArgumentParser
import FolioServeKit
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `folio-serve --root DIR [--engine STRATEGY|os] [--config folio.toml] [--host H] [--port P]`
struct FolioServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "folio-serve",
        abstract: "Serve the files of a directory over HTTP through Folio's page cache (or the OS's, --engine os).")

    @Option(help: "The directory to serve.") var root: String
    @Option(help: "A Folio lock strategy, or 'os' for pread without Folio (default: the configuration's strategy).") var engine: String?
    @Option(name: .customLong("config"), help: "A folio.toml (FOLIO_* environment variables override it).") var configurationFile: String?
    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0: any free port).") var port = 8080
    @Option(help: "How Folio engines read: 'read' (cached copy) or 'view' (map, copy through the view, unmap: the fault path, per request).")
    var readMode = "read"
    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).") var logLevel = "info"

    func run() async throws {
        var logger = Logger(label: "folio-serve")
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level '\(logLevel)'") }
        logger.logLevel = level
        guard let mode = FolioReadMode(rawValue: readMode) else { throw ValidationError("unknown read mode '\(readMode)' (read, view)") }
        let options = ServeOptions(root: root, host: host, port: port, engine: engine, configurationFile: configurationFile, readMode: mode)
        let name = engine ?? "configured"
        do {
            try await ServeApplication.run(options: options, logger: logger) { port in
                // scripts/http-bench waits for this line.
                print("folio-serve: listening on \(options.host):\(port) engine=\(name)")
                fflush(nil)  // all streams: a pipe buffers stdout
            }
        } catch let error as ServeOptionError {
            throw ValidationError(error.description)
        }
    }
}

@main
extension FolioServeCommand {}
