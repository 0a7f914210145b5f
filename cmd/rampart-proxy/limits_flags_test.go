package main

import (
	"os"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// TestLimitFlags: the connection limits come from flags or RAMPART_* variables,
// and a malformed value is an error naming it (TestMalformed has the variables).
func TestLimitFlags(t *testing.T) {
	t.Setenv("RAMPART_MAX_CONNECTIONS_PER_IDENTITY", "7")
	for _, tc := range []struct {
		args   []string
		want   inbound.Limits
		err    string
		stream bool
	}{
		{nil, inbound.Limits{MaxConnectionsPerIdentity: 7}, "", false},
		{[]string{"--max-connections", "100", "--max-connections-per-address", "10", "--memory-pressure", "0.8"},
			inbound.Limits{MaxConnections: 100, MaxConnectionsPerAddress: 10, MaxConnectionsPerIdentity: 7, MemoryPressure: 0.8}, "", false},
		{[]string{"--memory-pressure", "-1"}, inbound.Limits{MaxConnectionsPerIdentity: 7, MemoryPressure: -1}, "", false},
		{[]string{"--max-connections", "lots"}, inbound.Limits{}, `"--max-connections" flag: want a number`, false},
		{[]string{"--max-connections-per-address", "0"}, inbound.Limits{}, "--max-connections-per-address", false},
		{[]string{"--memory-pressure", "2"}, inbound.Limits{}, "--memory-pressure", false},
		{[]string{"--stream-request-bodies", "true"}, inbound.Limits{MaxConnectionsPerIdentity: 7}, "", true},
		{[]string{"--stream-request-bodies", "sometimes"}, inbound.Limits{}, "--stream-request-bodies", false},
	} {
		opts, _, err := parseFlags(append([]string{"--bundle", "x"}, tc.args...), os.LookupEnv, &strings.Builder{})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one naming %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || opts.Inbound.Tuning.Limits != tc.want || opts.Inbound.Tuning.StreamBodies != tc.stream {
			t.Errorf("%q: %+v (%v), want %+v", tc.args, opts.Inbound.Tuning.Limits, err, tc.want)
		}
	}
}
