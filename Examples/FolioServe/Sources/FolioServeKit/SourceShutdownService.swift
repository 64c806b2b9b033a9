import Logging
import ServiceLifecycle

/// Closes the file source (Folio: writes back, syncs and closes every open
/// file) once graceful shutdown begins and the HTTP server before it in the
/// group has stopped. Put it *before* the application in the group's
/// services: a `ServiceGroup` shuts its services down in reverse order.
public struct SourceShutdownService: Service {
    public let source: any FileSource
    public let logger: Logger

    public init(source: any FileSource, logger: Logger) {
        self.source = source
        self.logger = logger
    }

    public func run() async throws {
        // Sleeps until graceful shutdown (or cancellation) begins.
        try? await gracefulShutdown()
        logger.debug("closing the \(source.name) file source")
        try await source.shutdown()
    }
}
