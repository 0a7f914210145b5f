package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RampartNamespace is where `rampart install` puts the injector and rampart-node.
const RampartNamespace = "rampart-system"

// stableFor is how long Rampart's pods must stay Ready without a restart: a
// container that exits at start is Running, even Ready, for a moment.
const stableFor = 5 * time.Second

// installRampart applies `rampart install --registry <registry> --tag <tag>`
// with kubectl, as a user would, and waits for the injector and rampart-node.
func (c *Cluster) installRampart(ctx context.Context) error {
	manifests, err := goRun(ctx, c.o.Repo, "cmd/rampart", "install", "--registry", c.Registry, "--tag", c.Tag,
		"--discovery-namespaces=*") // the scenario calls across namespaces
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := c.Apply(ctx, string(manifests)); err != nil {
		return fmt.Errorf("cluster: install rampart: %w", err)
	}
	for _, app := range []string{"rampart-injector", "rampart-node"} {
		if err := c.waitStable(ctx, app); err != nil {
			logs, _ := c.Kubectl(context.Background(), "-n", RampartNamespace, "logs", "-l",
				"app.kubernetes.io/name="+app, "--tail=20")
			return fmt.Errorf("cluster: install rampart: %w\n%s", err, logs)
		}
	}
	return nil
}

// waitStable waits until app's pods exist, are all Ready and none restarted,
// continuously for stableFor; a restart fails at once.
func (c *Cluster) waitStable(ctx context.Context, app string) error {
	var since time.Time
	var crashed error
	err := waitFor(ctx, c.p, app+" Ready", func() error {
		err := c.podsReady(ctx, app)
		switch {
		case errors.Is(err, errRestarted):
			crashed = err
			return nil
		case err != nil:
			since = time.Time{}
			return err
		case since.IsZero():
			since = time.Now()
		}
		if time.Since(since) < stableFor {
			return fmt.Errorf("%s Ready for %s only", app, time.Since(since).Round(time.Second))
		}
		return nil
	})
	if crashed != nil {
		return crashed
	}
	return err
}

var errRestarted = errors.New("container restarted")

func (c *Cluster) podsReady(ctx context.Context, app string) error {
	pods, err := c.Client.CoreV1().Pods(RampartNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + app})
	if err != nil {
		return err
	}
	if len(pods.Items) == 0 {
		return fmt.Errorf("no %s pod", app)
	}
	for _, p := range pods.Items {
		for _, s := range p.Status.ContainerStatuses {
			if s.RestartCount > 0 {
				return fmt.Errorf("%s: %w: %s, %d times", p.Name, errRestarted, s.Name, s.RestartCount)
			}
		}
		ready := false
		for _, cond := range p.Status.Conditions {
			ready = ready || cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue
		}
		if !ready {
			return fmt.Errorf("%s not Ready", p.Name)
		}
	}
	return nil
}
