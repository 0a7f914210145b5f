package main

// White-box only in the sense of package main (a command cannot be imported): the
// test drives the real cobra command tree and checks the files it writes.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

func runRampart(args ...string) (string, error) {
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestCAInitIssue(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	out := filepath.Join(t.TempDir(), "new", "svid") // --out is created
	if _, err := runRampart("ca", "init", "--trust-domain", "demo.test", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, identity.CAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key: %v, mode %v; want 0600", err, fi.Mode())
	}
	if _, err := runRampart("ca", "init", "--trust-domain", "demo.test", "--dir", dir); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second init: %v, want a refusal to overwrite", err)
	}
	msg, err := runRampart("ca", "issue", "--spiffe-id", "spiffe://demo.test/ns/default/sa/xwing", "--ttl", "10m", "--dir", dir, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(msg))
	src, err := identity.NewFileSource(identity.FileOptions{Dir: out})
	if err != nil {
		t.Fatalf("issued files do not load: %v", err)
	}
	defer src.Close()
	svid, _ := src.GetX509SVID()
	if svid.ID != spiffeid.RequireFromString("spiffe://demo.test/ns/default/sa/xwing") {
		t.Errorf("issued %v", svid.ID)
	}
	leaf := svid.Certificates[0]
	if len(leaf.URIs) != 1 || len(leaf.DNSNames)+len(leaf.IPAddresses)+len(leaf.EmailAddresses) != 0 {
		t.Errorf("SANs: URIs %v DNS %v IP %v email %v; want the SPIFFE URI only", leaf.URIs, leaf.DNSNames, leaf.IPAddresses, leaf.EmailAddresses)
	}
	if life := leaf.NotAfter.Sub(leaf.NotBefore); life > 11*60e9 {
		t.Errorf("lifetime %s, want about 10m", life)
	}
}

// TestCAIssueHelp: the flags' value names are words, not a command quoted in the
// usage text (pflag takes a `quoted` word as the value name).
func TestCAIssueHelp(t *testing.T) {
	help, err := runRampart("ca", "issue", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--dir directory", "--out directory"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "--dir rampart") {
		t.Errorf("garbled value name:\n%s", help)
	}
}

func TestCAIssueRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := runRampart("ca", "init", "--trust-domain", "demo.test", "--dir", dir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"other trust domain", "trust domain", []string{"--spiffe-id", "spiffe://evil.test/ns/default/sa/x"}},
		{"extra segment", "path must be", []string{"--spiffe-id", "spiffe://demo.test/ns/default/sa/x/y"}},
		{"ttl too long", "outside", []string{"--spiffe-id", "spiffe://demo.test/ns/default/sa/x", "--ttl", "48h"}},
		{"no CA", "ca.crt", []string{"--spiffe-id", "spiffe://demo.test/ns/default/sa/x", "--dir", t.TempDir()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"ca", "issue", "--dir", dir}, tc.args...)
			if _, err := runRampart(args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
