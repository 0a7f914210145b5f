package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const starwarsLog = "../../rego/replay/testdata/starwars.log"

// TestPolicyReplay: the exit status gates on allow→deny, --allow-denials lifts it,
// and every output format carries the same totals.
func TestPolicyReplay(t *testing.T) {
	out, err := run(t, "", "policy", "replay", "--bundle", "starwars", "--log", starwarsLog)
	if !errors.Is(err, errDenials) {
		t.Fatalf("err %v, want errDenials\n%s", err, out)
	}
	for _, want := range []string{"ALLOW→DENY", "default/tiefighter  default/deathstar  GET     /v1/landings/{number}  10",
		`replayed 63 decisions with revision "starwars-v1": 40 unchanged, 23 allow→deny, 0 deny→allow`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = run(t, "", "policy", "replay", "--bundle", "starwars", "--log", starwarsLog, "--allow-denials", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Totals struct {
			AllowToDeny int `json:"allow_to_deny"`
		}
		Changes []struct{ Path string }
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Totals.AllowToDeny != 23 || len(r.Changes) != 4 {
		t.Fatalf("json %+v (%v):\n%s", r, err, out)
	}
	out, err = run(t, "", "policy", "replay", "--bundle", "starwars", "--log", starwarsLog, "--allow-denials", "-o", "yaml")
	if err != nil || !strings.Contains(out, "allow_to_deny: 23") {
		t.Fatalf("yaml (%v):\n%s", err, out)
	}
	if _, err := run(t, "", "policy", "replay", "--bundle", "starwars", "--log", starwarsLog, "-o", "xml"); err == nil {
		t.Fatal("-o xml accepted")
	}
}
