#!/bin/sh
# The cost of the DebugLocks trait (docs/performance.md, "Debug locks"):
# uncontended lock + unlock pairs and the 4 KiB read hit, at a commit before
# the trait (a git worktree), and at this tree with the trait off and on,
# interleaved round by round. Results: one text file per round and variant in
# $OUT; summarise with scripts/debug-locks-summary.py $OUT.
#
#   git worktree add .build-wt-before 44aa6fa
#   cp Benchmarks/LockBenchmarks/LockBenchmarks.swift .build-wt-before/Benchmarks/LockBenchmarks/
#   scripts/debug-locks-bench.sh .build-wt-before /tmp/dl-bench 3        # rounds 1-3
#   ONLY=hits scripts/debug-locks-bench.sh .build-wt-before /tmp/dl-bench 4 4   # rounds 4-7
set -eu
BEFORE=$(cd "$1" && pwd)
OUT=$2
ROUNDS=${3:-3}
FIRST=${4:-1}  # number of the first round (to add rounds to an earlier run)
HERE=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"
LOCKS='^(Baseline: bare CAS acquire \+ store release|ShortLock lock \+ unlock.*|ReaderWriterLock exclusive lock.*|RangeLock exclusive.*|PerPageBit lockFolio \+ unlockFolio \(uncontended\)|HybridFair lockFolio \+ unlockFolio \(uncontended\)|PerInode lockPages.*|PerRange lockPages.*)$'
HITS='^((per-page-bit|hybrid-fair|per-inode|per-range) read 4 KiB hit|Baseline: pread 4 KiB.*)$'
# ONLY=locks or ONLY=hits runs one of the two groups.
ONLY=${ONLY:-both}
run() {  # variant dir scratch round env
    variant=$1; dir=$2; scratch=$3; r=$4
    if [ "$ONLY" != hits ]; then
        (cd "$dir/Benchmarks" && env $5 swift package --scratch-path "$scratch" benchmark --target LockBenchmarks \
            --filter "$LOCKS" --no-progress > "$OUT/$variant-locks-$r.txt" 2>&1)
    fi
    if [ "$ONLY" != locks ]; then
        (cd "$dir/Benchmarks" && env $5 swift package --scratch-path "$scratch" benchmark --target CacheBenchmarks \
            --filter "$HITS" --no-progress > "$OUT/$variant-hits-$r.txt" 2>&1)
    fi
}
for r in $(seq "$FIRST" $((FIRST + ROUNDS - 1))); do
    run before "$BEFORE" "$BEFORE/.build-bench" "$r" FOLIO_DEBUG_LOCKS=0
    run off "$HERE" "$HERE/.build-bench-off" "$r" FOLIO_DEBUG_LOCKS=0
    run on "$HERE" "$HERE/.build-bench-dl" "$r" FOLIO_DEBUG_LOCKS=1
done
