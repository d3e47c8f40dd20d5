//go:build tools

// Package tools pins lichen for `go build github.com/uw-labs/lichen` in this module.
package tools

import _ "github.com/uw-labs/lichen"
