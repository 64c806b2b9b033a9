import FolioLoadKit
#if canImport(Glibc)
import Glibc
#endif

// folio-load: see docs/load-testing.md. Exit status: 0 success, 1 a failed
// verification or engine error, 2 bad arguments or an unavailable workload.
FolioLoad.installInterruptCleanup()
exit(FolioLoad.execute(Array(CommandLine.arguments.dropFirst())))
