package injector

import (
	"fmt"
	"testing"
	"time"
)

// TestServiceAccountOf: only system:serviceaccount:<ns>:<sa> with valid names
// becomes a workload; users, nodes and look-alikes are refused.
func TestServiceAccountOf(t *testing.T) {
	for in, want := range map[string]string{
		"system:serviceaccount:default:tiefighter": "default/tiefighter",
		"system:serviceaccount:kube-system:a.b-c":  "kube-system/a.b-c",
		"system:serviceaccount:default":            "",
		"system:serviceaccount:default:a:b":        "",
		"system:serviceaccounts:default:a":         "",
		"system:node:worker-1":                     "",
		"admin":                                    "",
		"system:serviceaccount:Default:a":          "",
		"system:serviceaccount:default:":           "",
		"system:serviceaccount:default:a/b":        "",
		"system:serviceaccount:../x:a":             "",
	} {
		w, err := serviceAccountOf(in)
		got := ""
		if err == nil {
			got = w.String()
		}
		if got != want {
			t.Errorf("%q: got %q (%v), want %q", in, got, err, want)
		}
	}
}

// TestIdentityLimiter: each identity has its own burst; the map stays bounded,
// dropping idle identities first and sharing an overflow bucket otherwise.
func TestIdentityLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newIdentityLimiter(time.Second, 2, 3)
	for i, want := range []bool{true, true, false} {
		if got := l.allow("a", now); got != want {
			t.Fatalf("a #%d: %v", i, got)
		}
	}
	if !l.allow("b", now) || !l.allow("c", now) {
		t.Fatal("other identities share a's bucket")
	}
	// Full map, no idle bucket: d shares the overflow bucket.
	if !l.allow("d", now) || len(l.buckets) != 3 {
		t.Fatalf("d refused or map grew to %d", len(l.buckets))
	}
	// Later every bucket has refilled: d gets its own, the idle ones go.
	later := now.Add(time.Minute)
	if !l.allow("d", later) || len(l.buckets) > 3 {
		t.Fatalf("map holds %d buckets", len(l.buckets))
	}
	for i := range 10000 {
		l.allow(fmt.Sprint("id-", i), later)
	}
	if len(l.buckets) > 3 {
		t.Fatalf("map grew to %d", len(l.buckets))
	}
}
