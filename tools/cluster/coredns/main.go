// Command coredns is CoreDNS v1.14.7 with only the plugins a Kubernetes cluster's DNS needs: the
// kubeadm Corefile's (errors, health, ready, kubernetes, prometheus, forward, cache, loop, reload,
// loadbalance) and log. It is CoreDNS's own coredns.go with a shorter plugin list: the same
// coremain.Run, and dnsserver.Directives cut to these plugins, in CoreDNS's order
// (core/dnsserver/zdirectives.go), which decides how they chain.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics" // the prometheus directive
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// directives in the order of CoreDNS v1.14.7's zdirectives.go (a request passes them top to bottom)
var directives = []string{
	"reload",
	"ready",
	"health",
	"prometheus",
	"errors",
	"log",
	"loadbalance",
	"cache",
	"kubernetes",
	"loop",
	"forward",
}

func init() {
	dnsserver.Directives = directives
}

func main() {
	coremain.Run()
}
