package rego_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego"
)

const cacheKeyBundle = "testdata/bundles/cachekey"

// keyCase is two inputs a policy tells apart, and the decision each must get.
type keyCase struct {
	First  rego.Input `json:"first"`
	Second rego.Input `json:"second"`
	Want   [2]bool    `json:"want"`
}

// TestDecisionCacheKeepsInputsApart decides pairs of inputs that differ only in a
// header value, a label, where one field ends and the next begins, or whether a part
// is there at all, one after the other on a caching engine, in both orders. Were
// the two to share a cache key, the second would get the first's decision.
func TestDecisionCacheKeepsInputsApart(t *testing.T) {
	files, err := filepath.Glob("testdata/cachekey/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			c := readKeyCase(t, file)
			inputs := [2]*rego.Input{&c.First, &c.Second}
			for _, order := range [][2]int{{0, 1}, {1, 0}} {
				e := cacheKeyEngine(t, rego.DefaultDecisionCache)
				for round := range 2 { // the second round is answered from the cache
					for _, i := range order {
						if d := e.Decide(context.Background(), inputs[i]); d.Allowed != c.Want[i] {
							t.Errorf("order %v round %d: input %d allowed=%v, want %v (%s)", order, round, i, d.Allowed, c.Want[i], d.Reason)
						}
					}
				}
			}
		})
	}
}

// FuzzDecisionCache decides a fuzzed input right after another fuzzed input on a
// caching engine: the decision must equal an uncached engine's.
func FuzzDecisionCache(f *testing.F) {
	files, _ := filepath.Glob("testdata/cachekey/*.json")
	for _, file := range files {
		c := readKeyCase(f, file)
		f.Add(fuzzArgs(&c.First), fuzzArgs(&c.Second))
	}
	cached, plain := cacheKeyEngine(f, rego.DefaultDecisionCache), cacheKeyEngine(f, 0)
	f.Fuzz(func(t *testing.T, a, b string) {
		first, second := fuzzInput(a), fuzzInput(b)
		cached.Decide(context.Background(), first)
		got, want := cached.Decide(context.Background(), second), plain.Decide(context.Background(), second)
		if got.Allowed != want.Allowed || got.Reason != want.Reason {
			t.Fatalf("after %+v, %+v: cached allowed=%v, evaluated %v", first, second, got.Allowed, want.Allowed)
		}
	})
}

// fuzzArgs and fuzzInput turn an input into one string and back: fields separated
// by NUL, a missing request or body as fewer fields.
func fuzzArgs(in *rego.Input) string {
	f := []string{in.Source.Principal, pairsOf(in.Source.Labels), pairsOf(in.Destination.Labels)}
	if r := in.Request; r != nil {
		f = append(f, r.Method, r.Path, r.Headers["x-ship"])
		if r.Body != nil {
			f = append(f, string(r.Body), r.Headers["content-type"], strconv.FormatBool(r.BodyTruncated))
		}
	}
	return strings.Join(f, "\x00")
}

func fuzzInput(s string) *rego.Input {
	f := strings.Split(s, "\x00")
	for len(f) < 3 {
		f = append(f, "")
	}
	in := &rego.Input{
		Source:      rego.Peer{Principal: f[0], Labels: labelsOf(f[1])},
		Destination: rego.Peer{Labels: labelsOf(f[2])},
	}
	if len(f) >= 6 {
		in.Request = &rego.Request{Method: f[3], Path: f[4], Headers: map[string]string{"x-ship": f[5]}}
	}
	if len(f) >= 9 {
		in.Request.Body, in.Request.BodyTruncated = []byte(f[6]), f[8] == "true"
		in.Request.Headers["content-type"] = f[7]
	}
	return in
}

// pairsOf writes labels as k=v;k=v, labelsOf reads them back.
func pairsOf(m map[string]string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	return strings.Join(kv, ";")
}

func labelsOf(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func cacheKeyEngine(t testing.TB, size int) *rego.Engine {
	t.Helper()
	e := newEngine(t, rego.WithDecisionCache(size))
	if err := e.LoadDir(context.Background(), "cachekey", cacheKeyBundle); err != nil {
		t.Fatal(err)
	}
	return e
}

func readKeyCase(t testing.TB, file string) keyCase {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c keyCase
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return c
}
