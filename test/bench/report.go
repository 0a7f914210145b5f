package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// agg is one chain's medians over the repetitions.
type agg struct {
	p50, p90, p99, rps float64
	rssIdle, rssLoaded []float64
	cpu                []float64
}

func aggregate(ss []sample, idle []float64) agg {
	col := func(f func(sample) float64) float64 {
		var xs []float64
		for _, s := range ss {
			xs = append(xs, f(s))
		}
		return median(xs)
	}
	a := agg{p50: col(func(s sample) float64 { return s.p50 }), p90: col(func(s sample) float64 { return s.p90 }),
		p99: col(func(s sample) float64 { return s.p99 }), rps: col(func(s sample) float64 { return s.rps }),
		rssIdle: idle}
	for i := range idle {
		a.rssLoaded = append(a.rssLoaded, col(func(s sample) float64 { return s.rssLoaded[i] }))
		a.cpu = append(a.cpu, col(func(s sample) float64 { return s.cpuPerReq[i] }))
	}
	return a
}

func report(c config, chains []*chain, results map[string][]sample, idle map[string][]float64) string {
	aggs := map[string]agg{}
	for _, ch := range chains {
		aggs[ch.name] = aggregate(results[ch.name], idle[ch.name])
	}
	d, h := aggs["direct"], aggs["haproxy"]
	var b strings.Builder
	fmt.Fprintf(&b, "Chain benchmark, %s, %s; %s.\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), runtime.Version())
	fmt.Fprintf(&b, "POST, 1 kB responses (nginx, 1 worker), HTTP/1.1 keep-alive; fixed %d rps for %v over %d connections (latency from the scheduled send), max rate wrk -t1 -c32 for %v; medians of %d interleaved reps; one thread per proxy; the load generator shares the cores.\n\n",
		c.rate, c.fixed, c.conns, c.max, c.reps)
	b.WriteString("| chain | p50 / p90 / p99 ms | added p50 / p90 / p99 ms | added p90, p99 × HAProxy | max rps | × direct | × HAProxy | RSS per proxy idle → 1k rps, MB | CPU µs/request per proxy (client, server) |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, ch := range chains {
		a := aggs[ch.name]
		added, ratio := "–", "–"
		if ch.name != "direct" {
			added = fmt.Sprintf("+%.3f / +%.3f / +%.3f", a.p50-d.p50, a.p90-d.p90, a.p99-d.p99)
			ratio = fmt.Sprintf("%.2f, %.2f", (a.p90-d.p90)/(h.p90-d.p90), (a.p99-d.p99)/(h.p99-d.p99))
		}
		fmt.Fprintf(&b, "| %s | %.3f / %.3f / %.3f | %s | %s | %.0f | %.2f | %.2f | %s | %s |\n",
			ch.name, a.p50, a.p90, a.p99, added, ratio, a.rps, a.rps/d.rps, a.rps/h.rps,
			pairs(a.rssIdle, a.rssLoaded), list(a.cpu))
	}
	return b.String()
}

func pairs(idle, loaded []float64) string {
	if len(idle) == 0 {
		return "–"
	}
	var s []string
	for i := range idle {
		s = append(s, fmt.Sprintf("%.1f → %.1f", idle[i], loaded[i]))
	}
	return strings.Join(s, ", ")
}

func list(xs []float64) string {
	if len(xs) == 0 {
		return "–"
	}
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf("%.1f", x))
	}
	return strings.Join(s, ", ")
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	return fmt.Sprintf("%d × %s, Linux %s", runtime.NumCPU(), model, strings.TrimSpace(string(kernel)))
}
