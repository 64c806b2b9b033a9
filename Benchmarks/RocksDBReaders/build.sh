#!/usr/bin/env bash
# Builds rocksdb_readers (rocksdb_readers.cc) into OUT (default
# .build/rocksdb-readers/rocksdb_readers under the repository), only when
# Debian's librocksdb-dev is installed: `apt-get install librocksdb-dev`
# (7.8.3 on Debian 12). Exit status 3 when it is not. Never part of the
# Folio package build or `make test`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$(cd "$here/../.." && pwd)/.build/rocksdb-readers/rocksdb_readers}"
if ! dpkg-query -W -f='${Status}' librocksdb-dev 2>/dev/null | grep -q "install ok installed" \
    || [ ! -f /usr/include/rocksdb/cache.h ]; then
    echo "rocksdb_readers: librocksdb-dev is not installed (apt-get install -y librocksdb-dev); not built" >&2
    exit 3
fi
mkdir -p "$(dirname "$out")"
if [ ! -x "$out" ] || [ "$here/rocksdb_readers.cc" -nt "$out" ]; then
    "${CXX:-g++}" -std=c++17 -O2 -DNDEBUG -pthread -Wall -Wextra -o "$out" "$here/rocksdb_readers.cc" -lrocksdb
fi
echo "$out"
