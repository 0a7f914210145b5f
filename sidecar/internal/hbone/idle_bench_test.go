package hbone_test

import (
	"io"
	"runtime"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// BenchmarkIdleConn opens 200 TLS connections (this package's client and
// server, both in this process), carries one 64 KiB round trip on each so
// every buffer has been used, and reports the live heap per idle connection
// pair once they are quiet. Run it with -benchtime 1x.
func BenchmarkIdleConn(b *testing.B) {
	const conns = 200
	addr, cli, _ := serve(b, hbone.Config{}, echo)
	for range b.N {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		open := make([]*hbone.Conn, 0, conns)
		msg := make([]byte, 64<<10)
		for range conns {
			c := dial(b, addr, cli, hbone.Config{})
			s, err := connect(b, c, "198.18.0.1:80")
			if err != nil {
				b.Fatal(err)
			}
			go func() { s.Write(msg); s.CloseWrite() }()
			if _, err := io.Copy(io.Discard, s); err != nil {
				b.Fatal(err)
			}
			s.Close()
			open = append(open, c)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc-before)/conns/1024, "heap-KiB/conn-pair")
		for _, c := range open {
			c.Close()
		}
	}
}
