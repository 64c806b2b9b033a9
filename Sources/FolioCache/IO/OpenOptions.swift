import SystemPackage

/// Whether a handle may change its file: the access part of `open`, as
/// `FileDescriptor.AccessMode` (there is no write-only mode: a cache reads
/// the rest of a page it writes partly).
public enum FileAccessMode: Sendable, Hashable, CustomStringConvertible {
    /// Reads only: `write`, `truncate`, `discardUnwrittenChanges` and
    /// read-write views throw `FolioError.readOnlyFile`. The file is opened
    /// `O_RDONLY`, so it needs only read permission.
    case readOnly
    /// Reads and writes (`O_RDWR`).
    case readWrite

    /// `read-only` or `read-write`.
    public var description: String { self == .readOnly ? "read-only" : "read-write" }
}

/// How `open` treats the file's existence and contents, as
/// `FileDescriptor.OpenOptions` spells them (`O_CREAT`, `O_TRUNC`,
/// `O_EXCL`).
///
/// How they combine with the access mode and with a file this cache has
/// open already (whose second open joins its mapping):
///
/// | options | the file does not exist | it exists | it is open in this cache |
/// |---|---|---|---|
/// | `[]` | `openFailed(.noSuchFileOrDirectory)` | opened | joined |
/// | `.create` | created with `permissions` | opened (permissions untouched) | joined |
/// | `[.create, .exclusive]` | created | `openFailed(.fileExists)` | `openFailed(.fileExists)` |
/// | `.truncate` (+ `.create`) | (created) | emptied | joined, then emptied through the cache (every handle sees size 0) |
///
/// Rejected with `FolioError.invalidArgument` before any system call:
/// `.exclusive` without `.create` (POSIX leaves it undefined), `.truncate`
/// with `.readOnly` (likewise), permission bits outside `0o7777`, unknown
/// option bits, an empty path. A `.readWrite` open of a file this cache has
/// open `.readOnly` only throws `FolioError.readOnlyFile` (its mapping's
/// one descriptor cannot write); a `.readOnly` open of a file open
/// read-write joins it as a read-only handle.
public struct OpenOptions: OptionSet, Sendable, Hashable {
    /// The option bits (Folio's own: 1 create, 2 truncate, 4 exclusive; not
    /// the `O_` flag values).
    public var rawValue: Int
    /// The options of the bits `rawValue` (unknown bits are rejected by `open`).
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Create the file if it does not exist (`O_CREAT`), with the open's
    /// permissions.
    public static let create = OpenOptions(rawValue: 1)
    /// Empty the file on open (`O_TRUNC`); read-write opens only.
    public static let truncate = OpenOptions(rawValue: 2)
    /// With `.create`: fail with `.fileExists` if the file exists (`O_EXCL`).
    public static let exclusive = OpenOptions(rawValue: 4)
    /// `exclusive`, as swift-system names it.
    public static var exclusiveCreate: OpenOptions { .exclusive }

    static let known: OpenOptions = [.create, .truncate, .exclusive]

    /// The permissions of a file `open` creates unless told otherwise:
    /// `rw-r--r--` (0o644, before the process's umask).
    public static let defaultPermissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]

    /// Throws `invalidArgument` for a combination `open` does not take (the
    /// table above): the one check every open path calls.
    func validate(path: String, mode: FileAccessMode, permissions: FilePermissions) throws(FolioError) {
        guard !path.isEmpty else { throw .invalidArgument("empty file path") }
        if !OpenOptions.known.isSuperset(of: self) {
            throw .invalidArgument("open of '\(path)': unknown option bits 0x\(String(rawValue & ~OpenOptions.known.rawValue, radix: 16))")
        }
        if contains(.exclusive) && !contains(.create) {
            throw .invalidArgument("open of '\(path)': .exclusive needs .create")
        }
        if contains(.truncate) && mode == .readOnly {
            throw .invalidArgument("open of '\(path)': .truncate needs .readWrite")
        }
        if permissions.rawValue & ~0o7777 != 0 {
            throw .invalidArgument("open of '\(path)': permissions 0o\(String(permissions.rawValue, radix: 8)) have bits outside 0o7777")
        }
    }
}
