// CoreDNS for the one-node test cluster (tests/support/kube_node.py): upstream's own entry point
// (coremain.Run) with only the plugins a cluster DNS Corefile uses compiled in, the documented way to
// build CoreDNS with a chosen plugin set. Upstream's main package links every plugin, including the
// cloud DNS providers, which would triple the build for nothing the cluster uses.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() {
	coremain.Run()
}
