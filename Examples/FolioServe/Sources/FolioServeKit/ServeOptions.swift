import FolioCache
import FolioConfiguration
import Foundation

/// What a server serves and how: the directory, the address, the engine
/// (a Folio strategy or `os`) and Folio's configuration (a `folio.toml`
/// and/or `FOLIO_*` environment variables; `strategy`, when given, wins).
public struct ServeOptions: Sendable {
    public var root: String
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    /// `nil`: the configuration's strategy; `"os"`: no Folio at all.
    public var engine: String?
    public var configurationFile: String?
    /// How Folio engines read (`os` always uses pread).
    public var readMode: FolioReadMode = .read
    public var environment: [String: String]

    public init(root: String, host: String = "127.0.0.1", port: Int = 8080, engine: String? = nil,
                configurationFile: String? = nil, readMode: FolioReadMode = .read, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.root = root
        self.host = host
        self.port = port
        self.engine = engine
        self.configurationFile = configurationFile
        self.readMode = readMode
        self.environment = environment
    }

    /// The file source these options name. Bad options are a typed error
    /// naming what is wrong.
    public func makeSource() throws -> any FileSource {
        let directory = try ServedDirectory(root)
        if engine == "os" { return OSFileSource(directory: directory) }
        var environment = self.environment
        if let engine {
            guard LockStrategyKind(rawValue: engine) != nil else {
                throw ServeOptionError("unknown engine '\(engine)' (os, \(LockStrategyKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            environment["FOLIO_LOCK_STRATEGY"] = engine
        }
        let configuration = try configurationFile.map { path throws(ConfigurationError) in
            try CacheConfiguration.load(file: path, environment: environment)
        } ?? CacheConfiguration.fromEnvironment(environment)
        try configuration.validate()
        struct Make: LockStrategyVisitor {
            let configuration: PageCacheConfiguration
            let directory: ServedDirectory
            let readMode: FolioReadMode
            func visit<S: LockStrategy>(_ strategy: S) -> Result<any FileSource, FolioError> {
                Result { () throws(FolioError) -> any FileSource in
                    FolioFileSource(cache: try PageCache(strategy: strategy, configuration: configuration), directory: directory, readMode: readMode)
                }
            }
        }
        return try configuration.lock.visit(Make(configuration: configuration.cache, directory: directory, readMode: readMode)).get()
    }
}

/// Options that cannot be served with.
public struct ServeOptionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
