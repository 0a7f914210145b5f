//go:build tools

// Package spire pins the SPIRE server and agent that identity's tests run against.
// It is its own module so SPIRE's dependencies never enter the main module.
package spire

import (
	_ "github.com/spiffe/spire/cmd/spire-agent"
	_ "github.com/spiffe/spire/cmd/spire-server"
)
