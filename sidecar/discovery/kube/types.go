package kube

import (
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// The informers' caches hold these trimmed objects, never the API objects: the
// transform (transform.go) keeps a few strings of a pod, not its whole spec.

// meta is the identity the informer's key function and change detection need.
type meta struct {
	name, namespace, rv string
}

// GetObjectMeta makes the trimmed objects meta.Accessor-compatible, which is
// all client-go's key function (namespace/name) asks of a cached object.
func (m *meta) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Name: m.name, Namespace: m.namespace, ResourceVersion: m.rv}
}

func (m *meta) key() string { return m.namespace + "/" + m.name }

// pod is a trimmed Pod: its workload (without IP) and its addresses. Finished
// pods keep no addresses (their IPs are handed to new pods), nor do host-network
// pods (their IP is the node's, shared by many pods and by the node itself).
type pod struct {
	meta
	created string // RFC 3339 in UTC: orders as a string; the newest holder of an IP wins
	w       discovery.Workload
	ips     []netip.Addr
}

// service is a trimmed Service: its cluster IPs and TCP ports by name.
type service struct {
	meta
	vips  []netip.Addr
	ports map[uint16]string // service port → port name
}

// slice is a trimmed EndpointSlice: its service, its TCP ports by name and its
// ready addresses.
type slice struct {
	meta
	service string // namespace/name
	ports   map[string]uint16
	ready   []netip.Addr
}

// parseAddrs keeps the distinct IP addresses of ss (FQDN endpoints and empty
// strings are not addresses).
func parseAddrs(ss []string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		dup := false
		for _, o := range out {
			dup = dup || o == ip
		}
		if !dup {
			out = append(out, ip)
		}
	}
	return out
}
