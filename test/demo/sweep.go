package demo

import "github.com/rampart-mesh/rampart/redirect/netpod"

// Sweep removes the namespaces, cgroups (killing their processes), pins and work
// folders of earlier runs with this tag whose process no longer exists, e.g. after
// kill -9. Runs of live processes (parallel tests) are left alone.
func Sweep(tag string) error { return netpod.Sweep(tag) }
