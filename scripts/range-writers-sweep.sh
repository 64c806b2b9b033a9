#!/bin/sh
# Interleaved repeats of `folio-load run --workload range-writers` for two
# builds (before/after) and the strategies that allow parallel writers, one
# JSON line per (build, repeat, strategy) in $OUT. Each invocation holds the
# exclusive CPU lock on its own (a few seconds). Until `run --repeat N` lands.
# Usage: scripts/range-writers-sweep.sh OUT REPEATS BUILD=path/to/folio-load ...
set -e
OUT=$1; REPEATS=$2; shift 2
: > "$OUT"
for r in $(seq 1 "$REPEATS"); do
  for b in "$@"; do
    name=${b%%=*}; bin=${b#*=}
    for s in per-range per-inode per-page-bit hybrid-fair; do
      j=$(flock -x /tmp/folio-cpu.lock "$bin" run --workload range-writers --strategy "$s" --threads 1,2 --duration 500ms --format json)
      printf '{"build":"%s","repeat":%s,"report":%s}\n' "$name" "$r" "$j" >> "$OUT"
    done
  done
done
