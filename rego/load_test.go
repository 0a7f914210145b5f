package rego_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
)

const starwarsDir = "../policies/starwars"

// tiefighterLands is the request the Star Wars policy allows.
func tiefighterLands() *rego.Input {
	return &rego.Input{
		Source:      rego.Peer{Labels: map[string]string{"org": "empire"}},
		Destination: rego.Peer{Labels: map[string]string{"app": "deathstar"}},
		Request:     &rego.Request{Method: "POST", Path: "/v1/request-landing"},
	}
}

func newEngine(t testing.TB, opts ...rego.Option) *rego.Engine {
	t.Helper()
	e, err := rego.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// buildTarball builds dir into a .tar.gz file with rego.Build and returns its path.
func buildTarball(t testing.TB, dir string, o rego.BuildOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := rego.Build(context.Background(), dir, &buf, o); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestLoadSources loads the Star Wars bundle every way the engine offers and checks
// each one decides.
func TestLoadSources(t *testing.T) {
	ctx := context.Background()
	tarball := buildTarball(t, starwarsDir, rego.BuildOptions{})
	for name, load := range map[string]func(*rego.Engine) error{
		"dir":  func(e *rego.Engine) error { return e.LoadDir(ctx, "sw", starwarsDir) },
		"fs":   func(e *rego.Engine) error { return e.LoadFS(ctx, "sw", os.DirFS(starwarsDir)) },
		"file": func(e *rego.Engine) error { return e.LoadFile(ctx, "sw", tarball) },
		"reader": func(e *rego.Engine) error {
			f, err := os.Open(tarball)
			if err != nil {
				return err
			}
			defer f.Close()
			return e.LoadTarball(ctx, "sw", f)
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t)
			if err := load(e); err != nil {
				t.Fatal(err)
			}
			if d := e.Decide(ctx, tiefighterLands()); !d.Allowed || d.Revision != "starwars-v1" {
				t.Fatalf("Decide = %+v, want allowed by starwars-v1", d)
			}
			if !e.Ready() || e.Revision() != "starwars-v1" {
				t.Fatalf("Ready=%v Revision=%q", e.Ready(), e.Revision())
			}
		})
	}
}

// TestLoadBareDirectory loads a directory without a .manifest: roots come from its
// packages and data, a decision under them is served, and a decision outside them
// is an error at load with the engine not ready (not a silent deny-everything).
func TestLoadBareDirectory(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, rego.WithDecision("envoy/authz/allow")) // OPA-Envoy's path form
	if err := e.LoadDir(ctx, "main", "testdata/bundles/bare"); err != nil {
		t.Fatal(err)
	}
	user := func(u string) *rego.Input {
		return &rego.Input{Request: &rego.Request{Method: "GET", Path: "/", Headers: map[string]string{"x-user": u}}}
	}
	if !e.Ready() || !e.Decide(ctx, user("alice")).Allowed || e.Decide(ctx, user("bob")).Allowed {
		t.Fatalf("ready=%v alice/bob decisions wrong", e.Ready())
	}
	if e.Decision() != "data.envoy.authz.allow" {
		t.Errorf("Decision() = %q", e.Decision())
	}
	other := newEngine(t) // data.rampart.authz.allow: not under envoy/authz, envoy/lib, users
	err := other.LoadDir(ctx, "main", "testdata/bundles/bare")
	if !errors.Is(err, rego.ErrDecisionOutsideRoots) || other.Ready() ||
		!strings.Contains(err.Error(), "[envoy/authz envoy/lib users]") {
		t.Fatalf("load with an unowned decision: %v (ready %v)", err, other.Ready())
	}
	if d := other.Decide(ctx, user("alice")); d.Allowed || !strings.Contains(d.Reason, "outside every bundle's roots") {
		t.Errorf("decision = %+v", d)
	}
	// A serving engine refuses an update that would take its decision path away.
	if err := e.LoadDir(ctx, "main", starwarsDir); !errors.Is(err, rego.ErrDecisionOutsideRoots) || !e.Ready() ||
		!e.Decide(ctx, user("alice")).Allowed {
		t.Errorf("update moving the roots away: %v, ready %v", err, e.Ready())
	}
}

// TestBadBundleKeepsLastGood loads the Star Wars bundle, then each bad bundle: the
// load must fail with a *BundleError naming the file at fault, and decisions must
// still come from starwars-v1.
func TestBadBundleKeepsLastGood(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, bundle, path, wantFile, wantErr string
	}{
		{"syntax error", "main", "testdata/badbundles/syntax", "policy.rego", "rego_parse_error"},
		{"compile error", "main", "testdata/badbundles/conflicting-rules", "policy.rego", "rego_type_error"},
		{"missing manifest tarball", "main", "testdata/badbundles/no-manifest.tar.gz", ".manifest", "missing .manifest"},
		{"overlapping roots", "other", "testdata/badbundles/overlap", "", "overlapping roots"},
		{"data outside roots", "main", "testdata/badbundles/data-outside-roots", "", "do not permit data at path"},
		{"tar path traversal", "main", "testdata/badbundles/traversal.tar.gz", "../../etc/evil.rego", "escapes the bundle root"},
		{"not gzip", "main", "testdata/badbundles/not-gzip.tar.gz", "", "gzip"},
		{"no such dir", "main", "testdata/badbundles/nonexistent", "", "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEngine(t)
			if err := e.LoadDir(ctx, "main", starwarsDir); err != nil {
				t.Fatal(err)
			}
			var err error
			if strings.HasSuffix(c.path, ".tar.gz") {
				err = e.LoadFile(ctx, c.bundle, c.path)
			} else {
				err = e.LoadDir(ctx, c.bundle, c.path)
			}
			checkRefused(t, e, err, c.wantFile, c.wantErr)
		})
	}
}

func checkRefused(t *testing.T, e *rego.Engine, err error, wantFile, wantErr string) {
	t.Helper()
	var be *rego.BundleError
	if !errors.As(err, &be) {
		t.Fatalf("load error = %v (%T), want *rego.BundleError", err, err)
	}
	if !strings.Contains(be.File, wantFile) || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("load error = %q (file %q), want file %q and %q", err, be.File, wantFile, wantErr)
	}
	if wantFile != "" && !strings.Contains(err.Error(), wantFile) {
		t.Errorf("error %q does not name the file %q", err, wantFile)
	}
	d := e.Decide(context.Background(), tiefighterLands())
	if !d.Allowed || d.Revision != "starwars-v1" || e.Revision() != "starwars-v1" {
		t.Errorf("after refused load: Decide = %+v, Revision %q; want last good starwars-v1", d, e.Revision())
	}
}

// TestSignedBundles builds signed tarballs with rego.Build and loads them into an
// engine that requires the test public key.
func TestSignedBundles(t *testing.T) {
	ctx := context.Background()
	signed := buildTarball(t, starwarsDir, rego.BuildOptions{SigningKey: "testdata/keys/signing.pem", KeyID: "test", Revision: "starwars-v2"})
	unsigned := buildTarball(t, starwarsDir, rego.BuildOptions{Revision: "starwars-v2"})
	tampered := tamper(t, signed)
	for _, c := range []struct {
		name, key, file, wantErr string
	}{
		{"good signature", "testdata/keys/public.pem", signed, ""},
		{"wrong key", "testdata/keys/other-public.pem", signed, "verification"},
		{"unsigned", "testdata/keys/public.pem", unsigned, "signature"},
		{"tampered file", "testdata/keys/public.pem", tampered, "authz.rego"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vc, err := rego.VerificationKey("test", c.key, "RS256")
			if err != nil {
				t.Fatal(err)
			}
			e := newEngine(t, rego.WithVerification(vc))
			good := buildSignedStarwars(t)
			if err := e.LoadFile(ctx, "main", good); err != nil && c.key == "testdata/keys/public.pem" {
				t.Fatalf("load signed starwars-v1: %v", err)
			}
			err = e.LoadFile(ctx, "main", c.file)
			if c.wantErr == "" {
				if err != nil || e.Revision() != "starwars-v2" {
					t.Fatalf("load = %v, revision %q; want starwars-v2", err, e.Revision())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("load = %v, want error containing %q", err, c.wantErr)
			}
			var be *rego.BundleError
			if !errors.As(err, &be) || (c.name != "tampered file" && be.File != ".signatures.json") {
				t.Errorf("load error %#v does not name .signatures.json", err)
			}
			if c.key == "testdata/keys/public.pem" && e.Revision() != "starwars-v1" {
				t.Errorf("revision %q after refused load, want last good starwars-v1", e.Revision())
			}
		})
	}
}

func buildSignedStarwars(t *testing.T) string {
	return buildTarball(t, starwarsDir, rego.BuildOptions{SigningKey: "testdata/keys/signing.pem", KeyID: "test"})
}

// tamper rewrites a signed tarball with authz.rego changed and the signature kept.
func tamper(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if strings.HasSuffix(h.Name, "authz.rego") {
			body = bytes.ReplaceAll(body, []byte(`"empire"`), []byte(`"alliance"`))
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write(body)
	}
	_ = tw.Close()
	_ = zw.Close()
	path := filepath.Join(t.TempDir(), "tampered.tar.gz")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
