//go:build tools

// Package tools pins the metrics-server command scripts/install-cluster-tools.sh builds in this module.
package tools

import _ "sigs.k8s.io/metrics-server/cmd/metrics-server"
