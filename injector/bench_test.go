package injector_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/rampart-mesh/rampart/injector"
)

const concurrency = 50

func benchReview(b *testing.B) []byte {
	body, err := os.ReadFile("testdata/review/pod-create.json")
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkMutate is the pure mutation of one pod with three probes.
func BenchmarkMutate(b *testing.B) {
	pod := readPod(b, "testdata/mutate/probes.yaml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := injector.Mutate(pod, injector.Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandle is decode + mutate + JSON patch for one review, without HTTP.
func BenchmarkHandle(b *testing.B) {
	body := benchReview(b)
	h, err := injector.NewHandler(injector.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req, err := injector.DecodeReview(body)
		if err != nil {
			b.Fatal(err)
		}
		if resp := h.Handle(context.Background(), req); !resp.Allowed || len(resp.Patches) == 0 {
			b.Fatal("not patched")
		}
	}
}

// BenchmarkWebhook50 measures one admission's latency while 50 run concurrently over
// HTTPS on loopback (keep-alive HTTP/1.1, one connection per client), reporting p50
// and p99. "serve" is injector.Serve itself; the other two put rampart's review
// handler and controller-runtime's admission.Webhook around the same Handler behind
// the same httptest TLS server, side by side.
func BenchmarkWebhook50(b *testing.B) {
	body := benchReview(b)
	h, err := injector.NewHandler(injector.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("serve", func(b *testing.B) {
		w := startWebhook(b, injector.ServerOptions{})
		runConcurrent(b, w.client, w.url+injector.WebhookPath, body, concurrency)
	})
	for name, handler := range map[string]http.Handler{
		"httptest-rampart":            injector.NewReviewHandler(h, 0, nil),
		"httptest-controller-runtime": &admission.Webhook{Handler: h},
	} {
		b.Run(name, func(b *testing.B) {
			srv := httptest.NewUnstartedServer(handler)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut by Close are expected
			srv.StartTLS()
			defer srv.Close()
			c := srv.Client()
			c.Transport.(*http.Transport).MaxIdleConnsPerHost = concurrency
			defer c.CloseIdleConnections()
			runConcurrent(b, c, srv.URL+injector.WebhookPath, body, concurrency)
		})
	}
}

// BenchmarkWebhookSequential is one admission at a time through injector.Serve: the
// latency without queueing, to compare with BenchmarkWebhook50/serve.
func BenchmarkWebhookSequential(b *testing.B) {
	w := startWebhook(b, injector.ServerOptions{})
	runConcurrent(b, w.client, w.url+injector.WebhookPath, benchReview(b), 1)
}

// runConcurrent posts body b.N times from n goroutines (one keep-alive connection
// each) and reports the p50 and p99 of one admission's latency.
func runConcurrent(b *testing.B, c *http.Client, url string, body []byte, n int) {
	post := func() time.Duration {
		start := time.Now()
		resp, err := c.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(start)
	}
	var wg sync.WaitGroup
	for range n { // open the n connections (TLS handshakes) outside the timing
		wg.Add(1)
		go func() { defer wg.Done(); post() }()
	}
	wg.Wait()
	lat := make([][]time.Duration, n)
	b.ReportAllocs()
	b.ResetTimer()
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < b.N; i += n {
				lat[g] = append(lat[g], post())
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) == 0 {
		return
	}
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
