#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (test/ui), which drive it with playwright-core.
# Idempotent: when /usr/bin/chromium is there it only reports it. Installing needs root and the
# Debian archive; without either it fails loudly with the reason: the suite never skips the UI tests.
set -euo pipefail
SETUP=setup-chromium
source "$(dirname "$0")/lib.sh"

find_chromium() { for c in /usr/bin/chromium "$(command -v chromium 2>/dev/null || true)"; do [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }; done; return 0; }
missing() { [ -z "$(find_chromium)" ]; }

debian_install missing chromium "set CHROMIUM_PATH" chromium fonts-liberation
path=$(find_chromium)
echo "setup-chromium: $("$path" --version 2>/dev/null | head -1) at $path" >&2
