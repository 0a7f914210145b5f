//go:build tools

// Package coredns pins CoreDNS, the cluster DNS of the single-node cluster in
// test/cluster. It is its own module so CoreDNS's dependencies never enter the main
// module; build.sh builds it with cgo off.
package coredns

import _ "github.com/coredns/coredns"
