#!/usr/bin/env bash
# `npm run bench:compare`: Hangar, shoots and a bare pyarrow Flight server side by side
# (bench/compare.py). Ensures the interop venv (pyarrow, shoots) and a fresh build, then runs the
# harness with any arguments given, e.g. the smoke run:  npm run bench:compare -- --quick
# Full run: bench/results/compare.json and docs/images/compare.svg.
# Environment: HANGAR_INTEROP_VENV (venv location, default <repo>/.venv-interop), as tests/interop.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${HANGAR_INTEROP_VENV:-$root/.venv-interop}"

bash tests/interop/setup-venv.sh
# W8's ArcticDB anchor runs in its own venv; without it W8 records ArcticDB as skipped.
bash bench/setup-arcticdb-venv.sh || echo "bench:compare: no ArcticDB venv (bench/setup-arcticdb-venv.sh failed); W8 runs Hangar alone" >&2
npm run build
exec "$venv/bin/python" bench/compare.py "$@"
