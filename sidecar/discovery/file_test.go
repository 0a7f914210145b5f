package discovery_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/discovery"
)

func TestFileEndpoints(t *testing.T) {
	reg, err := discovery.LoadFile("testdata/starwars.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dst     string
		known   bool
		addrs   []string
		meshed  bool
		identit string
	}{
		{"10.96.0.10:80", true, []string{"198.18.5.2:80", "198.18.5.3:80"}, true, "spiffe://cluster.local/ns/default/sa/deathstar"},
		{"[::ffff:10.96.0.10]:80", true, []string{"198.18.5.2:80", "198.18.5.3:80"}, true, "spiffe://cluster.local/ns/default/sa/deathstar"},
		{"10.96.0.11:8080", true, []string{"198.18.5.9:80"}, false, ""},
		{"10.96.0.10:81", false, nil, false, ""},
		{"198.18.5.2:80", false, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.dst, func(t *testing.T) {
			eps, ok := reg.Endpoints(netip.MustParseAddrPort(tt.dst))
			if ok != tt.known {
				t.Fatalf("known = %v, want %v", ok, tt.known)
			}
			var got []string
			for _, ep := range eps {
				got = append(got, ep.Addr.String())
				if ep.Meshed != tt.meshed || ep.Identity != tt.identit {
					t.Errorf("%s: meshed %v identity %q, want %v %q", ep.Addr, ep.Meshed, ep.Identity, tt.meshed, tt.identit)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.addrs, ",") {
				t.Errorf("endpoints %v, want %v", got, tt.addrs)
			}
		})
	}
}

func TestLoadFileRejectsBadRegistries(t *testing.T) {
	want := map[string]string{
		"bad-vip.json":           "vip",
		"duplicate-service.json": "listed twice",
		"no-port.json":           "port missing",
		"no-serviceaccount.json": "serviceAccount are required",
		"spiffe-mismatch.json":   "does not name",
		"trailing.json":          "trailing data",
		"truncated.json":         "unexpected EOF",
		"unknown-field.json":     "unknown field",
	}
	files, _ := filepath.Glob("testdata/bad/*.json")
	if len(files) != len(want) {
		t.Fatalf("%d bad files, %d expectations", len(files), len(want))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := discovery.LoadFile(f)
			if err == nil || !strings.Contains(err.Error(), want[filepath.Base(f)]) ||
				!strings.Contains(err.Error(), f) {
				t.Fatalf("error %v, want one naming %s and containing %q", err, f, want[filepath.Base(f)])
			}
		})
	}
}

// A bad version of the file must not replace the good one, and Watch picks up
// the next good one within its poll interval. It runs in a synctest bubble: the
// poller's ticker is on the fake clock, so "within the interval" is exact and
// takes no time (its reads are of a local file, which a bubble allows).
func TestFileReloadKeepsLastGood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "registry.json")
		copyFile(t, "testdata/starwars.json", path)
		reg, err := discovery.LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { reg.Watch(ctx, 10*time.Millisecond, slog.New(slog.DiscardHandler)) })
		defer wg.Wait()
		defer cancel()

		deathstar := netip.MustParseAddrPort("10.96.0.10:80")
		copyFile(t, "testdata/bad/truncated.json", path)
		if err := reg.Reload(); err == nil {
			t.Fatal("reload of a truncated file succeeded")
		}
		time.Sleep(50 * time.Millisecond) // Watch sees the bad version too
		synctest.Wait()
		if eps, ok := reg.Endpoints(deathstar); !ok || len(eps) != 2 {
			t.Fatalf("after a bad reload: %v %v, want the last good 2 endpoints", eps, ok)
		}
		os.WriteFile(path, []byte(`{"services":[{"name":"d","namespace":"default","vip":"10.96.0.10","port":80,
		"endpoints":[{"serviceAccount":"d","ip":"198.18.5.7"}]}]}`), 0o644)
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		if eps, _ := reg.Endpoints(deathstar); len(eps) != 1 {
			t.Errorf("one poll interval after a good version: %v, want its 1 endpoint", eps)
		}
	})
}

func TestTrustedLabels(t *testing.T) {
	reg, err := discovery.LoadFile("testdata/starwars.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ip, peer, org string
	}{
		{"matching identity", "198.18.5.20", "spiffe://cluster.local/ns/default/sa/tiefighter", "empire"},
		{"other service account", "198.18.5.20", "spiffe://cluster.local/ns/default/sa/xwing", ""},
		{"other namespace", "198.18.5.20", "spiffe://cluster.local/ns/rebels/sa/tiefighter", ""},
		{"unauthenticated", "198.18.5.20", "", ""},
		{"not kubernetes shaped", "198.18.5.20", "spiffe://cluster.local/tiefighter", ""},
		{"unknown address", "198.18.5.99", "spiffe://cluster.local/ns/default/sa/tiefighter", ""},
		{"v4-mapped address", "::ffff:198.18.5.20", "spiffe://cluster.local/ns/default/sa/tiefighter", "empire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := discovery.TrustedLabels(reg, netip.MustParseAddr(tt.ip), tt.peer)
			if got["org"] != tt.org {
				t.Fatalf("labels %v, want org=%q", got, tt.org)
			}
		})
	}
}

func FuzzCheckRegistry(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	bad, _ := filepath.Glob("testdata/bad/*.json")
	for _, p := range append(files, bad...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = discovery.CheckRegistry(data) // must not panic
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// Make the change visible to mtime polling even on coarse clocks.
	now := time.Now().Add(time.Duration(len(data)) * time.Millisecond)
	os.Chtimes(to, now, now)
}
