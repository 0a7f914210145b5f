package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/sidecar/contract"
)

// TestREADMEDesign: the README carries the design itself (no pointer to notes
// outside the repository), and its contracts table states the values the code
// declares.
func TestREADMEDesign(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	if strings.Contains(readme, "design notes the project was started from") {
		t.Error("README points at design notes outside the repository")
	}
	for _, h := range []string{"## Design", "### The path of one request", "### Contracts", "### Security rules", "## Layout"} {
		if !strings.Contains(readme, "\n"+h) {
			t.Errorf("README lacks the section %q", h)
		}
	}
	for row, want := range map[string]string{
		"outbound capture port":     fmt.Sprint(contract.OutboundPort),
		"inbound plaintext capture": fmt.Sprint(contract.PlaintextPort),
		"inbound mTLS tunnel":       fmt.Sprint(contract.HBONEPort),
		"admin:":                    fmt.Sprint(contract.AdminPort),
		"proxy uid/gid":             fmt.Sprint(contract.ProxyUID),
		"namespace opt-in label":    injector.NamespaceLabel + "=" + injector.NamespaceLabelEnabled,
		"pod opt-out annotation":    injector.InjectAnnotation,
		"SPIFFE ID":                 injector.DefaultTrustDomain,
	} {
		m := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(row) + `.*\|(.*)\|$`).FindStringSubmatch(readme)
		if m == nil || !strings.Contains(m[1], want) {
			t.Errorf("README contracts row %q: %q, want it to state %s", row, m, want)
		}
	}
}
