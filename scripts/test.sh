#!/usr/bin/env bash
# The whole test suite: prepares what the tests need (idempotent, cached), then runs tap.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
mkdir -p .cache
# kubectl (the machine's: a dispatcher that runs the release matching the server) drives the
# kubectl parity and apply tests; without it they would have nothing to compare against.
command -v kubectl >/dev/null || { echo "test.sh: kubectl not found on PATH (the kubectl parity and apply tests need it)" >&2; exit 1; }
# Debian's packages download while the Go builds below use the CPU: Prometheus, promtool and
# Alertmanager (the metrics, rules and alert tests), then Chromium (the admin UI's browser tests,
# driven by playwright-core), then redis-server (StreamSpace's session store in the revocation
# tests). One after the other: they share apt's locks.
( bash scripts/setup-monitoring.sh && bash scripts/setup-chromium.sh && bash scripts/setup-redis.sh ) > .cache/setup-debian.log 2>&1 &
debian=$!
# The real kube-apiserver, etcd and controller-manager the apiserver backend runs (built once,
# cached in .cache/kube). Skipped only when TEST_BACKENDS leaves the real server out.
if [[ ",${TEST_BACKENDS:-sim,apiserver}," == *",apiserver,"* ]]; then bash scripts/setup-kube.sh; fi
# helm, built from its Go module (cached in .cache/helm): the chart tests lint, render and install with it.
bash scripts/setup-helm.sh
# schemathesis from PyPI in its own venv (.cache/schemathesis) for the contract fuzzing test (test/fuzz).
bash scripts/setup-schemathesis.sh
if ! wait "$debian"; then cat .cache/setup-debian.log >&2; echo "test.sh: installing Debian's packages failed (above)" >&2; exit 1; fi
cat .cache/setup-debian.log >&2
# A skipped test proves nothing. When every backend runs (CI unsets TEST_BACKENDS), tap counts a
# skip as a failure (--fail-skip); the skips left are for a backend that TEST_BACKENDS leaves out
# (docs/testing.md lists them).
fail_skip=()
if [[ ",${TEST_BACKENDS:-sim,apiserver}," == *",sim,"* && ",${TEST_BACKENDS:-sim,apiserver}," == *",apiserver,"* ]]; then fail_skip=(--fail-skip); fi
exec npx tap "${fail_skip[@]}" "$@"
