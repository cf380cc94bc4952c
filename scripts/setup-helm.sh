#!/usr/bin/env bash
# Builds the helm CLI the chart tests run (lint, template, install into the real kube-apiserver),
# from the Go module pinned in tools/helm (go.mod + go.sum): no binary is downloaded.
# Idempotent: cached in .cache/helm/<version>-<hash of tools/helm>/ (git-ignored), with
# .cache/helm/bin pointing at the current one, so a warm run only checks it is there.
# A build that cannot be had fails loudly with the reason: the suite never skips it silently.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools=$root/tools/helm
cache=${HELM_CACHE_DIR:-$root/.cache/helm}

fail() { echo "setup-helm: $*" >&2; exit 1; }

version=$(sed -nE 's/^\s*(require )?helm\.sh\/helm\/v3 (v[0-9.]+)$/\2/p' "$tools/go.mod")
[ -n "$version" ] || fail "cannot read the helm.sh/helm/v3 version from tools/helm/go.mod"
hash=$(cat "$tools/go.mod" "$tools/go.sum" "$tools/tools.go" "$root/scripts/setup-helm.sh" | sha256sum | cut -c1-12)
dir=$cache/$version-$hash

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9   # one build at a time when several suites start together

if [ ! -x "$dir/helm" ]; then
  command -v go >/dev/null || fail "Go is not installed: it is needed to build helm $version (tools/helm/go.mod asks for go >= $(sed -nE 's/^go //p' "$tools/go.mod"))"
  echo "setup-helm: building helm $version from its Go module (first run: a few minutes on 2 cores)" >&2
  start=$(date +%s)
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # As helm's own Makefile: its version, and the Kubernetes version `helm template` and `helm lint`
  # assume (from the k8s.io/client-go it is built with: 0.35.x -> 1.35).
  k8s=$(sed -nE 's/^\s*k8s\.io\/client-go v0\.([0-9]+)\..*/\1/p' "$tools/go.mod")
  [ -n "$k8s" ] || fail "cannot read the k8s.io/client-go version from tools/helm/go.mod"
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s"
  done
  if ! (cd "$tools" && GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/helm" helm.sh/helm/v3/cmd/helm); then
    fail "go build of helm failed (see the errors above); the chart tests cannot run without it"
  fi
  [ -x "$tmp/helm" ] || fail "go build produced no helm"
  rm -rf "$dir" && mv "$tmp" "$dir"
  echo "setup-helm: built in $(( $(date +%s) - start ))s into $dir" >&2
fi

reported=$("$dir/helm" version --template '{{.Version}}' 2>&1 || true)
[ "$reported" = "$version" ] || fail "helm reports '$reported', expected '$version'"
ln -sfn "$version-$hash" "$cache/bin"
echo "setup-helm: helm $reported ready in $cache/bin" >&2
