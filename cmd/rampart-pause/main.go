// Command rampart-pause is the pod sandbox ("pause") container of the test
// cluster: containerd starts it first in every pod to hold the pod's namespaces,
// and it does nothing but wait. It exits 0 on SIGTERM or SIGINT, and reaps the
// zombies it inherits as PID 1 of a pod that shares its process namespace. It is
// built as the rampart-pause image (`make images`) and configured as containerd's
// sandbox image, since nothing may be pulled from outside.
package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
)

func main() {
	if version.HandleFlag("rampart-pause", os.Args[1:], os.Stdout) {
		return
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return
		}
		reap()
	}
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
