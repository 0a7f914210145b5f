package demo

import "github.com/rampart-mesh/rampart/redirect/netpod"

// Proc is a process running inside a pod.
type Proc = netpod.Proc
