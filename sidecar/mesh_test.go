package sidecar_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// TestTwoProxiesStarWars runs the demo through two real proxies with built-in-CA
// SVIDs: each ship's outbound proxy tunnels (HBONE) to the deathstar's inbound
// proxy (sidecar.Run), which decides with the Star Wars bundle.
func TestTwoProxiesStarWars(t *testing.T) {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	ca, err := identity.NewCA(td, 0)
	if err != nil {
		t.Fatal(err)
	}
	svid := func(sa string) (identity.Source, spiffeid.ID) {
		id, _ := identity.NewWorkloadID(td, "default", sa)
		src, err := identity.NewRotatingSource(ca, id, identity.RotatingOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src, id
	}
	appAddr, seen := recordingApp(t)
	_, appPort, _ := net.SplitHostPort(appAddr)

	// Both ships' outbound proxies dial from 127.0.0.1, which the registry says is
	// the tiefighter's pod: the xwing's SVID does not match it, so it gets no labels.
	wl := filepath.Join(t.TempDir(), "workloads.yaml")
	os.WriteFile(wl, []byte("127.0.0.1: {namespace: default, serviceAccount: tiefighter, labels: {org: empire}}\n"), 0o600)
	dsSrc, dsID := svid("deathstar")
	hbone := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		err := sidecar.Run(ctx, sidecar.Options{
			Logger:   quiet,
			Policy:   sidecar.PolicyOptions{Bundle: "../policies/starwars"},
			Identity: sidecar.IdentityOptions{Source: dsSrc},
			Inbound:  sidecar.InboundOptions{HBONEAddr: hbone, Labels: map[string]string{"app": "deathstar"}, WorkloadsFile: wl},
		})
		if err != nil {
			t.Errorf("deathstar proxy: %v", err)
		}
	})
	waitListening(t, hbone)
	ship := func(sa string) string {
		src, _ := svid(sa)
		listen := freeAddr(t)
		p, err := outbound.New(outbound.Options{
			Routes: []outbound.Route{{Listen: listen, Destination: "198.18.0.10:" + appPort, Identity: dsID.String(), Proxy: hbone}},
			TLS: func(server spiffeid.ID) *tls.Config {
				return identity.ClientConfig(src, identity.AllowID(server), identity.TLSOptions{})
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { p.Run(ctx) })
		return listen
	}
	tie, xwing := ship("tiefighter"), ship("xwing")

	for _, c := range []struct {
		name, via, method, path string
		status                  int
		body                    string
	}{
		{"tiefighter lands", tie, "POST", "/v1/request-landing", 200, "landed"},
		{"tiefighter exhaust port", tie, "PUT", "/v1/exhaust-port", 403, "Access denied"},
		{"xwing refused", xwing, "POST", "/v1/request-landing", 403, "Access denied"},
	} {
		code, body := post(t, c.via, c.method, c.path)
		if code != c.status || body != c.body {
			t.Errorf("%s: %d %q, want %d %q", c.name, code, body, c.status, c.body)
		}
	}
	if got := seen(); len(got) != 1 || got[0] != "POST /v1/request-landing spiffe://cluster.local/ns/default/sa/tiefighter" {
		t.Errorf("app saw %q, want only the tiefighter's landing", got)
	}
}

// recordingApp answers "landed" and returns what it saw: method, path, XFCC URI.
func recordingApp(t *testing.T) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var reqs []string
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		xfcc := r.Header.Get("X-Forwarded-Client-Cert")
		_, uri, _ := cutLast(xfcc, "URI=")
		mu.Lock()
		reqs = append(reqs, r.Method+" "+r.URL.Path+" "+uri)
		mu.Unlock()
		io.WriteString(w, "landed")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), reqs...)
	}
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// waitListening waits until something accepts on addr (Run listens asynchronously).
func waitListening(t *testing.T, addr string) {
	t.Helper()
	for range 200 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}
