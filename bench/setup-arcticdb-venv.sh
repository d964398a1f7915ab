#!/usr/bin/env bash
# Creates the venv bench/compare.py runs ArcticDB in (default <repo>/.venv-bench-arcticdb): ArcticDB
# 6.28 on LMDB, in-process, the second anchor of issue 23's small operations. Kept apart from the
# interop venv (tests/interop/requirements.txt) so CI never downloads ArcticDB's ~100 MB wheel, and
# pinned to the interop venv's pyarrow/pandas/numpy so both venvs build the same frame.
# Idempotent: returns at once when the venv imports arcticdb. Environment: PYTHON, HANGAR_ARCTICDB_VENV.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${HANGAR_ARCTICDB_VENV:-$root/.venv-bench-arcticdb}"
python="${PYTHON:-python3}"
if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import arcticdb, pyarrow' >/dev/null 2>&1; then
  exit 0
fi
"$python" -m venv --clear "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
  arcticdb==6.28.2 pyarrow==17.0.0 pandas==2.2.3 numpy==1.26.4
echo "setup-arcticdb-venv: $venv is up to date" >&2
