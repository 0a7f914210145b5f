package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicySuggest: suggest writes a bundle whose own tests pass and whose
// replay over the same log denies nothing that was allowed.
func TestPolicySuggest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "suggested")
	out, err := run(t, "", "policy", "suggest", "--log", starwarsLog, "-o", dir, "--holdout", "0.3")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"5 flows allowed", "held out the last 18 of 63 decisions: 0 of 18 allowed requests would be denied (0.0%)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if out, err := run(t, "", "policy", "test", dir); err != nil || !strings.Contains(out, "PASS: 12/12") {
		t.Fatalf("policy test (%v):\n%s", err, out)
	}
	out, err = run(t, "", "policy", "replay", "--bundle", dir, "--log", starwarsLog)
	if err != nil || !strings.Contains(out, "63 unchanged, 0 allow→deny") {
		t.Fatalf("replay (%v):\n%s", err, out)
	}
	if _, err := run(t, "", "policy", "suggest", "--log", starwarsLog, "-o", dir, "--holdout", "1"); err == nil {
		t.Fatal("--holdout 1 accepted")
	}
}
