#!/usr/bin/env bash
# Install what the test suite needs, then run it all: pytest (Python), node --test (Max for Live JS), and the
# package as a user gets it (scripts/wheel_check.sh: the wheel in a fresh venv, run from an empty folder).
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v jackd >/dev/null 2>&1 || need_apt+=(jackd2)
# the audio tests render General MIDI with fluidsynth and Debian's small GM SoundFont (6 MB)
command -v fluidsynth >/dev/null 2>&1 || need_apt+=(fluidsynth)
[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || need_apt+=(timgm6mb-soundfont)
if [ ${#need_apt[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

echo "== installing Python packages"
python3 -m pip install -q --disable-pip-version-check -e '.[train,dev,audio]'

echo "== mypy (companion/ with disallow_untyped_defs; pyproject.toml [tool.mypy])"
python3 -m mypy

echo "== pytest"
export NUDGE_REQUIRE_JACK=1  # CI installs jackd2 above: a missing JACK must fail, not skip
export NUDGE_REQUIRE_AUDIO=1  # and the audio extra, fluidsynth and a SoundFont: their tests must run
set +e
python3 -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
[ "$rc" -eq 0 ] || exit "$rc"

if [ -d max_for_live/tests ] && ls max_for_live/tests/*.test.js >/dev/null 2>&1; then
  echo "== npm ci (the JavaScript tests' own dependency: acorn, to check the scripts are ES5)"
  (cd max_for_live && npm ci --no-audit --no-fund --silent)
  echo "== node --test (Max for Live JavaScript)"
  NUDGE_REQUIRE_ACORN=1 node --test max_for_live/tests/
fi

echo "== the wheel, installed in a fresh venv, from an empty folder"
bash scripts/wheel_check.sh
