#!/usr/bin/env bash
# Runs the benchmarks: ensures the interop venv and a fresh build, then bench/put_get.py (put/get),
# bench/sql_queries.py (W3 SQL latency, W4 resample) and bench/sql_bridge.mjs (DuckDB→Arrow rows/s).
# --rows N and --runs N pass through to each, e.g. the quick mode:  bash bench/run.sh --rows 200000 --runs 1
# Results go to bench/results/{put-get,sql,sql-bridge}.json.
# Environment: HANGAR_INTEROP_VENV (venv location, default <repo>/.venv-interop), as tests/interop.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${HANGAR_INTEROP_VENV:-$root/.venv-interop}"

if [[ -f tests/interop/setup-venv.sh ]]; then
  bash tests/interop/setup-venv.sh
elif [[ ! -x "$venv/bin/python" ]]; then
  echo "bench: creating $venv from tests/interop/requirements.txt" >&2
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r tests/interop/requirements.txt
fi

npm run build

mkdir -p bench/results
"$venv/bin/python" bench/put_get.py --json bench/results/put-get.json "$@"
"$venv/bin/python" bench/sql_queries.py --json bench/results/sql.json "$@"
# The bridge runs inside the server, so it is measured with the flags `npm start` gives node.
node_flags="$(node -p "require('./package.json').scripts.start.split(' ').filter((word) => word.startsWith('--')).join(' ')")"
# shellcheck disable=SC2086
node --expose-gc $node_flags bench/sql_bridge.mjs --json bench/results/sql-bridge.json "$@"
