// Package version holds the one version string every Rampart binary reports and
// tags its images with. The Makefile stamps it at link time:
//
//	go build -ldflags "-X github.com/rampart-mesh/rampart/cmd/internal/version.version=$(git describe --tags --always --dirty)"
//
// A plain `go build` reports Dev. `rampart install` and rampart-injector default
// to images of this version (Tag), so a binary and the images it installs always
// match.
package version
