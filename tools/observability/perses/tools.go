//go:build tools

// Package tools pins what scripts/install-perses.sh builds and lays out from this module: the
// perses server (its web UI is built from the module's ui/ sources with npm and embedded, as the
// release does) and the Prometheus plugin's module, whose schemas/ (CUE) the plugins folder needs.
package tools

import (
	_ "github.com/perses/perses/cmd/perses"
	_ "github.com/perses/plugins/prometheus/sdk/go/datasource"
)
