package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/support"
)

// readmeCommand says how TestREADME checks one command the README shows: run it
// (with ./bin/ pointing at binaries built fresh for the test) and look for key
// output, or skip it for a stated reason. Commands the table does not know fail the
// test, so a command added to the README cannot go unchecked.
type readmeCommand struct {
	prefix string // the command line starts with this
	want   []string
	skip   string // why it is not run ("" = run it)
	onNode bool   // run by test/e2e TestCluster on a real node (see onNode below)
	root   bool   // needs root: run when root (always under CI=true, else skip)
	kube   bool   // runs kubectl against the test's real kube-apiserver (README order)
	// creates is a file (or directory) the command writes into the repository root, for a later
	// command; TestREADME removes it when it ends.
	creates string
	check   func(t *testing.T, out string)
}

var readmeCommands = []readmeCommand{
	{prefix: "make build", check: checkMakeBuild},
	{prefix: "make images", check: checkMakeImages},
	{prefix: "make test", skip: "it is CI itself, which runs this test: running it here would recurse"},
	{prefix: "nice -n 15 go run ./test/bench/discovery", skip: "the full comparison runs 2 000 pods and 2 × 200 proxies for many minutes; " +
		"test/bench/discovery's TestDiscoveryScale runs the same code at 200 pods and 20 proxies in CI"},
	{prefix: "make demo", root: true, want: []string{"200 Ship landed", "403 Access denied", "Torn down",
		"200 hello from github.com", "403 Access denied: egress to evil.example", "TLS alert access_denied"}},
	{prefix: "./bin/rampart policy test policies/egress", want: []string{"policies/egress:", "PASS: 7/7"}},
	{prefix: "go test ./sidecar/egress/ -run TestBypassCorpus", want: []string{"ok"}},
	{prefix: "./bin/rampart policy test policies/", want: []string{"policies/starwars:", "PASS: 8/8", "PASS: 20/20", "PASS: 10/10"}},
	{prefix: "./bin/rampart policy eval --bundle starwars", check: checkEvalOutput},
	{prefix: "./bin/rampart policy explain --bundle starwars", want: []string{"DENIED 403", "✗ allow", "input.attributes.source.labels.org"}},
	{prefix: "./bin/rampart policy translate -f rego/translate/testdata/cilium/starwars.yaml -o translated",
		want: []string{"wrote translated/translated.rego", "wrote translated/.manifest"}, creates: "translated"},
	{prefix: "./bin/rampart policy eval --bundle translated", want: []string{`"allowed": true`, `"revision": "translated-`}},
	{prefix: "./bin/rampart observe --log rego/replay/testdata/starwars.log --from ops", want: []string{
		"09:00:13  default/ops  default/deathstar  GET     /v1/plans/deadbeef00c1000e  allowed  -       observe-only  -"}},
	{prefix: "./bin/rampart policy replay --bundle starwars --log", want: []string{
		"default/tiefighter  default/deathstar  GET     /v1/landings/{number}  10          0",
		`replayed 63 decisions with revision "starwars-v1": 40 unchanged, 23 allow→deny, 0 deny→allow`}},
	{prefix: "./bin/rampart policy suggest --log", creates: "suggested", want: []string{
		"wrote suggested: 5 flows allowed", "0 of 18 allowed requests would be denied (0.0%)"}},
	{prefix: "./bin/rampart policy test suggested", want: []string{"PASS: 12/12"}},
	{prefix: "./bin/rampart policy replay --bundle suggested", want: []string{"63 unchanged, 0 allow→deny, 0 deny→allow"}},
	{prefix: "./bin/rampart observe --log rego/replay/testdata/starwars-shadow.log --disagree", want: []string{
		"default/xwing       default/deathstar  POST    /v1/request-landing  allowed  -       observe-only  denied",
		"default/tiefighter  default/deathstar  PUT     /v1/exhaust-port     allowed  -       observe-only  denied"}},
	{prefix: "./bin/rampart install --registry 127.0.0.1:5000 | kubectl apply -f -", kube: true, want: []string{
		"namespace/rampart-system created", "mutatingwebhookconfiguration.admissionregistration.k8s.io/rampart-injector created",
		"deployment.apps/rampart-injector created"}},
	{prefix: "kubectl label namespace default rampart.io/injection=enabled", kube: true, want: []string{"namespace/default labeled"}},
	{prefix: "./bin/rampart install --egress-gateway --egress-gateway-hosts github.com,google.com --registry 127.0.0.1:5000 | kubectl apply -f -",
		kube: true, want: []string{"deployment.apps/rampart-egress-gateway created", "service/rampart-egress-gateway created",
			"clusterrole.rbac.authorization.k8s.io/rampart-egress-gateway created"}},
	{prefix: "go test ./sidecar/egress/ -run TestGatewayRoutes", want: []string{"ok"}},
	{prefix: "./bin/rampart example starwars --registry 127.0.0.1:5000 | kubectl apply -f -", onNode: true},
	{prefix: "kubectl exec ", onNode: true},
	{prefix: "./bin/rampart policy build policies/starwars -o bundle.tar.gz", want: []string{"wrote bundle.tar.gz"}, creates: "bundle.tar.gz"},
	{prefix: "kubectl create configmap rampart-policy --from-file=bundle.tar.gz --dry-run=client -o yaml | kubectl apply -f -",
		kube: true, want: []string{"configmap/rampart-policy created"}},
}

// onNode lines need a node running the injector (this test's API server has none,
// so the webhook, failurePolicy Fail, would refuse the pods): test/e2e's
// TestCluster reads them from the README's "In a cluster" block and runs them as
// written on a real single-node cluster (only the registry address is its own),
// and fails when they do not print what the README says. Here the subtest checks
// only that the line is one of those TestCluster runs.

// TestREADME runs every shell command of README.md's ```sh blocks against freshly
// built binaries, so the quick start cannot rot: each must exit 0 and print its key
// output. Commands needing a cluster are listed as skipped with the reason; those
// needing root run as root and fail under CI=true when not root.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries; not in -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmds := readmeShellCommands(t, filepath.Join(root, "README.md"))
	if len(cmds) < 5 {
		t.Fatalf("found only %d shell commands in README.md: %q", len(cmds), cmds)
	}
	bin := buildBinaries(t, root)
	var kubeEnv []string // KUBECONFIG and kubectl on PATH, once a command needs them
	top := t             // the apiserver lives until the whole test ends
	for _, line := range cmds {
		t.Run(line, func(t *testing.T) {
			c := lookupCommand(line)
			switch {
			case c == nil:
				t.Fatalf("README shows %q, which TestREADME does not know: add it to readmeCommands", line)
			case c.skip != "":
				t.Skipf("not run: %s", c.skip)
			case c.onNode:
				if !inClusterSection(t, filepath.Join(root, "README.md"), line) {
					t.Fatalf("%q is outside README's \"In a cluster\" block, which test/e2e TestCluster runs", line)
				}
				t.Logf("run as written by test/e2e TestCluster on a real node")
				return
			case c.root:
				support.RequireRoot(t, "needs root")
			}
			var env []string
			if c.kube {
				if kubeEnv == nil {
					kubeAssets(t) // a missing tool skips (fails under CI) this subtest, not its parent
					kubeEnv = startKubectl(top)
				}
				env = kubeEnv
			}
			if c.creates != "" {
				top.Cleanup(func() { os.RemoveAll(filepath.Join(root, c.creates)) })
			}
			out := runREADMECommand(t, root, bin, line, env)
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if c.check != nil {
				c.check(t, out)
			}
		})
	}
}

func lookupCommand(line string) *readmeCommand {
	for i := range readmeCommands {
		if strings.HasPrefix(line, readmeCommands[i].prefix) {
			return &readmeCommands[i]
		}
	}
	return nil
}

// readmeShellCommands returns the command lines of README.md's ```sh blocks, with
// trailing "# comments" removed.
func readmeShellCommands(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	inSh := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```"):
			inSh = !inSh && strings.TrimSpace(line) == "```sh"
		case inSh:
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, line)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// inClusterSection reports whether line is a shell line of README's "## In a
// cluster" section: test/e2e's TestCluster runs that block's example and
// `kubectl exec` lines on a real node.
func inClusterSection(t *testing.T, file, line string) bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## In a cluster\n")
	if i := strings.Index(sec, "\n## "); i >= 0 {
		sec = sec[:i]
	}
	return ok && strings.Contains(sec, "\n"+line+"\n")
}

// buildBinaries builds rampart and rampart-proxy (the demo needs it) into a temp dir
// that stands in for ./bin/. The folder is world-readable: the demo runs
// rampart-proxy as uid 1337, and t.TempDir's parent is private to root.
func buildBinaries(t *testing.T, root string) string {
	t.Helper()
	bin, err := os.MkdirTemp("", "rampart-readme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	support.GoBuild(t, root, bin+"/", "./cmd/rampart", "./cmd/rampart-proxy")
	return bin
}

// runREADMECommand runs line with sh in the repository root, with env added to the
// environment; ./bin/ means the fresh binaries, "make demo" their demo (what the
// target runs after building them),
// "make build" and "make images" are only shown (make -n; TestImages in
// ./cmd/internal/images builds, runs, pushes and pulls the images).
func runREADMECommand(t *testing.T, root, bin, line string, env []string) string {
	t.Helper()
	switch line {
	case "make demo":
		line = "./bin/rampart demo"
	case "make build", "make images":
		line = "make -n " + strings.TrimPrefix(line, "make ")
	}
	line = strings.ReplaceAll(line, "./bin/", bin+"/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out.String())
	}
	return out.String()
}

// checkMakeBuild: the test builds the binaries itself; `make -n build` shows the
// target exists and builds ./cmd/... into bin/.
func checkMakeBuild(t *testing.T, out string) {
	if !regexp.MustCompile(`go build -ldflags "[^"]*version=[^"]*" -o bin/ \./cmd/\.\.\.`).MatchString(out) {
		t.Errorf("make -n build does not build ./cmd/... into bin/ with the version stamped:\n%s", out)
	}
}

// checkMakeImages: `make -n images` runs the image builder into .cache/images with
// the version, revision and commit time that make the digests reproducible.
func checkMakeImages(t *testing.T, out string) {
	if !regexp.MustCompile(`go run \./cmd/rampart-images build -out \S+/\.cache/images -version \S+ -revision [0-9a-f]{40} -epoch [0-9]+`).MatchString(out) {
		t.Errorf("make -n images does not run the image builder as expected:\n%s", out)
	}
}

// checkEvalOutput compares the eval output with the JSON the README prints after
// the commands (less the per-run decision_id and duration).
func checkEvalOutput(t *testing.T, out string) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Try a policy.*?```json\n(.*?)```").FindSubmatch(raw)
	if m == nil {
		t.Fatal("README's Try a policy section has no ```json block")
	}
	var want, got map[string]any
	if err := json.Unmarshal(m[1], &want); err != nil {
		t.Fatalf("README json: %v", err)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("eval output: %v\n%s", err, out)
	}
	for _, k := range []string{"decision_id", "duration"} {
		if _, ok := got[k]; !ok {
			t.Errorf("eval output lacks %s", k)
		}
		delete(want, k)
		delete(got, k)
	}
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		t.Errorf("eval prints %s, README shows %s", b, a)
	}
}
