#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (test/ui), which drive it with playwright-core.
# Idempotent: when /usr/bin/chromium is there it only reports it. Installing needs root and the
# Debian archive; without either it fails loudly with the reason: the suite never skips the UI tests.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "setup-chromium: $*" >&2; exit 1; }
find_chromium() { for c in /usr/bin/chromium "$(command -v chromium 2>/dev/null || true)"; do [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }; done; return 0; }

if [ -z "$(find_chromium)" ]; then
  command -v apt-get >/dev/null || fail "chromium is missing and this machine has no apt-get (install Debian's chromium package or set CHROMIUM_PATH)"
  [ "$(id -u)" -eq 0 ] || fail "chromium is missing and installing Debian's package needs root (run: sudo apt-get install chromium)"
  mkdir -p .cache
  exec 9>".cache/.setup-chromium.lock"
  flock 9   # one install at a time when several suites start together
  if [ -z "$(find_chromium)" ]; then
    echo "setup-chromium: installing Debian's chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq || fail "apt-get update failed (is the Debian archive reachable?)"
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null \
      || fail "apt-get install chromium failed (see the errors above)"
  fi
  [ -n "$(find_chromium)" ] || fail "the chromium package was installed but /usr/bin/chromium is still not found"
fi
path=$(find_chromium)
echo "setup-chromium: $("$path" --version 2>/dev/null | head -1) at $path" >&2
