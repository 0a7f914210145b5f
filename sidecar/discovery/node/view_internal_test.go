package node

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"testing"
)

func readStream(t testing.TB, path string) []message {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []message
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestViewApply: endpoints join with the workloads the pod sees (an endpoint of
// no visible pod is unmeshed), deltas replace a workload whole, and the view
// a lookup already holds never changes under it.
func TestViewApply(t *testing.T) {
	v := emptyView()
	var views []*view
	for _, m := range readStream(t, "testdata/stream.ndjson") {
		v = v.apply(&m)
		views = append(views, v)
	}
	eps, ok := views[0].endpoints(netip.MustParseAddrPort("10.0.0.80:80"))
	if !ok || len(eps) != 2 || !eps[0].Meshed || eps[0].Identity != "spiffe://cluster.local/ns/default/sa/deathstar" || eps[1].Meshed {
		t.Fatalf("endpoints %+v", eps)
	}
	tie := netip.MustParseAddr("198.18.0.10")
	if w, _ := views[0].workload(tie); w.Labels["org"] != "empire" {
		t.Errorf("first view: %+v", w)
	}
	if w, _ := v.workload(tie); w.Labels["org"] != "alliance" || v.version != 5 {
		t.Errorf("after the delta: %+v (version %d)", w, v.version)
	}
	if _, ok := v.endpoints(netip.MustParseAddrPort("10.0.0.80:81")); ok {
		t.Error("an unknown port resolved")
	}
}

// FuzzApply: any sequence of lines leaves a view whose VIP index names only
// addresses of the services it holds.
func FuzzApply(f *testing.F) {
	b, _ := os.ReadFile("testdata/stream.ndjson")
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		v := emptyView()
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var m message
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				v = v.apply(&m)
			}
		}
		n := 0
		for _, s := range v.services {
			n += len(s.Addresses)
		}
		if len(v.vips) > n {
			t.Fatalf("%d VIPs from %d service addresses", len(v.vips), n)
		}
		for vip := range v.vips {
			_, _ = v.endpoints(vip)
		}
	})
}
