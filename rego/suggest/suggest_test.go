package suggest_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
	"github.com/rampart-mesh/rampart/rego/replay"
	"github.com/rampart-mesh/rampart/rego/suggest"
)

var update = flag.Bool("update", false, "rewrite testdata/starwars/ from the suggestion")

const starwarsLog = "../replay/testdata/starwars.log"

func records(t testing.TB, files ...string) []decisionlog.Record {
	t.Helper()
	var out []decisionlog.Record
	if _, err := decisionlog.Each(decisionlog.Files(files...), func(r decisionlog.Record, _ decisionlog.Event) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func suggestFrom(t testing.TB, recs []decisionlog.Record) map[string][]byte {
	t.Helper()
	fs := suggest.New()
	for _, r := range recs {
		fs.Add(r)
	}
	files, err := fs.Files()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func engine(t testing.TB, files map[string][]byte) *rego.Engine {
	t.Helper()
	m := fstest.MapFS{}
	for name, b := range files {
		m[name] = &fstest.MapFile{Data: b}
	}
	e, err := rego.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.LoadFS(context.Background(), "main", m); err != nil {
		t.Fatalf("suggested bundle does not load: %v\n%s", err, files[suggest.RegoFile])
	}
	return e
}

// TestSuggestReplaysClean: the suggested bundle, replayed over the very logs it
// came from, denies nothing that was allowed; and it matches the reviewed copy in
// testdata/starwars (refresh with -update).
func TestSuggestReplaysClean(t *testing.T) {
	files := suggestFrom(t, records(t, starwarsLog))
	r, err := replay.Run(context.Background(), engine(t, files), decisionlog.Files(starwarsLog), replay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.AllowToDeny != 0 || r.Totals.Decisions != 63 {
		t.Fatalf("replay of its own logs: %+v %+v", r.Totals, r.Changes)
	}
	for _, want := range []string{
		"# Generalized: segment 3 took 10 distinct values (1000, 1004, 1008, ...), so any number is allowed there.",
		`path_matches(["v1", "landings", "{uuid}"])`,
		`input.parsed_path == ["v1", "request-landing"]`,
		"# The query string is not checked",
	} {
		if !bytes.Contains(files[suggest.RegoFile], []byte(want)) {
			t.Errorf("suggested.rego lacks %q:\n%s", want, files[suggest.RegoFile])
		}
	}
	dir := "testdata/starwars"
	for name, b := range files {
		p := filepath.Join(dir, name)
		if *update {
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if have, err := os.ReadFile(p); err != nil || !bytes.Equal(have, b) {
			t.Errorf("%s differs from the suggestion (%v): go test -run TestSuggestReplaysClean -update", p, err)
		}
	}
}

// TestSuggestedTestsPass runs the generated *_test.rego with OPA's own tester, as
// `opa test DIR` does, and requires every generated test to pass and each kind of
// test to be there.
func TestSuggestedTestsPass(t *testing.T) {
	files := suggestFrom(t, records(t, starwarsLog))
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bundles, err := tester.LoadBundlesWithRegoVersion([]string{dir}, nil, ast.RegoV1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store := inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().SetDefaultRegoVersion(ast.RegoV1).SetBundles(bundles).SetStore(store).RunTests(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	n := 0
	for res := range ch {
		n++
		if res.Error != nil || res.Fail || res.Skip {
			t.Errorf("%s: fail %v error %v", res.Name, res.Fail, res.Error)
		}
		for _, k := range []string{"_allowed", "_other_method_denied", "_malformed_identifier_denied", "unknown_caller_denied"} {
			if strings.HasSuffix(res.Name, k) {
				kinds[k]++
			}
		}
	}
	if n < 10 || len(kinds) != 4 {
		t.Fatalf("%d tests, kinds %v: want every kind", n, kinds)
	}
}

// TestSuggestHeldOut learns from the first 70% of the log and replays the rest:
// the generalizations should let the held-out traffic through. It reports the
// share denied (the figure `rampart policy suggest --holdout` prints).
func TestSuggestHeldOut(t *testing.T) {
	recs := records(t, starwarsLog)
	cut := len(recs) * 7 / 10
	res, err := suggest.HeldOut(context.Background(), recs[:cut], recs[cut:])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held out %d of %d decisions: %d of %d allowed would be denied (%.1f%%)",
		len(recs)-cut, len(recs), res.Denied, res.Allowed, res.Percent())
	if res.Allowed != len(recs)-cut || res.Denied != 0 {
		t.Fatalf("held-out %+v: want all %d allowed", res, len(recs)-cut)
	}
	// Without the numbered and UUID landings in the learning part, their flows
	// are denied: the measurement can fail.
	var noLandings []decisionlog.Record
	for _, r := range recs[:cut] {
		if !strings.HasPrefix(r.Input.Request.Path, "/v1/landings/") {
			noLandings = append(noLandings, r)
		}
	}
	res, err = suggest.HeldOut(context.Background(), noLandings, recs[cut:])
	if err != nil {
		t.Fatal(err)
	}
	if res.Denied == 0 {
		t.Fatalf("held-out %+v: want the landings denied", res)
	}
}

// TestSuggestByLabelsAndAddress: peers without a SPIFFE ID are matched by their
// stable labels (pod-template-hash left out), else by address; the suggestion
// allows what was seen, across replicas, and denies other labels and addresses.
func TestSuggestByLabelsAndAddress(t *testing.T) {
	peer := func(labels map[string]string, addr string) rego.Peer { return rego.Peer{Labels: labels, Address: addr} }
	req := func(src rego.Peer, method, path string) decisionlog.Record {
		return decisionlog.Record{Allowed: true, Input: &rego.Input{Source: src,
			Destination: peer(map[string]string{"app": "deathstar"}, "198.18.0.3:80"),
			Request:     &rego.Request{Method: method, Path: path}}}
	}
	web := func(hash, ip string) rego.Peer {
		return peer(map[string]string{"app": "web", "pod-template-hash": hash}, ip+":40000")
	}
	fs := suggest.New()
	fs.Add(req(web("aaa", "198.18.0.7"), "GET", "/v1/ships/7"))
	fs.Add(req(peer(nil, "198.18.0.9:5555"), "GET", "/healthz"))
	fs.Add(decisionlog.Record{Allowed: false, Input: &rego.Input{Source: web("aaa", "198.18.0.7")}}) // a deny: no rule
	e, err := fs.Engine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   decisionlog.Record
		want bool
	}{
		{req(web("bbb", "198.18.0.8"), "GET", "/v1/ships/12"), true}, // another replica, another id
		{req(web("bbb", "198.18.0.8"), "GET", "/v1/ships/x"), false},
		{req(peer(map[string]string{"app": "api"}, "198.18.0.7:1"), "GET", "/v1/ships/7"), false},
		{req(peer(nil, "198.18.0.9:6000"), "GET", "/healthz"), true}, // same address, another port
		{req(peer(nil, "198.18.0.10:5555"), "GET", "/healthz"), false},
	} {
		if d := e.Decide(context.Background(), c.in.Input); d.Allowed != c.want {
			t.Errorf("%+v %s %s: allowed %v, want %v", c.in.Input.Source, c.in.Input.Request.Method, c.in.Input.Request.Path, d.Allowed, c.want)
		}
	}
	files, _ := fs.Files()
	if !bytes.Contains(files[suggest.DataFile], []byte(`"labels app=deathstar"`)) || !bytes.Contains(files[suggest.DataFile], []byte(`"address": "198.18.0.9"`)) ||
		bytes.Contains(files[suggest.DataFile], []byte("pod-template-hash")) {
		t.Errorf("data.json:\n%s", files[suggest.DataFile])
	}
	if !bytes.Contains(files[suggest.RegoFile], []byte("1 denied decisions were seen")) {
		t.Errorf("suggested.rego does not count the deny:\n%s", files[suggest.RegoFile])
	}
}
