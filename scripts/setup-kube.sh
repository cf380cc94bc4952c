#!/usr/bin/env bash
# Builds the real control plane the tests run against: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler, from Go modules pinned in tools/kube (go.mod + go.sum).
# Idempotent: binaries are cached in .cache/kube/<version>-<hash of tools/kube>/ (git-ignored)
# and .cache/kube/bin points at the current set, so a warm run only checks they are there.
# A build that cannot be had fails loudly with the reason: the suite never skips it silently.
set -euo pipefail
SETUP=setup-kube
source "$(dirname "$0")/lib.sh"
tools=$repo_root/tools/kube
cache=${KUBE_CACHE_DIR:-$repo_root/.cache/kube}

# The version /version reports must be the module's: kubectl's dispatcher picks its release by it.
version=$(sed -nE 's/^\s*(require )?k8s\.io\/kubernetes (v[0-9.]+)$/\2/p' "$tools/go.mod")
[ -n "$version" ] || fail "cannot read the k8s.io/kubernetes version from tools/kube/go.mod"
minor=$(cut -d. -f2 <<<"$version")
hash=$(cat "$tools/go.mod" "$tools/go.sum" "$tools/tools.go" "$tools/cmd/etcd/main.go" | sha256sum | cut -c1-12)
dir=$cache/$version-$hash
binaries=(etcd kube-apiserver kube-controller-manager)

# The harness generates certificates with the openssl CLI.
openssl_missing() { ! command -v openssl >/dev/null; }
debian_install openssl_missing openssl "put openssl on PATH" openssl

cache_lock "$cache"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
go_hint="Debian's golang is too old, install Go from the machine image"
go_build "$tools" "$dir" "etcd, kube-apiserver, kube-controller-manager $version" "the real-API-server tests" \
  "first run on a fresh machine: about 15-20 minutes on 2 cores; later runs reuse the Go build cache" -- \
  -ldflags "$ldflags" \
  ./cmd/etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager

# kube-scheduler (test/selection/scheduler.test.ts), from the same k8s.io/kubernetes module: built
# on its own and added next to the others, so a set built before it was added is kept, not rebuilt
# (with the Go build cache of the others, about a minute; seconds when warm).
if [ ! -x "$dir/kube-scheduler" ]; then
  echo "$SETUP: building kube-scheduler $version" >&2
  _sched_tmp=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$_sched_tmp"' EXIT
  (cd "$tools" && env GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -o "$_sched_tmp/" -ldflags "$ldflags" k8s.io/kubernetes/cmd/kube-scheduler) \
    || fail "go build of kube-scheduler failed (see the errors above); the selection test against the real scheduler cannot run without it"
  [ -x "$_sched_tmp/kube-scheduler" ] || fail "go build produced no kube-scheduler"
  mv "$_sched_tmp/kube-scheduler" "$dir/kube-scheduler"
fi

reported=$("$dir/kube-apiserver" --version 2>&1 || true)
[ "$reported" = "Kubernetes $version" ] || fail "kube-apiserver reports '$reported', expected 'Kubernetes $version'"
ln -sfn "$version-$hash" "$cache/bin"
echo "setup-kube: $reported, etcd $("$dir/etcd" --version | sed -nE 's/^etcd Version: //p') ready in $cache/bin" >&2
