package cluster

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rampart-mesh/rampart/redirect/netpod"
)

// makeCgroups creates /<name> in every hierarchy (kubelet's cgroupRoot must
// exist in all of them) and /<name>/system in the unified one, where the
// daemons run; it returns the latter.
func makeCgroups(name string) (string, error) {
	if _, _, err := netpod.Hierarchies(); err != nil {
		return "", fmt.Errorf("%w: %v", ErrMissing, err)
	}
	unified, err := netpod.MakeCgroupEverywhere(name)
	if err != nil {
		return "", err
	}
	sys := filepath.Join(unified, "system")
	if err := os.Mkdir(sys, 0o755); err != nil && !os.IsExist(err) {
		return "", err
	}
	return sys, nil
}
