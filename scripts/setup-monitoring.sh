#!/usr/bin/env bash
# Prometheus, promtool and Alertmanager from Debian's packages (prometheus, prometheus-alertmanager),
# for the tests that run the real ones. Idempotent: does nothing when both are installed.
set -euo pipefail
if command -v prometheus >/dev/null && command -v promtool >/dev/null && command -v prometheus-alertmanager >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "setup-monitoring: installing Debian's prometheus and prometheus-alertmanager" >&2
# Another engineer's (or CI step's) apt run may hold the lock: wait for it rather than fail.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends prometheus prometheus-alertmanager
command -v prometheus-alertmanager >/dev/null && command -v promtool >/dev/null
