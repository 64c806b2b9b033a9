import Testing
@testable import FolioServeKit

@Suite struct ServePathTests {
    @Test(arguments: [
        ("/a", ["a"]), ("/a/b.txt", ["a", "b.txt"]), ("//a//b", ["a", "b"]), ("/a%20b", ["a b"]),
        ("/a?x=1", ["a"]), ("/%41", ["A"]), ("/.hidden", [".hidden"]), ("/a..b", ["a..b"]), ("/caf%C3%A9", ["café"]),
    ])
    func goodPathsSplitIntoComponents(_ raw: String, _ expected: [String]) throws {
        #expect(try ServePath(requestPath: raw[...]).components == expected)
    }

    @Test(arguments: [
        "/..", "/../etc/passwd", "/a/../../b", "/%2e%2e/etc/passwd", "/%2E%2E%2Fetc", "/a/./b", "/.",
        "/a%00b", "/a%2", "/a%zz", "a", "", "/a\\..\\b", "/%ff%fe",
    ])
    func climbingOrMalformedPathsAreBadRequests(_ raw: String) {
        #expect(throws: ServeError.self) { try ServePath(requestPath: raw[...]) }
        do { _ = try ServePath(requestPath: raw[...]) } catch { #expect(error.status == .badRequest, "\(raw): \(error)") }
    }

    @Test func theRootNamesNoFile() {
        #expect(throws: ServeError.notFound) { try ServePath(requestPath: "/"[...]) }
    }
}
