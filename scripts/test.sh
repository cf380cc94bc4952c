#!/usr/bin/env bash
# The whole test suite: prepares what the tests need (idempotent, cached), then runs tap.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
# The real kube-apiserver, etcd and controller-manager the apiserver backend runs (built once,
# cached in .cache/kube). Skipped only when TEST_BACKENDS leaves the real server out.
if [[ ",${TEST_BACKENDS:-sim,apiserver}," == *",apiserver,"* ]]; then bash scripts/setup-kube.sh; fi
# Prometheus, promtool and Alertmanager from Debian's packages (the metrics, rules and alert tests).
bash scripts/setup-monitoring.sh
# helm, built from its Go module (cached in .cache/helm): the chart tests lint, render and install with it.
bash scripts/setup-helm.sh
# Debian's Chromium for the admin UI's browser tests (test/ui, driven by playwright-core).
bash scripts/setup-chromium.sh
exec npx tap "$@"
