#!/usr/bin/env bash
# Installs the real Prometheus and Alertmanager the tests start (Debian's packages prometheus and
# prometheus-alertmanager, which bring promtool and amtool), then prints where they are.
# Idempotent: when the binaries are already there it only reports them. Installing needs root and
# the Debian archive; a machine without either fails loudly with the reason: the suite never skips
# these tests silently. The packages' services are not started (the tests start their own instances).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "setup-monitoring: $*" >&2; exit 1; }

# Debian installs them under /usr/bin (look there too in case PATH is narrow) and names the
# Alertmanager binary prometheus-alertmanager; upstream tarballs call it alertmanager.
find_bin() {
  local name
  for name in "$@"; do
    command -v "$name" 2>/dev/null && return 0
    [ -x "/usr/bin/$name" ] && { echo "/usr/bin/$name"; return 0; }
  done
  return 0
}
bin_of() { case $1 in alertmanager) find_bin prometheus-alertmanager alertmanager ;; *) find_bin "$1" ;; esac; }
missing() { for b in prometheus promtool alertmanager amtool; do [ -n "$(bin_of "$b")" ] || return 0; done; return 1; }

if missing; then
  command -v apt-get >/dev/null || fail "prometheus/alertmanager are missing and this machine has no apt-get (install Debian's prometheus and prometheus-alertmanager packages, or put the binaries on PATH)"
  [ "$(id -u)" -eq 0 ] || fail "prometheus/alertmanager are missing and installing Debian's packages needs root (run: sudo apt-get install prometheus prometheus-alertmanager)"
  mkdir -p .cache
  exec 9>".cache/.setup-monitoring.lock"
  flock 9   # one install at a time when several suites start together
  if missing; then
    echo "setup-monitoring: installing Debian's prometheus and prometheus-alertmanager" >&2
    # Keep the packages from starting their system services (no init system in CI containers,
    # and the tests run their own instances on free ports).
    added_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && added_policy=1
    fi
    trap '[ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq || fail "apt-get update failed (is the Debian archive reachable?)"
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null \
      || fail "apt-get install prometheus prometheus-alertmanager failed (see the errors above)"
  fi
  missing && fail "the packages were installed but prometheus, promtool, alertmanager or amtool is still not found"
fi

for b in prometheus promtool alertmanager amtool; do
  path=$(bin_of "$b")
  echo "setup-monitoring: $b $("$path" --version 2>&1 | sed -nE '1s/.*version ([^ ]+).*/\1/p') at $path" >&2
done
