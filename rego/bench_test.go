package rego_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
)

// starWarsInput is what the proxy hands the engine for tiefighter's landing request:
// every field filled, as in production.
func starWarsInput() *rego.Input {
	return &rego.Input{
		Source: rego.Peer{
			Principal: "spiffe://cluster.local/ns/default/sa/tiefighter",
			Labels:    map[string]string{"org": "empire", "class": "tiefighter"},
			Address:   "198.18.0.2:40000",
		},
		Destination: rego.Peer{
			Principal: "spiffe://cluster.local/ns/default/sa/deathstar",
			Labels:    map[string]string{"org": "empire", "class": "deathstar", "app": "deathstar"},
			Address:   "198.18.0.3:80",
		},
		Request: &rego.Request{
			Method: "POST", Path: "/v1/request-landing", Host: "deathstar.default.svc.cluster.local",
			Headers: map[string]string{"user-agent": "curl/8.0", "accept": "*/*", "content-length": "0"},
			Scheme:  "http", Protocol: "HTTP/1.1",
		},
	}
}

// latency times every operation separately and reports p50/p99 next to ns/op, so
// benchmarks of different mechanisms compare on the same percentiles.
type latency struct{ took []time.Duration }

func (l *latency) time(op func()) {
	start := time.Now()
	op()
	l.took = append(l.took, time.Since(start))
}

func (l *latency) report(b *testing.B) {
	if len(l.took) == 0 {
		return
	}
	slices.Sort(l.took)
	b.ReportMetric(float64(l.took[len(l.took)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(l.took[len(l.took)*99/100].Nanoseconds()), "p99-ns")
}

func benchDecide(b *testing.B, e *rego.Engine, in *rego.Input, want bool) {
	ctx := context.Background()
	var l latency
	l.took = make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		l.time(func() {
			if d := e.Decide(ctx, in); d.Allowed != want {
				b.Fatalf("allowed=%v want %v: %s", d.Allowed, want, d.Reason)
			}
		})
	}
	// CPU spent per decision by the whole process (GC included): on a shared
	// machine the wall-clock percentiles also count time spent waiting for a core.
	b.ReportMetric(float64((cpuTime()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
	l.report(b)
}

// BenchmarkDecideStarWars is the headline figure: one Star Wars decision with
// a fully populated input (goal p50 ≤ 5 µs, limit 10 µs).
func BenchmarkDecideStarWars(b *testing.B) {
	xwing := starWarsInput()
	xwing.Source.Labels = map[string]string{"org": "alliance", "class": "xwing"}
	for _, c := range []struct {
		name string
		opts []rego.Option
	}{
		{"cached", nil}, // the default: a repeated input is answered from the revision's cache
		{"evaluated", []rego.Option{rego.WithDecisionCache(0)}}, // every decision runs the policy
	} {
		e := newEngine(b, c.opts...)
		if err := e.LoadDir(context.Background(), "starwars", starwarsDir); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/allow", func(b *testing.B) { benchDecide(b, e, starWarsInput(), true) })
		b.Run(c.name+"/deny", func(b *testing.B) { benchDecide(b, e, xwing, false) })
	}
}

const generatedRules = 10000

// writeRulesBundle writes a bundle of n path rules, each "method M on path /api/rNNNNN",
// as separate rules OPA's rule index can select by equality on the input.
func writeRulesBundle(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("package rampart.authz\n\ndefault allow := false\n")
	for i := range n {
		fmt.Fprintf(&sb, "\nallow if {\n\tinput.attributes.request.http.method == %q\n\tinput.attributes.request.http.path == \"/api/r%05d\"\n}\n",
			[]string{"GET", "POST", "PUT"}[i%3], i)
	}
	writeBundle(b, dir, "rules-10k", sb.String(), "")
	return dir
}

// writeRefHeadRulesBundle writes n one-line rules with ref heads,
// route["/api/rNNNNN"] := "M": each is its own node in OPA's rule tree, found by key.
func writeRefHeadRulesBundle(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("package rampart.authz\n\ndefault allow := false\n\nallow if route[input.attributes.request.http.path] == input.attributes.request.http.method\n\n")
	for i := range n {
		fmt.Fprintf(&sb, "route[\"/api/r%05d\"] := %q\n", i, []string{"GET", "POST", "PUT"}[i%3])
	}
	writeBundle(b, dir, "refheads-10k", sb.String(), "")
	return dir
}

// writeRoutesBundle writes the same n routes as data, decided by one lookup rule.
func writeRoutesBundle(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString(`{"routes": {`)
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, "\"/api/r%05d\": [%q]", i, []string{"GET", "POST", "PUT"}[i%3])
	}
	sb.WriteString("}}")
	policy := "package rampart.authz\n\ndefault allow := false\n\nallow if input.attributes.request.http.method in data.rampart.authz.routes[input.attributes.request.http.path]\n"
	writeBundle(b, dir, "routes-10k", policy, sb.String())
	return dir
}

func writeBundle(b testing.TB, dir, rev, policy, data string) {
	b.Helper()
	files := map[string]string{
		".manifest":   `{"revision": "` + rev + `", "roots": ["rampart/authz"]}`,
		"policy.rego": policy,
	}
	if data != "" {
		files["rampart/authz/data.json"] = data
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func routeInput(method string, i int) *rego.Input {
	in := starWarsInput()
	in.Request.Method, in.Request.Path = method, fmt.Sprintf("/api/r%05d", i)
	return in
}

// BenchmarkDecide10kRules decides against 10 000 generated path rules (goal p50 ≤ 20 µs,
// limit 30 µs), as rules (rule index) and as a data lookup, hit and miss.
func BenchmarkDecide10kRules(b *testing.B) {
	for _, kind := range []struct {
		name  string
		write func(*testing.B, int) string
	}{{"rules", writeRulesBundle}, {"refheads", writeRefHeadRulesBundle}, {"data", writeRoutesBundle}} {
		e := newEngine(b)
		if err := e.LoadDir(context.Background(), "main", kind.write(b, generatedRules)); err != nil {
			b.Fatal(err)
		}
		b.Run(kind.name+"/hit", func(b *testing.B) { benchDecide(b, e, routeInput("POST", 7777), true) })
		b.Run(kind.name+"/miss", func(b *testing.B) { benchDecide(b, e, routeInput("GET", 7777), false) })
	}
}

// BenchmarkLoad10kRules measures a full load of the 10 000-rule bundle: read, compile,
// build the rule index, prepare (limit 1 s).
func BenchmarkLoad10kRules(b *testing.B) {
	for _, kind := range []struct {
		name  string
		write func(*testing.B, int) string
	}{{"rules", writeRulesBundle}, {"refheads", writeRefHeadRulesBundle}, {"data", writeRoutesBundle}} {
		dir := kind.write(b, generatedRules)
		b.Run(kind.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				e := newEngine(b)
				if err := e.LoadDir(context.Background(), "main", dir); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time of the whole process (GC workers included) per load: on a
			// machine shared with other work, wall time mostly measures the queue.
			b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecideParallel decides from every core at once: with no lock on the
// decision path, throughput should scale with GOMAXPROCS (compare -cpu 1,2).
func BenchmarkDecideParallel(b *testing.B) {
	e := newEngine(b)
	if err := e.LoadDir(context.Background(), "starwars", starwarsDir); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		in := starWarsInput()
		for pb.Next() {
			if d := e.Decide(context.Background(), in); !d.Allowed {
				b.Fatal(d.Reason)
			}
		}
	})
}
