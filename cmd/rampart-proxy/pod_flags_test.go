package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// TestPodDefaults: inside a pod the listeners default to the contract ports and
// the pod's address to $POD_IP; flags and RAMPART_* variables still win.
func TestPodDefaults(t *testing.T) {
	pod := map[string]string{"POD_NAME": "deathstar-1", "POD_IP": "198.18.0.7"}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // outbound|plaintext|hbone|admin|podIPs|mode
	}{
		{"outside a pod", nil, nil, "||||[]|PERMISSIVE"},
		{"injected", pod, nil, "127.0.0.1:15001|0.0.0.0:15006|:15008|:15020|[198.18.0.7]|STRICT"},
		{"flags win", pod, []string{"--listen-admin", "127.0.0.1:9020", "--pod-ips", "198.18.0.9", "--listen-plaintext", ""},
			"127.0.0.1:15001||:15008|127.0.0.1:9020|[198.18.0.9]|STRICT"},
		{"variables win", map[string]string{"POD_NAME": "x", "RAMPART_LISTEN_HBONE": "127.0.0.1:9008", "RAMPART_MODE": "permissive"}, nil,
			"127.0.0.1:15001|0.0.0.0:15006|127.0.0.1:9008|:15020|[]|PERMISSIVE"},
		{"switched off", map[string]string{"POD_NAME": "x", "RAMPART_IN_POD": "false"}, nil, "||||[]|PERMISSIVE"},
		{"switched on", map[string]string{"RAMPART_IN_POD": "true"}, nil, "127.0.0.1:15001|0.0.0.0:15006|:15008|:15020|[]|STRICT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"POD_NAME", "POD_IP", "RAMPART_LISTEN_HBONE", "RAMPART_MODE", "RAMPART_IN_POD"} {
				t.Setenv(k, tt.env[k]) // restored after the test
				if _, ok := tt.env[k]; !ok {
					os.Unsetenv(k)
				}
			}
			o, _, err := parseFlags(tt.args, &strings.Builder{})
			if err != nil {
				t.Fatal(err)
			}
			mode := map[bool]string{true: "STRICT", false: "PERMISSIVE"}[o.Inbound.Mode == inbound.Strict]
			got := fmt.Sprintf("%s|%s|%s|%s|%v|%s", o.Outbound.CaptureAddr, o.Inbound.PlaintextAddr,
				o.Inbound.HBONEAddr, o.Admin.Addr, o.Inbound.PodIPs, mode)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
