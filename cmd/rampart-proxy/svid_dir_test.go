package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
)

// TestSVIDDir: deathstar's proxy reads its SVID from files (--svid-dir, as
// cert-manager's csi-driver-spiffe or spiffe-helper write them) while tiefighter's
// issues its own from the CA; tiefighter's route insists on deathstar's ID, so a
// landing proves the file SVID is the one presented. A directory without an SVID,
// or with one from another trust domain, stops the proxy at start.
func TestSVIDDir(t *testing.T) {
	bin := buildProxy(t)
	ca := testCA(t)
	svids := writeSVID(t, ca, "spiffe://cluster.local/ns/default/sa/deathstar")
	var seen atomic.Int32
	app := serveApp(t, &seen)
	hbone, admin, tie := freeAddr(t), freeAddr(t), freeAddr(t)
	startProxy(t, bin, "--bundle", "../../sidecar/testdata/landing", "--svid-dir", svids,
		"--listen-hbone", hbone, "--upstream", app, "--listen-admin", admin)
	startProxy(t, bin, "--bundle", "../../sidecar/testdata/landing", "--ca-dir", ca, "--service-account", "tiefighter",
		"--route", tie+"=127.0.0.1:80,id=spiffe://cluster.local/ns/default/sa/deathstar,proxy="+hbone)
	waitReady(t, admin, 10*time.Second)
	if code := request(t, tie, "POST", "/v1/request-landing"); code != 200 || seen.Load() != 1 {
		t.Errorf("landing through a file SVID: %d (app saw %d), want 200", code, seen.Load())
	}

	for _, tc := range []struct{ name, dir, want string }{
		{"empty dir", t.TempDir(), "svid.pem"},
		{"other trust domain", writeSVID(t, otherCA(t), "spiffe://galaxy.local/ns/default/sa/deathstar"), "not in trust domain"},
	} {
		out, err := exec.Command(bin, "--bundle", "../../sidecar/testdata/landing", "--svid-dir", tc.dir,
			"--listen-hbone", "127.0.0.1:0").CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: err %v, output %s, want it to say %q", tc.name, err, out, tc.want)
		}
	}
}

// writeSVID issues id from the CA in caDir and writes it as a file source reads it.
func writeSVID(t *testing.T, caDir, id string) string {
	t.Helper()
	ca, err := identity.LoadCA(caDir)
	if err != nil {
		t.Fatal(err)
	}
	svid, err := ca.Issue(spiffeid.RequireFromString(id), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := identity.WriteSVIDFiles(dir, svid, ca.Bundle()); err != nil {
		t.Fatal(err)
	}
	return dir
}

func otherCA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	if _, err := identity.InitCA(dir, spiffeid.RequireTrustDomainFromString("galaxy.local"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}
