package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes `rampart args...` in-process and returns its output and error.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

const input = "testdata/policy/"

// TestPolicyEvalStarWars is the "must show": tiefighter lands, tiefighter's
// exhaust-port request is denied 403, xwing is denied.
func TestPolicyEvalStarWars(t *testing.T) {
	for _, c := range []struct {
		bundle, input string
		allowed       bool
		status        int
		body          string
	}{
		{"../../policies/starwars", "tiefighter-land.json", true, 0, ""},
		{"../../policies/starwars", "tiefighter-exhaust-port.json", false, 403, "Access denied"},
		{"../../policies/starwars", "xwing-land.json", false, 403, "Access denied"},
		{"starwars", "tiefighter-land.json", true, 0, ""}, // the embedded copy
		{"starwars", "xwing-land.json", false, 403, "Access denied"},
	} {
		t.Run(c.bundle+"/"+c.input, func(t *testing.T) {
			out, err := run(t, "", "policy", "eval", "--bundle", c.bundle, "--input", input+c.input)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var d decisionJSON
			if err := json.Unmarshal([]byte(out), &d); err != nil {
				t.Fatalf("output is not decision JSON: %v\n%s", err, out)
			}
			if d.Allowed != c.allowed || d.HTTPStatus != c.status || d.Body != c.body ||
				d.Revision != "starwars-v1" || d.Duration == "" || d.DecisionID == "" {
				t.Errorf("decision %+v, want allowed=%v status=%d body=%q", d, c.allowed, c.status, c.body)
			}
		})
	}
}

// payment is a request with a JSON body, in Rampart's input form.
const payment = `{"request": {"method": "POST", "path": "/pay", "headers": {"content-type": "application/json"}, "body": "{\"amount\": 5}"}}`

func TestPolicyCommands(t *testing.T) {
	stdin, err := os.ReadFile(input + "xwing-land.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		stdin   string
		args    []string
		want    []string // substrings of the output
		wantErr string   // substring of the error; "" means success
	}{
		{"test passes", "", []string{"policy", "test", "../../policies/starwars"}, []string{"PASS: 8/8"}, ""},
		{"test fails", "", []string{"policy", "test", input + "failing"}, []string{"FAIL: 1/2", "test_answer_is_42"}, "1 of 1 bundles failed"},
		{"test several", "", []string{"policy", "test", "../../policies/starwars", input + "failing"}, []string{"PASS: 8/8", "FAIL: 1/2"}, "1 of 2 bundles failed"},
		{"test folder of bundles", "", []string{"policy", "test", "../../policies/"}, []string{"policies/lib:", "PASS: 10/10", "PASS: 20/20", "PASS: 8/8"}, ""},
		{"test no tests", "", []string{"policy", "test", input + "notests"}, []string{"no tests found"}, ""},
		{"eval check request", "", []string{"policy", "eval", "--bundle", "starwars", "--input", input + "tiefighter-land-checkrequest.json"},
			[]string{"read as envoy-check-request", "ignored (no place in Rampart's input): attributes.request.http.id, attributes.request.time", `"allowed": true`}, ""},
		{"eval decision log line", "", []string{"policy", "eval", "--bundle", "starwars", "--input", input + "xwing-land-decision-log.json"},
			[]string{"read as decision-log", "erased when logged: /input/attributes/request/http/headers/authorization", `"allowed": false`}, ""},
		{"eval bare dir, slash decision", "", []string{"policy", "eval", "--bundle", input + "envoy-bare", "--decision", "envoy/authz/allow", "--input", input + "tiefighter-land.json"},
			[]string{`"allowed": true`}, ""},
		{"eval bare dir, dotted decision", "", []string{"policy", "eval", "--bundle", input + "envoy-bare", "--decision", "data.envoy.authz.allow", "--input", input + "xwing-land.json"},
			[]string{`"allowed": false`, `"reason": "denied by policy"`}, ""},
		{"eval decision outside roots", "", []string{"policy", "eval", "--bundle", input + "envoy-bare", "--input", input + "tiefighter-land.json"},
			nil, "decision path outside every bundle's roots: data.rampart.authz.allow is not under any of [envoy/authz]"},
		{"eval unknown input form", `{"req": {}}`, []string{"policy", "eval", "--bundle", "starwars"}, nil, "matches no known form"},
		{"eval body", payment, []string{"policy", "eval", "--bundle", input + "envoy-body", "--decision", "envoy/authz/allow"}, []string{`"allowed": true`}, ""},
		{"eval body off", payment, []string{"policy", "eval", "--request-body=false", "--bundle", input + "envoy-body", "--decision", "envoy/authz/allow"}, []string{`"allowed": false`}, ""},
		{"eval body truncated", strings.Replace(payment, `"method"`, `"truncated_body": true, "method"`, 1), []string{"policy", "eval", "--bundle", input + "envoy-body", "--decision", "envoy/authz/allow"}, []string{`"allowed": false`}, ""},
		{"eval body invalid", strings.Replace(payment, `5}`, `5`, 1), []string{"policy", "eval", "--bundle", input + "envoy-body", "--decision", "envoy/authz/allow"}, []string{`"allowed": false`, "bad request input: request body is not valid application/json"}, ""},
		{"eval stdin", string(stdin), []string{"policy", "eval", "--bundle", "starwars"}, []string{`"allowed": false`, `"http_status": 403`}, ""},
		{"eval dry-run", string(stdin), []string{"policy", "eval", "--bundle", "starwars", "--dry-run"}, []string{`"allowed": true`, `"dry_run": true`}, ""},
		{"eval misspelt input", "", []string{"policy", "eval", "--bundle", "starwars", "--input", input + "misspelt-field.json"}, nil, "unknown field"},
		{"eval bad bundle", "", []string{"policy", "eval", "--bundle", input + "nonexistent", "--input", input + "xwing-land.json"}, nil, "no such file"},
		{"eval unknown shipped bundle", "", []string{"policy", "eval", "--bundle", "alderaan", "--input", input + "xwing-land.json"}, nil, "no bundle \"alderaan\""},
		{"explain denied", "", []string{"policy", "explain", "--bundle", "starwars", "--input", input + "xwing-land.json"},
			[]string{"DENIED 403", "✗ allow (/authz.rego:8) failed at /authz.rego:10: input.attributes.source.labels.org = \"empire\"", "trace (fails):"}, ""},
		{"explain allowed", "", []string{"policy", "explain", "--bundle", "starwars", "--input", input + "tiefighter-land.json", "--trace", "none"},
			[]string{"ALLOWED", "✓ allow (/authz.rego:8) matched"}, ""},
		{"explain bad trace mode", "", []string{"policy", "explain", "--bundle", "starwars", "--input", input + "tiefighter-land.json", "--trace", "loud"}, nil, "--trace"},
		{"bench", "", []string{"policy", "bench", "--bundle", "starwars", "--input", input + "tiefighter-land.json", "--n", "200"},
			[]string{"decisions:        200 (allowed: true)", "p50:", "p99:", "allocs/decision:"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(t, c.stdin, c.args...)
			if c.wantErr == "" && err != nil {
				t.Fatalf("error %v\n%s", err, out)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error %v, want one containing %q\n%s", err, c.wantErr, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestPolicyBuild builds the Star Wars bundle with and without a signing key and
// loads the results: the signed one must verify with the matching public key only.
func TestPolicyBuild(t *testing.T) {
	dir := t.TempDir()
	priv, pub, other := writeKeys(t, dir)
	plain, signed := filepath.Join(dir, "plain.tar.gz"), filepath.Join(dir, "signed.tar.gz")
	if out, err := run(t, "", "policy", "build", "../../policies/starwars", "-o", plain); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := run(t, "", "policy", "build", "../../policies/starwars", "-o", signed, "--signing-key", priv, "--key-id", "k1", "--revision", "starwars-signed"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := run(t, "", "policy", "eval", "--bundle", plain, "--input", input+"tiefighter-land.json")
	if err != nil || !strings.Contains(out, `"allowed": true`) {
		t.Fatalf("eval built bundle: %v\n%s", err, out)
	}
	for _, c := range []struct {
		key, bundle, wantErr string
	}{
		{pub, signed, ""},
		{other, signed, "verification error"},
		{pub, plain, "missing .signatures.json"},
	} {
		out, err := run(t, "", "policy", "eval", "--bundle", c.bundle, "--input", input+"tiefighter-land.json",
			"--verification-key", c.key, "--key-id", "k1")
		switch {
		case c.wantErr == "" && (err != nil || !strings.Contains(out, `"revision": "starwars-signed"`)):
			t.Errorf("eval signed bundle with %s: %v\n%s", filepath.Base(c.key), err, out)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("eval %s with %s: error %v, want %q", filepath.Base(c.bundle), filepath.Base(c.key), err, c.wantErr)
		}
	}
	if _, err := run(t, "", "policy", "build", input+"nonexistent", "-o", filepath.Join(dir, "x.tar.gz")); err == nil {
		t.Error("building a missing directory succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar.gz")); err == nil {
		t.Error("failed build left a file behind")
	}
}

// writeKeys writes an RSA private key, its public key and an unrelated public key.
func writeKeys(t *testing.T, dir string) (priv, pub, other string) {
	t.Helper()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub1, _ := x509.MarshalPKIXPublicKey(&k1.PublicKey)
	pub2, _ := x509.MarshalPKIXPublicKey(&k2.PublicKey)
	return write("key.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k1)),
		write("pub.pem", "PUBLIC KEY", pub1), write("other.pem", "PUBLIC KEY", pub2)
}
