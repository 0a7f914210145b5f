// Command rampart-pause is the pod sandbox ("pause") process of the rampart-pause
// image: containerd starts it first in every pod to hold the pod's namespaces. It
// does what Kubernetes' pause does and nothing more: as PID 1 of the pod it reaps
// orphans (a pod with a shared process namespace re-parents them here), and it
// exits 0 on SIGINT or SIGTERM. It exists because the single-node test cluster can
// pull nothing from outside, so its sandbox image is built with the others.
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
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every exited child without blocking; one SIGCHLD may stand for
// several exits.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
