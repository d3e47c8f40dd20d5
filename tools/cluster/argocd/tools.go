//go:build tools

// Package tools pins the ArgoCD command scripts/install-cluster-tools.sh builds in this module.
package tools

import _ "github.com/argoproj/argo-cd/v3/cmd"
