#!/usr/bin/env bash
# The long run of the versions crash test: kill -9 a real server during commits, compactions and
# vacuums, TRIALS times (default 50), then check no committed version was lost.
#   bash bench/crash_versions.sh [TRIALS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
HANGAR_CRASH_TRIALS="${1:-50}" HANGAR_CRASH_SEED="${2:-1}" npx vitest run tests/e2e/versions-crash.test.ts
