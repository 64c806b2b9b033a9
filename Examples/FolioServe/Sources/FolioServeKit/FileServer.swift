import Hummingbird
import Logging
import NIOCore

/// The HTTP side: `GET /<path>` answers 200 with the file's bytes, 400 for
/// a path that is malformed or climbs out of the directory, 404 for a path
/// that names no regular file inside it, 500 when reading fails (logged).
public enum FileServer {
    public static func router(source: any FileSource, logger: Logger) -> Router<BasicRequestContext> {
        let router = Router()
        let allocator = ByteBufferAllocator()
        router.get("**") { request, _ -> Response in
            await respond(to: request.uri.path, source: source, allocator: allocator, logger: logger)
        }
        router.get("/") { request, _ -> Response in
            await respond(to: request.uri.path, source: source, allocator: allocator, logger: logger)
        }
        return router
    }

    static func respond(to rawPath: String, source: any FileSource, allocator: ByteBufferAllocator, logger: Logger) async -> Response {
        do throws(ServeError) {
            let path = try ServePath(requestPath: rawPath[...])
            let body = try await source.contents(of: path, allocator: allocator)
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            headers[.contentLength] = String(body.readableBytes)
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
        } catch {
            if case .readFailed = error { logger.error("\(rawPath): \(error)") }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; charset=utf-8"
            let text = "\(error)\n"
            headers[.contentLength] = String(text.utf8.count)
            return Response(status: error.status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
