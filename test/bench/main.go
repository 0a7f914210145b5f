package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// config holds the tools and the run's shape.
type config struct {
	rampart, ghostunnel, haproxy, nginx, wrk, policy string
	rampartBase, chains                              string
	reps, rate, conns, churnRate                     int
	fixed, churn, max, settle                        time.Duration
	minDone                                          float64 // share of a fixed run's scheduled requests that must be answered (negative: no count check)
	out                                              string
	keep                                             bool
}

func main() {
	var c config
	flag.StringVar(&c.rampart, "rampart-proxy", "bin/rampart-proxy", "rampart-proxy binary")
	flag.StringVar(&c.rampartBase, "rampart-base", "", "another rampart-proxy build, measured as chain rampart-base (before/after in one run)")
	flag.StringVar(&c.chains, "chains", "", "comma-separated chains to run besides direct (default: all)")
	flag.StringVar(&c.ghostunnel, "ghostunnel", ".cache/bin/ghostunnel-v1.8.4/ghostunnel", "ghostunnel binary")
	flag.StringVar(&c.haproxy, "haproxy", "/usr/sbin/haproxy", "haproxy binary (2.6)")
	flag.StringVar(&c.nginx, "nginx", "/usr/sbin/nginx", "nginx binary (backend and nginx chain)")
	flag.StringVar(&c.wrk, "wrk", "/usr/bin/wrk", "wrk binary (fixed and max rate)")
	flag.StringVar(&c.policy, "policy", "policies/starwars", "Rego bundle for the Rampart chain")
	flag.IntVar(&c.reps, "reps", 3, "interleaved repetitions")
	flag.IntVar(&c.rate, "rate", 1000, "fixed request rate (requests per second, one schedule)")
	flag.IntVar(&c.conns, "conns", 10, "keep-alive connections of the fixed-rate run")
	flag.IntVar(&c.churnRate, "churn-rate", 200, "new connections (one request each) per second")
	flag.DurationVar(&c.fixed, "fixed", 10*time.Second, "duration of each fixed-rate run")
	flag.DurationVar(&c.churn, "churn", 5*time.Second, "duration of each new-connection run")
	flag.DurationVar(&c.max, "max", 5*time.Second, "duration of each max-rate run")
	flag.DurationVar(&c.settle, "settle", 5*time.Second, "idle time after the last run before reading RSS")
	flag.Float64Var(&c.minDone, "min-done", 0.9, "share of the fixed rate's requests that must be answered (less: the machine was too busy)")
	flag.StringVar(&c.out, "out", "", "also write the table to this file")
	flag.BoolVar(&c.keep, "keep", false, "keep the work dir (logs, configs)")
	flag.Parse()
	table, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Print(table)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(table), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

// sample is one chain's figures from one repetition.
type sample struct {
	p50, p90, p99    float64   // ms, fixed rate over keep-alive connections
	churn50, churn90 float64   // ms, a new connection per request
	cpuPerConn       []float64 // CPU seconds per 1000 new connections per proxy
	rps              float64   // max rate
	cpuPerReq        []float64 // µs per request per proxy at max rate
}

// run starts every chain, measures them in interleaved repetitions and returns
// the table.
func run(c config) (string, error) {
	dir, err := os.MkdirTemp("", "rampart-bench-")
	if err != nil {
		return "", err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	e := &env{cfg: c, dir: dir}
	defer e.stopAll()
	chains, err := e.setup()
	if err != nil {
		return "", fmt.Errorf("%w (logs in %s)", err, dir)
	}
	time.Sleep(time.Second)
	rss := map[string][][2]float64{} // per proxy: cold, warm idle
	for _, ch := range chains {
		for _, p := range ch.proxies {
			rss[ch.name] = append(rss[ch.name], [2]float64{p.rssMB(), 0})
		}
	}
	warm := withDuration(c, time.Second)
	warm.minDone = -1           // wrk's start-up is a large share of one second: only errors count
	for _, ch := range chains { // warm up: connections, pools, sessions
		if _, _, _, err := fixedRate(warm, dir, ch.entry); err != nil {
			return "", fmt.Errorf("%s warm-up: %w", ch.name, err)
		}
	}
	results := map[string][]sample{}
	for rep := range c.reps {
		for i := range chains { // rotate the order so no chain always runs first
			ch := chains[(i+rep)%len(chains)]
			s, err := measure(c, dir, ch)
			if err != nil {
				return "", fmt.Errorf("rep %d %s: %w", rep+1, ch.name, err)
			}
			fmt.Fprintf(os.Stderr, "rep %d %-10s fixed %.3f/%.3f/%.3f ms, churn %.3f/%.3f ms %v s/1000 conns, max %.0f rps %v µs/req  (load %s)\n",
				rep+1, ch.name, s.p50, s.p90, s.p99, s.churn50, s.churn90, s.cpuPerConn, s.rps, s.cpuPerReq, loadavg())
			results[ch.name] = append(results[ch.name], s)
		}
	}
	time.Sleep(c.settle)
	for _, ch := range chains {
		for i, p := range ch.proxies {
			rss[ch.name][i][1] = p.rssMB()
		}
	}
	return report(c, chains, results, rss), nil
}

func withDuration(c config, d time.Duration) config {
	c.fixed = d
	return c
}

// setup starts the backend and every chain and checks each serves the landing
// (and, where a policy runs, refuses the exhaust port).
func (e *env) setup() ([]*chain, error) {
	if err := e.setupCA(); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	if err := e.startBackend(); err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	makers := []struct {
		name string
		mk   func() (*chain, error)
	}{{"direct", e.direct}, {"nginx", e.nginx}, {"haproxy", e.haproxy}, {"ghostunnel", e.ghostunnel},
		{"rampart", func() (*chain, error) { return e.rampart("rampart", e.cfg.rampart) }}}
	if e.cfg.rampartBase != "" {
		makers = append(makers, struct {
			name string
			mk   func() (*chain, error)
		}{"rampart-base", func() (*chain, error) { return e.rampart("rampart-base", e.cfg.rampartBase) }})
	}
	var chains []*chain
	for _, m := range makers {
		if m.name != "direct" && e.cfg.chains != "" && !slices.Contains(strings.Split(e.cfg.chains, ","), m.name) {
			continue
		}
		ch, err := m.mk()
		if err != nil {
			return nil, err
		}
		if err := ready(ch); err != nil {
			return nil, err
		}
		chains = append(chains, ch)
	}
	for _, ch := range chains {
		if ch.name == "direct" || ch.name == "ghostunnel" { // no L7 rule
			continue
		}
		if code, err := status(ch.entry, "PUT", "/v1/exhaust-port"); err != nil || code != 403 {
			return nil, fmt.Errorf("%s: PUT /v1/exhaust-port got %d (%v), want 403", ch.name, code, err)
		}
	}
	return chains, nil
}

func ready(ch *chain) error {
	var code int
	var err error
	for range 100 {
		if code, err = status(ch.entry, "POST", "/v1/request-landing"); err == nil && code == 200 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s never served the landing: %d %v", ch.name, code, err)
}

func cpus(ch *chain) []time.Duration {
	var t []time.Duration
	for _, p := range ch.proxies {
		t = append(t, p.cpu())
	}
	return t
}

// measure runs the three workloads against one chain: fixed rate, new
// connection per request, max rate; CPU of each proxy from /proc around the
// last two.
func measure(c config, dir string, ch *chain) (sample, error) {
	var s sample
	var err error
	time.Sleep(300 * time.Millisecond) // let the previous run's sockets settle
	if s.p50, s.p90, s.p99, err = fixedRate(c, dir, ch.entry); err != nil {
		return s, err
	}
	before := cpus(ch)
	var n int
	if s.churn50, s.churn90, n, err = churn(ch.entry, c.churnRate, c.churn); err != nil {
		return s, fmt.Errorf("churn: %w", err)
	}
	for i, t := range cpus(ch) {
		s.cpuPerConn = append(s.cpuPerConn, (t-before[i]).Seconds()*1000/float64(n))
	}
	time.Sleep(300 * time.Millisecond)
	before = cpus(ch)
	rps, total, err := maxRate(c, dir, ch.entry, c.max)
	if err != nil {
		return s, err
	}
	s.rps = rps
	for i, t := range cpus(ch) {
		s.cpuPerReq = append(s.cpuPerReq, float64(t-before[i])/1e3/float64(total))
	}
	return s, nil
}

// loadavg is the 1-minute load average, reported with every figure.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
