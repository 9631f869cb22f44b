#!/usr/bin/env bash
# The package as a user gets it: build the sdist and the wheel (python -m build), install the wheel into a
# fresh virtual environment, and from an empty folder run nudge info, nudge generate and nudge serve (ready,
# one ping and one generate answered over UDP) on the model inside the wheel (scripts/wheel_smoke.py).
# Usage: bash scripts/wheel_check.sh   (scripts/test.sh runs it after the test suite)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
# nothing of the source tree may be found, from the build to the smoke test: a PYTHONPATH naming a checkout
# (as the team's worktrees set it) shows its nudge.egg-info to the venv's pip, which then takes the wheel
# for installed already and installs nothing of it
unset PYTHONPATH
work="$(mktemp -d "${TMPDIR:-/tmp}/nudge-wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== python -m build (sdist, then the wheel from it)"
python3 -m build --outdir "$work/dist" . > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; exit 1; }
wheel="$(ls "$work"/dist/nudge-*.whl)"
echo "   $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

echo "== a fresh venv with the wheel (runtime dependencies only)"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --disable-pip-version-check "$wheel"

echo "== nudge info, generate and serve from an empty folder"
mkdir "$work/empty"
cd "$work/empty"
# and the checks run where no companion/ lies
PATH="$work/venv/bin:$PATH" "$work/venv/bin/python" "$root/scripts/wheel_smoke.py"
