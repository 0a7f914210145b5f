package identity_test

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/test/support"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// TestSPIREWorkloadAPI runs a real SPIRE server and agent, registers two identities
// for this process's uid, fetches their SVIDs through the Workload API and completes
// the same mTLS handshake the built-in CA tests do. Then the agent is killed: the
// sources keep their last SVIDs and handshakes keep working.
func TestSPIREWorkloadAPI(t *testing.T) {
	s := startSPIRE(t, testTD.Name())
	s.register(serverID.String(), time.Hour)
	s.register(clientID.String(), time.Hour)
	stopAgent := s.startAgent()
	support.Eventually(t, "agent socket", func() bool { _, err := os.Stat(s.agentSock); return err == nil })

	reg := prometheus.NewRegistry()
	m, _ := identity.NewMetrics(reg)
	source := func(id spiffeid.ID) *identity.WorkloadSource {
		// The entries reach the agent after a sync (~5s): the source waits for them.
		src, err := identity.NewWorkloadSource(context.Background(), identity.WorkloadOptions{
			Socket: "unix://" + s.agentSock, ID: id, Timeout: 60 * time.Second, Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	srvSrc, cliSrc := source(serverID), source(clientID)

	srv := startWhoami(t, identity.ServerConfig(srvSrc, testTD, identity.TLSOptions{}))
	client := identity.ClientConfig(cliSrc, identity.AllowID(serverID), identity.TLSOptions{})
	handshakeOK(t, srv.addr(), client)
	svid, _ := srvSrc.GetX509SVID()
	// The SVID really comes from this SPIRE server: it chains to `bundle show`.
	spireBundle, err := x509bundle.Load(testTD, filepath.Join(s.dir, "bootstrap.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := x509svid.Verify(svid.Certificates, spireBundle); err != nil {
		t.Fatalf("SVID does not chain to the SPIRE server's bundle: %v", err)
	}
	t.Logf("SVID %s issued by %q, expires %s", svid.ID, svid.Certificates[0].Issuer, svid.Certificates[0].NotAfter)
	if exp := counterValue(t, reg, "rampart_identity_svid_expiry_timestamp_seconds", "spiffe_id", serverID.String(), "source", "workloadapi"); exp != float64(svid.Certificates[0].NotAfter.Unix()) {
		t.Errorf("expiry gauge %v, want %v", exp, svid.Certificates[0].NotAfter.Unix())
	}

	// A SPIRE SVID and a built-in CA SVID do not trust each other.
	builtin := identity.ClientConfig(rotating(t, newCA(t, testTD), clientID, 0), identity.AllowID(serverID), identity.TLSOptions{})
	if _, err := dial(srv.addr(), builtin); !errors.Is(err, identity.ErrUntrusted) {
		t.Errorf("built-in CA client against SPIRE server: %v, want ErrUntrusted", err)
	}

	stopAgent()
	time.Sleep(200 * time.Millisecond)
	handshakeOK(t, srv.addr(), client)
}

func handshakeOK(t *testing.T, addr string, cfg *tls.Config) {
	t.Helper()
	c, err := dial(addr, cfg)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	if got, err := ask(c); err != nil || got != clientID.String() {
		t.Fatalf("server saw %q, %v; want %s", got, err, clientID)
	}
	if got, _ := identity.PeerID(c.ConnectionState()); got != serverID {
		t.Fatalf("client saw server %v, want %v", got, serverID)
	}
}

// TestWorkloadSourceBadSocket: a missing or wrong socket is named in the error at
// once instead of a silent retry until the timeout.
func TestWorkloadSourceBadSocket(t *testing.T) {
	notSocket := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notSocket, nil, 0o600)
	cases := []struct{ name, socket, env, want string }{
		{"missing socket", "unix:///nonexistent/agent.sock", "", "/nonexistent/agent.sock does not exist"},
		{"plain path missing", "/nonexistent/agent.sock", "", "/nonexistent/agent.sock does not exist"},
		{"regular file", notSocket, "", "is not a unix socket"},
		{"no socket, no env", "", "", "SPIFFE_ENDPOINT_SOCKET is not set"},
		{"env points nowhere", "", "unix:///nonexistent/env.sock", "/nonexistent/env.sock does not exist"},
		{"bad scheme", "http://127.0.0.1:1", "", "socket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SPIFFE_ENDPOINT_SOCKET", tc.env)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			_, err := identity.NewWorkloadSource(ctx, identity.WorkloadOptions{Socket: tc.socket, Timeout: 3 * time.Second})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if time.Since(start) > 2*time.Second {
				t.Errorf("took %s: the error should be immediate", time.Since(start))
			}
		})
	}
}
