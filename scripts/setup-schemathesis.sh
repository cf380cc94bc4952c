#!/usr/bin/env bash
# Installs schemathesis (the contract fuzzer test/fuzz runs) from PyPI into the project's own
# virtual environment, .cache/schemathesis/venv (git-ignored), at the pinned version below.
# Idempotent: a warm run only checks that `st` reports the pinned version.
# Fails loudly with the reason: the suite never skips the fuzz run silently.
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.32.5
cache=${SCHEMATHESIS_CACHE_DIR:-$PWD/.cache/schemathesis}
venv=$cache/venv

fail() { echo "setup-schemathesis: $*" >&2; exit 1; }

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9   # one install at a time when several suites start together

installed() { [ -x "$venv/bin/st" ] && "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$version')" 2>/dev/null; }

if ! installed; then
  command -v python3 >/dev/null || fail "python3 is not installed: it is needed for schemathesis (apt-get install python3 python3-venv)"
  echo "setup-schemathesis: installing schemathesis $version into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" || fail "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$version" \
    || fail "pip install schemathesis==$version failed (see the errors above)"
  installed || fail "schemathesis $version not found in $venv after installing"
fi
echo "setup-schemathesis: schemathesis $version ready in $venv/bin/st" >&2
