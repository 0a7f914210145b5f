package rego_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/rampart-mesh/rampart/rego"
)

// FuzzInput feeds arbitrary request fields through the input builder and the Star
// Wars policy: building must never panic or produce a non-JSON value, and an allow
// must only ever happen for exactly the allowed request.
func FuzzInput(f *testing.F) {
	files, _ := filepath.Glob("testdata/cases/starwars-*.json")
	for _, file := range files {
		c := readCase(f, file)
		in := c.Input
		f.Add(in.Source.Labels["org"], in.Destination.Labels["app"], in.Request.Method, in.Request.Path,
			in.Request.Host, "user-agent", "curl", in.Source.Address, in.Source.Principal)
	}
	f.Add("empire", "deathstar", "POST", "/v1/request-landing?a=%zz&b", "", "", "", "[::1]:80", "")
	f.Add("empire", "deathstar", "POST", "//v1//request-landing", "x", "k", "v", ":", "spiffe://")
	e := newEngine(f)
	if err := e.LoadDir(context.Background(), "sw", starwarsDir); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, org, app, method, path, host, hk, hv, addr, principal string) {
		in := &rego.Input{
			Source:      rego.Peer{Principal: principal, Labels: map[string]string{"org": org}, Address: addr},
			Destination: rego.Peer{Labels: map[string]string{"app": app}, Address: addr},
			Request:     &rego.Request{Method: method, Path: path, Host: host, Headers: map[string]string{hk: hv}},
		}
		if _, err := ast.JSON(in.AST()); err != nil {
			t.Fatalf("input %+v does not convert to JSON: %v", in, err)
		}
		d := e.Decide(context.Background(), in)
		landing := strings.SplitN(path, "?", 2)[0] == "/v1/request-landing"
		if d.Allowed && !(org == "empire" && app == "deathstar" && method == "POST" && landing) {
			t.Fatalf("allowed %+v for %+v", d, in.Request)
		}
		if !d.Allowed && (d.HTTPStatus != 403 || d.Body != "Access denied") {
			t.Fatalf("deny without the default response: %+v", d)
		}
	})
}

// FuzzLoadTarball feeds arbitrary bytes to the bundle loader on an engine serving the
// Star Wars bundle: it must never panic, and a refused load must keep the last good
// revision.
func FuzzLoadTarball(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/badbundles/*.tar.gz")
	for _, s := range seeds {
		raw, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	var good bytes.Buffer
	if err := rego.Build(context.Background(), starwarsDir, &good, rego.BuildOptions{Revision: "fuzz"}); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	ctx := context.Background()
	e := newEngine(f)
	if err := e.LoadDir(ctx, "main", starwarsDir); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		before := e.Revision()
		err := e.LoadTarball(ctx, "main", bytes.NewReader(raw))
		if err != nil && e.Revision() != before {
			t.Fatalf("refused load (%v) changed the revision from %q to %q", err, before, e.Revision())
		}
		if err == nil && !e.Ready() {
			t.Fatal("accepted load left the engine not ready")
		}
	})
}
