#!/usr/bin/env bash
# The whole test suite from scratch: a virtual environment with every requirement, Debian's Chromium
# for the browser tests, then pytest. Re-running it reuses what is already installed.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
.venv/bin/pip install -q --disable-pip-version-check -r requirements-scale.txt  # Ray Tune, for tests/test_sweep.py
if [ ! -x /usr/bin/chromium ]; then
  SUDO=$([ "$(id -u)" = 0 ] && echo "" || echo sudo)
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium chromium-driver
fi
exec .venv/bin/python -m pytest -q "$@"
