// liblz4's frame format (lz4frame.h), for the benchmark that compared its
// XXH32 block checksum with the XXH3-64 CompressedBlock uses
// (CompressionBenchmarks; docs/performance.md, "Compressed blocks").
// The engine does not use the frame format.
#include <lz4frame.h>
