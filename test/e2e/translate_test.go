package e2e_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/demo"
)

// TestTranslatedStarWars: Cilium's Star Wars L7 policy, translated by `rampart
// policy translate`, decides the real scenario. The live bundle is first swapped
// to one that lets the Empire vent the exhaust port, then to the translated one,
// so the 403 on PUT /v1/exhaust-port is the translated bundle's own decision.
func TestTranslatedStarWars(t *testing.T) {
	sw := starWars(t, demo.Strict)
	dir := filepath.Join(t.TempDir(), "translated")
	out, err := exec.Command(rampartBinary, "policy", "translate",
		"-f", "../../rego/translate/testdata/cilium/starwars.yaml", "-o", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("rampart policy translate: %v\n%s", err, out)
	}
	for _, step := range []struct {
		dir    string
		status int
	}{{sw.ExhaustBundle, 200}, {dir, 403}} {
		if err := sw.Bundles.Set(step.dir); err != nil {
			t.Fatal(err)
		}
		// Each replica's proxy reloads on its own: wait for every one of them.
		for _, p := range sw.Deathstar {
			waitStatus(t, sw.Tiefighter, "PUT", fmt.Sprintf("http://%s/v1/exhaust-port", p.IP), step.status, 20*time.Second)
		}
	}
	for _, c := range []struct {
		client       *demo.Client
		method, path string
		status       int
	}{
		{sw.Tiefighter, "POST", "/v1/request-landing", 200},
		{sw.Tiefighter, "PUT", "/v1/exhaust-port", 403},
		{sw.Xwing, "POST", "/v1/request-landing", 403},
	} {
		r, err := c.client.Do(c.method, sw.ServiceURL(c.path))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != c.status {
			t.Errorf("%s %s: got %d %q (err %q), want %d", c.method, c.path, r.Status, r.Body, r.Err, c.status)
		}
	}
}

// waitStatus repeats a request until it is answered with status.
func waitStatus(t *testing.T, c *demo.Client, method, url string, status int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last demo.Result
	for time.Now().Before(deadline) {
		r, err := c.Do(method, url)
		if err != nil {
			t.Fatal(err)
		}
		if last = r; r.Status == status {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s %s still answered %d %q after %v, want %d", method, url, last.Status, last.Body, limit, status)
}
