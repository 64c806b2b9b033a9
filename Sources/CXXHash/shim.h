// System libxxhash (apt: libxxhash-dev), for XXH3-64: the checksum of
// compressed blocks (Sources/FolioCache/Compression/CompressedBlock.swift).
// Linked as a shared library, not XXH_INLINE_ALL: the hash stays xxHash's own
// code, built and updated by the distribution.
#include <xxhash.h>
