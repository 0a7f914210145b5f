package decisionlog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego/decisionlog"
)

func TestTemplate(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/v1/request-landing", "/v1/request-landing"},
		{"/v1/request-landing?bay=3", "/v1/request-landing"},
		{"/v1/landings/1042", "/v1/landings/{number}"},
		{"/v1/landings/6f1c2a01-3b7e-4c1d-9a55-0e8b2f4d0001/logs", "/v1/landings/{uuid}/logs"},
		{"/v1/plans/deadbeef00c0ffee", "/v1/plans/{hash}"},
		{"/v1/plans/deadbeefdeadbeef", "/v1/plans/deadbeefdeadbeef"}, // all letters: a word, not a hash
		{"/v1/plans/0123456789012345a", "/v1/plans/{hash}"},
		{"/v1/short/abc123", "/v1/short/abc123"}, // too short for a hash
		{"/", "/"},
		{"", ""},
		{"/v2/x/", "/v2/x/"}, // "v2" is a name
		{"/a/1/b/2", "/a/{number}/b/{number}"},
	} {
		if got := decisionlog.Template(tc.in); got != tc.want {
			t.Errorf("Template(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func ExampleTemplate() {
	fmt.Println(decisionlog.Template("/v1/landings/1042/crew/6f1c2a01-3b7e-4c1d-9a55-0e8b2f4d0001?full=1"))
	// Output: /v1/landings/{number}/crew/{uuid}
}

// FuzzKubeID: KubeID splits SPIFFE IDs as strings.Split on "/" would, into
// exactly td, "ns", NS, "sa", SA with NS and SA not empty.
func FuzzKubeID(f *testing.F) {
	for _, s := range []string{"spiffe://cluster.local/ns/default/sa/deathstar", "spiffe:///ns/a/sa/b",
		"spiffe://td/ns//sa/b", "spiffe://td/ns/a/sa/b/c", "spiffe://td/ns/a/sa/", "spiffe://td/x/a/sa/b", "td/ns/a/sa/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		ns, sa, ok := decisionlog.KubeID(id)
		rest, isSpiffe := strings.CutPrefix(id, "spiffe://")
		parts := strings.Split(rest, "/")
		want := isSpiffe && len(parts) == 5 && parts[1] == "ns" && parts[3] == "sa" && parts[2] != "" && parts[4] != ""
		if ok != want || ok && (ns != parts[2] || sa != parts[4]) {
			t.Fatalf("KubeID(%q) = %q, %q, %v", id, ns, sa, ok)
		}
	})
}
