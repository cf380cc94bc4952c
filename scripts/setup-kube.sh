#!/usr/bin/env bash
# Builds the real control plane the tests run against: etcd, kube-apiserver and
# kube-controller-manager, from Go modules pinned in tools/kube (go.mod + go.sum).
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
go_hint="Debian's golang is too old, install Go from the machine image"
go_build "$tools" "$dir" "etcd, kube-apiserver, kube-controller-manager $version" "the real-API-server tests" \
  "first run on a fresh machine: about 15-20 minutes on 2 cores; later runs reuse the Go build cache" -- \
  -ldflags "-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z" \
  ./cmd/etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager

reported=$("$dir/kube-apiserver" --version 2>&1 || true)
[ "$reported" = "Kubernetes $version" ] || fail "kube-apiserver reports '$reported', expected 'Kubernetes $version'"
ln -sfn "$version-$hash" "$cache/bin"
echo "setup-kube: $reported, etcd $("$dir/etcd" --version | sed -nE 's/^etcd Version: //p') ready in $cache/bin" >&2
