import FolioCache
import Foundation

extension AnyPageCache {
    /// A cache configured by the TOML file at `path`, with environment
    /// overrides (see `CacheConfiguration.load(file:environment:)`).
    public convenience init(
        configurationFile path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) {
        let configuration = try CacheConfiguration.load(file: path, environment: environment)
        do {
            try self.init(configuration: configuration)
        } catch {
            throw ConfigurationError(kind: .invalidValue, source: path, message: error.description)
        }
    }
}

extension PageCache {
    /// A cache of this build-time strategy type configured by the TOML file
    /// at `path`, with environment overrides. Throws if the file names a
    /// strategy this type does not implement.
    public convenience init(
        configurationFile path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) {
        let configuration = try CacheConfiguration.load(file: path, environment: environment)
        do {
            try self.init(configuration: configuration)
        } catch {
            throw ConfigurationError(
                kind: .invalidValue, source: path, key: ConfigurationKey.lockStrategy.description,
                value: "\"\(configuration.lock.kind)\"", message: error.description)
        }
    }
}
