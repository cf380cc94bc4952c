# What the scripts/setup-*.sh share; each sources it after `set -euo pipefail`, with SETUP set to
# its own name (the prefix of its messages). Two ways to get a tool, each idempotent and failing
# loudly with the reason (the suite never skips a test silently because a tool is missing):
#   debian_install: Debian's packages, when a check says something is missing;
#   go_build:       binaries built from a Go module pinned in tools/<name> (go.mod + go.sum).
# shellcheck shell=bash

# The repository's root, wherever the script is called from.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

fail() { echo "${SETUP:?}: $*" >&2; exit 1; }

# debian_install MISSING WHAT ELSE PACKAGE...
# When the command MISSING succeeds (something is missing): installs the Debian PACKAGEs (needs
# apt-get and root, else fails saying so; ELSE is the other way to get WHAT), without their
# recommends and without starting their services (no init system in CI containers, and the tests
# run their own instances on free ports), then checks MISSING again. One install at a time across
# all the setup scripts (apt has its own locks, but two scripts would only fight over them).
debian_install() {
  local missing=$1 what=$2 else=$3
  shift 3
  "$missing" || return 0
  local pkgs="$*"
  command -v apt-get >/dev/null || fail "$what is missing and this machine has no apt-get (install Debian's $pkgs, or $else)"
  [ "$(id -u)" -eq 0 ] || fail "$what is missing and installing Debian's packages needs root (run: sudo apt-get install $pkgs)"
  mkdir -p "$repo_root/.cache"
  exec 8>"$repo_root/.cache/.setup-debian.lock"
  flock 8   # several suites may start together
  if "$missing"; then
    echo "$SETUP: installing Debian's $pkgs" >&2
    # policy-rc.d answering 101 keeps the packages' services from being started.
    _debian_added_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && _debian_added_policy=1
    fi
    trap '[ -z "$_debian_added_policy" ] || rm -f /usr/sbin/policy-rc.d' EXIT
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq || fail "apt-get update failed (is the Debian archive reachable?)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >/dev/null \
      || fail "apt-get install $pkgs failed (see the errors above)"
    [ -z "$_debian_added_policy" ] || rm -f /usr/sbin/policy-rc.d
    _debian_added_policy=
  fi
  exec 8>&-
  if "$missing"; then fail "Debian's $pkgs were installed but $what is still not found"; fi
}

# go_build TOOLS DIR WHAT NEEDED_BY NOTE -- GO_BUILD_ARGUMENT...
# Unless DIR already holds every binary named in the array `binaries`: builds them from the Go
# module in TOOLS (`go build -trimpath -o <new dir>/ GO_BUILD_ARGUMENT...`, with the Go installed
# on the machine, never a downloaded toolchain), checks each came out, and puts them in DIR at
# once (a build that fails leaves nothing half done). Extra environment for go: the array
# `go_env` (e.g. CGO_ENABLED=0). WHAT names it in messages, NEEDED_BY says which tests need it,
# NOTE how long a first build takes. The caller holds a lock on the cache (see cache_lock).
go_build() {
  local tools=$1 dir=$2 what=$3 needed_by=$4 note=$5
  shift 5
  [ "${1:-}" = -- ] && shift
  local b have=1
  for b in "${binaries[@]}"; do [ -x "$dir/$b" ] || have=; done
  [ -z "$have" ] || return 0
  command -v go >/dev/null || fail "Go is not installed: it is needed to build $what (${tools#"$repo_root"/}/go.mod asks for go >= $(sed -nE 's/^go //p' "$tools/go.mod"))${go_hint:+; $go_hint}"
  echo "$SETUP: building $what ($note)" >&2
  local start
  start=$(date +%s)
  _go_build_tmp=$(mktemp -d "$(dirname "$dir")/build.XXXXXX")
  trap 'rm -rf "$_go_build_tmp"' EXIT
  if ! (cd "$tools" && env GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" ${go_env[@]+"${go_env[@]}"} go build -trimpath -o "$_go_build_tmp/" "$@"); then
    fail "go build of $what failed (see the errors above); $needed_by cannot run without it"
  fi
  for b in "${binaries[@]}"; do [ -x "$_go_build_tmp/$b" ] || fail "go build produced no $b"; done
  rm -rf "$dir" && mv "$_go_build_tmp" "$dir"
  echo "$SETUP: built in $(( $(date +%s) - start ))s into $dir" >&2
}

# cache_lock DIR: one build at a time into DIR when several suites start together (held until exit).
cache_lock() {
  mkdir -p "$1"
  exec 9>"$1/.lock"
  flock 9
}
