package replay_test

import (
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
	"github.com/rampart-mesh/rampart/rego/replay"
)

// trafficGen writes n decision-log lines of varied traffic on the fly, as a
// recording proxy in observe mode (allow everything) would log them: six source
// workloads over three destinations, four methods, paths carrying numeric ids
// and UUIDs, a fresh source port and x-request-id on every request, so no two
// inputs are the same bytes.
//
// With keepAlive it logs traffic as clients on kept-alive connections without
// request ids send it: each source reuses one connection (source port) for 100
// requests and no x-request-id is set, so inputs repeat byte for byte.
type trafficGen struct {
	n, i      int
	keepAlive bool
	line      []byte
	buf       []byte
}

type genPeer struct{ ns, sa, org, app, ip string }

var (
	genSources = []genPeer{
		{"default", "tiefighter", "empire", "tiefighter", "198.18.0.2"},
		{"default", "ops", "empire", "ops", "198.18.0.4"},
		{"default", "xwing", "alliance", "xwing", "198.18.0.5"},
		{"fleet", "shuttle", "empire", "shuttle", "198.18.1.2"},
		{"fleet", "probe", "empire", "probe", "198.18.1.3"},
		{"rebels", "falcon", "alliance", "falcon", "198.18.2.2"},
	}
	genDests = []genPeer{
		{"default", "deathstar", "empire", "deathstar", "198.18.0.3"},
		{"fleet", "hangar", "empire", "hangar", "198.18.1.9"},
		{"default", "tatooine", "alliance", "tatooine", "198.18.0.9"},
	}
	genMethods = []string{"GET", "POST", "GET", "PUT", "DELETE", "GET"}
)

func newTrafficGen(n int, keepAlive bool) *trafficGen { return &trafficGen{n: n, keepAlive: keepAlive} }

func (g *trafficGen) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.i < g.n {
		g.buf = append(g.buf, g.next()...)
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[n:])]
	return n, nil
}

// next builds line i. The choices use different moduli so that combinations vary.
func (g *trafficGen) next() []byte {
	i := g.i
	g.i++
	src, dst := genSources[i%len(genSources)], genDests[i/7%len(genDests)]
	method := genMethods[i/3%len(genMethods)]
	var path string
	switch i % 5 {
	case 0:
		method, path = "POST", "/v1/request-landing?bay="+strconv.Itoa(i%12)
	case 1:
		path = "/v1/landings/" + strconv.Itoa(i%100003)
	case 2:
		path = "/v1/ships/6f1c2a01-3b7e-4c1d-9a55-" + strconv.FormatInt(int64(0xe8b2f4d0000+i%65521), 16)
	case 3:
		path = "/v1/exhaust-port"
	default:
		path = "/healthz"
	}
	b := g.line[:0]
	b = append(b, `{"decision_id":"gen-`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","path":"rampart/authz/allow","input":{"attributes":{"destination":`...)
	b = appendPeer(b, dst, 8080)
	b = append(b, `,"request":{"http":{"headers":{"user-agent":"curl/8.0"`...)
	if !g.keepAlive {
		b = append(b, `,"x-request-id":"req-`...)
		b = strconv.AppendInt(b, int64(i)*2654435761%1000000007, 16)
		b = append(b, '"')
	}
	b = append(b, `},"host":"`...)
	b = append(b, dst.app...)
	b = append(b, `.`...)
	b = append(b, dst.ns...)
	b = append(b, `.svc.cluster.local","method":"`...)
	b = append(b, method...)
	b = append(b, `","path":"`...)
	b = append(b, path...)
	b = append(b, `","protocol":"HTTP/1.1","scheme":"http"}},"source":`...)
	port := 32768 + i%28000
	if g.keepAlive {
		port = 32768 + i/(100*len(genSources))%28000
	}
	b = appendPeer(b, src, port)
	b = append(b, `}},"result":true,"bundles":{"main":{"revision":"observe-only"}},"timestamp":"2026-12-07T09:00:00.25Z","metrics":{"timer_rego_query_eval_ns":1011},"rampart":{"allowed":true}}`+"\n"...)
	g.line = b
	return b
}

func appendPeer(b []byte, p genPeer, port int) []byte {
	b = append(b, `{"address":{"socketAddress":{"address":"`...)
	b = append(b, p.ip...)
	b = append(b, `","portValue":`...)
	b = strconv.AppendInt(b, int64(port), 10)
	b = append(b, `}},"labels":{"app":"`...)
	b = append(b, p.app...)
	b = append(b, `","org":"`...)
	b = append(b, p.org...)
	b = append(b, `","pod-template-hash":"7d4f9c"},"principal":"spiffe://cluster.local/ns/`...)
	b = append(b, p.ns...)
	b = append(b, `/sa/`...)
	b = append(b, p.sa...)
	b = append(b, `"}`...)
	return b
}

func genSource(n int, keepAlive bool) decisionlog.Source {
	return decisionlog.Source{Name: "gen", Open: func() (io.ReadCloser, error) { return io.NopCloser(newTrafficGen(n, keepAlive)), nil }}
}

// BenchmarkReplayMillion replays a million generated decisions of varied traffic
// (no two inputs alike) with the Star Wars policy, as `rampart policy replay`
// does, per iteration; keepalive=true is the same traffic logged from kept-alive
// connections without request ids (inputs repeat byte for byte).
func BenchmarkReplayMillion(b *testing.B) {
	for _, reuse := range []bool{true, false} {
		b.Run(fmt.Sprintf("reuse=%v", reuse), func(b *testing.B) { benchMillion(b, !reuse, false) })
	}
	b.Run("keepalive=true", func(b *testing.B) { benchMillion(b, false, true) })
}

// replayDecisions scales BenchmarkReplayMillion down for a quick profile.
var replayDecisions = flag.Int("replay-decisions", 1_000_000, "decisions BenchmarkReplayMillion replays per iteration")

func benchMillion(b *testing.B, noReuse, keepAlive bool) {
	n := *replayDecisions
	e, err := rego.New(rego.WithDecisionCache(1 << 16))
	if err != nil {
		b.Fatal(err)
	}
	loadStarwars(b, e)
	cpu0 := cpuTime()
	for b.Loop() {
		r, err := replay.Run(context.Background(), e, []decisionlog.Source{genSource(n, keepAlive)}, replay.Options{NoReuse: noReuse})
		if err != nil {
			b.Fatal(err)
		}
		if r.Totals.Decisions != n || r.Totals.AllowToDeny == 0 {
			b.Fatalf("totals %+v", r.Totals)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "decisions/s")
	b.ReportMetric(float64(n*b.N)/(cpuTime()-cpu0).Seconds(), "decisions/cpu-s")
}

var (
	writeLog  = flag.String("replay-write", "", "TestWriteGeneratedLog writes -replay-decisions generated lines to this file (gzip when it ends in .gz)")
	keepAlive = flag.Bool("replay-keepalive", false, "TestWriteGeneratedLog writes the kept-alive traffic (inputs repeat)")
)

// TestWriteGeneratedLog writes BenchmarkReplayMillion's traffic to a file, so that
// `rampart policy replay` can be timed over a real one:
//
//	go test ./rego/replay -run WriteGeneratedLog -replay-write /tmp/million.log
func TestWriteGeneratedLog(t *testing.T) {
	if *writeLog == "" {
		t.Skip("no -replay-write file")
	}
	f, err := os.Create(*writeLog)
	if err != nil {
		t.Fatal(err)
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(*writeLog, ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	if _, err := io.Copy(w, newTrafficGen(*replayDecisions, *keepAlive)); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
