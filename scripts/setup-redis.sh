#!/usr/bin/env bash
# Installs Debian's redis-server for the revocation tests (test/plugins/session-store.test.ts start
# their own instance on a free port, as StreamSpace's session store). Idempotent: when the binary is
# there it only reports it. Installing needs root and the Debian archive; without either it fails
# loudly with the reason: the suite never skips the revocation tests. The package's own service is
# not started (the tests run their own).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "setup-redis: $*" >&2; exit 1; }
find_redis() { for c in "$(command -v redis-server 2>/dev/null || true)" /usr/bin/redis-server; do [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }; done; return 0; }

if [ -z "$(find_redis)" ]; then
  command -v apt-get >/dev/null || fail "redis-server is missing and this machine has no apt-get (install Debian's redis-server package or put redis-server on PATH)"
  [ "$(id -u)" -eq 0 ] || fail "redis-server is missing and installing Debian's package needs root (run: sudo apt-get install redis-server)"
  mkdir -p .cache
  exec 9>".cache/.setup-redis.lock"
  flock 9   # one install at a time when several suites start together
  if [ -z "$(find_redis)" ]; then
    echo "setup-redis: installing Debian's redis-server" >&2
    # Keep the package from starting its system service (no init system in CI containers, and the
    # tests run their own instances on free ports).
    added_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
    fi
    trap '[ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq || fail "apt-get update failed (is the Debian archive reachable?)"
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends redis-server >/dev/null \
      || fail "apt-get install redis-server failed (see the errors above)"
  fi
  [ -n "$(find_redis)" ] || fail "the redis-server package was installed but redis-server is still not found"
fi
path=$(find_redis)
echo "setup-redis: $("$path" --version 2>/dev/null | head -1) at $path" >&2
