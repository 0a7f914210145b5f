package translate_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/rampart-mesh/rampart/rego/translate"
)

// The differential tests send the same generated requests through a translated
// bundle (real engine) and through the source system's semantics written here
// independently, straight from each project's documentation, over the same YAML.

// universe is what requests are drawn from.
type universe struct {
	namespaces []string
	labels     map[string][]string // key → values; each key present with p = 1/2
	srcIPs     []string            // addresses of unauthenticated clients
	ports      []int
	methods    []string
	paths      []string
	hosts      []string
	headers    map[string][]string
	sas        []string
	// dsts, when set, are the destination pods (namespace and labels) to draw
	// from, so that most requests reach a selected pod.
	dsts []peer
	// srcs, when set, are typical sources, drawn three times in four (with one
	// label changed now and then); the rest are random.
	srcs []peer
}

func (u universe) pick(r *rand.Rand, vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[r.IntN(len(vs))]
}

func (u universe) podLabels(r *rand.Rand) map[string]string {
	l := map[string]string{}
	for _, k := range sortedKeys(u.labels) {
		if r.IntN(2) == 0 {
			l[k] = u.pick(r, u.labels[k])
		}
	}
	return l
}

func (u universe) request(r *rand.Rand) tcase {
	c := tcase{
		To: peer{NS: u.pick(r, u.namespaces), Labels: u.podLabels(r), Port: u.ports[r.IntN(len(u.ports))],
			IP: fmt.Sprintf("198.18.1.%d", r.IntN(250)+1)},
		Method: u.pick(r, u.methods), Path: u.pick(r, u.paths), Host: u.pick(r, u.hosts),
	}
	if len(u.dsts) > 0 {
		d := u.dsts[r.IntN(len(u.dsts))]
		c.To.NS, c.To.Labels = d.NS, d.Labels
		if d.Port != 0 && r.IntN(4) != 0 {
			c.To.Port = d.Port
		}
	}
	switch {
	case len(u.srcs) > 0 && r.IntN(4) != 0:
		s := u.srcs[r.IntN(len(u.srcs))]
		c.From = peer{NS: s.NS, SA: s.SA, IP: s.IP, Labels: map[string]string{}}
		for k, v := range s.Labels {
			c.From.Labels[k] = v
		}
		if c.From.IP == "" {
			c.From.IP = fmt.Sprintf("198.18.0.%d", r.IntN(250)+1)
		}
		if r.IntN(3) == 0 {
			k := u.pick(r, sortedKeys(u.labels))
			c.From.Labels[k] = u.pick(r, u.labels[k])
		}
	case r.IntN(5) == 0:
		c.From = peer{IP: u.pick(r, u.srcIPs)}
	default:
		c.From = peer{NS: u.pick(r, u.namespaces), SA: u.pick(r, u.sas), Labels: u.podLabels(r),
			IP: fmt.Sprintf("198.18.0.%d", r.IntN(250)+1)}
	}
	if len(u.headers) > 0 {
		c.Headers = map[string]string{}
		for _, k := range sortedKeys(u.headers) {
			if r.IntN(2) == 0 {
				c.Headers[k] = u.pick(r, u.headers[k])
			}
		}
	}
	return c
}

// differential translates files, then checks n generated requests against want.
func differential(t *testing.T, files []string, unselected string, u universe, want func(tcase) bool) {
	t.Helper()
	var srcs []translate.Source
	for _, f := range files {
		srcs = append(srcs, translate.Source{Name: f, Data: readFile(t, f)})
	}
	b, err := translate.Translate(srcs, translate.Options{Unselected: unselected})
	if err != nil {
		t.Fatal(err)
	}
	e := engine(t, b)
	r := rand.New(rand.NewPCG(18, uint64(len(files))))
	const n = 1500
	allowed, failures := 0, 0
	for range n {
		c := u.request(r)
		w := want(c)
		if got := decide(e, c); got != w {
			failures++
			if failures <= 5 {
				t.Errorf("request %+v: bundle allows %v, reference %v", c, got, w)
			}
		}
		if w {
			allowed++
		}
	}
	t.Logf("%d requests, %d allowed by the reference, %d disagreements", n, allowed, failures)
	// A table that is all allow or all deny tests nothing.
	if allowed < n/20 || allowed > n-n/20 {
		t.Errorf("reference allowed %d of %d: the universe does not exercise the policies", allowed, n)
	}
}

// files lists a folder's context.yaml (when there is one) and its policies.
func files(t *testing.T, dir string) []string {
	var out []string
	if ctx := filepath.Join("testdata", dir, "context.yaml"); fileExists(ctx) {
		out = append(out, ctx)
	}
	return append(out, policyFiles(t, dir)...)
}

func fileExists(f string) bool {
	_, err := os.Stat(f)
	return err == nil
}

func readFile(t *testing.T, f string) []byte {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// objects reads every YAML document of files as generic objects.
func objects(t *testing.T, files []string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, f := range files {
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(readFile(t, f))))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var o map[string]any
			if err := yaml.Unmarshal(doc, &o); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o != nil {
				out = append(out, o)
			}
		}
	}
	return out
}

// as converts a generic object into a typed one.
func as[T any](t *testing.T, o any) T {
	t.Helper()
	var v T
	raw, err := json.Marshal(o)
	if err == nil {
		err = json.Unmarshal(raw, &v)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func inCIDR(ip, cidr string) bool {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		panic(err)
	}
	return n.Contains(net.ParseIP(ip))
}
