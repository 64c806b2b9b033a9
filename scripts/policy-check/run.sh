#!/usr/bin/env bash
# Folio's eviction policies vs libCacheSim's reference implementations, on
# identical request sequences (docs/eviction.md). From anywhere:
#
#     scripts/policy-check/run.sh [policy_check.py options]   # e.g. --sizes 0.01,0.1 --workloads zipf-0.99
#
# 1. creates .venv-lcs in the repo root (gitignored) with libcachesim 0.3.5 and numpy;
# 2. builds Benchmarks/PolicySim in release mode (Benchmarks/.build);
# 3. runs policy_check.py: generates the traces, runs both sides, prints the
#    table; exits 1 if a policy is more than 0.5 percentage points off.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.venv-lcs"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
# Pinned: the trace generator's output depends on numpy's Generator.
"$VENV/bin/pip" install --quiet --disable-pip-version-check libcachesim==0.3.5 numpy==2.4.6

swift build -c release --package-path "$ROOT/Benchmarks" --product PolicySim
SIM="$(swift build -c release --package-path "$ROOT/Benchmarks" --show-bin-path)/PolicySim"

exec "$VENV/bin/python" "$ROOT/scripts/policy-check/policy_check.py" --sim "$SIM" "$@"
