package hbone_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"syscall"
	"testing"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// BenchmarkPingPong sends 1 kB each way per op through CONNECT streams over one
// TLS connection on loopback: this package's client and server against
// x/net/http2's Transport and Server, one stream at a time and 32 at once.
// cpu-us/op is the whole process (both ends).
func BenchmarkPingPong(b *testing.B) {
	impls := []struct {
		name string
		open func(b *testing.B) func() tunnel
	}{
		{"hbone", oursOpener},
		{"xnet", xnetOpener},
	}
	for _, impl := range impls {
		for _, par := range []int{1, 32} {
			b.Run(impl.name+"/streams="+itoa(par), func(b *testing.B) {
				open := impl.open(b)
				b.SetParallelism(par)
				cpu := processCPU()
				b.RunParallel(func(pb *testing.PB) {
					tn := open()
					msg, buf := make([]byte, 1024), make([]byte, 1024)
					for pb.Next() {
						tn.Write(msg)
						if _, err := io.ReadFull(tn, buf); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/1e3, "cpu-us/op")
			})
		}
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func oursOpener(b *testing.B) func() tunnel {
	addr, cli, _ := serve(b, hbone.Config{MaxConcurrentStreams: 1000}, echoFlush)
	c := dial(b, addr, cli, hbone.Config{})
	return func() tunnel {
		s, err := connect(b, c, "198.18.0.1:80")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return tunnel{s, s, s.CloseWrite}
	}
}

// echoFlush echoes each read at once.
func echoFlush(s *hbone.Stream) {
	s.Accept()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			s.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func xnetOpener(b *testing.B) func() tunnel {
	addr, cli := startXnetServer(b)
	tc, err := tls.Dial("tcp", addr, cli)
	if err != nil {
		b.Fatal(err)
	}
	cc, err := (&http2.Transport{}).NewClientConn(tc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	return func() tunnel {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodConnect, "https://198.18.0.1:80", pr)
		req.Host = "198.18.0.1:80"
		resp, err := cc.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pw.Close(); resp.Body.Close() })
		return tunnel{resp.Body, pw, pw.Close}
	}
}

func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
