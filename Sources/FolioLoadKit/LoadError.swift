/// Errors of the load tool, each mapped to an exit status.
public enum LoadError: Error, Equatable, CustomStringConvertible {
    /// Bad arguments, job file or configuration: exit status 2.
    case badArgument(String)
    /// The workload cannot run in this build: exit status 2.
    case unavailable(String)
    /// A verifying workload found a bad page: exit status 1.
    case verificationFailed(String)
    /// The engine failed (I/O error…): exit status 1.
    case engine(String)
    /// `--data text` on a machine whose corpus files differ from the ones
    /// the tool knows: exit status 2 (nothing was run).
    case corpus(TextCorpusError)

    public var exitStatus: Int32 {
        switch self {
        case .badArgument, .unavailable, .corpus: 2
        case .verificationFailed, .engine: 1
        }
    }

    public var description: String {
        switch self {
        case .badArgument(let s): "error: \(s)"
        case .unavailable(let s): "error: \(s)"
        case .verificationFailed(let s): "verification failed: \(s)"
        case .engine(let s): "error: \(s)"
        case .corpus(let e): "error: --data text: \(e)"
        }
    }
}
