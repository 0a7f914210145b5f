package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// legitResult is what the legitimate client saw during one attack.
type legitResult struct {
	sent, ok int
	p99      time.Duration
	errs     string // failures by kind
}

func (r legitResult) successPct() float64 {
	if r.sent == 0 {
		return 0
	}
	return 100 * float64(r.ok) / float64(r.sent)
}

// legitTimeout is how long a legitimate request may take before it counts as failed.
const legitTimeout = 5 * time.Second

// runLegit sends GET /ok at rate per second with do until ctx ends, from a
// fixed pool of workers on their own connections. Latency counts from the
// scheduled time; a request no worker is free to send counts as failed.
func runLegit(ctx context.Context, rate int, do func(context.Context) error) legitResult {
	const workers = 8
	jobs := make(chan time.Time, workers)
	var mu sync.Mutex
	var lat []time.Duration // failures count as legitTimeout
	record := func(d time.Duration) { mu.Lock(); lat = append(lat, d); mu.Unlock() }
	var ok atomic.Int64
	var errs tally
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for at := range jobs {
				rctx, cancel := context.WithTimeout(context.Background(), legitTimeout)
				err := do(rctx)
				cancel()
				if err != nil {
					errs.add(errKind(err))
					record(legitTimeout)
					continue
				}
				ok.Add(1)
				record(time.Since(at))
			}
		}()
	}
	t := time.NewTicker(time.Second / time.Duration(rate))
	for loop := true; loop; {
		select {
		case <-ctx.Done():
			loop = false
		case at := <-t.C:
			select {
			case jobs <- at:
			default: // every worker is stuck: a failure, not a hidden wait
				errs.add("not-sent")
				record(legitTimeout)
			}
		}
	}
	t.Stop()
	close(jobs)
	wg.Wait()
	slices.Sort(lat)
	r := legitResult{sent: len(lat), ok: int(ok.Load()), errs: errs.String()}
	if n := len(lat); n > 0 {
		r.p99 = lat[(n-1)*99/100]
	}
	return r
}

// errKind names a failure for the tally: a timeout, or the innermost message.
func errKind(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return strings.ReplaceAll(lastPart(err), " ", "-")
}

// client sends one legitimate request; close drops its idle connections.
type client struct {
	do    func(context.Context) error
	close func()
}

// http1Client gets /ok over kept-alive HTTP/1.1 connections of its own.
func http1Client(addr string) client {
	tr := &http.Transport{MaxIdleConnsPerHost: 8, MaxConnsPerHost: 8, DisableCompression: true}
	c := &http.Client{Transport: tr}
	return client{func(ctx context.Context) error { return get(ctx, c, "http://"+addr+"/ok") }, tr.CloseIdleConnections}
}

// h2cClient gets /ok over one h2c prior-knowledge connection of its own.
func h2cClient(addr string) client {
	var d net.Dialer
	tr := &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, n, a string, _ *tls.Config) (net.Conn, error) {
			return d.DialContext(ctx, n, a)
		}}
	c := &http.Client{Transport: tr}
	return client{func(ctx context.Context) error { return get(ctx, c, "http://"+addr+"/ok") }, tr.CloseIdleConnections}
}

func get(ctx context.Context, c *http.Client, u string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// hboneClient opens, per request, a CONNECT stream to the app's address on an
// HBONE connection of its own (mTLS with a valid SVID) and gets /ok through it.
func hboneClient(hbone, app string, tc *tls.Config) client {
	tr := &http2.Transport{TLSClientConfig: tc}
	return client{close: tr.CloseIdleConnections, do: func(ctx context.Context) error {
		pr, pw := io.Pipe()
		req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Scheme: "https", Host: hbone},
			Host: app, Header: http.Header{}, Body: pr}
		req = req.WithContext(ctx)
		go func() {
			_, _ = io.WriteString(pw, "GET /ok HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n")
		}()
		resp, err := tr.RoundTrip(req)
		if err != nil {
			pw.Close()
			return err
		}
		defer func() { pw.Close(); resp.Body.Close() }()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("CONNECT: %s", resp.Status)
		}
		in, err := http.ReadResponse(bufio.NewReader(resp.Body), nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, in.Body)
		if err == nil && in.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", in.StatusCode)
		}
		return err
	}}
}

// probeDenied sends requests the policy denies, a few per second until ctx ends;
// the app counts those that reach it. It returns how many it sent.
func probeDenied(ctx context.Context, addr string) int {
	reqs := []string{"DELETE /ok", "POST /ok", "GET /denied", "GET /ok/../denied", "PUT /admin"}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Timeout: 2 * time.Second, Transport: tr}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
		method, path, _ := strings.Cut(reqs[n%len(reqs)], " ")
		req, _ := http.NewRequestWithContext(ctx, method, "http://"+addr+path, nil)
		req.URL.Opaque = path // send the path as written, dot segments included
		if resp, err := c.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		n++
	}
}
