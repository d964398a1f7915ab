#!/usr/bin/env bash
# Same-run A/B of the S3 conformance case "reads every version of a random history back exactly, by
# number and by instant, also after vacuum" (moto and s3rver) between two checkouts, interleaved:
# A = OLD under its default layout, B = NEW under its default, M = NEW with HANGAR_LAYOUT=manifest
# (the reference). Issue 20: the Delta log's expired-marker cache (docs/open-format.md, "Cost").
#   bash bench/delta_history_ab.sh /tmp/old-checkout /work/main 3
# OLD needs node_modules and .venv-interop (symlinks to NEW's are fine). Prints one line per run and
# the medians per configuration and S3 server, in seconds.
set -euo pipefail
old=${1:?old checkout}
new=${2:?new checkout}
rounds=${3:-3}
out=$(mktemp -d)
run() { # label dir env...
  local label=$1 dir=$2
  shift 2
  (cd "$dir" && env "$@" npx vitest run tests/conformance/s3-connectors.test.ts -t 'random history' --testTimeout 600000 \
    --reporter=json --outputFile="$out/$label-$round.json" >/dev/null 2>&1) || echo "run $label $round failed" >&2
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const f of r.testResults) for (const a of f.assertionResults)
      if (a.status === "passed") console.log(process.argv[2], a.ancestorTitles[0], (a.duration / 1000).toFixed(1), "s");
      else if (a.status !== "skipped" && a.status !== "pending") console.log(process.argv[2], a.ancestorTitles[0], a.status);
  ' "$out/$label-$round.json" "$label" | tee -a "$out/all.txt"
}
for round in $(seq 1 "$rounds"); do
  echo "round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
  run A "$old" HANGAR_LAYOUT=
  run B "$new" HANGAR_LAYOUT=
  run M "$new" HANGAR_LAYOUT=manifest
done
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
  const groups = new Map();
  for (const [label, ...rest] of rows) {
    const seconds = Number(rest.at(-2));
    if (!Number.isFinite(seconds)) continue;
    const key = `${label} ${rest.slice(0, -2).join(" ")}`;
    groups.set(key, [...(groups.get(key) ?? []), seconds]);
  }
  for (const [key, values] of [...groups].sort()) {
    const sorted = values.sort((a, b) => a - b);
    console.log(`${key}: median ${sorted[Math.floor(sorted.length / 2)]} s of [${sorted.join(", ")}]`);
  }
' "$out/all.txt"
