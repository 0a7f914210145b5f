package inbound_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// TestDowngradeH2ToHTTP1 puts an h2c client in front of an app that speaks only
// HTTP/1.1 (Go's server with HTTP/2 off): requests are forwarded as HTTP/1.1 and
// answered over HTTP/2 instead of failing with 503; bodies of known and unknown
// length arrive whole, allow-side changes apply, denials stay denials.
func TestDowngradeH2ToHTTP1(t *testing.T) {
	a := startEcho(t, true)
	rec := &recorder{e: engine(t, "testdata/policy"), edit: func(d *rego.Decision) {
		d.ResponseHeadersToAdd = []rego.Field{{Name: "x-policy", Value: "yes"}}
		d.Headers = []rego.Field{{Name: "x-user", Value: "alice"}}
	}}
	addr := startProxy(t, inbound.Options{Authorizer: rec, Mode: inbound.Permissive, Upstream: a.addr})
	c := h2cClient(t)
	for _, tc := range []struct {
		method, target string
		body           io.Reader
		want           string
		status         int
	}{
		{"GET", "/public/a?x=1", nil, "", 200},
		{"POST", "/v1/request-landing", strings.NewReader(`{"action":"land"}`), `{"action":"land"}`, 200},
		{"POST", "/v1/request-landing", io.MultiReader(strings.NewReader(strings.Repeat("s", 50000))), strings.Repeat("s", 50000), 200},
		{"PUT", "/v1/exhaust-port", nil, "", 403},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+addr+tc.target, tc.body)
		req.Host = "deathstar"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.target, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.ProtoMajor != 2 {
			t.Fatalf("%s %s: %d over %s, want %d over HTTP/2", tc.method, tc.target, resp.StatusCode, resp.Proto, tc.status)
		}
		seen := a.take()
		if tc.status != 200 {
			if len(seen) != 0 {
				t.Errorf("denied request reached the app: %+v", seen)
			}
			continue
		}
		if string(got) != "ok" || resp.Header.Get("X-App") != "1" || resp.Header.Get("X-Policy") != "yes" {
			t.Errorf("%s %s: answer %q %v", tc.method, tc.target, got, resp.Header)
		}
		if len(seen) != 1 || seen[0].Proto != "HTTP/1.1" || seen[0].URI != tc.target || !bytes.Equal(seen[0].Body, []byte(tc.want)) || seen[0].Header.Get("X-User") != "alice" {
			t.Errorf("%s %s: app saw %+v", tc.method, tc.target, seen)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pri != 1 {
		t.Errorf("app probed %d times, want once (the port's protocol is remembered)", a.pri)
	}
}

// TestDowngradeConcurrentStreams: many streams of one h2c connection share the
// pooled HTTP/1.1 app connections, each answered with its own response.
func TestDowngradeConcurrentStreams(t *testing.T) {
	a := startEcho(t, true)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr})
	c := h2cClient(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/public/%d", addr, i), nil)
			req.Host = "deathstar"
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "ok" {
				errs <- fmt.Errorf("stream %d: %d %q", i, resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if seen := a.take(); len(seen) != 40 {
		t.Errorf("app saw %d requests, want 40", len(seen))
	}
}

// TestH2AppStaysH2: an app that speaks h2c is still reached over HTTP/2.
func TestH2AppStaysH2(t *testing.T) {
	a := startEcho(t, false)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive, Upstream: a.addr})
	for range 2 {
		if resp := get(t, "h2", addr, "/public/a", nil); resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if seen := a.take(); len(seen) != 1 || seen[0].Proto != "HTTP/2.0" {
			t.Errorf("app saw %+v, want HTTP/2.0", seen)
		}
	}
}

// TestDowngradeConfiguredPort: a port configured as HTTP/1.1-only is downgraded
// without a probe (the app never sees the HTTP/2 preface).
func TestDowngradeConfiguredPort(t *testing.T) {
	a := startEcho(t, true)
	_, port, _ := net.SplitHostPort(a.addr)
	p, _ := strconv.Atoi(port)
	rec := &recorder{e: engine(t, "testdata/policy")}
	addr := startProxy(t, inbound.Options{Authorizer: rec, Mode: inbound.Permissive, Upstream: a.addr, HTTP1Ports: []uint16{uint16(p)}})
	if resp := get(t, "h2", addr, "/public/a", nil); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	a.mu.Lock()
	probed := a.pri > 0
	a.mu.Unlock()
	if seen := a.take(); probed || len(seen) != 1 || seen[0].Proto != "HTTP/1.1" {
		t.Errorf("app saw %+v (probed %v), want one HTTP/1.1 request and no probe", seen, probed)
	}
}
