#!/usr/bin/env bash
# Runs the put/get benchmark: ensures the interop venv and a fresh build, then bench/put_get.py.
# Arguments pass through, e.g. the quick mode:  bash bench/run.sh --rows 200000 --runs 1
# Results go to bench/results/put-get.json unless --json PATH is given.
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
exec "$venv/bin/python" bench/put_get.py --json bench/results/put-get.json "$@"
