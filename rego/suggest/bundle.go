package suggest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/rampart-mesh/rampart/rego/decisionlog"
)

// File names of the written bundle.
const (
	RegoFile = "suggested.rego"
	TestFile = "suggested_test.rego"
	DataFile = "data.json"
)

// Files returns the bundle: a .manifest (roots ["rampart"], a revision derived
// from the content), data.json with the workloads under
// data.rampart.suggested.workloads, the policy and its tests.
func (fs *Flows) Files() (map[string][]byte, error) {
	flows := fs.sorted()
	data, err := json.MarshalIndent(map[string]any{"rampart": map[string]any{"suggested": map[string]any{
		"workloads": fs.workloads}}}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("suggest: data: %w", err)
	}
	policy := fs.policy(flows)
	sum := sha256.Sum256(append(append([]byte{}, data...), policy...))
	manifest, _ := json.Marshal(map[string]any{"revision": "suggested-" + hex.EncodeToString(sum[:4]), "roots": []string{"rampart"}})
	return map[string][]byte{
		".manifest": append(manifest, '\n'),
		DataFile:    append(data, '\n'),
		RegoFile:    policy,
		TestFile:    fs.tests(flows),
	}, nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func list(segs []string) string {
	q := make([]string, len(segs))
	for i, s := range segs {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func (f *flow) title() string {
	what := "any connection (L4)"
	if !f.l4 {
		what = f.method + " /" + f.path
	}
	return fmt.Sprintf("%s → %s: %s", f.src, f.dst, what)
}

func (f *flow) wildcard() bool {
	for _, s := range f.segs {
		if decisionlog.IsWildcard(s) {
			return true
		}
	}
	return false
}

const policyHead = `# Suggested by rampart policy suggest from %d allowed decisions: %d flows.
# Every flow observed is allowed by one rule below; everything else is denied.
# %d denied decisions were seen and not turned into rules. Workloads are matched
# as named in data.json (SPIFFE ID, else stable labels, else address).
package rampart.authz

import data.rampart.suggested.workloads

default allow := false
`

const policyTail = `
from(name) if peer_is(input.attributes.source, workloads[name])

to(name) if peer_is(input.attributes.destination, workloads[name])

peer_is(peer, w) if peer.principal == w.principal

peer_is(peer, w) if {
	count(w.labels) > 0
	every k, v in w.labels { peer.labels[k] == v }
}

peer_is(peer, w) if peer.address.socketAddress.address == w.address

# path_matches compares input.parsed_path with a template whose wildcard
# segments match one segment of their kind.
path_matches(tpl) if {
	count(input.parsed_path) == count(tpl)
	every i, t in tpl { segment_matches(input.parsed_path[i], t) }
}

segment_matches(s, "{number}") if regex.match(` + "`^[0-9]+$`" + `, s)

segment_matches(s, "{uuid}") if regex.match(` + "`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`" + `, s)

segment_matches(s, "{hash}") if regex.match(` + "`^[0-9a-fA-F]{16,}$`" + `, s)

segment_matches(s, t) if {
	not t in {"{number}", "{uuid}", "{hash}"}
	s == t
}
`

var kindWords = map[string]string{
	decisionlog.KindNumber: "any number",
	decisionlog.KindUUID:   "any UUID",
	decisionlog.KindHash:   "any hex string of 16 or more digits",
}

func (fs *Flows) policy(flows []*flow) []byte {
	var b strings.Builder
	allowed := 0
	for _, f := range flows {
		allowed += f.count
	}
	fmt.Fprintf(&b, policyHead, allowed, len(flows), fs.denied)
	for _, f := range flows {
		fmt.Fprintf(&b, "\n# %s (%d requests).\n", f.title(), f.count)
		for i, s := range f.segs {
			if decisionlog.IsWildcard(s) {
				fmt.Fprintf(&b, "# Generalized: segment %d took %s, so %s is allowed there.\n", i+1, seen(f.distinct[i]), kindWords[s])
			}
		}
		if f.queries {
			b.WriteString("# The query string is not checked (some requests had one).\n")
		}
		fmt.Fprintf(&b, "allow if {\n\tfrom(%s)\n\tto(%s)\n", quote(f.src), quote(f.dst))
		switch {
		case f.l4:
			b.WriteString("\tnot input.attributes.request.http\n")
		case f.wildcard():
			fmt.Fprintf(&b, "\tinput.attributes.request.http.method == %s\n\tpath_matches(%s)\n", quote(f.method), list(f.segs))
		default:
			fmt.Fprintf(&b, "\tinput.attributes.request.http.method == %s\n\tinput.parsed_path == %s\n", quote(f.method), list(f.segs))
		}
		b.WriteString("}\n")
	}
	b.WriteString(policyTail)
	return []byte(b.String())
}

// seen describes the distinct values of one generalized segment.
func seen(vals map[string]struct{}) string {
	all := make([]string, 0, len(vals))
	for v := range vals {
		all = append(all, v)
	}
	sort.Strings(all)
	n := fmt.Sprintf("%d distinct values", len(all))
	if len(all) == 1 {
		n = "1 value"
	} else if len(all) >= maxDistinct {
		n = fmt.Sprintf("%d+ distinct values", maxDistinct)
	}
	if len(all) > 3 {
		all = append(all[:3], "...")
	}
	return n + " (" + strings.Join(all, ", ") + ")"
}
