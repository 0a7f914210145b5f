package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/redirect/agent"
)

// run sets the cluster up, runs the arms interleaved, and writes the report to out.
func run(ctx context.Context, c config, out, progress io.Writer) error {
	r, err := measure(ctx, c, progress)
	if err != nil {
		return err
	}
	r.write(out)
	return nil
}

// measure does the runs and returns their results.
func measure(ctx context.Context, c config, progress io.Writer) (*report, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root: proxies run in pod cgroups, and rampart-node checks eBPF support")
	}
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(progress, "[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	assets, err := toolsAssets(root)
	if err != nil {
		return nil, err
	}
	cgroupRoot, err := agent.Cgroup2Root("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("no cgroup2 mount: %w", err)
	}
	dir, err := os.MkdirTemp("", "rampart-discovery-bench-")
	if err != nil {
		return nil, err
	}
	if c.keep {
		logf("work dir %s (kept)", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b := &bench{c: c, dir: dir, logf: logf, bundle: filepath.Join(root, "policies", "starwars"), caDir: filepath.Join(dir, "ca"),
		http: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2}}}
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/rampart-proxy", "./cmd/rampart-node")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, out)
	}
	b.proxyBin, b.nodeBin = filepath.Join(dir, "rampart-proxy"), filepath.Join(dir, "rampart-node")
	if _, err := identity.InitCA(b.caDir, spiffeid.RequireTrustDomainFromString("cluster.local"), 0); err != nil {
		return nil, err
	}
	logf("built rampart-proxy and rampart-node; starting kube-apiserver and etcd from %s", assets)
	if b.cl, err = startCluster(assets, dir); err != nil {
		return nil, err
	}
	defer b.cl.stop()
	if err := b.cl.populate(ctx, c, dir); err != nil {
		return nil, err
	}
	logf("created %d pods, %d services and %d endpointslices in %d namespaces over %d nodes; %d proxies on %s",
		c.pods, c.services, c.services, c.namespaces, c.pods/c.proxies, len(b.cl.proxies), measuredNode)
	uids := make([]string, len(b.cl.proxies))
	for i, p := range b.cl.proxies {
		uids[i] = p.uid
	}
	var remove func()
	if b.cgroups, remove, err = podCgroups(cgroupRoot, uids); err != nil {
		return nil, err
	}
	defer remove()
	b.pinRoot = fmt.Sprintf("/sys/fs/bpf/rampart-discovery-bench-%d", os.Getpid())
	defer os.RemoveAll(b.pinRoot)

	rep := &report{c: c, objects: b.cl.objects}
	if err := b.baseline(ctx, rep); err != nil {
		return nil, err
	}
	for r := range c.reps {
		for _, arm := range c.arms {
			res, err := b.runArm(ctx, arm, r+1)
			if err != nil {
				return nil, fmt.Errorf("%s #%d: %w", arm, r+1, err)
			}
			logf("%s #%d done: %s", arm, r+1, res.row())
			rep.runs = append(rep.runs, res)
		}
	}
	rep.load = loadAvg()
	rep.elapsed = time.Since(start)
	return rep, nil
}

// baseline measures the API server idle (no proxy) over the settle period,
// and the RSS of one proxy without discovery: the fixed costs the arms add to.
func (b *bench) baseline(ctx context.Context, rep *report) error {
	cpu0, _ := cpuSeconds(b.cl.apiPID)
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(min(b.c.settle, 5*time.Second)):
	}
	cpu1, _ := cpuSeconds(b.cl.apiPID)
	b.idleCPU = (cpu1 - cpu0) / time.Since(t0).Seconds()
	m, err := b.cl.metrics(ctx)
	if err != nil {
		return err
	}
	rep.idleCPU, rep.idleWatches, rep.idleRSS, rep.idleHeap = b.idleCPU, m.watches, rssMB(b.cl.apiPID), m.heapBytes/1e6

	// The fixed costs: a proxy without discovery; one with informers on an
	// empty namespace (client-go and its machinery, no object); rampart-node
	// without its catalog.
	if _, err := b.cl.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "empty"}},
		metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("namespace empty: %w", err)
	}
	var admins []string
	var procs []*proc
	defer func() { stopAll(procs) }()
	for i, extra := range [][]string{nil, {"--discovery", "kube", "--kubeconfig", b.cl.proxyKC, "--discovery-namespace", "empty"}} {
		admin, err := freeAddr()
		if err != nil {
			return err
		}
		p, err := startProc(b.dir, fmt.Sprintf("proxy-baseline-%d", i), b.cgroups[0], b.proxyBin, append(b.proxyArgs(0, admin), extra...)...)
		if err != nil {
			return err
		}
		admins, procs = append(admins, admin), append(procs, p)
	}
	maddr, err := freeAddr()
	if err != nil {
		return err
	}
	p, err := startProc(b.dir, "rampart-node-baseline", "", b.nodeBin, "--kubeconfig", b.cl.adminKC, "--node-name", measuredNode,
		"--discovery-socket", "", "--metrics-addr", maddr, "--pin-root", b.pinRoot)
	if err != nil {
		return err
	}
	admins, procs = append(admins, maddr), append(procs, p)
	if err := b.waitReady(ctx, procs, admins, 2*time.Minute, nil); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	rep.baseProxyRSS, rep.emptyKubeProxyRSS, rep.baseAgentRSS = rssMB(procs[0].pid()), rssMB(procs[1].pid()), rssMB(procs[2].pid())
	b.logf("baseline: API server idle %.3f CPU s/s, %d watches; a proxy without discovery %.1f MB, with informers on an empty namespace %.1f MB; rampart-node without catalog %.1f MB",
		b.idleCPU, m.watches, rep.baseProxyRSS, rep.emptyKubeProxyRSS, rep.baseAgentRSS)
	return nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil || len(b) < 14 {
		return "?"
	}
	return string(b[:14])
}
