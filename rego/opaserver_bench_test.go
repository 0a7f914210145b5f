package rego_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	rampart "github.com/rampart-mesh/rampart/rego"
)

// BenchmarkStarWarsSideBySide decides tiefighter's landing in-process and through
// `opa run --server` over loopback HTTP (what a REST or ext_authz hop to an OPA
// sidecar costs), in one run so the ratio is fair. The OPA half needs the opa binary
// (go install github.com/open-policy-agent/opa@v1.22.2) and is skipped without it.
func BenchmarkStarWarsSideBySide(b *testing.B) {
	e := newEngine(b)
	if err := e.LoadDir(context.Background(), "starwars", starwarsDir); err != nil {
		b.Fatal(err)
	}
	b.Run("rampart-engine", func(b *testing.B) { benchDecide(b, e, starWarsInput(), true) })
	b.Run("opa-rego-api", func(b *testing.B) { benchRegoAPI(b) })
	b.Run("opa-run-server", func(b *testing.B) {
		url := startOPAServer(b, starwarsDir)
		input, err := ast.JSON(starWarsInput().AST())
		if err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(map[string]any{"input": input})
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		var l latency
		l.took = make([]time.Duration, 0, 1<<14)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			l.time(func() { queryOPA(b, client, url+"/v1/data/rampart/authz/allow", body) })
		}
		l.report(b)
	})
}

// benchRegoAPI is the textbook embedding (RECIPES.md's 34 µs row): PrepareForEval
// once, then EvalInput with a JSON-shaped map built per request. It is the yardstick
// that makes figures from a busy machine comparable with quiet-machine ones.
func benchRegoAPI(b *testing.B) {
	ctx := context.Background()
	pq, err := rego.New(rego.Query("data.rampart.authz.allow"), rego.LoadBundle(starwarsDir)).PrepareForEval(ctx)
	if err != nil {
		b.Fatal(err)
	}
	in := starWarsInput()
	var l latency
	l.took = make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		l.time(func() {
			rs, err := pq.Eval(ctx, rego.EvalInput(envoyMap(in)))
			if err != nil || !rs.Allowed() {
				b.Fatalf("rego API: %v %v", rs, err)
			}
		})
	}
	l.report(b)
}

// envoyMap builds the OPA-Envoy input as Go maps, as an embedder without an
// ast.Value builder would.
func envoyMap(in *rampart.Input) map[string]any {
	peer := func(p rampart.Peer) map[string]any {
		labels := make(map[string]any, len(p.Labels))
		for k, v := range p.Labels {
			labels[k] = v
		}
		return map[string]any{"principal": p.Principal, "labels": labels, "address": p.Address}
	}
	headers := make(map[string]any, len(in.Request.Headers))
	for k, v := range in.Request.Headers {
		headers[k] = v
	}
	r := in.Request
	return map[string]any{
		"attributes": map[string]any{
			"source": peer(in.Source), "destination": peer(in.Destination),
			"request": map[string]any{"http": map[string]any{
				"method": r.Method, "path": r.Path, "host": r.Host, "headers": headers,
				"scheme": r.Scheme, "protocol": r.Protocol,
			}},
		},
		"parsed_path": []any{"v1", "request-landing"},
	}
}

func queryOPA(b *testing.B, client *http.Client, url string, body []byte) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	var out struct{ Result bool }
	err = json.NewDecoder(resp.Body).Decode(&out)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || !out.Result {
		b.Fatalf("opa answered %v (err %v), want true", out.Result, err)
	}
}

// opaBinary finds the opa CLI on PATH, in $GOBIN, or in $GOPATH/bin.
func opaBinary() string {
	if p, err := exec.LookPath("opa"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	for _, dir := range []string{os.Getenv("GOBIN"), filepath.Join(os.Getenv("GOPATH"), "bin"), filepath.Join(home, "go", "bin")} {
		if p := filepath.Join(dir, "opa"); dir != "" && fileExists(p) {
			return p
		}
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// startOPAServer runs `opa run --server` with the bundle on a free loopback port and
// returns its URL once /health reports the bundle activated.
func startOPAServer(b *testing.B, bundleDir string) string {
	b.Helper()
	bin := opaBinary()
	if bin == "" {
		b.Skip("opa binary not found: go install github.com/open-policy-agent/opa@v1.22.2")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "run", "--server", "--addr", addr, "--log-level", "error", "--bundle", bundleDir)
	// stderr is dropped: OPA warns about running as root, which would garble the
	// benchmark output lines.
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/health?bundles")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("opa server at %s not healthy after 20s (last: %v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
