//go:build tools

// Keeps the command we build in go.mod and go.sum; never compiled.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
