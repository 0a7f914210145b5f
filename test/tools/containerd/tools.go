//go:build tools

// Package containerd pins containerd 2.x and its runc shim, the container runtime of
// the single-node cluster in test/cluster. It is its own module so containerd's
// dependencies never enter the main module; build.sh builds both with cgo off.
package containerd

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
)
