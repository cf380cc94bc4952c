#!/usr/bin/env bash
# Installs the real Prometheus and Alertmanager the tests start (Debian's packages prometheus and
# prometheus-alertmanager, which bring promtool and amtool), then prints where they are.
# Idempotent: when the binaries are already there it only reports them. Installing needs root and
# the Debian archive; a machine without either fails loudly with the reason: the suite never skips
# these tests silently. The packages' services are not started (the tests start their own instances).
set -euo pipefail
SETUP=setup-monitoring
source "$(dirname "$0")/lib.sh"

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

debian_install missing "prometheus, promtool, alertmanager or amtool" "put the binaries on PATH" prometheus prometheus-alertmanager
for b in prometheus promtool alertmanager amtool; do
  path=$(bin_of "$b")
  echo "setup-monitoring: $b $("$path" --version 2>&1 | sed -nE '1s/.*version ([^ ]+).*/\1/p') at $path" >&2
done
