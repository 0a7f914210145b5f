package demo

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/rampart-mesh/rampart/test/support"
)

// TestProxyOffersDemoFlags: every flag the demo passes to rampart-proxy is one
// that this repository's rampart-proxy offers (the demo no longer asks the
// binary at run time).
func TestProxyOffersDemoFlags(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rampart-proxy")
	support.GoBuild(t, "", bin, "../../cmd/rampart-proxy")
	help, _ := exec.Command(bin, "-help").CombinedOutput()
	offered := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+--([a-z][a-z0-9-]*) `).FindAllStringSubmatch(string(help), -1) {
		offered[m[1]] = true
	}
	used := []string{"listen-plaintext", "listen-hbone", "mode", "labels", "workloads", "svid-dir",
		"trust-domain", "namespace", "service-account", "decision-log",
		"bundle", "bundle-reload", "bundle-url", "bundle-poll", "egress-resolver", // proxy.go
		"serve-egress-gateway", "egress-gateway", "egress-gateway-id", "egress-gateway-hosts"} // egressgateway.go
	for _, f := range podFlags() {
		used = append(used, f.name)
	}
	for _, name := range used {
		if !offered[name] {
			t.Errorf("the demo passes --%s, which rampart-proxy -help does not list", name)
		}
	}
}
