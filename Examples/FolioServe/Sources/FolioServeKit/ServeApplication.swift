import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The server as a ServiceLifecycle `ServiceGroup`: the Hummingbird
/// application and the file source's shutdown, stopped gracefully by
/// SIGTERM or SIGINT (requests in flight finish, then the source closes).
public enum ServeApplication {
    public static func makeApplication(
        options: ServeOptions, source: any FileSource, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: FileServer.router(source: source, logger: logger),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "folio-serve"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? options.port) },
            logger: logger)
    }

    /// Serves until SIGTERM/SIGINT; then stops taking connections, lets
    /// the requests in flight finish and closes the source.
    public static func run(options: ServeOptions, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void) async throws {
        let source = try options.makeSource()
        let app = makeApplication(options: options, source: source, logger: logger, onServerRunning: onServerRunning)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: SourceShutdownService(source: source, logger: logger)), .init(service: app)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
