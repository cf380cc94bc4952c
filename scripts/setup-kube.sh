#!/usr/bin/env bash
# Builds the real control plane the tests run against: etcd, kube-apiserver and
# kube-controller-manager, from Go modules pinned in tools/kube (go.mod + go.sum).
# Idempotent: binaries are cached in .cache/kube/<version>-<hash of tools/kube>/ (git-ignored)
# and .cache/kube/bin points at the current set, so a warm run only checks they are there.
# A build that cannot be had fails loudly with the reason: the suite never skips it silently.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools=$root/tools/kube
cache=${KUBE_CACHE_DIR:-$root/.cache/kube}

fail() { echo "setup-kube: $*" >&2; exit 1; }

# The version /version reports must be the module's: kubectl's dispatcher picks its release by it.
version=$(sed -nE 's/^\s*(require )?k8s\.io\/kubernetes (v[0-9.]+)$/\2/p' "$tools/go.mod")
[ -n "$version" ] || fail "cannot read the k8s.io/kubernetes version from tools/kube/go.mod"
minor=$(cut -d. -f2 <<<"$version")
hash=$(cat "$tools/go.mod" "$tools/go.sum" "$tools/tools.go" "$tools/cmd/etcd/main.go" | sha256sum | cut -c1-12)
dir=$cache/$version-$hash
binaries=(etcd kube-apiserver kube-controller-manager)

have_all() { for b in "${binaries[@]}"; do [ -x "$dir/$b" ] || return 1; done; }

# The harness generates certificates with the openssl CLI.
if ! command -v openssl >/dev/null; then
  echo "setup-kube: installing openssl" >&2
  { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; } || fail "openssl is missing and apt-get could not install it"
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9   # one build at a time when several suites start together

if ! have_all; then
  command -v go >/dev/null || fail "Go is not installed: it is needed to build kube-apiserver $version (tools/kube/go.mod asks for go >= $(sed -nE 's/^go //p' "$tools/go.mod")); Debian's golang is too old, install Go from the machine image"
  echo "setup-kube: building etcd, kube-apiserver, kube-controller-manager $version (first run on a fresh machine: about 15-20 minutes on 2 cores; later runs reuse the Go build cache)" >&2
  start=$(date +%s)
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  if ! (cd "$tools" && GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
        ./cmd/etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager); then
    fail "go build of the control plane failed (see the errors above); the real-API-server tests cannot run without it"
  fi
  for b in "${binaries[@]}"; do [ -x "$tmp/$b" ] || fail "go build produced no $b"; done
  rm -rf "$dir" && mv "$tmp" "$dir"
  echo "setup-kube: built in $(( $(date +%s) - start ))s into $dir" >&2
fi

reported=$("$dir/kube-apiserver" --version 2>&1 || true)
[ "$reported" = "Kubernetes $version" ] || fail "kube-apiserver reports '$reported', expected 'Kubernetes $version'"
ln -sfn "$version-$hash" "$cache/bin"
echo "setup-kube: $reported, etcd $("$dir/etcd" --version | sed -nE 's/^etcd Version: //p') ready in $cache/bin" >&2
