#!/usr/bin/env bash
# The long run of the hostile-input fuzz test (CI runs 3000 cases per generator with seed 0).
# Usage: bash bench/fuzz.sh [CASES] [SEED]   e.g. bash bench/fuzz.sh 200000 7
# Each generator feeds CASES mutated FlightData / JSON / IPC headers to the decoders, then to a live
# server, which must answer every one with an error status, stay up and keep its data unchanged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npm run build
HANGAR_FUZZ_CASES="${1:-100000}" HANGAR_FUZZ_SEED="${2:-$RANDOM}" \
  npx vitest run tests/e2e/hostile-input.test.ts --testTimeout=0 --hookTimeout=0
