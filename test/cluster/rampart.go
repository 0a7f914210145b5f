package cluster

import (
	"context"
	"fmt"
)

// RampartNamespace is where `rampart install` puts the injector and rampart-node.
const RampartNamespace = "rampart-system"

// installRampart applies `rampart install --registry <registry> --tag <tag>`
// with kubectl, as a user would, and waits for the injector and rampart-node.
func (c *Cluster) installRampart(ctx context.Context) error {
	manifests, err := goRun(ctx, c.o.Repo, "cmd/rampart", "install", "--registry", c.Registry, "--tag", c.Tag)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := c.Apply(ctx, string(manifests)); err != nil {
		return fmt.Errorf("cluster: install rampart: %w", err)
	}
	for _, w := range []string{"deployment/rampart-injector", "daemonset/rampart-node"} {
		if _, err := c.Kubectl(ctx, "-n", RampartNamespace, "rollout", "status", w, "--timeout=3m"); err != nil {
			return fmt.Errorf("cluster: install rampart: %w", err)
		}
	}
	return nil
}
