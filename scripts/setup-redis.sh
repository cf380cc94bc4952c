#!/usr/bin/env bash
# Installs Debian's redis-server for the revocation tests (test/plugins/session-store.test.ts start
# their own instance on a free port, as StreamSpace's session store). Idempotent: when the binary is
# there it only reports it. Installing needs root and the Debian archive; without either it fails
# loudly with the reason: the suite never skips the revocation tests. The package's own service is
# not started (the tests run their own).
set -euo pipefail
SETUP=setup-redis
source "$(dirname "$0")/lib.sh"

find_redis() { for c in "$(command -v redis-server 2>/dev/null || true)" /usr/bin/redis-server; do [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }; done; return 0; }
missing() { [ -z "$(find_redis)" ]; }

debian_install missing redis-server "put redis-server on PATH" redis-server
path=$(find_redis)
echo "setup-redis: $("$path" --version 2>/dev/null | head -1) at $path" >&2
