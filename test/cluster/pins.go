package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rampart-mesh/rampart/redirect"
)

// detachPins removes the eBPF capture rampart-node pinned for this cluster's
// pods (pins in the host's bpffs, named by pod UID, under the default pin
// root): the pods are gone with the cluster, nobody else would. The UIDs are
// kubelet's pod folders.
func detachPins(l layout) error {
	pods, _ := os.ReadDir(l.path("kubelet", "pods"))
	var errs []error
	for _, p := range pods {
		if _, err := os.Stat(filepath.Join(redirect.DefaultPinRoot, p.Name())); err != nil {
			continue
		}
		if err := redirect.Detach(redirect.DefaultPinRoot, p.Name()); err != nil {
			errs = append(errs, fmt.Errorf("cluster: detach pins of pod %s: %w", p.Name(), err))
		}
	}
	return errors.Join(errs...)
}
