//go:build tools

// Package tools pins the Pushgateway scripts/install-observability-tools.sh builds: Flink's JVMs
// push their metrics to it (Flink's scrape reporter cannot bind to loopback only).
package tools

import _ "github.com/prometheus/pushgateway"
