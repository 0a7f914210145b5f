//go:build tools

// Package ghostunnel pins the ghostunnel TLS proxy that the chain benchmark
// (test/bench) compares Rampart with. It is its own module so ghostunnel's
// dependencies never enter the main module.
package ghostunnel

import _ "github.com/ghostunnel/ghostunnel"
