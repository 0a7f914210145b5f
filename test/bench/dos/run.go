package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// result is one attack against one target.
type result struct {
	Attack          string  `json:"attack"`
	Target          string  `json:"target"`
	Skipped         string  `json:"skipped,omitempty"`
	LegitSent       int     `json:"legit_sent"`
	LegitOK         float64 `json:"legit_success_pct"`
	LegitP99ms      float64 `json:"legit_p99_ms"`
	RSSIdleMB       float64 `json:"rss_idle_mb"`
	RSSPeakMB       float64 `json:"rss_peak_mb"`
	CPUs            float64 `json:"cpu_s"`
	Alive           bool    `json:"alive"`
	DeniedReached   int64   `json:"denied_reached_app"`
	DeniedProbes    int     `json:"denied_probes"`
	GoroutinesIdle  int     `json:"goroutines_idle"` // Rampart only; -1 elsewhere
	GoroutinesPeak  int     `json:"goroutines_peak"`
	GoroutinesAfter int     `json:"goroutines_after"`
	ClosedBy        string  `json:"flood_closed_by,omitempty"`
	BytesPerConn    float64 `json:"bytes_per_conn,omitempty"`
	Seconds         float64 `json:"attack_seconds"`
	LegitErrors     string  `json:"legit_errors,omitempty"`
	Note            string  `json:"note"`
	Err             string  `json:"error,omitempty"`
	Leaked          string  `json:"leaked,omitempty"`
}

// runOne starts a fresh target, measures it idle, runs the attack while the
// legitimate client and the denied probe run, measures again and stops it.
func runOne(e *env, name string, at attack, s scale, d time.Duration, rate int) (r result) {
	r = result{Attack: at.name, Target: name, GoroutinesIdle: -1, GoroutinesPeak: -1, GoroutinesAfter: -1}
	if at.family == "hbone" && name != "rampart" {
		r.Skipped = "no HBONE"
		return r
	}
	t, err := e.start(name)
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer func() {
		if err := t.proc.stop(); err != nil {
			r.Leaked = err.Error()
		}
	}()
	warm := http1Client(t.h1)
	for range 20 {
		_ = warm.do(context.Background())
	}
	warm.close()
	// Rampart returns start-up memory 1 s after it starts (and again at 10 s):
	// idle is measured after the first round.
	time.Sleep(time.Until(t.started.Add(1500 * time.Millisecond)))
	time.Sleep(300 * time.Millisecond)
	r.GoroutinesIdle = t.goroutines(context.Background())
	idle := t.proc.usage()
	r.RSSIdleMB = mb(idle.rssKB)
	deniedBefore := e.app.denied.Load()

	o, lr := underAttack(e, t, at, &attackEnv{t: t, e: e, s: s, d: d}, rate, &r)
	r.Alive = t.proc.alive()
	r.CPUs = (t.proc.usage().cpu - idle.cpu).Seconds()
	r.RSSPeakMB = max(r.RSSPeakMB, r.RSSIdleMB)
	r.LegitSent, r.LegitOK, r.LegitP99ms = lr.sent, lr.successPct(), float64(lr.p99.Microseconds())/1e3
	r.LegitErrors = lr.errs
	r.ClosedBy, r.BytesPerConn, r.Note = o.closedBy, o.bytesPerConn, o.note
	if o.err != nil {
		r.Err = o.err.Error()
	}
	time.Sleep(200 * time.Millisecond) // answers still in flight to the app
	r.DeniedReached = e.app.denied.Load() - deniedBefore
	if r.Alive && r.GoroutinesIdle >= 0 {
		r.GoroutinesAfter = settleGoroutines(t, r.GoroutinesIdle)
	}
	return r
}

// underAttack runs the attack with the legitimate client, the denied probe and
// the samplers (peaks into r) beside it, and releases what the app held.
func underAttack(e *env, t *target, at attack, a *attackEnv, rate int, r *result) (outcome, legitResult) {
	stopSampling := sample(t, &r.RSSPeakMB, &r.GoroutinesPeak)
	defer stopSampling()
	legitCtx, stopLegit := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var lr legitResult
	wg.Add(2)
	legit := legitFor(e, t, at.family)
	defer legit.close()
	go func() { defer wg.Done(); lr = runLegit(legitCtx, rate, legit.do) }()
	go func() { defer wg.Done(); r.DeniedProbes = probeDenied(legitCtx, t.h1) }()

	ctx, cancel := context.WithTimeout(context.Background(), a.d+90*time.Second) // setup allowance
	began := time.Now()
	o := at.run(ctx, a)
	r.Seconds = time.Since(began).Seconds()
	cancel()
	stopLegit()
	wg.Wait()
	e.app.release()
	return o, lr
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

// goroutineSlack is how far above idle the goroutine count may stay once an
// attack is over (timers, pooled upstream connections).
const goroutineSlack = 20

// settleGoroutines polls the target's goroutine count for up to 5 s until it is
// back within goroutineSlack of idle, and returns the last count.
func settleGoroutines(t *target, idle int) int {
	n := -1
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if n = t.goroutines(context.Background()); n >= 0 && n <= idle+goroutineSlack {
			break
		}
	}
	return n
}

// sample polls the process tree's RSS every 50 ms and, for Rampart, its
// goroutines every 500 ms, keeping the peaks, until stopped.
func sample(t *target, rssPeak *float64, goroutinesPeak *int) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			*rssPeak = max(*rssPeak, mb(t.proc.usage().rssKB))
			if i%10 == 0 && t.admin != "" {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				*goroutinesPeak = max(*goroutinesPeak, t.goroutines(ctx))
				cancel()
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

func legitFor(e *env, t *target, family string) client {
	switch family {
	case "h2c":
		return h2cClient(t.h2c)
	case "hbone":
		return hboneClient(t.hbone, e.app.addr, e.clientTLS)
	}
	return http1Client(t.h1)
}

// summary is one line per result for the log while the suite runs.
func (r result) summary() string {
	if r.Skipped != "" {
		return fmt.Sprintf("%-22s %-8s skipped: %s", r.Attack, r.Target, r.Skipped)
	}
	return fmt.Sprintf("%-22s %-8s %.1fs legit %d sent %.1f%% p99 %.0f ms, rss %.1f→%.1f MB, cpu %.1f s, alive %v, denied→app %d, goroutines %d→%d→%d; %s %s %s",
		r.Attack, r.Target, r.Seconds, r.LegitSent, r.LegitOK, r.LegitP99ms, r.RSSIdleMB, r.RSSPeakMB, r.CPUs, r.Alive, r.DeniedReached,
		r.GoroutinesIdle, r.GoroutinesPeak, r.GoroutinesAfter, r.Note, r.Err, r.LegitErrors)
}
