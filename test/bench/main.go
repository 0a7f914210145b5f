package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
)

// config holds the tools and the run's shape.
type config struct {
	rampart, ghostunnel, haproxy, nginx, wrk, policy string
	reps, rate, conns                                int
	fixed, max                                       time.Duration
	out                                              string
	keep                                             bool
}

func main() {
	var c config
	flag.StringVar(&c.rampart, "rampart-proxy", "bin/rampart-proxy", "rampart-proxy binary")
	flag.StringVar(&c.ghostunnel, "ghostunnel", ".cache/bin/ghostunnel-v1.8.4/ghostunnel", "ghostunnel binary")
	flag.StringVar(&c.haproxy, "haproxy", "/usr/sbin/haproxy", "haproxy binary (2.6)")
	flag.StringVar(&c.nginx, "nginx", "/usr/sbin/nginx", "nginx binary (backend)")
	flag.StringVar(&c.wrk, "wrk", "/usr/bin/wrk", "wrk binary (max rate)")
	flag.StringVar(&c.policy, "policy", "policies/starwars", "Rego bundle for the Rampart chain")
	flag.IntVar(&c.reps, "reps", 3, "interleaved repetitions")
	flag.IntVar(&c.rate, "rate", 1000, "fixed request rate (requests per second)")
	flag.IntVar(&c.conns, "conns", 4, "keep-alive connections of the fixed-rate generator")
	flag.DurationVar(&c.fixed, "fixed", 10*time.Second, "duration of each fixed-rate run")
	flag.DurationVar(&c.max, "max", 5*time.Second, "duration of each max-rate run")
	flag.StringVar(&c.out, "out", "", "also write the table to this file")
	flag.BoolVar(&c.keep, "keep", false, "keep the work dir (logs, configs)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// sample is one chain's figures from one repetition.
type sample struct {
	p50, p90, p99 float64   // ms
	rps           float64   // max rate
	rssLoaded     []float64 // MB per proxy, peak during the fixed-rate run
	cpuPerReq     []float64 // µs per request per proxy at max rate
}

func run(c config) error {
	dir, err := os.MkdirTemp("", "rampart-bench-")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	e := &env{cfg: c, dir: dir}
	defer e.stopAll()
	chains, err := e.setup()
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, dir)
	}
	idle := map[string][]float64{}
	for _, ch := range chains {
		if _, err := fixedRate(ch.entry, c.rate, time.Second, c.conns); err != nil { // warm up
			return fmt.Errorf("%s warm-up: %w", ch.name, err)
		}
	}
	time.Sleep(time.Second)
	for _, ch := range chains {
		for _, p := range ch.proxies {
			idle[ch.name] = append(idle[ch.name], p.rssMB())
		}
	}
	results := map[string][]sample{}
	for rep := range c.reps {
		for i := range chains { // rotate the order so no chain always runs first
			ch := chains[(i+rep)%len(chains)]
			s, err := measure(c, dir, ch)
			if err != nil {
				return fmt.Errorf("rep %d %s: %w", rep+1, ch.name, err)
			}
			fmt.Fprintf(os.Stderr, "rep %d %-10s p50 %.3f p90 %.3f p99 %.3f ms, max %.0f rps, cpu %v µs/req, rss %v MB\n",
				rep+1, ch.name, s.p50, s.p90, s.p99, s.rps, s.cpuPerReq, s.rssLoaded)
			results[ch.name] = append(results[ch.name], s)
		}
	}
	table := report(c, chains, results, idle)
	fmt.Print(table)
	if c.out != "" {
		return os.WriteFile(c.out, []byte(table), 0o644)
	}
	return nil
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
	var chains []*chain
	for _, mk := range []func() (*chain, error){e.direct, e.rampart, e.haproxy, e.ghostunnel} {
		ch, err := mk()
		if err != nil {
			return nil, err
		}
		if err := ready(ch); err != nil {
			return nil, err
		}
		chains = append(chains, ch)
	}
	for _, name := range []string{"rampart", "haproxy"} {
		ch := chains[slices.IndexFunc(chains, func(c *chain) bool { return c.name == name })]
		if code, err := status(ch.entry, "PUT", "/v1/exhaust-port"); err != nil || code != 403 {
			return nil, fmt.Errorf("%s: PUT /v1/exhaust-port got %d (%v), want 403", name, code, err)
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

func measure(c config, dir string, ch *chain) (sample, error) {
	var s sample
	stop := make(chan struct{})
	var wg sync.WaitGroup
	s.rssLoaded = make([]float64, len(ch.proxies))
	wg.Add(1)
	go func() { // peak RSS while the fixed rate runs
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			for i, p := range ch.proxies {
				s.rssLoaded[i] = max(s.rssLoaded[i], p.rssMB())
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	time.Sleep(500 * time.Millisecond) // let the previous run's sockets settle
	lat, err := fixedRate(ch.entry, c.rate, c.fixed, c.conns)
	close(stop)
	wg.Wait()
	if err != nil {
		return s, err
	}
	slices.Sort(lat)
	ms := func(p float64) float64 { return float64(percentile(lat, p)) / 1e6 }
	s.p50, s.p90, s.p99 = ms(0.50), ms(0.90), ms(0.99)

	before := make([]time.Duration, len(ch.proxies))
	for i, p := range ch.proxies {
		before[i] = p.cpu()
	}
	rps, total, err := maxRate(c, dir, ch.entry, c.max)
	if err != nil {
		return s, err
	}
	s.rps = rps
	for i, p := range ch.proxies {
		s.cpuPerReq = append(s.cpuPerReq, float64(p.cpu()-before[i])/1e3/float64(total))
	}
	return s, nil
}
