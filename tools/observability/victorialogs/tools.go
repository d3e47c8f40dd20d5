//go:build tools

// Package tools pins the VictoriaLogs commands scripts/install-observability-tools.sh builds.
package tools

import (
	_ "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
	_ "github.com/VictoriaMetrics/VictoriaLogs/app/vlagent"
)
