package e2e_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/demo"
	"github.com/rampart-mesh/rampart/test/support"
)

// tourCase is one request of testdata/tour.json and what must come of it.
type tourCase struct {
	Name            string
	Mode            demo.Mode
	Caller          string // tiefighter, xwing, smuggler
	Method, Path    string
	Via             string // "vip": the service VIP; "pod": deathstar-1's pod IP
	Refused         bool   // no HTTP response at all
	Status          int
	Body            string
	Reaches         bool // the deathstar app sees the request
	Allowed         bool
	Reason          string
	Unauthenticated bool // the decision has no source principal or labels
}

func loadTour(t *testing.T) []tourCase {
	t.Helper()
	b, err := os.ReadFile("testdata/tour.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []tourCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestTour sends each request of testdata/tour.json from its caller's pod, one
// scenario per mode, and checks the answer, whether the deathstar saw it, and the
// decision the deathstar's proxy logged.
func TestTour(t *testing.T) {
	byMode := map[demo.Mode][]tourCase{}
	for _, c := range loadTour(t) {
		byMode[c.Mode] = append(byMode[c.Mode], c)
	}
	for _, mode := range []demo.Mode{demo.Strict, demo.Permissive} {
		t.Run(string(mode), func(t *testing.T) {
			sw := starWars(t, mode)
			for _, c := range byMode[mode] {
				t.Run(c.Name, func(t *testing.T) { checkTourCase(t, sw, c) })
			}
		})
	}
}

func checkTourCase(t *testing.T, sw *demo.StarWars, c tourCase) {
	if c.Caller != "smuggler" {
	}
	client := map[string]*demo.Client{"tiefighter": sw.Tiefighter, "xwing": sw.Xwing, "smuggler": sw.Smuggler}[c.Caller]
	url := sw.ServiceURL(c.Path)
	if c.Via == "pod" {
		url = sw.PodURL(c.Path)
	}
	seen := sw.Seen(c.Method, c.Path)
	st, err := sw.Do(client, c.Method, url, c.Via)
	if err != nil {
		t.Fatal(err)
	}
	r := st.Result
	switch {
	case c.Refused && !r.Failed():
		t.Errorf("got %d %q, want the connection refused", r.Status, r.Body)
	case !c.Refused && (r.Status != c.Status || r.Body != c.Body):
		t.Errorf("got %d %q (err %q), want %d %q", r.Status, r.Body, r.Err, c.Status, c.Body)
	}
	if want := wantPeer(sw, c); !r.Failed() && r.Peer != want {
		t.Errorf("the app's socket reports peer %q, want %q: capture must be invisible", r.Peer, want)
	}
	// A replica reports each request on its stdout before answering it, and another
	// goroutine reads those lines: the count can trail the response by a moment.
	want := map[bool]int{true: 1}[c.Reaches]
	got := func() int { return sw.Seen(c.Method, c.Path) - seen }
	if !support.Poll(2*time.Second, func() bool { return got() >= want }) || got() != want {
		t.Errorf("deathstar saw the request %d times, want reaches=%v", got(), c.Reaches)
	}
	checkDecision(t, sw, st, c)
}

func checkDecision(t *testing.T, sw *demo.StarWars, st demo.Step, c tourCase) {
	t.Helper()
	d := st.Decision
	if c.Refused {
		if d != nil {
			t.Errorf("a refused connection was decided: %s", d.Raw)
		}
		return
	}
	if d == nil {
		t.Fatal("no decision logged")
	}
	if d.Allowed != c.Allowed || d.Reason != c.Reason || d.Method != c.Method || d.Path != c.Path {
		t.Errorf("decision %+v, want allowed=%v reason=%q %s %s", d, c.Allowed, c.Reason, c.Method, c.Path)
	}
	if !hasRevision(d, demo.StarWarsRevision) {
		t.Errorf("decision does not name the bundle revision %q: %s", demo.StarWarsRevision, d.Raw)
	}
	pod := map[string]string{"tiefighter": "tiefighter", "xwing": "xwing", "smuggler": "smuggler"}[c.Caller]
	wantID, wantOrg := "spiffe://cluster.local/ns/default/sa/"+pod, map[string]string{"tiefighter": "empire", "xwing": "alliance"}[pod]
	if c.Unauthenticated {
		wantID, wantOrg = "", ""
	}
	if d.Source != wantID || d.Labels["org"] != wantOrg {
		t.Errorf("decision source %q labels %v, want %q org=%q", d.Source, d.Labels, wantID, wantOrg)
	}
}

func hasRevision(d *demo.Decision, rev string) bool {
	for _, r := range d.Revisions {
		if r == rev {
			return true
		}
	}
	return false
}

// wantPeer is the address the caller dialled: the VIP or deathstar-1's pod IP.
func wantPeer(sw *demo.StarWars, c tourCase) string {
	if c.Via == "pod" {
		return sw.Deathstar[0].IP.String() + ":80"
	}
	return demo.DeathstarVIP.String() + ":80"
}
