// Wrapper module that builds lichen (github.com/uw-labs/lichen, MIT), the licence scanner of Go
// binaries used by `make licenses`: `go install lichen@v0.1.7` is refused because the module
// proxy reachable here answers 403 for its version list, so it is built from this module instead.
module local/lichen-build

go 1.24

require github.com/uw-labs/lichen v0.1.7

require (
	github.com/cpuguy83/go-md2man/v2 v2.0.1 // indirect
	github.com/google/licenseclassifier v0.0.0-20201113175434-78a70215ca36 // indirect
	github.com/hashicorp/errwrap v1.0.0 // indirect
	github.com/hashicorp/go-multierror v1.1.1 // indirect
	github.com/lucasb-eyer/go-colorful v1.2.0 // indirect
	github.com/mattn/go-isatty v0.0.14 // indirect
	github.com/mattn/go-runewidth v0.0.13 // indirect
	github.com/muesli/termenv v0.11.0 // indirect
	github.com/rivo/uniseg v0.2.0 // indirect
	github.com/russross/blackfriday/v2 v2.1.0 // indirect
	github.com/sergi/go-diff v1.0.0 // indirect
	github.com/urfave/cli/v2 v2.4.0 // indirect
	golang.org/x/sys v0.0.0-20210630005230-0f9fa26af87c // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)
