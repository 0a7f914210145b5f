package main_test

import (
	"crypto/tls"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube/kubetest"
)

// TestClusterCARotation: two rampart-proxy processes (tiefighter's client proxy,
// deathstar's server proxy) take their SVIDs from the cluster CA with their
// service-account tokens, as injected pods do, with a 3 s lifetime, so each renews
// about every 1.5 s. A stream of requests through both keeps landing, with zero
// failures, across at least two renewals of each proxy.
func TestClusterCARotation(t *testing.T) {
	env := kubetest.Start(t)
	for _, sa := range []string{"tiefighter", "deathstar"} {
		createSA(t, env.Client, "default", sa)
	}
	ca := startClusterCA(t, env, injector.CAOptions{SVIDTTL: 3 * time.Second, RateBurst: 1000})
	bin := buildProxy(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bundle := write("bundle.pem", ca.bundle)
	registry := write("registry.json", []byte(`{"workloads": [{"pod": "tiefighter", "namespace": "default",
		"serviceAccount": "tiefighter", "ip": "127.0.0.1", "labels": {"org": "empire"}, "meshed": true}]}`))
	identityFlags := func(sa string) []string {
		tok := write(sa+".token", []byte(saToken(t, env.Client, "default", sa, []string{injector.CATokenAudience})))
		return []string{"--bundle", "../../policies/starwars", "--ca-addr", ca.url, "--ca-token-file", tok,
			"--ca-bundle", bundle, "--namespace", "default", "--service-account", sa}
	}
	var seen atomic.Int32
	app := serveApp(t, &seen)
	hbone, admin, tie := freeAddr(t), freeAddr(t), freeAddr(t)
	startProxy(t, bin, append(identityFlags("deathstar"), "--listen-hbone", hbone, "--upstream", app,
		"--labels", "app=deathstar", "--registry", registry, "--listen-admin", admin)...)
	startProxy(t, bin, append(identityFlags("tiefighter"),
		"--route", tie+"=127.0.0.1:80,id=spiffe://cluster.local/ns/default/sa/deathstar,proxy="+hbone)...)
	waitReady(t, admin, 20*time.Second)
	if code := request(t, tie, "POST", "/v1/request-landing"); code != 200 {
		t.Fatalf("first landing: %d", code)
	}

	// A third party with its own CA-issued SVID handshakes with deathstar's proxy
	// afresh every 50th request: each must succeed, and the server certificates
	// seen must change as deathstar renews.
	probe, err := identity.NewCAClientSource(t.Context(), identity.CAClientOptions{URL: ca.url,
		TokenFile: write("probe.token", []byte(saToken(t, env.Client, "default", "tiefighter", []string{injector.CATokenAudience}))),
		Bundle:    ca.bundle, TrustDomain: spiffeid.RequireTrustDomainFromString("cluster.local")})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	serverCerts := map[string]bool{}
	handshake := func() {
		cfg := identity.ClientConfig(probe, identity.AllowID(spiffeid.RequireFromString("spiffe://cluster.local/ns/default/sa/deathstar")), identity.TLSOptions{})
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", hbone, cfg)
		if err != nil {
			t.Errorf("fresh handshake with deathstar: %v", err)
			return
		}
		serverCerts[conn.ConnectionState().PeerCertificates[0].SerialNumber.String()] = true
		conn.Close()
	}

	before := caCount(t, ca, "signed")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var sent, failed int
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); sent++ {
		if sent%50 == 0 {
			handshake()
		}
		req, _ := http.NewRequest("POST", "http://"+tie+"/v1/request-landing", nil)
		req.Host = "deathstar"
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			failed++
			t.Errorf("request %d: %v %v", sent, err, resp)
		}
		if resp != nil {
			resp.Body.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	renewed := caCount(t, ca, "signed") - before
	t.Logf("%d requests, %d failed, %v SVIDs issued meanwhile, %d server certificates in fresh handshakes", sent, failed, renewed, len(serverCerts))
	if len(serverCerts) < 3 {
		t.Errorf("fresh handshakes saw %d server certificates over 8 s of 3 s SVIDs, want at least 3", len(serverCerts))
	}
	if renewed < 4 {
		t.Errorf("%v SVIDs issued during the traffic, want at least 2 renewals per proxy", renewed)
	}
	if sent < 100 || failed > 0 {
		t.Errorf("%d of %d requests failed across the renewals, want none", failed, sent)
	}
}
