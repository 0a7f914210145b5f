package e2e_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeClusterLines returns the shell lines of README.md's "In a cluster" block
// that need a node (cmd/rampart's TestREADME leaves exactly these to this test):
// the `rampart example` line and the `kubectl exec` lines.
func readmeClusterLines(t *testing.T) (example string, execs []string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	section, inSh := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			section = line == "## In a cluster"
		case strings.HasPrefix(line, "```"):
			inSh = !inSh && strings.TrimSpace(line) == "```sh"
		case section && inSh && strings.HasPrefix(line, "./bin/rampart example "):
			example = line
		case section && inSh && strings.HasPrefix(line, "kubectl exec "):
			execs = append(execs, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if example == "" || len(execs) != 3 {
		t.Fatalf("README's In a cluster block: example %q, %d kubectl exec lines; want one and 3", example, len(execs))
	}
	return example, execs
}

// readmeLines runs the README's example line and its three `kubectl exec` lines
// as they are written, on the real node, in the default namespace (the one the
// README labels): only the registry is this cluster's (README says 127.0.0.1:5000)
// and the tag the one the harness pushed. They print what the README says they
// print: Ship landed, Access denied, Access denied.
func (s *scenario) readmeLines(t *testing.T) {
	example, execs := readmeClusterLines(t)
	line := strings.Replace(example, "--registry 127.0.0.1:5000", "--registry "+s.c.Registry+" --tag "+s.c.Tag, 1)
	if line == example {
		t.Fatalf("README's example line no longer names --registry 127.0.0.1:5000: %q", example)
	}
	out := s.sh(t, line)
	for _, w := range []string{"deployment.apps/deathstar created", "pod/tiefighter created", "pod/xwing created", "configmap/rampart-policy created"} {
		if !strings.Contains(out, w) {
			t.Errorf("%s printed no %q:\n%s", example, w, out)
		}
	}
	s.kubectl(t, "-n", nsDefault, "rollout", "status", "deployment/deathstar", "--timeout=4m")
	s.waitReady(t, nsDefault, starwarsPods, 3*time.Minute)
	for i, want := range []string{landed, denied, denied} {
		if got := strings.TrimSpace(s.sh(t, execs[i])); got != want {
			t.Errorf("%s: %q, want %q (as README says)", execs[i], got, want)
		}
	}
}
