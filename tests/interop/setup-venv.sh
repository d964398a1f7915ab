#!/usr/bin/env bash
# Creates or updates the interop virtualenv (default /work/main/.venv-interop, i.e. <repo>/.venv-interop)
# from tests/interop/requirements.txt. Idempotent: a stamp holding a hash of the requirements and
# the interpreter version lets an up-to-date venv return at once without running pip.
#
# Environment: PYTHON (interpreter used to create the venv, default python3),
#              HANGAR_INTEROP_VENV (venv location).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${HANGAR_INTEROP_VENV:-$root/.venv-interop}"
requirements="$here/requirements.txt"
stamp="$venv/.hangar-requirements.sha256"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "setup-venv: '$python' not found; install Python 3 (3.9-3.12) or set PYTHON" >&2
  exit 1
fi

# The wanted state: the requirements file plus the interpreter that builds the venv.
# The Python client (clients/python) is installed too, so its sources are part of the wanted state.
client="$root/clients/python"
wanted="$( { cat "$requirements"; "$python" -c 'import sys; print(sys.version)';
             find "$client" -type f \( -name '*.py' -o -name '*.toml' -o -name 'py.typed' \) -not -path '*/build/*' | LC_ALL=C sort | xargs cat; } \
           | sha256sum | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]] \
   && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  exit 0
fi

if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1 \
   && [[ "$("$venv/bin/python" -c 'import sys; print(sys.version)')" == "$("$python" -c 'import sys; print(sys.version)')" ]]; then
  echo "setup-venv: updating $venv from $requirements" >&2
else
  echo "setup-venv: creating $venv with $("$python" --version 2>&1)" >&2
  "$python" -m venv --clear "$venv"
fi

"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$requirements"
# hangar-client as users install it (not editable); its dependencies are pinned above.
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q --no-deps --force-reinstall "$client"
rm -f "$stamp"
printf '%s\n' "$wanted" > "$stamp"
echo "setup-venv: $venv is up to date" >&2
