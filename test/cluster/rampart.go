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
	// rollout status alone passes a DaemonSet whose pod is Running for a moment
	// before it crashes: also wait for every pod's Ready condition.
	for _, w := range []string{"rampart-injector", "rampart-node"} {
		kind := map[string]string{"rampart-injector": "deployment/", "rampart-node": "daemonset/"}[w]
		if _, err := c.Kubectl(ctx, "-n", RampartNamespace, "rollout", "status", kind+w, "--timeout=3m"); err != nil {
			return fmt.Errorf("cluster: install rampart: %w", err)
		}
		if _, err := c.Kubectl(ctx, "-n", RampartNamespace, "wait", "pod", "-l", "app.kubernetes.io/name="+w,
			"--for=condition=Ready", "--timeout=2m"); err != nil {
			out, _ := c.Kubectl(ctx, "-n", RampartNamespace, "logs", "-l", "app.kubernetes.io/name="+w, "--tail=20")
			return fmt.Errorf("cluster: install rampart: %w\n%s", err, out)
		}
	}
	return nil
}
