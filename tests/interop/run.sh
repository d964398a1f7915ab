#!/usr/bin/env bash
# Runs the Python interop suite: stock pyarrow.flight and shoots clients against a real Hangar server.
# Usage: bash tests/interop/run.sh [pytest args]. Without arguments it runs the whole suite; paths
# are relative to tests/interop, e.g. `run.sh test_hostile.py -x` or `run.sh -k shoots`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${HANGAR_INTEROP_VENV:-$root/.venv-interop}"

bash "$here/setup-venv.sh"

if [[ ! -f "$root/dist/cli/main.js" ]]; then
  echo "run.sh: dist/ is missing; building the server" >&2
  (cd "$root" && npm run build)
fi

cd "$here"

# pytest exits non-zero on any failure or error (and 5 if it collected nothing).
exec "$venv/bin/python" -m pytest -q -rfE --tb=short -p no:cacheprovider --durations=5 \
  -c "$here/pytest.ini" --rootdir "$here" "$@"
