import FolioLocks
import SystemPackage

extension PageCache {
    /// Opens the file at `path` — by default read-write, creating it with
    /// `permissions` (0o644) if it does not exist — as `FileDescriptor.open`
    /// does (`mode`, `options`, `permissions`; how they combine:
    /// `OpenOptions`).
    ///
    /// A file this cache has open already — the same device and inode,
    /// whatever the path — gets a new handle of the same mapping (every
    /// handle sees every other's writes; the last `close()` closes it).
    /// `.truncate` truncates the file to 0 through the cache once it is open
    /// (a shared file's other handles see size 0). A
    /// `.readOnly` handle may join a read-write mapping; a `.readWrite` open
    /// of a file open only read-only throws `FolioError.readOnlyFile`.
    ///
    /// ```swift
    /// let log = try cache.open("/var/data/log", .readWrite, options: [.create, .exclusive], permissions: .ownerReadWrite)
    /// let ro = try cache.open("/var/data/blob", .readOnly, options: [])
    /// ```
    public func open(_ path: FilePath, _ mode: FileAccessMode = .readWrite, options: OpenOptions = [.create],
                     permissions: FilePermissions = OpenOptions.defaultPermissions) throws(FolioError) -> CachedFile<Strategy> {
        try open(posix: path.string, mode, options, permissions)
    }

    /// `open(_:_:options:permissions:)` with the path as a `String`.
    public func open(path: String, _ mode: FileAccessMode = .readWrite, options: OpenOptions = [.create],
                     permissions: FilePermissions = OpenOptions.defaultPermissions) throws(FolioError) -> CachedFile<Strategy> {
        try open(posix: path, mode, options, permissions)
    }

    func open(posix path: String, _ mode: FileAccessMode, _ options: OpenOptions, _ permissions: FilePermissions) throws(FolioError) -> CachedFile<Strategy> {
        try checkNotShutDown()
        try options.validate(path: path, mode: mode, permissions: permissions)
        // `.truncate` is done through the cache once the open has succeeded
        // (not by `O_TRUNC`): an open that is then refused — a read-write
        // open of a file open read-only — must leave the file as it was,
        // and a joined mapping's cached pages must go with the bytes.
        let backend = try POSIXBackend(opening: path, mode: mode, options: options.subtracting(.truncate), permissions: permissions,
                                       systemCalls: .live)
        let (file, _) = try openReportingJoin(backend: backend, mode: mode)
        if options.contains(.truncate) {
            do throws(FolioError) {
                try file.truncate(to: 0)
            } catch {
                try? file.close()
                throw error
            }
        }
        return file
    }

    /// Opens a file through any backend (for example `MemoryBackend` in
    /// tests). A backend with an `identity` this cache has open already
    /// joins that file's mapping (the backend is then closed: the mapping
    /// keeps its own). `mode` nil: the backend's (`POSIXBackend.mode`;
    /// read-write for other backends); `.readWrite` over a read-only
    /// `POSIXBackend` throws `invalidArgument`.
    public func open(backend: any IOBackend, mode: FileAccessMode? = nil) throws(FolioError) -> CachedFile<Strategy> {
        let backendMode = (backend as? POSIXBackend)?.mode ?? .readWrite
        let mode = mode ?? backendMode
        if mode == .readWrite && backendMode == .readOnly {
            throw .invalidArgument("open of '\(backend.path)': a read-write handle over a read-only POSIXBackend")
        }
        return try openReportingJoin(backend: backend, mode: mode).file
    }

    func openReportingJoin(backend: any IOBackend, mode: FileAccessMode) throws(FolioError) -> (file: CachedFile<Strategy>, joined: Bool) {
        if isShutDown {
            // The cache takes the backend (as when it joins a mapping): a
            // refused open closes it, so no descriptor is left behind.
            try? backend.close()
            throw .shutDown
        }
        let opened = try openUnchecked(backend: backend, mode: mode)
        // A shutdown that began meanwhile may have listed the open files
        // before this one registered (it set its flag first): close it again.
        if isShutDown {
            try? opened.file.close()
            throw .shutDown
        }
        logger.debug("opened", metadata: ["folio.path": "\(opened.file.path)", "folio.joined": "\(opened.joined)"])
        return opened
    }

    private func openUnchecked(backend: any IOBackend, mode: FileAccessMode) throws(FolioError) -> (file: CachedFile<Strategy>, joined: Bool) {
        let size = try backend.size()
        let make = { [self] in
            Mapping<Strategy>(backend: backend, pool: pool, pageSize: configuration.pageSize, initialSize: size,
                              maxFolioOrder: folioOrder, pageLock: strategy.makeMappingLock())
        }
        guard let identity = backend.identity else {
            let mapping = make()
            openFiles.register(mapping)
            return (CachedFile(cache: self, mapping: mapping, isHandle: true, mode: mode), false)
        }
        switch shared.join(identity, writable: mode == .readWrite, orMake: make) {
        case .created(let mapping):
            openFiles.register(mapping)
            return (CachedFile(cache: self, mapping: mapping, isHandle: true, mode: mode), false)
        case .joined(let mapping):
            // Nothing was written through this descriptor.
            try? backend.close()
            return (CachedFile(cache: self, mapping: mapping, isHandle: true, mode: mode), true)
        case .readOnlyMapping:
            try? backend.close()
            throw .readOnlyFile(path: backend.path, operation: "open read-write")
        }
    }
}
