#!/usr/bin/env bash
# The whole test suite: prepares what the tests need (idempotent, cached), then runs tap.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
# The real kube-apiserver, etcd and controller-manager the apiserver backend runs (built once,
# cached in .cache/kube). Skipped only when TEST_BACKENDS leaves the real server out.
if [[ ",${TEST_BACKENDS:-sim,apiserver}," == *",apiserver,"* ]]; then bash scripts/setup-kube.sh; fi
# Prometheus, promtool and Alertmanager from Debian's packages, for the monitoring tests.
bash scripts/setup-monitoring.sh
exec npx tap "$@"
