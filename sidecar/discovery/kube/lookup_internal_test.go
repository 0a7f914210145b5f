package kube

// White-box: fills the informers' caches directly, so lookups can be measured
// (and checked) without an API server.

import (
	"fmt"
	"net/netip"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

// cachedResolver is a Resolver that is never started, its caches holding n
// pods (198.18.x.y) and one service 10.0.0.10:80 with 5 of them as endpoints.
func cachedResolver(tb testing.TB, n int) *Resolver {
	k, err := New(Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}})
	if err != nil {
		tb.Fatal(err)
	}
	add := func(kd *kind, obj any) {
		if err := kd.informer.GetIndexer().Add(obj); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range n {
		ip := netip.AddrFrom4([4]byte{198, 18, byte(8 + i/200), byte(2 + i%200)})
		add(k.pods, &pod{meta: meta{name: fmt.Sprint("p", i), namespace: "default"}, ips: []netip.Addr{ip},
			w: discovery.Workload{Name: fmt.Sprint("p", i), Namespace: "default", ServiceAccount: "sa", Meshed: true}})
	}
	add(k.svcs, &service{meta: meta{name: "s", namespace: "default"},
		vips: []netip.Addr{netip.MustParseAddr("10.0.0.10")}, ports: map[uint16]string{80: "http"}})
	sl := &slice{meta: meta{name: "s-x", namespace: "default"}, service: "default/s", ports: map[string]uint16{"http": 8080}}
	for j := range 5 {
		sl.ready = append(sl.ready, netip.AddrFrom4([4]byte{198, 18, 8, byte(2 + j)}))
	}
	add(k.slices, sl)
	return k
}

// TestWorkloadNewestHolder: while an IP is handed over, two pods hold it; the
// one created last is the workload behind it.
func TestWorkloadNewestHolder(t *testing.T) {
	k := cachedResolver(t, 0)
	ip := netip.MustParseAddr("198.18.9.9")
	for _, p := range []*pod{
		{meta: meta{name: "new", namespace: "default"}, created: "2026-11-22T04:00:01Z", ips: []netip.Addr{ip}, w: discovery.Workload{Name: "new"}},
		{meta: meta{name: "old", namespace: "default"}, created: "2026-11-22T04:00:00Z", ips: []netip.Addr{ip}, w: discovery.Workload{Name: "old"}},
	} {
		if err := k.pods.informer.GetIndexer().Add(p); err != nil {
			t.Fatal(err)
		}
	}
	if w, ok := k.Workload(netip.AddrFrom16(ip.As16())); !ok || w.Name != "new" || w.IP != ip {
		t.Errorf("Workload(%s as IPv4-mapped IPv6) = %+v, %v; want pod new at %s", ip, w, ok, ip)
	}
}

func BenchmarkLookup(b *testing.B) {
	k := cachedResolver(b, 2000)
	b.Run("Workload", func(b *testing.B) {
		ip := netip.MustParseAddr("198.18.12.77")
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := k.Workload(ip); !ok {
				b.Fatal("not found")
			}
		}
	})
	b.Run("Endpoints", func(b *testing.B) {
		vip := netip.MustParseAddrPort("10.0.0.10:80")
		b.ReportAllocs()
		for b.Loop() {
			if eps, _ := k.Endpoints(vip); len(eps) != 5 {
				b.Fatalf("%d endpoints", len(eps))
			}
		}
	})
}
