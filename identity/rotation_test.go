package identity_test

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rampart-mesh/rampart/identity"
)

// TestRotationWithoutDrops keeps one connection alive and opens new ones (full and
// resumed handshakes) in a loop while both sides' SVIDs (TTL 3s) rotate at least
// three times: no request may fail, the listener is never restarted, and new
// connections see the new certificates.
func TestRotationWithoutDrops(t *testing.T) {
	ca := newCA(t, testTD)
	reg := prometheus.NewRegistry()
	m, err := identity.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	opts := identity.RotatingOptions{TTL: 3 * time.Second, Metrics: m}
	srvSrc, err := identity.NewRotatingSource(ca, serverID, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer srvSrc.Close()
	cliSrc, err := identity.NewRotatingSource(ca, clientID, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer cliSrc.Close()

	srv := startObservedWhoami(t, identity.ServerConfig(srvSrc, testTD, identity.TLSOptions{Metrics: m}), m)
	full := identity.ClientConfig(cliSrc, identity.AllowID(serverID), identity.TLSOptions{Metrics: m})
	resuming := identity.ClientConfig(cliSrc, identity.AllowID(serverID), identity.TLSOptions{Metrics: m})
	resuming.ClientSessionCache = tls.NewLRUClientSessionCache(4)

	kept, err := dial(srv.addr(), full)
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()

	rotations := func(id string) float64 {
		return counterValue(t, reg, "rampart_identity_svid_rotations_total", "spiffe_id", id)
	}
	var requests, failures, resumed int
	serverCerts := map[string]bool{}
	request := func(what string, c *tls.Conn, err error) {
		requests++
		if err == nil {
			var got string
			if got, err = ask(c); err == nil && got != clientID.String() {
				t.Errorf("%s: server saw %q", what, got)
			}
		}
		if err != nil {
			failures++
			t.Errorf("%s request %d failed: %v", what, requests, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; rotations(serverID.String()) < 3 || rotations(clientID.String()) < 3; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("SVIDs rotated only %v (server) and %v (client) times in 30s", rotations(serverID.String()), rotations(clientID.String()))
		}
		request("kept-alive", kept, nil)
		cfg := []*tls.Config{full, resuming}[i%2]
		c, err := dial(srv.addr(), cfg)
		request("new connection", c, err)
		if err == nil {
			cs := c.ConnectionState()
			serverCerts[cs.PeerCertificates[0].SerialNumber.String()] = true
			if cs.DidResume {
				resumed++
			}
			c.Close()
		}
		time.Sleep(10 * time.Millisecond)
	}
	// One more full handshake so the certificate of the last rotation is seen too.
	c, err := dial(srv.addr(), full)
	request("final new connection", c, err)
	if err == nil {
		serverCerts[c.ConnectionState().PeerCertificates[0].SerialNumber.String()] = true
		c.Close()
	}
	t.Logf("%d requests, %d failed, %d resumed, %d distinct server certificates; rotations server %v client %v",
		requests, failures, resumed, len(serverCerts), rotations(serverID.String()), rotations(clientID.String()))
	if failures != 0 {
		t.Errorf("%d of %d requests failed during rotation", failures, requests)
	}
	if len(serverCerts) < 4 {
		t.Errorf("new connections saw %d server certificates, want the first and 3 rotated ones", len(serverCerts))
	}
	if resumed == 0 {
		t.Error("no connection resumed a session; the resumed path was not exercised")
	}
	if errs := srv.serverErrors(); len(errs) > 0 {
		t.Errorf("server errors: %v", errs)
	}
	if exp := counterValue(t, reg, "rampart_identity_svid_expiry_timestamp_seconds", "spiffe_id", serverID.String()); exp < float64(time.Now().Unix()) {
		t.Errorf("expiry gauge %v is in the past", exp)
	}
}
