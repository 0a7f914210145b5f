package identity_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
)

// signer is a minimal cluster-CA endpoint over real TLS: it checks the bearer token
// against want, signs the CSR's key for id, and refuses everything while down is
// set. (The real one, with TokenReview, is tested in cmd/rampart-proxy.)
type signer struct {
	ca    *identity.CA
	id    string
	ttl   time.Duration
	down  atomic.Bool
	calls atomic.Int32
}

func (s *signer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	if s.down.Load() || r.Header.Get("Authorization") != "Bearer tok-en" || r.URL.Path != identity.CASignPath {
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<10))
	csr, err := identity.ParseCSR(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	chain, err := s.ca.IssueForKey(csr.PublicKey, s.id, s.ttl)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_ = json.NewEncoder(w).Encode(identity.SignResponse{SPIFFEID: s.id,
		CertChain: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[0].Raw})),
		Bundle:    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.Root().Raw}))})
}

func startSigner(t *testing.T, s *signer) (url string, bundle []byte, token string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(s)
	cert, err := s.ca.ServingCertificate([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = srvTLS(cert)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	token = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("tok-en\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.Root().Raw}), token
}

// TestCAClientSource: the source gets its first SVID, renews at half-life, keeps
// the current SVID while the CA refuses, and recovers when it is back.
func TestCAClientSource(t *testing.T) {
	s := &signer{ca: testCA(t), id: clientID.String(), ttl: 2 * time.Second}
	url, bundle, token := startSigner(t, s)
	src, err := identity.NewCAClientSource(context.Background(), identity.CAClientOptions{
		URL: url, TokenFile: token, Bundle: bundle, TrustDomain: testTD, ID: clientID})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	first, _ := src.GetX509SVID()
	if first.ID != clientID {
		t.Fatalf("ID %s", first.ID)
	}
	waitChange(t, src, 3*time.Second)
	second, _ := src.GetX509SVID()
	if second.Certificates[0].Equal(first.Certificates[0]) {
		t.Fatal("not renewed")
	}
	s.down.Store(true)
	before := s.calls.Load()
	// It retries (a new call reaches the refusing CA) within a few seconds even on
	// a loaded machine, and meanwhile keeps serving the SVID it has.
	for end := time.Now().Add(10 * time.Second); s.calls.Load() == before && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	if cur, _ := src.GetX509SVID(); !cur.Certificates[0].Equal(second.Certificates[0]) || s.calls.Load() == before {
		t.Fatal("while the CA refuses, the source should retry and keep its SVID")
	}
	s.down.Store(false)
	waitChange(t, src, 5*time.Second)
}

// TestCAClientSourceRefusals: a wrong ID in the answer, a bundle the CA's
// certificate does not chain to, and a missing token all fail at start.
func TestCAClientSourceRefusals(t *testing.T) {
	s := &signer{ca: testCA(t), id: serverID.String(), ttl: time.Minute}
	url, bundle, token := startSigner(t, s)
	other := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testCA(t).Root().Raw})
	for _, tt := range []struct {
		name string
		opts identity.CAClientOptions
		want string
	}{
		{"answer for another ID", identity.CAClientOptions{URL: url, TokenFile: token, Bundle: bundle, ID: clientID}, "want " + clientID.String()},
		{"CA not trusted", identity.CAClientOptions{URL: url, TokenFile: token, Bundle: other}, "certificate"},
		{"no token", identity.CAClientOptions{URL: url, TokenFile: token + ".missing", Bundle: bundle}, "token"},
		{"plain http", identity.CAClientOptions{URL: strings.Replace(url, "https", "http", 1), TokenFile: token, Bundle: bundle}, "https"},
		{"other trust domain", identity.CAClientOptions{URL: url, TokenFile: token, Bundle: bundle,
			TrustDomain: spiffeid.RequireTrustDomainFromString("other.org")}, "trust domain"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.StartTimeout = 700 * time.Millisecond
			if tt.opts.TrustDomain.IsZero() {
				tt.opts.TrustDomain = testTD
			}
			_, err := identity.NewCAClientSource(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func waitChange(t *testing.T, src *identity.CAClientSource, within time.Duration) {
	t.Helper()
	select {
	case <-src.Changed():
	case <-time.After(within):
		t.Fatalf("no new SVID within %s", within)
	}
}

func srvTLS(cert *tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
}
