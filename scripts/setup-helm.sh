#!/usr/bin/env bash
# Builds the helm CLI the chart tests run (lint, template, install into the real kube-apiserver),
# from the Go module pinned in tools/helm (go.mod + go.sum): no binary is downloaded.
# Idempotent: cached in .cache/helm/<version>-<hash of tools/helm and the build's flags>/
# (git-ignored), with .cache/helm/bin pointing at the current one, so a warm run only checks it is there.
# A build that cannot be had fails loudly with the reason: the suite never skips it silently.
set -euo pipefail
SETUP=setup-helm
source "$(dirname "$0")/lib.sh"
tools=$repo_root/tools/helm
cache=${HELM_CACHE_DIR:-$repo_root/.cache/helm}

version=$(sed -nE 's/^\s*(require )?helm\.sh\/helm\/v3 (v[0-9.]+)$/\2/p' "$tools/go.mod")
[ -n "$version" ] || fail "cannot read the helm.sh/helm/v3 version from tools/helm/go.mod"
# As helm's own Makefile: its version, and the Kubernetes version `helm template` and `helm lint`
# assume (from the k8s.io/client-go it is built with: 0.35.x -> 1.35).
k8s=$(sed -nE 's/^\s*k8s\.io\/client-go v0\.([0-9]+)\..*/\1/p' "$tools/go.mod")
[ -n "$k8s" ] || fail "cannot read the k8s.io/client-go version from tools/helm/go.mod"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in pkg/lint/rules pkg/chartutil; do
  ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s"
done
go_env=(CGO_ENABLED=0)
hash=$( { cat "$tools/go.mod" "$tools/go.sum" "$tools/tools.go"; echo "${go_env[*]} $ldflags"; } | sha256sum | cut -c1-12)
dir=$cache/$version-$hash
binaries=(helm)

cache_lock "$cache"
go_build "$tools" "$dir" "helm $version" "the chart tests" "first run: a few minutes on 2 cores" -- \
  -ldflags "$ldflags" helm.sh/helm/v3/cmd/helm

reported=$("$dir/helm" version --template '{{.Version}}' 2>&1 || true)
[ "$reported" = "$version" ] || fail "helm reports '$reported', expected '$version'"
ln -sfn "$version-$hash" "$cache/bin"
echo "setup-helm: helm $reported ready in $cache/bin" >&2
