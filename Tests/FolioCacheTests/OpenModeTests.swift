import FolioCache
import FolioTestSupport
import Foundation
import SystemPackage
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `open`'s access modes, options and permissions, through the public API
/// only: what a read-only handle refuses (typed), bad combinations rejected
/// before any system call, `.exclusive` against existing and already-open
/// files, the permissions of a created file, `FilePath` and `String` paths,
/// and how modes combine when a second open joins a file's mapping.
@Suite struct OpenModeTests {
    static let pageSize = 4096

    func cache(_ kind: LockStrategyKind = .hybridFair) throws -> AnyPageCache {
        try AnyPageCache(strategy: .init(kind: kind), configuration: .init(pageSize: Self.pageSize, capacity: 1 << 20))
    }

    func withDirectory(_ body: (String) throws -> Void) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(dir)
    }

    @Test(arguments: testedStrategies)
    func aReadOnlyHandleReadsAndRefusesChanges(_ kind: LockStrategyKind) throws {
        try withDirectory { dir in
            let path = dir + "/ro"
            try Data([1, 2, 3, 4]).write(to: URL(fileURLWithPath: path))
            let cache = try cache(kind)
            let file = try cache.open(path: path, .readOnly, options: [])
            #expect(file.mode == .readOnly)
            #expect(try file.read(count: 4, at: 0) == [1, 2, 3, 4])
            let refused: [(String, () throws -> Void)] = [
                ("write", { try file.write([9], at: 0) }),
                ("write", { try file.write([9][...], at: 0) }),
                ("truncate", { try file.truncate(to: 0) }),
                ("discardUnwrittenChanges", { try file.discardUnwrittenChanges() }),
                ("map read-write", { _ = try file.map(0..<4, mode: .readWrite) }),
            ]
            for (operation, call) in refused {
                #expect(throws: FolioError.readOnlyFile(path: path, operation: operation), "\(kind): \(operation)") { try call() }
            }
            #expect("\(FolioError.readOnlyFile(path: path, operation: "write"))" == "write of '\(path)' through a read-only handle")
            // Reading views, flush and sync are fine; nothing changed.
            let view = try file.map(0..<4)
            #expect(try view.copyBytes(at: 0, count: 4) == [1, 2, 3, 4])
            try file.flush()
            try file.sync()
            #expect(try file.size() == 4)
            try file.close()
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == [1, 2, 3, 4])
        }
    }

    @Test func aReadOnlyOpenNeedsOnlyReadPermission() throws {
        try withDirectory { dir in
            let path = dir + "/readable"
            try Data([5]).write(to: URL(fileURLWithPath: path))
            #expect(chmod(path, 0o444) == 0)
            let cache = try cache()
            let file = try cache.open(FilePath(path), .readOnly, options: [])
            #expect(try file.read(count: 1, at: 0) == [5])
            try file.close()
            // root ignores the permission bits: only a user sees EACCES.
            if getuid() != 0 {
                #expect(throws: FolioError.openFailed(path: path, errno: .permissionDenied)) { _ = try cache.open(path: path, options: []) }
            }
        }
    }

    @Test func badCombinationsAreRejectedBeforeOpening() throws {
        try withDirectory { dir in
            let cache = try cache()
            let path = dir + "/never"
            func expectInvalid(_ what: String, _ call: () throws -> Void) {
                do {
                    try call()
                    Issue.record("\(what): no error")
                } catch let error as FolioError {
                    guard case .invalidArgument(let message) = error else { Issue.record("\(what): \(error)"); return }
                    #expect(message.contains(what), "\(message)")
                } catch { Issue.record("\(what): \(error)") }
            }
            expectInvalid(".exclusive needs .create") { _ = try cache.open(path: path, options: [.exclusive]) }
            expectInvalid(".truncate needs .readWrite") { _ = try cache.open(path: path, .readOnly, options: [.create, .truncate]) }
            expectInvalid("bits outside 0o7777") { _ = try cache.open(path: path, permissions: FilePermissions(rawValue: 0o170644)) }
            expectInvalid("unknown option bits 0x8") { _ = try cache.open(path: path, options: OpenOptions(rawValue: 9)) }
            expectInvalid("empty file path") { _ = try cache.open(path: "") }
            expectInvalid("empty file path") { _ = try cache.open(FilePath("")) }
            expectInvalid("read-only POSIXBackend") {
                _ = try cache.open(backend: POSIXBackend(path: dir + "/ro-backend", mode: .readOnly, options: [.create]), mode: .readWrite)
            }
            // Nothing was created by the rejected opens.
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func exclusiveFailsOnAnExistingOrOpenFile() throws {
        try withDirectory { dir in
            let cache = try cache()
            let path = dir + "/once"
            let first = try cache.open(path: path, options: [.create, .exclusive])
            try first.write([1], at: 0)
            // Open in this cache: the system call fails first, as on disk.
            #expect(throws: FolioError.openFailed(path: path, errno: .fileExists)) { _ = try cache.open(path: path, options: [.create, .exclusiveCreate]) }
            try first.close()
            #expect(throws: FolioError.openFailed(path: path, errno: .fileExists)) { _ = try cache.open(FilePath(path), options: [.create, .exclusive]) }
            #expect(throws: FolioError.openFailed(path: dir + "/absent", errno: .noSuchFileOrDirectory)) { _ = try cache.open(path: dir + "/absent", options: []) }
        }
    }

    @Test func createdFilesGetThePermissionsAsked() throws {
        try withDirectory { dir in
            let cache = try cache()
            let old = umask(0o022)
            defer { umask(old) }
            for (name, permissions, expected) in [("a", FilePermissions.ownerReadWrite, 0o600), ("b", OpenOptions.defaultPermissions, 0o644),
                                                  ("c", [.ownerReadWriteExecute, .groupRead], 0o740)] as [(String, FilePermissions, Int)] {
                let file = try cache.open(FilePath(dir).appending(name), options: [.create], permissions: permissions)
                try file.close()
                var st = stat()
                #expect(stat(dir + "/" + name, &st) == 0)
                #expect(Int(st.st_mode & 0o7777) == expected, "\(name): mode 0o\(String(st.st_mode & 0o7777, radix: 8))")
            }
            // An existing file keeps its permissions.
            let again = try cache.open(path: dir + "/a", options: [.create], permissions: [.ownerReadWriteExecute, .otherReadWriteExecute])
            try again.close()
            var st = stat()
            #expect(stat(dir + "/a", &st) == 0 && st.st_mode & 0o7777 == 0o600)
        }
    }

    /// The join rules (`OpenOptions`): read-only joins read-write; read-write
    /// does not join read-only-only (its descriptor cannot write back: a
    /// joined read-write handle's flush would fail with EBADF).
    @Test(arguments: testedStrategies)
    func modesCombineWhenOpensJoin(_ kind: LockStrategyKind) throws {
        try withDirectory { dir in
            let cache = try cache(kind)
            let path = dir + "/joined"
            let writer = try cache.open(path: path)
            try writer.write([1, 2, 3], at: 0)
            let reader = try cache.open(FilePath(path), .readOnly, options: [])
            #expect(try reader.read(count: 3, at: 0) == [1, 2, 3], "\(kind): the read-only handle did not join")
            #expect(throws: FolioError.readOnlyFile(path: path, operation: "write")) { try reader.write([0], at: 0) }
            try writer.write([4], at: 3)
            #expect(try reader.read(count: 4, at: 0) == [1, 2, 3, 4])
            try reader.close()
            try writer.sync()
            try writer.close()

            // Read-only first: a read-write open is refused, typed, and works
            // once the read-only handles are closed.
            let onlyReader = try cache.open(path: path, .readOnly, options: [])
            #expect(throws: FolioError.readOnlyFile(path: path, operation: "open read-write")) { _ = try cache.open(path: path) }
            #expect(throws: FolioError.readOnlyFile(path: path, operation: "open read-write")) { _ = try cache.open(path: path, options: [.truncate]) }
            #expect(try onlyReader.read(count: 4, at: 0) == [1, 2, 3, 4], "\(kind): a refused open changed the file")
            let secondReader = try cache.open(path: path, .readOnly, options: [])
            try onlyReader.close()
            try secondReader.close()
            let writable = try cache.open(path: path)
            try writable.write([5], at: 4)
            try writable.flush()
            try writable.close()
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == [1, 2, 3, 4, 5])
        }
    }

    @Test func aMemoryBackendCanBeOpenedReadOnly() throws {
        let cache = try cache()
        let backend = MemoryBackend(path: "mem", contents: [7, 7], identity: FileIdentity(device: 1, inode: 42))
        let file = try cache.open(backend: backend, mode: .readOnly)
        #expect(try file.read(count: 2, at: 0) == [7, 7])
        #expect(throws: FolioError.readOnlyFile(path: "mem", operation: "truncate")) { try file.truncate(to: 0) }
        #expect(throws: FolioError.readOnlyFile(path: "mem", operation: "open read-write")) { _ = try cache.open(backend: backend) }
        try file.close()
        let writable = try cache.open(backend: backend)
        #expect(writable.mode == .readWrite)
        try writable.write([8], at: 0)
        try writable.close()
        #expect(backend.contents == [8, 7])
    }

    @Test func ioErrorsCarryErrno() throws {
        try withDirectory { dir in
            let cache = try cache()
            let path = dir + "/missing/file"
            do throws(FolioError) {
                _ = try cache.open(path: path)
                Issue.record("opened a file in a missing directory")
            } catch {
                #expect(error == .openFailed(path: path, errno: .noSuchFileOrDirectory))
                #expect(error.errno == .noSuchFileOrDirectory && error.errno?.rawValue == ENOENT)
                #expect(error.description == "cannot open '\(path)': No such file or directory (errno \(ENOENT))")
            }
            #expect(FolioError.closed(path: "x").errno == nil)
            let io = FolioError.io(operation: "pwrite", path: "f", offset: 8, errno: .noSpace)
            #expect(io.errno?.rawValue == ENOSPC && io.description == "pwrite failed on 'f' at offset 8: No space left on device (errno \(ENOSPC))")
        }
    }
}
