package outbound_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

var td = spiffeid.RequireTrustDomainFromString("cluster.local")

// mesh is one trust domain with a CA that issues SVIDs for tests.
type mesh struct{ ca *identity.CA }

func newMesh(t *testing.T) *mesh {
	t.Helper()
	ca, err := identity.NewCA(td, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &mesh{ca: ca}
}

func (m *mesh) source(t *testing.T, sa string) identity.Source {
	t.Helper()
	id, err := identity.NewWorkloadID(td, "default", sa)
	if err != nil {
		t.Fatal(err)
	}
	src, err := identity.NewRotatingSource(m.ca, id, identity.RotatingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// clientTLS is what the sidecar wires in: identity.ClientConfig checking the ID.
func (m *mesh) clientTLS(t *testing.T, sa string) outbound.ClientTLS {
	src := m.source(t, sa)
	return func(server spiffeid.ID) *tls.Config {
		allow := identity.AllowTrustDomain(td)
		if !server.IsZero() {
			allow = identity.AllowID(server)
		}
		return identity.ClientConfig(src, allow, identity.TLSOptions{})
	}
}

// hboneDouble is a minimal HBONE server standing in for sidecar/inbound, so these
// tests exercise the client against real TLS and HTTP/2 without policy: every
// CONNECT stream is joined to a TCP connection to its :authority.
type hboneDouble struct {
	ln      net.Listener
	mu      sync.Mutex
	conns   int // TLS connections accepted
	streams int
}

func startHBONE(t *testing.T, m *mesh, sa string) *hboneDouble {
	t.Helper()
	return startHBONEAt(t, m, sa, "127.0.0.1:0")
}

func startHBONEAt(t *testing.T, m *mesh, sa, addr string) *hboneDouble {
	t.Helper()
	ln, err := tls.Listen("tcp", addr, identity.ServerConfig(m.source(t, sa), td, identity.TLSOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	h := &hboneDouble{ln: ln}
	srv := &http2.Server{MaxConcurrentStreams: 100}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				if err := c.(*tls.Conn).Handshake(); err != nil {
					c.Close()
					return
				}
				h.mu.Lock()
				h.conns++
				h.mu.Unlock()
				srv.ServeConn(c, &http2.ServeConnOpts{Handler: http.HandlerFunc(h.connect)})
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return h
}

func (h *hboneDouble) addr() string { return h.ln.Addr().String() }

func (h *hboneDouble) counts() (conns, streams int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns, h.streams
}

func (h *hboneDouble) connect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	h.mu.Lock()
	h.streams++
	h.mu.Unlock()
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	defer up.Close()
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()
	go func() {
		io.Copy(up, r.Body)
		up.(*net.TCPConn).CloseWrite()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
			http.NewResponseController(w).Flush()
		}
		if err != nil {
			return
		}
	}
}

// startApp serves the Star Wars app's answer to every request.
func startApp(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Ship landed "+r.Method+" "+r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln
}
