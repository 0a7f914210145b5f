package contract_test

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/contract"
)

// TestAddrsUsePorts: each listener address names its port constant.
func TestAddrsUsePorts(t *testing.T) {
	for _, tc := range []struct {
		addr string
		port int
		ip   string
	}{
		{contract.OutboundAddr, contract.OutboundPort, "127.0.0.1"},
		{contract.PlaintextAddr, contract.PlaintextPort, "0.0.0.0"},
		{contract.HBONEAddr, contract.HBONEPort, ""},
		{contract.AdminAddr, contract.AdminPort, ""},
	} {
		host, port, ok := strings.Cut(tc.addr, ":")
		if !ok || host != tc.ip || port != strconv.Itoa(tc.port) {
			t.Errorf("%q: want %s:%d", tc.addr, tc.ip, tc.port)
		}
		if host != "" {
			if _, err := netip.ParseAddrPort(tc.addr); err != nil {
				t.Error(err)
			}
		}
	}
}
