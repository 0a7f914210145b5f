package e2e_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/policies"
)

// exhaustRule also lets the Empire use the exhaust port: the changed policy.
const exhaustRule = `package rampart.authz

allow if {
	input.attributes.destination.labels.app == "deathstar"
	input.attributes.source.labels.org == "empire"
	input.attributes.request.http.method == "PUT"
	input.parsed_path == ["v1", "exhaust-port"]
}
`

// replaceConfigMap is the README's way to change the policy, run in dir.
const replaceConfigMap = "kubectl create configmap rampart-policy --from-file=bundle.tar.gz --dry-run=client -o yaml | kubectl apply -f -"

// policyUpdates replaces the policy ConfigMap the README's way in both opted-in
// namespaces at once (the kubelet refreshes each within its sync period, so
// waiting for them in turn would double the wait): a changed bundle in default,
// a broken one in empire.
func (s *scenario) policyUpdates(t *testing.T) {
	dir := t.TempDir()
	writeStarwars(t, filepath.Join(dir, "changed"), map[string]string{"exhaust.rego": exhaustRule}, "starwars-exhaust-2")
	s.sh(t, "cd "+dir+" && ./bin/rampart policy build changed -o bundle.tar.gz")
	changed := time.Now()
	s.sh(t, "cd "+dir+" && "+replaceConfigMap)
	broken := filepath.Join(dir, "broken")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "bundle.tar.gz"), brokenBundle(t), 0o644); err != nil {
		t.Fatal(err)
	}
	brokenAt := time.Now()
	s.sh(t, "cd "+broken+" && kubectl -n "+nsEmpire+" "+strings.TrimPrefix(replaceConfigMap, "kubectl "))
	t.Run("changed bundle changes decisions", func(t *testing.T) { s.policyChanged(t, changed) })
	t.Run("broken bundle keeps the last good one", func(t *testing.T) { s.policyBroken(t, brokenAt) })
}

// policyChanged: every deathstar replica of default lets the tiefighter through
// the exhaust port once the kubelet has refreshed the volume and the proxy
// reloaded it; the time from kubectl apply to the first changed decision is
// measured per replica.
func (s *scenario) policyChanged(t *testing.T, start time.Time) {
	for _, took := range s.untilEveryReplica(t, nsDefault, start, func(t *testing.T, name, ip string) error {
		out, _ := s.curl(nsDefault, "tiefighter", "-s", "-XPUT", "http://"+ip+":8080/v1/exhaust-port")
		if !strings.HasPrefix(out, panics) {
			return fmt.Errorf("tiefighter PUT exhaust-port at %s: %q", name, out)
		}
		return nil
	}) {
		t.Logf("policy change decided by a replica %.1fs after kubectl apply", took.Seconds())
	}
	for _, p := range s.pods(t, nsDefault, deathstarPods) {
		m := s.metrics(t, nsDefault, p.Name, "deathstar")
		if m.sum("rampart_policy_bundle_active_revision", `revision="starwars-exhaust-2"`) != 1 {
			t.Errorf("%s: revision starwars-exhaust-2 not active", p.Name)
		}
	}
	out, _ := s.curl(nsDefault, "tiefighter", "-s", "-XPOST", "deathstar.default.svc.cluster.local/v1/request-landing")
	if strings.TrimSpace(out) != landed {
		t.Errorf("landing after the change: %q", out)
	}
}

// policyBroken: a bundle whose Rego does not compile is refused by every proxy of
// empire, which says so in its log and metrics and keeps deciding with the last
// good bundle (the shipped one: the exhaust port stays closed).
func (s *scenario) policyBroken(t *testing.T, start time.Time) {
	for _, took := range s.untilEveryReplica(t, nsEmpire, start, func(t *testing.T, name, _ string) error {
		logs, _ := s.c.Kubectl(s.ctx, "-n", nsEmpire, "logs", name, "-c", injector.ProxyContainerName)
		if !strings.Contains(logs, "bundle update refused, keeping the last good bundle") {
			return fmt.Errorf("%s: no refusal logged yet", name)
		}
		return nil
	}) {
		t.Logf("broken bundle refused and logged by a replica %.1fs after kubectl apply", took.Seconds())
	}
	for _, p := range s.pods(t, nsEmpire, deathstarPods) {
		m := s.metrics(t, nsEmpire, p.Name, "deathstar")
		if m.sum("rampart_policy_bundle_loads_total", `result="failure"`) < 1 ||
			m.sum("rampart_policy_bundle_active_revision", `revision="starwars-v1"`) != 1 {
			t.Errorf("%s: no failed load counted, or starwars-v1 no longer active", p.Name)
		}
		for path, want := range map[string]string{"/v1/exhaust-port": denied, "/v1/request-landing": landed} {
			method := map[string]string{"/v1/exhaust-port": "-XPUT", "/v1/request-landing": "-XPOST"}[path]
			out, _ := s.curl(nsEmpire, "tiefighter", "-s", method, "http://"+p.Status.PodIP+":8080"+path)
			if strings.TrimSpace(out) != want {
				t.Errorf("%s %s after the broken update: %q, want %q (the last good bundle)", p.Name, path, out, want)
			}
		}
	}
}

// untilEveryReplica polls check for each deathstar replica of ns until it passes,
// up to 4 minutes after start (the kubelet refreshes ConfigMap volumes on its pod
// sync, every minute by default, and the proxy checks its bundle every 5 s), and
// returns each replica's time.
func (s *scenario) untilEveryReplica(t *testing.T, ns string, start time.Time, check func(t *testing.T, name, ip string) error) []time.Duration {
	var times []time.Duration
	for _, p := range s.pods(t, ns, deathstarPods) {
		_, err := eventuallyErr(4*time.Minute-time.Since(start), time.Second, func() error { return check(t, p.Name, p.Status.PodIP) })
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	return times
}

// writeStarwars writes the shipped starwars bundle (no tests, no k8s example) to
// dir with extra files and a new revision.
func writeStarwars(t *testing.T, dir string, extra map[string]string, revision string) {
	src, err := policies.Bundle("starwars")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, "_test.rego") && !strings.HasPrefix(p, "k8s/") {
			b, _ := fs.ReadFile(src, p)
			files[p] = string(b)
		}
		return nil
	})
	files[".manifest"] = strings.Replace(files[".manifest"], `"starwars-v1"`, `"`+revision+`"`, 1)
	for k, v := range extra {
		files[k] = v
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// brokenBundle is a well-formed .tar.gz whose Rego does not parse.
func brokenBundle(t *testing.T) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range map[string]string{
		"/.manifest":  `{"revision": "starwars-broken-3", "roots": ["rampart/authz"]}`,
		"/authz.rego": "package rampart.authz\n\nallow if {\n\tthis is not rego\n",
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}
