package suggest

import (
	"net/url"
	"sort"
	"strings"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
)

// maxDistinct bounds the distinct values remembered per generalized segment.
const maxDistinct = 1000

// Flows collects the allowed flows of decision logs. The zero value is not ready:
// use New.
type Flows struct {
	workloads map[string]Workload
	flows     map[flowKey]*flow
	denied    int // recorded denies: not flows to allow
}

// New returns an empty collection.
func New() *Flows {
	return &Flows{workloads: map[string]Workload{}, flows: map[flowKey]*flow{}}
}

// Workload is how rules match one end of a flow: by SPIFFE ID when it had one,
// else by all its stable labels, else by IP address.
type Workload struct {
	Principal string            `json:"principal,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	Address   string            `json:"address,omitempty"`
}

type flowKey struct {
	src, dst, method string
	path             string // template segments joined by "/"; "" for L4
	l4               bool
}

type flow struct {
	flowKey
	segs     []string // template segments (after OPA-Envoy's parsed_path split)
	count    int
	example  []string              // the first observed parsed_path
	distinct []map[string]struct{} // per segment, values seen for a wildcard
	queries  bool                  // some request had a query string
}

// Add counts one decision; only what the proxy let through becomes a flow.
func (fs *Flows) Add(rec decisionlog.Record) {
	if !rec.Allowed || rec.Input == nil {
		fs.denied++
		return
	}
	k := flowKey{src: fs.workload(rec.Input.Source), dst: fs.workload(rec.Input.Destination)}
	var segs []string
	var query bool
	if r := rec.Input.Request; r != nil {
		segs, query = parsedPath(r.Path)
		k.method = r.Method
		k.path = strings.Join(template(segs), "/")
	} else {
		k.l4 = true
	}
	f := fs.flows[k]
	if f == nil {
		f = &flow{flowKey: k, segs: template(segs), example: segs, distinct: make([]map[string]struct{}, len(segs))}
		fs.flows[k] = f
	}
	f.count++
	f.queries = f.queries || query
	for i, s := range f.segs {
		if decisionlog.IsWildcard(s) && len(f.distinct[i]) < maxDistinct {
			if f.distinct[i] == nil {
				f.distinct[i] = map[string]struct{}{}
			}
			f.distinct[i][segs[i]] = struct{}{}
		}
	}
}

// workload names a peer (decisionlog.Workload, or its stable labels when they
// identify it) and remembers how to match it.
func (fs *Flows) workload(p rego.Peer) string {
	var w Workload
	name := decisionlog.Workload(p)
	stable := decisionlog.StableLabels(p.Labels)
	switch {
	case p.Principal != "":
		w.Principal = p.Principal
	case len(stable) > 0:
		w.Labels = map[string]string{}
		for _, kv := range stable {
			k, v, _ := strings.Cut(kv, "=")
			w.Labels[k] = v
		}
		name = "labels " + strings.Join(stable, ",")
	default:
		w.Address = decisionlog.Host(p.Address)
	}
	if _, ok := fs.workloads[name]; !ok {
		fs.workloads[name] = w
	}
	return name
}

// parsedPath splits a path as the engine does for input.parsed_path (and
// OPA-Envoy): query cut, the whole path unescaped, leading slashes trimmed.
func parsedPath(p string) ([]string, bool) {
	p, q, hasQuery := strings.Cut(p, "?")
	if strings.IndexByte(p, '%') >= 0 {
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
	}
	return strings.Split(strings.TrimLeft(p, "/"), "/"), hasQuery && q != ""
}

func template(segs []string) []string {
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = s
		if k := decisionlog.Kind(s); k != "" {
			out[i] = k
		}
	}
	return out
}

// sorted returns the flows in a stable order: by destination, source, path, method.
func (fs *Flows) sorted() []*flow {
	out := make([]*flow, 0, len(fs.flows))
	for _, f := range fs.flows {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].flowKey, out[j].flowKey
		if a.dst != b.dst {
			return a.dst < b.dst
		}
		if a.src != b.src {
			return a.src < b.src
		}
		if a.path != b.path {
			return a.path < b.path
		}
		return a.method < b.method
	})
	return out
}

// Len is the number of flows the bundle will allow.
func (fs *Flows) Len() int { return len(fs.flows) }
