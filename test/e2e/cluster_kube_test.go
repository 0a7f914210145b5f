package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/test/cluster"
)

// scenario holds the one cluster every step of TestCluster uses.
type scenario struct {
	t   *testing.T
	c   *cluster.Cluster
	ctx context.Context
}

// kubectl runs kubectl and fails the test on error.
func (s *scenario) kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := s.c.Kubectl(s.ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sh runs one shell line as a user types it: kubectl on PATH with the cluster's
// KUBECONFIG, ./bin/rampart the rampart binary built for this package.
func (s *scenario) sh(t *testing.T, line string) string {
	t.Helper()
	line = strings.ReplaceAll(line, "./bin/rampart", rampartBinary)
	cmd := exec.CommandContext(s.ctx, "sh", "-c", line)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.c.Kubeconfig,
		"PATH="+filepath.Dir(s.c.KubectlPath())+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	return string(out)
}

// exec runs a command in a pod's container (the first app container when c is
// empty) and returns its stdout and exit code; kubectl exec exits with the
// command's code.
func (s *scenario) exec(ns, pod, c string, args ...string) (string, int) {
	kargs := []string{"-n", ns, "exec", pod}
	if c != "" {
		kargs = append(kargs, "-c", c)
	}
	out, err := s.c.Kubectl(s.ctx, append(append(kargs, "--"), args...)...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out, 0
	case errors.As(err, &ee):
		return out + err.Error(), ee.ExitCode()
	}
	return err.Error(), -1
}

// curl runs the demo image's curl in a pod and returns stdout and exit code.
func (s *scenario) curl(ns, pod string, args ...string) (string, int) {
	return s.exec(ns, pod, "", append([]string{"curl"}, args...)...)
}

func (s *scenario) pod(t *testing.T, ns, name string) *corev1.Pod {
	t.Helper()
	p, err := s.c.Client.CoreV1().Pods(ns).Get(s.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *scenario) pods(t *testing.T, ns, selector string) []corev1.Pod {
	t.Helper()
	l, err := s.c.Client.CoreV1().Pods(ns).List(s.ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// waitReady waits for every pod matching selector in ns to be Ready.
func (s *scenario) waitReady(t *testing.T, ns, selector string, timeout time.Duration) {
	t.Helper()
	s.kubectl(t, "-n", ns, "wait", "--for=condition=Ready", "pod", "-l", selector, fmt.Sprintf("--timeout=%ds", int(timeout.Seconds())))
}

// eventuallyErr polls f every interval until it returns nil or timeout passes, and
// returns the time it took or the last error.
func eventuallyErr(timeout, interval time.Duration, f func() error) (time.Duration, error) {
	start := time.Now()
	for {
		err := f()
		if err == nil {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return time.Since(start), fmt.Errorf("after %v: %w", timeout, err)
		}
		time.Sleep(interval)
	}
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// initStatus returns the status of the named init container (the native sidecar).
func initStatus(p *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	for _, st := range p.Status.InitContainerStatuses {
		if st.Name == name {
			return st, true
		}
	}
	return corev1.ContainerStatus{}, false
}

func proxyRestarts(p *corev1.Pod) int32 {
	st, _ := initStatus(p, injector.ProxyContainerName)
	return st.RestartCount
}

// dumpCluster logs what helps to understand a failure: pods, events, the rampart
// pods' logs and the node daemons' log tails.
func dumpCluster(t *testing.T, c *cluster.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, args := range [][]string{
		{"get", "pods", "-A", "-o", "wide"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
		{"-n", cluster.RampartNamespace, "logs", "-l", "app.kubernetes.io/name=rampart-node", "--tail=80"},
		{"-n", cluster.RampartNamespace, "logs", "-l", "app.kubernetes.io/name=rampart-injector", "--tail=40"},
		{"-n", nsDefault, "logs", "-l", deathstarPods, "-c", injector.ProxyContainerName, "--tail=40", "--prefix"},
		{"-n", nsDefault, "logs", "tiefighter", "-c", injector.ProxyContainerName, "--tail=40"},
	} {
		out, err := c.Kubectl(ctx, args...)
		t.Logf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, d := range []string{"kubelet", "containerd"} {
		t.Logf("%s log (tail):\n%s", d, tail(c.Log(d), 60))
	}
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
