package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEEgressRego keeps the README's egress Rego the shipped seed policy
// (policies/egress/egress.rego), byte for byte.
func TestREADMEEgressRego(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rego, err := os.ReadFile("../../policies/egress/egress.rego")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Egress\n")
	if !ok {
		t.Fatal("README has no ## Egress section")
	}
	_, block, ok := strings.Cut(section, "```rego\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok || block != string(rego) {
		t.Errorf("README's egress rego block differs from policies/egress/egress.rego")
	}
}
