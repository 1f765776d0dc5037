// The Kubernetes resource provider (pulumi-resource-kubernetes), built from the pinned provider module.
//
// Upstream's cmd/pulumi-resource-kubernetes cannot be built from the Go module proxy as is: its module zip lacks
// the two JSON files it embeds, which upstream generates before building. scripts/build-kubernetes-plugin.sh copies
// this package into a build directory, generates schema-embed.json and terraform-mapping-embed.json there with
// upstream's own generator (generate.go next to upstream's main), and builds it with the provider version stamped
// into pkg/version. This file is only the entry point; all behaviour is the provider package's.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

// The package name the engine knows the provider by (resource types kubernetes:*).
const providerName = "kubernetes"

// Generated at build time from the provider module's cmd/pulumi-resource-kubernetes/schema.json (with the version
// set) and terraform-mapping.json; never committed.
//
//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve(providerName, version.Version, pulumiSchema, terraformMapping)
}
