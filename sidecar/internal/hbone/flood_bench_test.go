package hbone_test

import (
	"context"
	"io"
	"net"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// BenchmarkFlood sends 100 000 control frames of one kind to one Serve
// connection over loopback TCP and reports the process's peak goroutines and
// live heap while it lasts, and how many answers came back before the server
// closed the connection. It measures footprint, not speed: run it with
// -benchtime 1x.
func BenchmarkFlood(b *testing.B) {
	floods := map[string]func(*http2.Framer) error{
		"ping": func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{1}) },
		"settings": func(fr *http2.Framer) error {
			return fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 16384})
		},
	}
	for _, name := range []string{"ping", "settings"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				r := flood(b, 100_000, floods[name], hbone.Config{}, nil)
				b.ReportMetric(float64(r.goroutines), "peak-goroutines")
				b.ReportMetric(float64(r.heap)/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(r.answers), "answers")
			}
		})
	}
}

type floodResult struct {
	goroutines int
	heap       uint64
	answers    int
	goaway     http2.ErrCode
	sawGoAway  bool
}

// flood writes n frames with write to a fresh Serve connection while reading
// everything the server writes back, sampling the goroutine count and the live
// heap until both directions end.
// handle serves the streams the flood opens (nil: echo).
func flood(tb testing.TB, n int, write func(*http2.Framer) error, cfg hbone.Config, handle func(*hbone.Stream)) floodResult {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	if handle == nil {
		handle = echo
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		hbone.Serve(context.Background(), c, cfg, handle)
	}()
	runtime.GC()
	base := runtime.NumGoroutine()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var res floodResult
	var peakG atomic.Int64
	var peakH atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			g := int64(runtime.NumGoroutine() - base)
			if g > peakG.Load() {
				peakG.Store(g)
			}
			metrics.Read(sample)
			if h := sample[0].Value.Uint64(); h > peakH.Load() {
				peakH.Store(h)
			}
			select {
			case <-stop:
				return
			default:
				runtime.Gosched() // sample as often as the scheduler lets us
			}
		}
	})
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	wg.Go(func() {
		io.WriteString(c, http2.ClientPreface)
		fr.WriteSettings()
		for range n {
			if write(fr) != nil {
				return
			}
		}
	})
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			break
		}
		switch f := f.(type) {
		case *http2.PingFrame:
			res.answers++
		case *http2.SettingsFrame:
			if f.IsAck() {
				res.answers++
			}
		case *http2.GoAwayFrame:
			res.sawGoAway, res.goaway = true, f.ErrCode
		}
	}
	c.Close()
	<-served
	close(stop)
	wg.Wait()
	res.goroutines, res.heap = int(peakG.Load()), peakH.Load()
	return res
}
