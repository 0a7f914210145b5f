package translate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/yaml"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/translate"
)

// peer is one end of a test request; a source without ns is unauthenticated.
type peer struct {
	NS     string            `json:"ns"`
	SA     string            `json:"sa"`
	IP     string            `json:"ip"`
	Port   int               `json:"port"`
	Labels map[string]string `json:"labels"`
}

// tcase is one row of a decision table.
type tcase struct {
	Name    string            `json:"name"`
	From    peer              `json:"from"`
	To      peer              `json:"to"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Host    string            `json:"host"`
	Headers map[string]string `json:"headers"`
	Allow   bool              `json:"allow"`
	// L4 is a connection that is not HTTP (decided without a request).
	L4 bool `json:"l4"`
}

// table is a NAME.cases.yaml file beside NAME.yaml.
type table struct {
	Unselected string  `json:"unselected"`
	Cases      []tcase `json:"cases"`
}

// input builds the request the inbound proxy would decide.
func (c tcase) input() *rego.Input {
	src := rego.Peer{Labels: c.From.Labels, Address: or(c.From.IP, "198.18.0.10") + ":40000"}
	if c.From.NS != "" {
		src.Principal = fmt.Sprintf("spiffe://cluster.local/ns/%s/sa/%s", c.From.NS, or(c.From.SA, "default"))
	}
	port := c.To.Port
	if port == 0 {
		port = 80
	}
	dst := rego.Peer{Labels: c.To.Labels, Address: fmt.Sprintf("%s:%d", or(c.To.IP, "198.18.1.1"), port)}
	if c.To.NS != "" {
		dst.Principal = fmt.Sprintf("spiffe://cluster.local/ns/%s/sa/%s", c.To.NS, or(c.To.SA, "default"))
	}
	in := &rego.Input{Source: src, Destination: dst}
	if !c.L4 {
		in.Request = &rego.Request{Method: or(c.Method, "GET"), Path: or(c.Path, "/"), Host: c.Host, Headers: c.Headers}
	}
	return in
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// engine loads a translated bundle into the real engine, as the proxy would.
func engine(t testing.TB, b *translate.Bundle) *rego.Engine {
	t.Helper()
	e, err := rego.New()
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	for name, data := range b.Files() {
		fsys[name] = &fstest.MapFile{Data: data}
	}
	if err := e.LoadFS(context.Background(), "translated", fsys); err != nil {
		t.Fatalf("load translated bundle: %v\n%s", err, b.Rego)
	}
	return e
}

func decide(e *rego.Engine, c tcase) bool {
	return e.Decide(context.Background(), c.input()).Allowed
}

// sources reads testdata files (context.yaml of the folder first, when there is one).
func sources(t testing.TB, file string) []translate.Source {
	t.Helper()
	var srcs []translate.Source
	files := []string{file}
	if ctx := filepath.Join(filepath.Dir(file), "context.yaml"); ctx != file {
		if _, err := os.Stat(ctx); err == nil {
			files = []string{ctx, file}
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, translate.Source{Name: filepath.ToSlash(f), Data: data})
	}
	return srcs
}

func readTable(t testing.TB, file string) table {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var tb table
	if err := yaml.UnmarshalStrict(data, &tb); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return tb
}

// policyFiles lists testdata/DIR/*.yaml that are policies (not tables or context).
func policyFiles(t testing.TB, dir string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if !strings.HasSuffix(f, ".cases.yaml") && filepath.Base(f) != "context.yaml" {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no policies in testdata/%s", dir)
	}
	return out
}
