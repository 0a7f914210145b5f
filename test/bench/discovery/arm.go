package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// bench is what every arm run shares.
type bench struct {
	c                  config
	dir                string
	cl                 *cluster
	proxyBin, nodeBin  string
	bundle, caDir      string
	cgroups            []string // one per proxy, cl.proxies order
	pinRoot            string
	http               *http.Client
	logf               func(format string, args ...any)
	idleCPU            float64 // API server CPU s per s with no proxy running
	baselineProxyRSSMB float64 // a proxy with no discovery
}

// armResult is one run of one arm.
type armResult struct {
	Arm           string    `json:"arm"`
	Rep           int       `json:"rep"`
	Watches       int       `json:"watches"`       // watches the arm added on the API server
	StartSeconds  float64   `json:"startSeconds"`  // first process started → every proxy ready
	StartCPU      float64   `json:"startCPU"`      // API server CPU s over the start
	SettleCPU     float64   `json:"settleCPU"`     // API server CPU s over the settle period
	ChangeCPU     float64   `json:"changeCPU"`     // API server CPU s per label change, above the settle rate
	APIRSSMB      float64   `json:"apiRSSMB"`      // end of settle
	APIHeapMB     float64   `json:"apiHeapMB"`     // go_memstats_heap_inuse_bytes, end of settle
	ProxyRSSMB    []float64 `json:"proxyRSSMB"`    // each proxy, end of settle
	AgentRSSMB    float64   `json:"agentRSSMB"`    // rampart-node, end of settle (node arm)
	AgentCPU      float64   `json:"agentCPU"`      // rampart-node CPU s over the whole run
	ChangeP50     []float64 `json:"changeP50"`     // s per change: median proxy
	ChangeAll     []float64 `json:"changeAll"`     // s per change: last proxy
	ProxyStartCPU float64   `json:"proxyStartCPU"` // all proxies' CPU s until ready
	Restarts      int       `json:"restarts"`      // proxies started again after their 30 s sync timeout
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func labelsArg(m map[string]string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

// proxyArgs is a server-role proxy as injected: the Star Wars bundle, HBONE
// with an SVID from the local CA, its pod's namespace, account and labels.
func (b *bench) proxyArgs(i int, admin string) []string {
	p := b.cl.proxies[i]
	return []string{"--bundle", b.bundle, "--ca-dir", b.caDir, "--namespace", p.ns, "--service-account", p.sa,
		"--labels", labelsArg(p.labels), "--listen-hbone", "127.0.0.1:0", "--upstream", "127.0.0.1:9",
		"--listen-admin", admin, "--log-level", b.c.logLevel}
}

// runArm starts the arm's processes, measures, and stops them.
func (b *bench) runArm(ctx context.Context, arm string, rep int) (res armResult, err error) {
	res = armResult{Arm: arm, Rep: rep}
	dir := filepath.Join(b.dir, fmt.Sprintf("%s-%d", arm, rep))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	before, err := b.cl.metrics(ctx)
	if err != nil {
		return res, err
	}
	var proxies []*proc
	var agent *proc
	defer func() {
		stopAll(proxies)
		if agent != nil {
			agent.stop()
		}
		if werr := b.waitWatches(ctx, before.watches); err == nil {
			err = werr
		}
	}()
	sock := filepath.Join(dir, "node", "discovery.sock")
	cpu0, _ := cpuSeconds(b.cl.apiPID)
	t0 := time.Now()
	if arm == "node" {
		maddr, err := freeAddr()
		if err != nil {
			return res, err
		}
		agent, err = startProc(dir, "rampart-node", "", b.nodeBin, "--kubeconfig", b.cl.adminKC, "--node-name", measuredNode,
			"--discovery-socket", sock, "--discovery-namespaces", b.c.agentNamespaces, "--metrics-addr", maddr,
			"--pin-root", b.pinRoot)
		if err != nil {
			return res, err
		}
		if err := b.waitReady(ctx, []*proc{agent}, []string{maddr}, time.Minute, nil); err != nil {
			return res, err
		}
	}
	admins := make([]string, len(b.cl.proxies))
	var starts []func(int) (*proc, error)
	for i := range b.cl.proxies {
		if admins[i], err = freeAddr(); err != nil {
			return res, err
		}
		args := b.proxyArgs(i, admins[i])
		if arm == "kube" {
			args = append(args, "--discovery", "kube", "--kubeconfig", b.cl.proxyKC)
		} else {
			args = append(args, "--discovery", "node", "--discovery-socket", sock)
		}
		start := func(n int) (*proc, error) {
			return startProc(dir, fmt.Sprintf("proxy-%03d-%d", i, n), b.cgroups[i], b.proxyBin, args...)
		}
		p, err := start(0)
		if err != nil {
			return res, err
		}
		proxies, starts = append(proxies, p), append(starts, start)
		// Proxies start in waves (-wave), as pods do on a node: on 2 cores, 20
		// kube proxies listing 3 000 objects at once outlast their 30 s sync timeout.
		if len(proxies)%b.c.wave == 0 || len(proxies) == len(b.cl.proxies) {
			from := (len(proxies) - 1) / b.c.wave * b.c.wave
			// A proxy that gives up waiting for its first lists (30 s) is started
			// again, as the kubelet would restart it; restarts are counted.
			restart := func(k int) (*proc, error) {
				res.Restarts++
				if res.Restarts > 10*len(b.cl.proxies) {
					return nil, fmt.Errorf("%d proxy restarts", res.Restarts)
				}
				return starts[from+k](res.Restarts)
			}
			if err := b.waitReady(ctx, proxies[from:], admins[from:len(proxies)], 10*time.Minute, restart); err != nil {
				return res, err
			}
			if len(proxies)%50 == 0 {
				b.logf("%s #%d: %d proxies ready after %.0f s", arm, rep, len(proxies), time.Since(t0).Seconds())
			}
		}
	}
	res.StartSeconds = time.Since(t0).Seconds()
	cpu1, _ := cpuSeconds(b.cl.apiPID)
	res.StartCPU = cpu1 - cpu0
	for _, p := range proxies {
		c, _ := cpuSeconds(p.pid())
		res.ProxyStartCPU += c
	}
	b.logf("%s #%d: %d proxies ready in %.1f s; settling %s", arm, rep, len(proxies), res.StartSeconds, b.c.settle)

	m, err := b.settle(ctx)
	if err != nil {
		return res, err
	}
	cpu2, _ := cpuSeconds(b.cl.apiPID)
	res.SettleCPU = cpu2 - cpu1
	res.Watches = m.watches - before.watches
	res.APIHeapMB, res.APIRSSMB = m.heapBytes/1e6, rssMB(b.cl.apiPID)
	for _, p := range proxies {
		res.ProxyRSSMB = append(res.ProxyRSSMB, rssMB(p.pid()))
	}
	if agent != nil {
		res.AgentRSSMB = rssMB(agent.pid())
	}

	changeStart := time.Now()
	var version string
	for k := range b.c.changes {
		version = fmt.Sprintf("%s-%d-%d", arm, rep, k)
		tc := time.Now()
		if err := b.cl.relabel(ctx, version); err != nil {
			return res, fmt.Errorf("relabel: %w", err)
		}
		delays, err := b.waitArrival(ctx, proxies, admins, tc)
		if err != nil {
			return res, fmt.Errorf("change %d: %w", k, err)
		}
		res.ChangeP50 = append(res.ChangeP50, median(delays))
		res.ChangeAll = append(res.ChangeAll, slices.Max(delays))
	}
	cpu3, _ := cpuSeconds(b.cl.apiPID)
	// Above the arm's own steady state (its settle rate): what the changes cost.
	steady := res.SettleCPU / b.c.settle.Seconds()
	res.ChangeCPU = (cpu3 - cpu2 - steady*time.Since(changeStart).Seconds()) / float64(b.c.changes)
	if agent != nil {
		res.AgentCPU, _ = cpuSeconds(agent.pid())
	}
	// The timestamps say an update arrived; the views say it was this one.
	for _, i := range []int{0, len(admins) - 1} {
		if got, err := b.probeVersion(admins[i]); err != nil || got != version {
			return res, fmt.Errorf("proxy %d's view has the probe pod's version %q (%v), want %q", i, got, err, version)
		}
	}
	return res, nil
}

// settle waits the settle period, reading the API server's metrics every
// second: the heap is the smallest seen (the least garbage), the watches the
// last count.
func (b *bench) settle(ctx context.Context) (apiMetrics, error) {
	var low apiMetrics
	for end := time.Now().Add(b.c.settle); ; {
		select {
		case <-ctx.Done():
			return low, ctx.Err()
		case <-time.After(min(time.Second, time.Until(end))):
		}
		m, err := b.cl.metrics(ctx)
		if err != nil {
			return low, err
		}
		if low.heapBytes == 0 || m.heapBytes < low.heapBytes {
			low.heapBytes = m.heapBytes
		}
		low.watches = m.watches
		if !time.Now().Before(end) {
			return low, nil
		}
	}
}

// waitReady waits until every process answers /healthz/ready with 200. A
// process that exits is an error, unless restart starts it again (procs[i] is
// replaced).
func (b *bench) waitReady(ctx context.Context, procs []*proc, admins []string, limit time.Duration, restart func(i int) (*proc, error)) error {
	ready := make([]bool, len(procs))
	left := len(procs)
	deadline := time.Now().Add(limit)
	for left > 0 {
		err := parallel(ctx, len(procs), 8, func(i int) error {
			if ready[i] {
				return nil
			}
			if procs[i].exited() {
				if restart == nil {
					return fmt.Errorf("%s exited:\n%s", procs[i].name, procs[i].tail())
				}
				p, err := restart(i)
				if err != nil {
					return fmt.Errorf("%s exited:\n%s\n%w", procs[i].name, procs[i].tail(), err)
				}
				procs[i] = p
				return nil
			}
			resp, err := b.http.Get("http://" + admins[i] + "/healthz/ready")
			if err != nil {
				return nil
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ready[i] = resp.StatusCode == http.StatusOK
			return nil
		})
		if err != nil {
			return err
		}
		left = 0
		for _, r := range ready {
			if !r {
				left++
			}
		}
		if left > 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("%d of %d not ready within %s", left, len(procs), limit)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	return nil
}

// waitArrival reads each proxy's rampart_discovery_last_update_timestamp_seconds
// until all are at or after tc, and returns each one's delay after tc. Proxies
// are read only after the change had time to arrive, and then only those that
// have not yet shown it.
func (b *bench) waitArrival(ctx context.Context, procs []*proc, admins []string, tc time.Time) ([]float64, error) {
	delays := make([]float64, len(admins))
	seen := make([]bool, len(admins))
	since := float64(tc.UnixNano()) / 1e9
	deadline := time.Now().Add(time.Minute)
	for wait := 500 * time.Millisecond; ; wait = 250 * time.Millisecond {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		err := parallel(ctx, len(admins), 8, func(i int) error {
			if seen[i] {
				return nil
			}
			if procs[i].exited() {
				return fmt.Errorf("%s exited:\n%s", procs[i].name, procs[i].tail())
			}
			v, err := b.lastUpdate(admins[i])
			if err != nil {
				return err
			}
			if v >= since {
				seen[i], delays[i] = true, v-since
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if !slices.Contains(seen, false) {
			return delays, nil
		}
		if time.Now().After(deadline) {
			n := 0
			for _, s := range seen {
				if !s {
					n++
				}
			}
			return nil, fmt.Errorf("%d proxies did not take the change in within a minute", n)
		}
	}
}

const lastUpdateMetric = "rampart_discovery_last_update_timestamp_seconds"

func (b *bench) lastUpdate(admin string) (float64, error) {
	resp, err := b.http.Get("http://" + admin + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, lastUpdateMetric+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s in /metrics", admin, lastUpdateMetric)
}

// probeVersion is the probe pod's version label in a proxy's /debug/config view.
func (b *bench) probeVersion(admin string) (string, error) {
	resp, err := b.http.Get("http://" + admin + "/debug/config")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var cfg struct {
		Discovery struct {
			View struct {
				Workloads []struct {
					IP     string            `json:"ip"`
					Labels map[string]string `json:"labels"`
				} `json:"workloads"`
			} `json:"view"`
		} `json:"discovery"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cfg); err != nil {
		return "", err
	}
	for _, w := range cfg.Discovery.View.Workloads {
		if w.IP == b.cl.probe.ip.String() {
			return w.Labels["version"], nil
		}
	}
	return "", fmt.Errorf("probe pod %s not in the view", b.cl.probe.ip)
}

// waitWatches waits until the API server holds no more watches than before
// the arm, so the next arm starts from the same state.
func (b *bench) waitWatches(ctx context.Context, want int) error {
	deadline := time.Now().Add(time.Minute)
	for {
		m, err := b.cl.metrics(ctx)
		if err == nil && m.watches <= want {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("API server still holds %d watches a minute after the arm (%d before)", m.watches, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
