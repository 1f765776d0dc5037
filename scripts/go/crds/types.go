//go:build crdtypes

// Package crds pins the API types that scripts/build-crds.sh feeds to controller-gen: Go modules that ship no
// CRD manifests of their own. The build tag keeps this file out of every build; it only makes `go mod tidy` keep
// the requirement and the go.sum lines of the packages controller-gen loads.
package crds

import _ "sigs.k8s.io/node-feature-discovery/api/nfd/v1alpha1"
