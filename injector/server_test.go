package injector_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"

	"github.com/rampart-mesh/rampart/injector"
)

// webhook is a real injector HTTPS server on loopback.
type webhook struct {
	url    string
	client *http.Client
	caPEM  []byte
}

// startWebhook serves the injector on 127.0.0.1:0 with a fresh certificate and stops
// it when the test ends.
func startWebhook(t testing.TB, opts injector.ServerOptions) *webhook {
	t.Helper()
	dir := t.TempDir()
	b, err := injector.GenerateTLS([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	opts.CertFile, opts.KeyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for path, data := range map[string][]byte{opts.CertFile: b.Cert, opts.KeyFile: b.Key} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- injector.Serve(ctx, ln, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b.CACert)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &webhook{url: "https://" + ln.Addr().String(), client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, caPEM: b.CACert}
}

// post sends body to the webhook path and returns the status and the decoded review.
func (w *webhook) post(t testing.TB, contentType string, body io.Reader) (int, reviewResponse) {
	t.Helper()
	resp, err := w.client.Post(w.url+injector.WebhookPath, contentType, body)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var rr struct {
		APIVersion, Kind string
		Response         reviewResponse
	}
	if err := json.Unmarshal(raw, &rr); err != nil {
		t.Fatalf("status %d, body %q is not a review: %v", resp.StatusCode, raw, err)
	}
	if rr.APIVersion != "admission.k8s.io/v1" || rr.Kind != "AdmissionReview" {
		t.Errorf("response is %s %s, want admission.k8s.io/v1 AdmissionReview", rr.APIVersion, rr.Kind)
	}
	return resp.StatusCode, rr.Response
}

type reviewResponse struct {
	UID     string `json:"uid"`
	Allowed bool   `json:"allowed"`
	Status  struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
	PatchType string `json:"patchType,omitempty"`
	Patch     []byte `json:"patch,omitempty"`
}

// TestReviewGolden posts every testdata/review/*.json over HTTPS and compares the
// HTTP status and the review response (patch decoded) with <name>.golden. Files
// named malformed-* must get 400 with a reason.
func TestReviewGolden(t *testing.T) {
	w := startWebhook(t, injector.ServerOptions{})
	files, _ := filepath.Glob("testdata/review/*.json")
	if len(files) < 15 {
		t.Fatalf("only %d cases in testdata/review", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			status, rr := w.post(t, "application/json", bytes.NewReader(body))
			if strings.HasPrefix(name, "malformed-") && (status != http.StatusBadRequest || rr.Status.Code != 400 || rr.Status.Message == "" || rr.Allowed) {
				t.Errorf("malformed review: status %d, code %d, message %q, allowed %v; want 400 with a reason, denied",
					status, rr.Status.Code, rr.Status.Message, rr.Allowed)
			}
			golden(t, strings.TrimSuffix(f, ".json")+".golden", summarize(t, status, rr))
		})
	}
}

func summarize(t *testing.T, status int, rr reviewResponse) []byte {
	var patch []map[string]any
	if len(rr.Patch) > 0 {
		if err := json.Unmarshal(rr.Patch, &patch); err != nil {
			t.Fatalf("patch is not JSON: %v", err)
		}
	}
	// The patch library emits operations in map order; sort them for a stable file.
	sort.Slice(patch, func(i, j int) bool {
		return fmt.Sprint(patch[i]["path"], patch[i]["op"]) < fmt.Sprint(patch[j]["path"], patch[j]["op"])
	})
	out, err := json.MarshalIndent(map[string]any{
		"httpStatus": status, "uid": rr.UID, "allowed": rr.Allowed, "code": rr.Status.Code,
		"message": rr.Status.Message, "patchType": rr.PatchType, "patch": patch,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// TestServerRefusesAndKeepsServing sends requests the server must refuse, each
// followed by a valid admission that must still be patched.
func TestServerRefusesAndKeepsServing(t *testing.T) {
	w := startWebhook(t, injector.ServerOptions{MaxRequestBytes: 1 << 20})
	valid, err := os.ReadFile("testdata/review/pod-create.json")
	if err != nil {
		t.Fatal(err)
	}
	oversized := append(bytes.Repeat([]byte(" "), 2<<20), valid...) // valid JSON, too large
	for _, tc := range []struct {
		name        string
		contentType string
		body        []byte
		want        int
	}{
		{"malformed", "application/json", []byte(`{"apiVersion":`), http.StatusBadRequest},
		{"oversized", "application/json", oversized, http.StatusRequestEntityTooLarge},
		{"content type", "text/plain", valid, http.StatusUnsupportedMediaType},
		{"empty", "application/json", nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, rr := w.post(t, tc.contentType, bytes.NewReader(tc.body))
			if status != tc.want || rr.Allowed || rr.Status.Message == "" {
				t.Errorf("status %d allowed %v message %q; want %d, denied, with a reason", status, rr.Allowed, rr.Status.Message, tc.want)
			}
			status, rr = w.post(t, "application/json", bytes.NewReader(valid))
			if status != http.StatusOK || !rr.Allowed {
				t.Fatalf("valid admission after %s: status %d allowed %v", tc.name, status, rr.Allowed)
			}
			assertPatchInjects(t, valid, rr.Patch)
		})
	}
}

// assertPatchInjects applies patch to the review's object, as the API server does, and
// checks that the result is a pod with the proxy.
func assertPatchInjects(t *testing.T, review, patch []byte) {
	t.Helper()
	var ar struct {
		Request struct {
			Object json.RawMessage `json:"object"`
		} `json:"request"`
	}
	if err := json.Unmarshal(review, &ar); err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		t.Fatalf("decode patch: %v", err)
	}
	patched, err := p.Apply(ar.Request.Object)
	if err != nil {
		t.Fatalf("apply patch: %v", err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(patched, &pod); err != nil {
		t.Fatal(err)
	}
	if len(pod.Spec.InitContainers) == 0 || pod.Spec.InitContainers[0].Name != injector.ProxyContainerName {
		t.Fatalf("patched pod has no %s init container", injector.ProxyContainerName)
	}
	assertInjected(t, &pod)
}

// TestServeRejectsBadCertificate: a server that cannot load its certificate must not
// start (it would otherwise serve nothing and fail every admission).
func TestServeRejectsBadCertificate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = injector.Serve(context.Background(), ln, injector.ServerOptions{CertFile: "/nonexistent.crt", KeyFile: "/nonexistent.key"})
	if err == nil {
		t.Fatal("Serve started without a certificate")
	}
	if c, derr := net.Dial("tcp", ln.Addr().String()); derr == nil {
		c.Close()
		t.Error("listener still open after Serve failed")
	}
}
