package identity_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rampart-mesh/rampart/identity"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

var (
	testTD    = spiffeid.RequireTrustDomainFromString("test.rampart")
	serverID  = spiffeid.RequireFromString("spiffe://test.rampart/ns/default/sa/deathstar")
	clientID  = spiffeid.RequireFromString("spiffe://test.rampart/ns/default/sa/tiefighter")
	handshake = 5 * time.Second
)

// whoami is a real TLS server on 127.0.0.1: after each handshake it writes the peer's
// SPIFFE ID (as PeerID sees it) and a newline, and records server-side errors.
type whoami struct {
	ln      net.Listener
	observe *identity.Metrics
	mu      sync.Mutex
	errs    []error
	wg      sync.WaitGroup
}

func startWhoami(t *testing.T, cfg *tls.Config) *whoami {
	t.Helper()
	return startObservedWhoami(t, cfg, nil)
}

// startObservedWhoami also reports failed handshakes to m, as a proxy would.
func startObservedWhoami(t *testing.T, cfg *tls.Config, m *identity.Metrics) *whoami {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &whoami{ln: ln, observe: m}
	w.wg.Add(1)
	go w.serve(cfg)
	t.Cleanup(func() { ln.Close(); w.wg.Wait() })
	return w
}

func (w *whoami) addr() string { return w.ln.Addr().String() }

func (w *whoami) serve(cfg *tls.Config) {
	defer w.wg.Done()
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.handle(tls.Server(c, cfg))
		}()
	}
}

func (w *whoami) handle(c *tls.Conn) {
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), handshake)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		w.observe.ObserveHandshake(true, err)
		w.record(err)
		return
	}
	r := bufio.NewReader(c)
	for {
		// One request per line, so a kept-alive connection can carry many.
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		id, err := identity.PeerID(c.ConnectionState())
		if err != nil {
			w.record(err)
			return
		}
		if _, err := c.Write([]byte(id.String() + "\n")); err != nil {
			return
		}
	}
}

func (w *whoami) record(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

func (w *whoami) serverErrors() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

// dial handshakes with addr using cfg and returns the connection.
func dial(addr string, cfg *tls.Config) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), handshake)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*tls.Conn), nil
}

// ask sends one request on c and returns the server's view of our SPIFFE ID.
func ask(c *tls.Conn) (string, error) {
	if err := c.SetDeadline(time.Now().Add(handshake)); err != nil {
		return "", err
	}
	if _, err := c.Write([]byte("who\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func newCA(t testing.TB, td spiffeid.TrustDomain) *identity.CA {
	t.Helper()
	ca, err := identity.NewCA(td, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func rotating(t testing.TB, ca *identity.CA, id spiffeid.ID, ttl time.Duration) *identity.RotatingSource {
	t.Helper()
	s, err := identity.NewRotatingSource(ca, id, identity.RotatingOptions{TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitError waits for the server to record its first error.
func (w *whoami) waitError(t *testing.T) error {
	t.Helper()
	deadline := time.Now().Add(handshake)
	for time.Now().Before(deadline) {
		if errs := w.serverErrors(); len(errs) > 0 {
			return errs[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("server recorded no error")
	return nil
}

// counterValue reads one labelled sample from reg (0 when absent).
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m.GetLabel(), want) {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(got []*dto.LabelPair, want map[string]string) bool {
	n := 0
	for _, l := range got {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}
