package main_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/sidecar/discovery/kube/kubetest"
	"github.com/rampart-mesh/rampart/test/support"
)

// clusterCA is a running injector CA on 127.0.0.1, with its metrics and log.
type clusterCA struct {
	url    string
	bundle []byte
	reg    *prometheus.Registry
	log    *support.Buffer
}

// startClusterCA runs the CA as rampart-injector runs it: its root in the
// rampart-ca Secret (created on first start, read afterwards), its API access
// only what `rampart install` grants the injector's service account.
func startClusterCA(t testing.TB, env *kubetest.Env, opts injector.CAOptions) *clusterCA {
	t.Helper()
	kube := injectorClient(t, env)
	ctx, cancel := context.WithCancel(context.Background())
	auth, err := injector.LoadOrCreateCA(ctx, kube, injector.CASecretOptions{Load: func(c, k []byte) (injector.Authority, error) {
		ca, err := identity.ParseCA(c, k)
		if err != nil {
			return nil, err
		}
		return ca, nil
	}, Generate: func() ([]byte, []byte, error) {
		ca, err := identity.NewCA(spiffeid.RequireTrustDomainFromString("cluster.local"), 0)
		if err != nil {
			return nil, nil, err
		}
		return ca.MarshalPEM()
	}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &clusterCA{url: "https://" + ln.Addr().String(), bundle: injector.RootsPEM(auth),
		reg: prometheus.NewRegistry(), log: &support.Buffer{}}
	opts.Authority, opts.Kube, opts.Hosts, opts.Registerer = auth, kube, []string{"127.0.0.1"}, c.reg
	opts.Logger = slog.New(slog.NewJSONHandler(c.log, nil))
	done := make(chan error, 1)
	go func() { done <- injector.ServeCA(ctx, ln, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("CA: %v", err)
		}
	})
	return c
}

// injectorClient returns a client of service account rampart-system/rampart-injector
// holding only the CA's RBAC from InstallManifests (applied on first use).
func injectorClient(t testing.TB, env *kubetest.Env) kubernetes.Interface {
	t.Helper()
	c, ctx := env.Client, t.Context()
	ns := injector.InstallNamespace
	if _, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, injector.InjectorName, metav1.GetOptions{}); err != nil {
		applyCARBAC(t, c)
	}
	tok := saToken(t, c, ns, injector.InjectorName, nil)
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = tok
	kube, err := kubernetes.NewForConfig(injector.TuneCAClient(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return kube
}

func applyCARBAC(t testing.TB, c *kubernetes.Clientset) {
	t.Helper()
	ctx := t.Context()
	createNamespace(t, c, injector.InstallNamespace)
	createSA(t, c, injector.InstallNamespace, injector.InjectorName)
	objs, err := injector.InstallManifests(injector.InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, o := range objs {
		switch o := o.(type) {
		case *rbacv1.ClusterRole:
			if o.Name == "rampart-ca" {
				_, err = c.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
				applied++
			}
		case *rbacv1.ClusterRoleBinding:
			if o.Name == "rampart-ca" {
				_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
				applied++
			}
		case *rbacv1.Role:
			_, err = c.RbacV1().Roles(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			applied++
		case *rbacv1.RoleBinding:
			_, err = c.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
			applied++
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if applied != 4 {
		t.Fatalf("install renders %d CA RBAC objects, want ClusterRole, Role and their bindings", applied)
	}
}

func createNamespace(t testing.TB, c *kubernetes.Clientset, ns string) {
	t.Helper()
	_, err := c.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
}

func createSA(t testing.TB, c *kubernetes.Clientset, ns, name string) {
	t.Helper()
	_, err := c.CoreV1().ServiceAccounts(ns).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
}

// saToken mints a token of ns/sa through the TokenRequest API (nil audiences: the
// API server's own).
func saToken(t testing.TB, c *kubernetes.Clientset, ns, sa string, audiences []string) string {
	t.Helper()
	exp := int64(600)
	tr, err := c.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// jwtParts splits a token into its decoded header and claims.
func jwtParts(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// signJWT encodes header and claims and signs them with key (RS256 or ES256, as the
// key is), the way the API server signs service-account tokens.
func signJWT(t *testing.T, header, claims map[string]any, key crypto.Signer) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	switch key.(type) {
	case *rsa.PrivateKey:
		header["alg"] = "RS256"
	case *ecdsa.PrivateKey:
		header["alg"] = "ES256"
	}
	signed := enc(header) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signed))
	var sig []byte
	var err error
	switch k := key.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, k, sum[:])
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	}
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// apiServerKey reads the API server's own token signing key.
func apiServerKey(t *testing.T, env *kubetest.Env) crypto.Signer {
	t.Helper()
	b, err := os.ReadFile(env.SigningKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", env.SigningKeyFile)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", env.SigningKeyFile, err)
	}
	return k.(crypto.Signer)
}

// post sends body as a CSR with the given Authorization header to the CA and
// returns the status and the answer.
func (c *clusterCA) post(t *testing.T, contentType, authorization string, body []byte) (int, []byte) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.bundle)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodPost, c.url+"/v1/sign", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ans, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, ans
}
