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
	p50, p90, p99, churn50, churn90, rps float64
	cpuConn, cpuReq                      []float64
	rss                                  [][2]float64 // per proxy: cold, warm idle
}

func aggregate(ss []sample, rss [][2]float64) agg {
	col := func(f func(sample) float64) float64 {
		var xs []float64
		for _, s := range ss {
			xs = append(xs, f(s))
		}
		return median(xs)
	}
	a := agg{p50: col(func(s sample) float64 { return s.p50 }), p90: col(func(s sample) float64 { return s.p90 }),
		p99: col(func(s sample) float64 { return s.p99 }), rps: col(func(s sample) float64 { return s.rps }),
		churn50: col(func(s sample) float64 { return s.churn50 }), churn90: col(func(s sample) float64 { return s.churn90 }),
		rss: rss}
	for i := range rss {
		a.cpuConn = append(a.cpuConn, col(func(s sample) float64 { return s.cpuPerConn[i] }))
		a.cpuReq = append(a.cpuReq, col(func(s sample) float64 { return s.cpuPerReq[i] }))
	}
	return a
}

// report prints the issue-20 table: direct in absolute figures, every chain as
// what it adds over direct, CPU and RSS per proxy (client, server).
func report(c config, chains []*chain, results map[string][]sample, rss map[string][][2]float64) string {
	aggs := map[string]agg{}
	for _, ch := range chains {
		aggs[ch.name] = aggregate(results[ch.name], rss[ch.name])
	}
	d, h := aggs["direct"], aggs["haproxy"]
	var b strings.Builder
	fmt.Fprintf(&b, "Chain benchmark, %s, %s; %s; load average %s at the end.\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), runtime.Version(), loadavg())
	fmt.Fprintf(&b, "POST, 1 kB responses (nginx, 1 worker); mTLS between the two proxies; one thread per proxy; medians of %d interleaved reps. "+
		"Fixed: wrk, %d rps on one schedule over %d keep-alive connections, %v. New connection: one request per TCP connection (Connection: close), %d per second, %v. "+
		"Max: wrk -t1 -c32, %v. RSS after warm-up (cold) and %v idle after the last run (warm idle).\n\n",
		c.reps, c.rate, c.conns, c.fixed, c.churnRate, c.churn, c.max, c.settle)
	fmt.Fprintf(&b, "| chain | added p50 / p90 / p99 ms at %d rps, %d conns | new connection per request, %d/s: added p50 / p90 ms | CPU s per 1000 new connections, client / server | max rps (× HAProxy) | CPU µs per request at max, client / server | RSS cold → warm idle, client / server MB |\n",
		c.rate, c.conns, c.churnRate)
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, ch := range chains {
		a := aggs[ch.name]
		if ch.name == "direct" {
			fmt.Fprintf(&b, "| direct (absolute) | %.3f / %.3f / %.3f | %.3f / %.3f | – | %.0f (%s) | – | – |\n",
				a.p50, a.p90, a.p99, a.churn50, a.churn90, a.rps, ratio(a.rps, h.rps))
			continue
		}
		fmt.Fprintf(&b, "| %s | %+.3f / %+.3f / %+.3f | %+.3f / %+.3f | %s | %.0f (%s) | %s | %s |\n",
			ch.name, a.p50-d.p50, a.p90-d.p90, a.p99-d.p99, a.churn50-d.churn50, a.churn90-d.churn90,
			list(a.cpuConn, "%.3f"), a.rps, ratio(a.rps, h.rps), list(a.cpuReq, "%.1f"), rssList(a.rss))
	}
	return b.String()
}

// ratio is a/b, or – when b was not measured (HAProxy left out with -chains).
func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func rssList(rss [][2]float64) string {
	var s []string
	for _, r := range rss {
		s = append(s, fmt.Sprintf("%.1f → %.1f", r[0], r[1]))
	}
	return strings.Join(s, " / ")
}

func list(xs []float64, format string) string {
	if len(xs) == 0 {
		return "–"
	}
	var s []string
	for _, x := range xs {
		s = append(s, fmt.Sprintf(format, x))
	}
	return strings.Join(s, " / ")
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
