#!/usr/bin/env bash
# The long run of the crash trials: TRIALS (default 1000) kill -9 trials per store, the same code
# CI runs 50 times per store (tests/crash/*-crash-trials.test.ts). Reports, per store, the trials
# run, the operations acknowledged, lost acknowledged writes (must be 0), phantom and torn data
# found (must be 0) and where the kills landed; merges them into bench/results/crash-trials.json.
#   bash bench/crash_trials.sh [TRIALS] [STORE...]     STORE: local (default), s3, sqlite
#   HANGAR_CRASH_SEED=N picks another seed (default 2; CI runs seed 1).
set -euo pipefail
cd "$(dirname "$0")/.."
trials="${1:-1000}"
shift || true
stores=("$@")
[[ ${#stores[@]} -gt 0 ]] || stores=(local)
seed="${HANGAR_CRASH_SEED:-2}"

npm run build --silent
for store in "${stores[@]}"; do
  [[ -f "tests/crash/$store-crash-trials.test.ts" ]] || { echo "crash_trials: unknown store '$store' (local, s3, sqlite)" >&2; exit 2; }
  [[ "$store" != s3 ]] || bash tests/interop/setup-venv.sh
done

reports="$(mktemp -d)"
trap 'rm -rf "$reports"' EXIT
status=0
for store in "${stores[@]}"; do
  echo "crash_trials: $trials trials on the $store store (seed $seed)" >&2
  HANGAR_CRASH_TRIALS="$trials" HANGAR_CRASH_SEED="$seed" HANGAR_CRASH_REPORT="$reports" \
    npx vitest run "tests/crash/$store-crash-trials.test.ts" || status=1
done

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
node --input-type=module - "$reports" bench/results/crash-trials.json "$commit" <<'JS'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
const [reports, results, commit] = process.argv.slice(2);
const merged = existsSync(results) ? JSON.parse(readFileSync(results, 'utf8')) : { stores: {} };
for (const file of readdirSync(reports)) {
  const report = JSON.parse(readFileSync(`${reports}/${file}`, 'utf8'));
  merged.stores[report.store] = { ...report, date: new Date().toISOString(), node: process.version, commit };
}
writeFileSync(results, `${JSON.stringify(merged, null, 2)}\n`);
console.log('store    trials  acknowledged  lost  phantom  torn  unexpected  in-flight committed/discarded  s/trial');
for (const [store, r] of Object.entries(merged.stores)) {
  console.log([store.padEnd(8), String(r.trials).padStart(6), String(r.acknowledged).padStart(13), String(r.lost).padStart(5),
    String(r.phantom).padStart(8), String(r.torn).padStart(5), String(r.unexpectedErrors).padStart(11),
    `${r.inFlightCommitted}/${r.inFlightDiscarded}`.padStart(31), (r.elapsedMs / 1000 / Math.max(1, r.trials)).toFixed(2).padStart(8)].join(' '));
}
console.log(`written to ${results}`);
JS
exit "$status"
