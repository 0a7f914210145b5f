package main

import (
	"fmt"
	"io"
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
			o, _, err := parseFlags(tt.args, os.LookupEnv, &strings.Builder{})
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

// FuzzExclusions: the RAMPART_EXCLUDE_* and log-level parser never panics, and
// what it accepts is exactly one valid port or prefix per non-empty field.
func FuzzExclusions(f *testing.F) {
	f.Add("8081,9090", "443", "10.0.0.0/8,fd00::/8", "info")
	f.Add("8081,90x0", "70000", "10.0.0.0/33", "verbose")
	f.Add(" 1 ,,65535", "0", "10.0.0.1", "WARN")
	f.Fuzz(func(t *testing.T, in, out, cidrs, level string) {
		env := envMap{"RAMPART_EXCLUDE_INBOUND_PORTS": in, "RAMPART_EXCLUDE_OUTBOUND_PORTS": out,
			"RAMPART_EXCLUDE_OUTBOUND_CIDRS": cidrs, "RAMPART_LOG_LEVEL": level}
		o, _, err := parseFlags(nil, env.lookup, io.Discard)
		if err != nil {
			return
		}
		for _, tc := range []struct {
			s string
			n int
		}{{in, len(o.Capture.ExcludeInboundPorts)}, {out, len(o.Capture.ExcludeOutboundPorts)}, {cidrs, len(o.Capture.ExcludeOutboundCIDRs)}} {
			fields := 0
			for p := range strings.SplitSeq(tc.s, ",") {
				if strings.TrimSpace(p) != "" {
					fields++
				}
			}
			if fields != tc.n {
				t.Errorf("%q: %d values from %d fields", tc.s, tc.n, fields)
			}
		}
		for _, p := range append(o.Capture.ExcludeInboundPorts, o.Capture.ExcludeOutboundPorts...) {
			if p == 0 {
				t.Errorf("port 0 accepted from %q %q", in, out)
			}
		}
	})
}
