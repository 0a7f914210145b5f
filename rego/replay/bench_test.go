package replay_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
	"github.com/rampart-mesh/rampart/rego/replay"
)

// logGen produces n decision-log lines on the fly, cycling through the recorded
// Star Wars lines with a fresh decision_id, source port and resource number each,
// so a large log costs no memory and few inputs repeat exactly.
type logGen struct {
	lines [][]byte
	n, i  int
	buf   bytes.Buffer
}

func newLogGen(t testing.TB, n int) *logGen {
	raw, err := os.ReadFile("testdata/starwars.log")
	if err != nil {
		t.Fatal(err)
	}
	return &logGen{lines: bytes.Split(bytes.TrimSpace(raw), []byte("\n")), n: n}
}

func (g *logGen) Read(p []byte) (int, error) {
	for g.buf.Len() < len(p) && g.i < g.n {
		l := g.lines[g.i%len(g.lines)]
		l = bytes.Replace(l, []byte(`"decision_id":"`), []byte(`"decision_id":"g`+strconv.Itoa(g.i)), 1)
		l = bytes.Replace(l, []byte(`"portValue":40`), []byte(`"portValue":`+strconv.Itoa(10+g.i%50)), 1)
		l = bytes.Replace(l, []byte(`/v1/landings/10`), []byte(`/v1/landings/`+strconv.Itoa(g.i%997)), 1)
		g.buf.Write(l)
		g.buf.WriteByte('\n')
		g.i++
	}
	if g.buf.Len() == 0 {
		return 0, io.EOF
	}
	return g.buf.Read(p)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReplay replays b.N generated decisions with the Star Wars policy and
// reports decisions per second (a million is the target scale: run with
// -benchtime 1000000x).
func BenchmarkReplay(b *testing.B) {
	for _, reuse := range []bool{false, true} {
		b.Run(fmt.Sprintf("reuse=%v", reuse), func(b *testing.B) {
			e, err := rego.New(rego.WithDecisionCache(1 << 16))
			if err != nil {
				b.Fatal(err)
			}
			loadStarwars(b, e)
			src := decisionlog.Source{Name: "gen", Open: func() (io.ReadCloser, error) { return io.NopCloser(newLogGen(b, b.N)), nil }}
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			r, err := replay.Run(context.Background(), e, []decisionlog.Source{src}, replay.Options{NoReuse: !reuse})
			if err != nil {
				b.Fatal(err)
			}
			if r.Totals.Decisions != b.N {
				b.Fatalf("replayed %d of %d", r.Totals.Decisions, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
			// The machine may be shared: CPU time spent by this process is the
			// steadier measure of what a replay costs.
			b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "decisions/cpu-s")
		})
	}
}
