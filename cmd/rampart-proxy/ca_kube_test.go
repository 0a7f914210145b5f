package main_test

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube/kubetest"
)

const tiefighterID = "spiffe://cluster.local/ns/default/sa/tiefighter"

// TestClusterCA runs the injector's cluster CA against a real kube-apiserver and
// etcd (TokenReview is the API server's), with only the RBAC `rampart install`
// gives it, and its root in the rampart-ca Secret it creates.
func TestClusterCA(t *testing.T) {
	env := kubetest.Start(t)
	for _, sa := range []string{"tiefighter", "xwing", "doomed"} {
		createSA(t, env.Client, "default", sa)
	}
	ca := startClusterCA(t, env, injector.CAOptions{SVIDTTL: time.Hour, RateBurst: 1000})
	var tokens []string // every token sent: none may reach the log
	t.Run("issues the token's ID only", func(t *testing.T) {
		tokens = append(tokens, issuesTokenIDOnly(t, env, ca))
	})
	t.Run("refusals", func(t *testing.T) { tokens = append(tokens, refusals(t, env, ca)...) })
	t.Run("flood from one identity", func(t *testing.T) { tokens = append(tokens, flood(t, env)...) })
	t.Run("injected proxy", func(t *testing.T) { tokens = append(tokens, injectedProxy(t, env, ca)) })
	t.Run("root kept in its Secret", func(t *testing.T) {
		again := startClusterCA(t, env, injector.CAOptions{})
		if !bytes.Equal(again.bundle, ca.bundle) {
			t.Error("a second CA start made a new root instead of reading the rampart-ca Secret")
		}
	})
	for _, tok := range tokens {
		if len(tok) > 20 && strings.Contains(ca.log.String(), tok[len(tok)-20:]) {
			t.Fatalf("the CA log holds a token:\n%s", ca.log.String())
		}
	}
}

// issuesTokenIDOnly: a CSR asking for another ID (URI, DNS and CN) and the CA bit
// gets an SVID for the token's ID alone, not a CA, with the CSR's public key.
func issuesTokenIDOnly(t *testing.T, env *kubetest.Env, ca *clusterCA) string {
	tok := saToken(t, env.Client, "default", "tiefighter", []string{injector.CATokenAudience})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	admin, _ := url.Parse("spiffe://cluster.local/ns/kube-system/sa/admin")
	caBit, _ := asn1.Marshal(struct {
		IsCA bool `asn1:"optional"`
	}{true})
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "deathstar"}, URIs: []*url.URL{admin}, DNSNames: []string{"kubernetes.default"},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: caBit}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	status, body := ca.post(t, "application/pkcs10", "Bearer "+tok, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	svid, bundle, err := identity.ParseSignResponse(body, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	leaf := svid.Certificates[0]
	switch {
	case svid.ID.String() != tiefighterID || len(leaf.URIs) != 1 || leaf.URIs[0].String() != tiefighterID:
		t.Errorf("issued %v, want only %s", leaf.URIs, tiefighterID)
	case len(leaf.DNSNames)+len(leaf.IPAddresses)+len(leaf.EmailAddresses) > 0 || leaf.Subject.CommonName != "":
		t.Errorf("CSR names leaked into the SVID: DNS %v CN %q", leaf.DNSNames, leaf.Subject.CommonName)
	case leaf.IsCA || leaf.KeyUsage&x509.KeyUsageCertSign != 0:
		t.Error("the SVID is a CA")
	case leaf.KeyUsage != x509.KeyUsageDigitalSignature:
		t.Errorf("key usage %b, want digitalSignature only", leaf.KeyUsage)
	case !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}):
		t.Errorf("ext key usage %v", leaf.ExtKeyUsage)
	case leaf.NotAfter.Sub(time.Now()) > time.Hour+time.Minute:
		t.Errorf("lives until %s, past the 1h TTL", leaf.NotAfter)
	case !key.PublicKey.Equal(leaf.PublicKey):
		t.Error("the SVID does not carry the CSR's key")
	case bundle.Empty():
		t.Error("no bundle in the answer")
	}
	return tok
}

// refusals runs testdata/ca-refusals.txt and checks each refusal is counted by reason.
func refusals(t *testing.T, env *kubetest.Env, ca *clusterCA) []string {
	toks := caTokens(t, env)
	csrs := caCSRs(t, ca)
	want := map[string]float64{}
	var sent []string
	f, err := os.Open("testdata/ca-refusals.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		name, tok, csr, status, reason := fields[0], fields[1], fields[2], fields[3], fields[4]
		t.Run(name, func(t *testing.T) {
			auth, ok := toks[tok]
			body, ok2 := csrs[csr]
			if !ok || !ok2 {
				t.Fatalf("unknown token %q or CSR %q", tok, csr)
			}
			ct := "application/pkcs10"
			if csr == "text" {
				ct = "text/plain"
			}
			sent = append(sent, strings.TrimPrefix(auth, "Bearer "))
			got, ans := ca.post(t, ct, auth, body)
			if strconv.Itoa(got) != status || !strings.HasPrefix(string(ans), reason+":") {
				t.Errorf("status %d, answer %q; want %s with reason %s", got, ans, status, reason)
			}
			want[reason]++
		})
	}
	for reason, n := range want {
		if got := caCount(t, ca, reason); got != n {
			t.Errorf("rampart_ca_requests_total{result=%q} = %v, want %v", reason, got, n)
		}
	}
	return sent
}

// caTokens builds the Authorization headers of the refusal table.
func caTokens(t *testing.T, env *kubetest.Env) map[string]string {
	c := env.Client
	good := saToken(t, c, "default", "tiefighter", []string{injector.CATokenAudience})
	header, claims := jwtParts(t, good)
	now := time.Now().Unix()
	expired := maps(claims, map[string]any{"exp": now - 3600, "iat": now - 4200, "nbf": now - 4200})
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged := maps(claims, map[string]any{"sub": "system:serviceaccount:kube-system:admin"})
	sig := good[strings.LastIndex(good, ".")+1:]
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	doomed := saToken(t, c, "default", "doomed", []string{injector.CATokenAudience})
	if err := c.CoreV1().ServiceAccounts("default").Delete(t.Context(), "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"good":          "Bearer " + good,
		"expired":       "Bearer " + signJWT(t, maps(header, nil), expired, apiServerKey(t, env)),
		"audience":      "Bearer " + saToken(t, c, "default", "tiefighter", []string{"vault"}),
		"forged":        "Bearer " + enc(header) + "." + enc(forged) + "." + sig,
		"other-cluster": "Bearer " + signJWT(t, maps(header, nil), claims, crypto.Signer(other)),
		"deleted":       "Bearer " + doomed,
		"none":          "",
		"basic":         "Basic dGllZmlnaHRlcjpwYXNzd29yZA==",
		"garbage":       "Bearer not-a-jwt",
	}
}

// maps returns a copy of m with set applied.
func maps(m, set map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range set {
		out[k] = v
	}
	return out
}

// caCSRs builds the CSR bodies of the refusal table.
func caCSRs(t *testing.T, ca *clusterCA) map[string][]byte {
	csr := func(key crypto.Signer) []byte {
		der, err := identity.NewCSR(key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	badSig := csr(p256)
	badSig[len(badSig)-1] ^= 0xff
	return map[string][]byte{
		"good":          csr(p256),
		"garbage":       []byte("-----BEGIN NOTHING-----\nnot a csr\n"),
		"cert-pem":      ca.bundle,
		"bad-signature": badSig,
		"p224":          csr(p224),
		"rsa1024":       csr(rsa1024),
		"huge":          bytes.Repeat([]byte("A"), 20<<10),
		"text":          csr(p256),
	}
}

// flood: one pod past its burst gets 429 (before any TokenReview), so does another
// pod of the same service account (after it), and another identity is served.
func flood(t *testing.T, env *kubetest.Env) []string {
	ca := startClusterCA(t, env, injector.CAOptions{RateBurst: 3, RateEvery: time.Hour})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	body, _ := identity.NewCSR(key)
	tie := saToken(t, env.Client, "default", "tiefighter", []string{injector.CATokenAudience})
	var codes []int
	for range 5 {
		code, _ := ca.post(t, "application/pkcs10", "Bearer "+tie, body)
		codes = append(codes, code)
	}
	if !slices.Equal(codes, []int{200, 200, 200, 429, 429}) {
		t.Errorf("tiefighter's 5 CSRs with a burst of 3: %v, want 3×200 then 429", codes)
	}
	// Another pod of the same service account (its own token) finds the account's
	// bucket empty too.
	tie2 := saToken(t, env.Client, "default", "tiefighter", []string{injector.CATokenAudience})
	if code, ans := ca.post(t, "application/pkcs10", "Bearer "+tie2, body); code != 429 {
		t.Errorf("second tiefighter token during the flood: %d %s, want 429", code, ans)
	}
	xwing := saToken(t, env.Client, "default", "xwing", []string{injector.CATokenAudience})
	if code, ans := ca.post(t, "application/pkcs10", "Bearer "+xwing, body); code != 200 {
		t.Errorf("xwing during tiefighter's flood: %d %s", code, ans)
	}
	if got := caCount(t, ca, "rate-limited"); got != 3 {
		t.Errorf("rate-limited count %v, want 3", got)
	}
	return []string{tie, tie2, xwing}
}

// caCount reads rampart_ca_requests_total{result} from the CA's registry.
func caCount(t *testing.T, ca *clusterCA, result string) float64 {
	t.Helper()
	mfs, err := ca.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "rampart_ca_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// injectedProxy runs rampart-proxy with exactly the environment the injector gives
// an injected pod under the cluster CA (only the CA's address and the token file's
// path moved to what this test serves), and checks it gets its SVID and is ready.
func injectedProxy(t *testing.T, env *kubetest.Env, ca *clusterCA) string {
	vars := injectedEnv(t, injector.Config{CA: injector.CAConfig{Bundle: string(ca.bundle)}})
	if vars["RAMPART_CA_ADDR"] == "" || vars["RAMPART_CA_BUNDLE"] != string(ca.bundle) || vars["SPIFFE_ENDPOINT_SOCKET"] != "" {
		t.Fatalf("injected identity env: %v", vars)
	}
	createNamespace(t, env.Client, "empire")
	createSA(t, env.Client, "empire", "deathstar")
	tok := saToken(t, env.Client, "empire", "deathstar", []string{injector.CATokenAudience})
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	vars["RAMPART_CA_ADDR"], vars["RAMPART_CA_TOKEN_FILE"] = ca.url, tokFile
	vars["RAMPART_BUNDLE"], vars["RAMPART_DISCOVERY"] = "../../policies/starwars", "file"
	before := caCount(t, ca, "signed")
	admin := freeAddr(t)
	startProxyEnv(t, buildProxy(t), environ(vars), "--listen-outbound", freeAddr(t), "--listen-plaintext", freeAddr(t),
		"--listen-hbone", freeAddr(t), "--listen-admin", admin)
	waitReady(t, admin, 30*time.Second)
	if caCount(t, ca, "signed") <= before {
		t.Error("ready without an SVID from the cluster CA")
	}
	return tok
}
