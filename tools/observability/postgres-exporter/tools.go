//go:build tools

// Package tools pins the postgres_exporter command scripts/install-observability-tools.sh builds.
package tools

import _ "github.com/prometheus-community/postgres_exporter/cmd/postgres_exporter"
