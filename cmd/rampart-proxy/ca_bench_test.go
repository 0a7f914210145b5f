package main_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube/kubetest"
)

// BenchmarkClusterCASign measures the cluster CA's answer time as proxies see it
// (HTTPS round trip, TokenReview against the real API server, signing) with 50
// CSRs in flight: each iteration sends 50 at once, from 10 service accounts.
// It reports p50 and p99 in milliseconds:
//
//	go test -run '^$' -bench ClusterCASign -benchtime 20x ./cmd/rampart-proxy/
func BenchmarkClusterCASign(b *testing.B) {
	const concurrent = 50
	env := kubetest.Start(b)
	var tokens []string
	for i := range 10 {
		sa := fmt.Sprintf("bench-%d", i)
		createSA(b, env.Client, "default", sa)
		tokens = append(tokens, saToken(b, env.Client, "default", sa, []string{injector.CATokenAudience}))
	}
	ca := startClusterCA(b, env, injector.CAOptions{RateBurst: 1 << 20, MaxInFlight: concurrent})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.bundle)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true, MaxIdleConnsPerHost: concurrent}}
	csrs := make([][]byte, concurrent)
	for i := range csrs {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		csrs[i], _ = identity.NewCSR(key)
	}
	var lat []time.Duration
	var mu sync.Mutex
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for i := range concurrent {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", ca.url+"/v1/sign", bytes.NewReader(csrs[i]))
				req.Header.Set("Content-Type", "application/pkcs10")
				req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(start)
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat)), "CSRs")
}
