#!/usr/bin/env bash
# The whole test suite: prepares what the tests need (idempotent, cached), then runs tap.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
exec npx tap "$@"
