package decisionlog

import (
	"net"
	"sort"
	"strings"

	"github.com/rampart-mesh/rampart/rego"
)

// Workload names a peer the way people read it: "ns/sa" for a Kubernetes SPIFFE ID
// (spiffe://td/ns/NS/sa/SA), the ID itself for another SPIFFE ID, else its app
// label ("app=NAME"), else "ip IP" for an address, else "-".
func Workload(p rego.Peer) string {
	if p.Principal != "" {
		if ns, sa, ok := KubeID(p.Principal); ok {
			return ns + "/" + sa
		}
		return p.Principal
	}
	for _, k := range []string{"app.kubernetes.io/name", "app"} {
		if v := p.Labels[k]; v != "" {
			return k + "=" + v
		}
	}
	if ip := Host(p.Address); ip != "" {
		return "ip " + ip
	}
	return "-"
}

// KubeID splits spiffe://td/ns/NS/sa/SA into NS and SA.
func KubeID(id string) (ns, sa string, ok bool) {
	rest, ok := strings.CutPrefix(id, "spiffe://")
	if !ok {
		return "", "", false
	}
	// td/ns/NS/sa/SA, cut without allocating: replay names every changed decision.
	_, rest, ok1 := strings.Cut(rest, "/")
	rest, ok2 := strings.CutPrefix(rest, "ns/")
	ns, rest, ok3 := strings.Cut(rest, "/")
	sa, ok4 := strings.CutPrefix(rest, "sa/")
	if !ok1 || !ok2 || !ok3 || !ok4 || ns == "" || sa == "" || strings.Contains(sa, "/") {
		return "", "", false
	}
	return ns, sa, true
}

// Host returns the IP of an "ip:port" address (or the address when it has no port).
func Host(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// volatileLabels differ between replicas of one workload (or between its
// revisions): rules and groups leave them out.
var volatileLabels = map[string]bool{
	"pod-template-hash": true, "controller-revision-hash": true, "pod-template-generation": true,
	"statefulset.kubernetes.io/pod-name": true, "apps.kubernetes.io/pod-index": true,
	"batch.kubernetes.io/controller-uid": true, "controller-uid": true,
}

// StableLabels returns labels without the ones that differ between replicas, as
// sorted "k=v" pairs.
func StableLabels(labels map[string]string) []string {
	out := make([]string, 0, len(labels))
	for k, v := range labels {
		if !volatileLabels[k] {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

// Flow is what people group decisions by: who called whom, how, and which
// resource kind (the path template).
type Flow struct {
	Source      string `json:"source"`      // Workload of the source
	Destination string `json:"destination"` // Workload of the destination
	Method      string `json:"method"`      // "-" for an L4 connection
	Path        string `json:"path"`        // Template of the path; "-" for L4
}

// FlowOf names the flow of one input.
func FlowOf(in *rego.Input) Flow {
	f := Flow{Source: Workload(in.Source), Destination: Workload(in.Destination), Method: "-", Path: "-"}
	if in.Request != nil {
		f.Method, f.Path = in.Request.Method, Template(in.Request.Path)
	}
	return f
}
