package main

import (
	"cmp"
	"fmt"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// table renders the results as Markdown: one row per attack × target.
func table(c config, rs []result) string {
	var b strings.Builder
	kernel, _ := exec.Command("uname", "-r").Output()
	fmt.Fprintf(&b, "DoS suite, %s, %d CPUs, Linux %s; %s. %v per attack; legitimate client %d rps on its own connections (timeout %v); "+
		"one thread/worker per target (rampart GOMAXPROCS=1, nginx worker_processes 1, HAProxy nbthread 1), the same app behind each; "+
		"the app, the legitimate client and the attackers run in the suite's process on the same CPUs%s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), strings.TrimSpace(string(kernel)),
		runtime.Version(), c.duration, c.rate, legitTimeout, repsNote(c.reps))
	worse := worseAnchor(rs)
	b.WriteString("| attack | target | legit success % | legit p99 ms | p99 × worse anchor | RSS idle → peak MB | CPU s | alive | denied reached app | notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		if r.Skipped != "" {
			continue
		}
		note := r.Note
		if r.GoroutinesIdle >= 0 {
			note += fmt.Sprintf("; goroutines %d → peak %d → %d after", r.GoroutinesIdle, r.GoroutinesPeak, r.GoroutinesAfter)
		}
		if r.LegitErrors != "" {
			note += "; legit failures: " + r.LegitErrors
		}
		if r.Err != "" {
			note += "; error: " + r.Err
		}
		if r.Leaked != "" {
			note += "; " + r.Leaked
		}
		ratio := "–"
		if w := worse[r.Attack]; w > 0 {
			ratio = fmt.Sprintf("%.2f", r.LegitP99ms/w)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %s | %.1f → %.1f | %.1f | %s | %d | %s |\n",
			r.Attack, r.Target, r.LegitOK, r.LegitP99ms, ratio, r.RSSIdleMB, r.RSSPeakMB, r.CPUs, yesNo(r.Alive),
			r.DeniedReached, strings.ReplaceAll(note, "|", "/"))
	}
	return b.String()
}

// medianRun is the run with the median legitimate p99 among rs (the runs of one
// attack against one target), its note listing every run's p99.
func medianRun(rs []result) result {
	if len(rs) == 1 {
		return rs[0]
	}
	sorted := slices.SortedFunc(slices.Values(rs), func(a, b result) int { return cmp.Compare(a.LegitP99ms, b.LegitP99ms) })
	m := sorted[(len(sorted)-1)/2]
	var p99s []string
	for _, r := range rs {
		p99s = append(p99s, fmt.Sprintf("%.1f", r.LegitP99ms))
	}
	m.Note += fmt.Sprintf("; p99 of %d runs: %s ms", len(rs), strings.Join(p99s, ", "))
	return m
}

// worseAnchor is, per attack, the higher legitimate p99 of nginx and HAProxy in
// the run (the goal is Rampart's p99 within 3× of it).
func worseAnchor(rs []result) map[string]float64 {
	w := map[string]float64{}
	for _, r := range rs {
		if r.Skipped == "" && (r.Target == "nginx" || r.Target == "haproxy") {
			w[r.Attack] = max(w[r.Attack], r.LegitP99ms)
		}
	}
	return w
}

func repsNote(n int) string {
	if n == 1 {
		return ""
	}
	return fmt.Sprintf("; each attack ran %d times per target, interleaved across targets, and each row is the run with the median p99", n)
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "NO"
}
