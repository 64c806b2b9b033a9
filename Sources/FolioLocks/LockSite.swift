#if DebugLocks
/// Where a lock was taken or released: the `#fileID` and `#line` of the call
/// that did it, for the lock checker's reports (`LockDep`).
///
/// With the `DebugLocks` trait off, `LockSite` is an empty struct: every
/// lock operation takes one, but an empty struct is passed in no register and
/// the inlined operations never look at it, so it costs nothing (measured in
/// docs/performance.md, "Debug locks"). The convenience forms of the lock
/// operations (`lock()`, `lockFolio(_:)`, …) then have no site parameters at
/// all; with the trait on they gain `file: StaticString = #fileID, line: UInt
/// = #line` defaults, so every call site names itself without being edited.
public struct LockSite: Sendable, CustomStringConvertible {
    /// The `#fileID` of the call.
    public let file: StaticString
    /// The line of the call.
    public let line: UInt

    /// The site `file`:`line`, by default the caller's.
    @inlinable public init(file: StaticString = #fileID, line: UInt = #line) {
        self.file = file
        self.line = line
    }

    /// `file:line`.
    public var description: String { "\(file):\(line)" }
}
#else
/// Where a lock was taken or released: an empty value, since the `DebugLocks`
/// trait is off (with it, the call's `#fileID` and `#line`).
@frozen public struct LockSite: Sendable {
    /// The (empty) site.
    @inlinable @inline(__always) public init() {}
}
#endif

#if DebugLocks
/// A *lock class* in the sense of Linux lockdep: one per kind of lock (every
/// folio lock is of class "folio", every file's invalidate lock of class
/// "invalidate"), so that an order learned on one instance holds for all of
/// them. The checker learns edges between classes and reports a cycle.
///
/// A lock that is given no class gets the class of the place it was created
/// (lockdep's static key per `spin_lock_init` site): every `ShortLock()`
/// written at one line of one file is one class.
///
/// With the `DebugLocks` trait off it is an empty struct and no lock stores it.
public struct LockClass: Sendable, Hashable, CustomStringConvertible {
    /// Index in the checker's class registry.
    public let id: Int

    /// The class named `name`, registered on first use (one class per name).
    public init(_ name: String) {
        id = LockDep.registerClass(name)
    }

    /// The class of locks created at `file`:`line` (for locks given none).
    public init(createdAt file: StaticString, line: UInt, kind: String) {
        self.init("\(kind)@\(file):\(line)")
    }

    /// The name the class was registered with.
    public var name: String { LockDep.className(id) }
    /// The class's name.
    public var description: String { name }
}
#else
/// A *lock class* in the sense of Linux lockdep: an empty value, since the
/// `DebugLocks` trait is off, and no lock stores it.
@frozen public struct LockClass: Sendable {
    /// The (empty) class.
    @inlinable @inline(__always) public init() {}
}
#endif

/// The classes of the locks inside FolioLocks itself.
extension LockClass {
    #if DebugLocks
    /// A parking-lot bucket's word lock (a leaf: nothing is taken under it).
    public static let parkingLotBucket = LockClass("parking-lot bucket")
    /// A range lock's internal list lock (under it: only bucket locks).
    public static let rangeLockList = LockClass("range-lock list")
    #else
    /// A parking-lot bucket's word lock (a leaf: nothing is taken under it).
    @inlinable public static var parkingLotBucket: LockClass { LockClass() }
    /// A range lock's internal list lock (under it: only bucket locks).
    @inlinable public static var rangeLockList: LockClass { LockClass() }
    #endif
}

/// Whether this build checks its locks (the `DebugLocks` trait): for tools and
/// benchmarks, which cannot see another package's traits at compile time.
public enum LockChecking {
    #if DebugLocks
    /// True: this build has the `DebugLocks` trait.
    public static var isEnabled: Bool { true }
    #else
    /// False: this build does not have the `DebugLocks` trait.
    public static var isEnabled: Bool { false }
    #endif
}
