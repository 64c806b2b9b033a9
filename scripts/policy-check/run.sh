#!/usr/bin/env bash
# Folio's eviction policies, replayed through the real engine (folio-load),
# vs libCacheSim's reference implementations on identical request sequences
# (docs/eviction.md). From anywhere:
#
#     scripts/policy-check/run.sh [policy_check.py options]
#     scripts/policy-check/run.sh --policies lru,sieve --workloads sprite,web12 --sizes 0.01,0.1
#     FOLIO_LOAD=/path/to/folio-load scripts/policy-check/run.sh
#     scripts/policy-check/run.sh --with-policysim     # also the old PolicySim columns (builds Benchmarks/)
#
# 1. creates .venv-lcs in the repo root (gitignored) with libcachesim 0.3.5 and numpy 2.4.6;
# 2. uses $FOLIO_LOAD if set, else builds folio-load (swift build -c release --product folio-load)
#    and uses .build/release/folio-load;
# 3. runs policy_check.py: writes the traces, runs both sides, prints the table;
#    exits 1 if a policy is more than 0.5 percentage points off libCacheSim's.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.venv-lcs"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
# Pinned: the trace generator's output depends on numpy's Generator.
"$VENV/bin/pip" install --quiet --disable-pip-version-check libcachesim==0.3.5 numpy==2.4.6

args=()
with_policysim=0
for a in "$@"; do
    if [ "$a" = "--with-policysim" ]; then with_policysim=1; else args+=("$a"); fi
done

if [ -z "${FOLIO_LOAD:-}" ]; then
    swift build -c release --package-path "$ROOT" --product folio-load
    FOLIO_LOAD="$(swift build -c release --package-path "$ROOT" --show-bin-path)/folio-load"
fi
export FOLIO_LOAD

if [ "$with_policysim" = 1 ]; then
    swift build -c release --package-path "$ROOT/Benchmarks" --product PolicySim
    args+=(--policysim "$(swift build -c release --package-path "$ROOT/Benchmarks" --show-bin-path)/PolicySim")
fi

exec "$VENV/bin/python" "$ROOT/scripts/policy-check/policy_check.py" --folio-load "$FOLIO_LOAD" ${args[@]+"${args[@]}"}
