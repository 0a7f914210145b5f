package e2e_test

// The Star Wars scenario on a real single-node cluster (test/cluster: etcd,
// kube-apiserver, controller-manager, scheduler, containerd + runc, kubelet,
// kube-proxy, CoreDNS), with Rampart installed from the images pushed to the
// cluster's loopback registry by `rampart install | kubectl apply`, and the app
// applied as users apply it (`rampart example starwars | kubectl apply`). Every
// step shares one cluster so the whole scenario costs one start.

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/cluster"
	"github.com/rampart-mesh/rampart/test/support"
)

// Namespaces of the scenario: two opted in (the example must work in any
// namespace), one left alone.
const (
	nsDefault = "default"
	nsEmpire  = "empire"
	nsOutlaws = "outlaws"
)

// The Cilium guide's answers.
const (
	landed = "Ship landed"
	denied = "Access denied"
	panics = "Panic: deathstar exploded"
)

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole cluster; not in -short")
	}
	if os.Geteuid() != 0 {
		support.Need(t, "needs root: the cluster runs kubelet, containerd and runc in a network namespace of its own")
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{InstallRampart: true, Log: testWriter{t}})
	if errors.Is(err, cluster.ErrMissing) {
		support.Need(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpCluster(t, c)
		}
		if err := c.Stop(); err != nil {
			t.Errorf("cluster stop: %v", err)
		}
	})
	up := time.Since(began)
	s := &scenario{t: t, c: c, ctx: ctx}
	steps := []struct {
		name string
		run  func(*testing.T)
		must bool // later steps need it
	}{
		{"rampart installed and ready", s.installed, true},
		{"README's example and kubectl exec lines, as written, in default", s.readmeLines, true},
		{"injected pods ready through rewritten probes, proxy first", s.injectedPods, false},
		{"the Cilium guide's commands in default", func(t *testing.T) { s.guide(t, nsDefault) }, true},
		{"captured and tunnelled over mTLS", s.mtlsEvidence, false},
		{"the same example in a second namespace", s.secondNamespace, false},
		{"unlabelled namespace: not injected, refused by STRICT", s.unlabelled, false},
		{"proxy container restart recovers, no bypass meanwhile", s.proxyRestart, false},
		{"rampart-node restart leaves pods captured", s.nodeRestart, false},
		{"pod created while rampart-node is stopped waits for capture", s.nodeStopped, false},
		{"pod delete detaches and unpins", s.podDelete, false},
		{"measurements", s.measure, false},
		{"policy ConfigMap replaced: changed in default, broken in empire", s.policyUpdates, false},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) && st.must {
			t.Fatalf("step %q failed; the later steps depend on it", st.name)
		}
	}
	t.Logf("wall time: cluster up with Rampart installed %.1fs, whole scenario %.1fs", up.Seconds(), time.Since(began).Seconds())
}

// testWriter sends the harness's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
