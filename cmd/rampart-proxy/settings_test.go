package main

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar"
)

// envMap is a process environment for parseFlags.
type envMap map[string]string

func (e envMap) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

// parsed is what one command line gives: the sidecar's options and the settings
// only main uses (memory).
type parsed struct {
	sidecar.Options
	settings settings
}

// TestPrecedence: for every kind of setting a flag replaces its variable (lists
// and routes too), a variable replaces the default, and RAMPART_* names win over
// the downward-API names.
func TestPrecedence(t *testing.T) {
	routes := func(o parsed) string {
		var s []string
		for _, r := range o.Outbound.Routes {
			s = append(s, r.Listen+"="+r.Destination)
		}
		return strings.Join(s, ";")
	}
	timeout := func(o parsed) string { return o.Outbound.Tuning.ConnectTimeout.String() }
	podIPs := func(o parsed) string { return fmt.Sprint(o.Inbound.PodIPs) }
	ns := func(o parsed) string { return o.Identity.Namespace }
	labels := func(o parsed) string { return fmt.Sprint(o.Inbound.Labels) }
	stream := func(o parsed) string { return fmt.Sprint(o.Inbound.Tuning.StreamBodies) }
	upstream := func(o parsed) string { return o.Inbound.Upstream }
	ports := func(o parsed) string { return fmt.Sprint(o.Capture.ExcludeInboundPorts) }
	memLimit := func(o parsed) string { return fmt.Sprint(o.settings.MemoryLimit) }
	release := func(o parsed) string { return fmt.Sprint(o.settings.ReleaseStartupMemory) }
	gateway := func(o parsed) string {
		g := o.Outbound.Egress
		return fmt.Sprint(g.Gateway.Addr, " ", g.Gateway.Identity, " ", g.Gateway.Hosts, " ", g.ServeGateway)
	}
	const r1, r2, r3 = "127.0.0.1:1=198.18.0.1:80", "127.0.0.1:2=198.18.0.2:80", "127.0.0.1:3=198.18.0.3:80"
	for _, tc := range []struct {
		name string
		env  envMap
		args []string
		get  func(parsed) string
		want string
	}{
		{"duration default", nil, nil, timeout, "2s"},
		{"duration variable", envMap{"RAMPART_CONNECT_TIMEOUT": "3s"}, nil, timeout, "3s"},
		{"duration flag", envMap{"RAMPART_CONNECT_TIMEOUT": "3s"}, []string{"--connect-timeout", "4s"}, timeout, "4s"},
		{"routes variable", envMap{"RAMPART_ROUTES": r1 + "; " + r2}, nil, routes, r1 + ";" + r2},
		{"route flag replaces variable", envMap{"RAMPART_ROUTES": r1 + ";" + r2}, []string{"--route", r3}, routes, r3},
		{"route flags add up", nil, []string{"--route", r1, "--route=" + r3}, routes, r1 + ";" + r3},
		{"list variable", envMap{"RAMPART_POD_IPS": "198.18.0.1, 198.18.0.2"}, nil, podIPs, "[198.18.0.1 198.18.0.2]"},
		{"list flag replaces variable", envMap{"RAMPART_POD_IPS": "198.18.0.1"}, []string{"--pod-ips", "198.18.0.9"}, podIPs, "[198.18.0.9]"},
		{"pod ip is the list's default", envMap{"POD_IP": "198.18.0.7"}, nil, podIPs, "[198.18.0.7]"},
		{"map flag replaces variable", envMap{"RAMPART_LABELS": "a=1"}, []string{"--labels", "b=2"}, labels, "map[b:2]"},
		{"ports variable", envMap{"RAMPART_EXCLUDE_INBOUND_PORTS": "8081,9090"}, nil, ports, "[8081 9090]"},
		{"bool flag replaces variable", envMap{"RAMPART_STREAM_REQUEST_BODIES": "true"}, []string{"--stream-request-bodies", "false"}, stream, "false"},
		{"string flag", envMap{"RAMPART_UPSTREAM": "127.0.0.1:1"}, []string{"--upstream=127.0.0.1:2"}, upstream, "127.0.0.1:2"},
		{"gateway route variables", envMap{"RAMPART_EGRESS_GATEWAY": "gw.rampart-system.svc:15008",
			"RAMPART_EGRESS_GATEWAY_ID": "spiffe://cluster.local/ns/rampart-system/sa/gw", "RAMPART_EGRESS_GATEWAY_HOSTS": "GitHub.com.,*.Google.com"},
			nil, gateway, "gw.rampart-system.svc:15008 spiffe://cluster.local/ns/rampart-system/sa/gw [github.com *.google.com] false"},
		{"serve gateway flag alone", nil, []string{"--serve-egress-gateway"}, gateway, "  [] true"},
		{"fallback variable", envMap{"POD_NAMESPACE": "empire"}, nil, ns, "empire"},
		{"RAMPART_ variable wins", envMap{"POD_NAMESPACE": "empire", "RAMPART_NAMESPACE": "rebels"}, nil, ns, "rebels"},
		{"bytes default", nil, nil, memLimit, "0"},
		{"bytes variable", envMap{"RAMPART_MEMORY_LIMIT": "1000000000"}, nil, memLimit, "1000000000"},
		{"empty bytes variable is none", envMap{"RAMPART_MEMORY_LIMIT": ""}, nil, memLimit, "0"},
		{"bytes flag replaces variable", envMap{"RAMPART_MEMORY_LIMIT": "1000000000"}, []string{"--memory-limit", "2000000000"}, memLimit, "2000000000"},
		{"bool default on", nil, nil, release, "true"},
		{"bool variable", envMap{"RAMPART_RELEASE_STARTUP_MEMORY": "false"}, nil, release, "false"},
		{"bool flag replaces its variable", envMap{"RAMPART_RELEASE_STARTUP_MEMORY": "false"}, []string{"--release-startup-memory=true"}, release, "true"},
		{"flag wins over both", envMap{"POD_NAMESPACE": "empire", "RAMPART_NAMESPACE": "rebels"}, []string{"--namespace", "hoth"}, ns, "hoth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSettings(tc.args, tc.env.lookup, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			o, _, err := s.sidecarOptions(io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.get(parsed{o, s}); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestMalformed: a malformed variable or flag is an error naming it, whichever
// setting it is (before typed settings a bad $RAMPART_CONNECT_TIMEOUT was ignored).
func TestMalformed(t *testing.T) {
	for _, tc := range []struct {
		env  envMap
		args []string
		want string
	}{
		{envMap{"RAMPART_CONNECT_TIMEOUT": "soon"}, nil, `$RAMPART_CONNECT_TIMEOUT "soon"`},
		{envMap{"RAMPART_CONNECT_TIMEOUT": "-1s"}, nil, "$RAMPART_CONNECT_TIMEOUT"},
		{envMap{"RAMPART_DRAIN_TIMEOUT": "5"}, nil, "$RAMPART_DRAIN_TIMEOUT"},
		{envMap{"RAMPART_BUNDLE_POLL": "0s"}, nil, "$RAMPART_BUNDLE_POLL"},
		{envMap{"RAMPART_BUNDLE_RELOAD": "often"}, nil, "$RAMPART_BUNDLE_RELOAD"},
		{envMap{"RAMPART_ROUTES": "127.0.0.1:1"}, nil, "$RAMPART_ROUTES"},
		{envMap{"RAMPART_POD_IPS": "198.18.0.1,pod"}, nil, "$RAMPART_POD_IPS"},
		{envMap{"POD_IP": "not-an-ip"}, nil, "$POD_IP"},
		{envMap{"RAMPART_LABELS": "app"}, nil, "$RAMPART_LABELS"},
		{envMap{"RAMPART_MODE": "LAX"}, nil, "$RAMPART_MODE"},
		{envMap{"RAMPART_SLASHES": "merge"}, nil, "$RAMPART_SLASHES"},
		{envMap{"RAMPART_DISCOVERY": "dns"}, nil, "$RAMPART_DISCOVERY"},
		{envMap{"RAMPART_LOG_LEVEL": "verbose"}, nil, "$RAMPART_LOG_LEVEL"},
		{envMap{"RAMPART_REQUEST_BODY": "8k"}, nil, "$RAMPART_REQUEST_BODY"},
		{envMap{"RAMPART_MAX_CONNECTIONS": "lots"}, nil, "$RAMPART_MAX_CONNECTIONS"},
		{envMap{"RAMPART_EXCLUDE_OUTBOUND_PORTS": "70000"}, nil, "$RAMPART_EXCLUDE_OUTBOUND_PORTS"},
		{envMap{"RAMPART_EXCLUDE_OUTBOUND_CIDRS": "10.0.0.0/33"}, nil, "$RAMPART_EXCLUDE_OUTBOUND_CIDRS"},
		{envMap{"RAMPART_MEMORY_PRESSURE": "2"}, nil, "$RAMPART_MEMORY_PRESSURE"},
		{envMap{"RAMPART_STREAM_REQUEST_BODIES": "sometimes"}, nil, "$RAMPART_STREAM_REQUEST_BODIES"},
		{envMap{"RAMPART_IN_POD": "maybe"}, nil, "$RAMPART_IN_POD"},
		{envMap{"RAMPART_MEMORY_LIMIT": "128Mi"}, nil, `$RAMPART_MEMORY_LIMIT "128Mi"`},
		{envMap{"RAMPART_MEMORY_LIMIT": "-1"}, nil, "$RAMPART_MEMORY_LIMIT"},
		{envMap{"RAMPART_RELEASE_STARTUP_MEMORY": "release"}, nil, `$RAMPART_RELEASE_STARTUP_MEMORY "release"`},
		{nil, []string{"--memory-limit", "1G"}, "--memory-limit"},
		{nil, []string{"--connect-timeout", "soon"}, "--connect-timeout"},
		{nil, []string{"--route", "=198.18.0.1:80"}, "--route"},
		{nil, []string{"--max-connections-per-address", "0"}, "--max-connections-per-address"},
		{envMap{"RAMPART_EGRESS_GATEWAY_HOSTS": "github.com,bad name"}, nil, "$RAMPART_EGRESS_GATEWAY_HOSTS"},
		{nil, []string{"--egress-gateway-hosts", "198.18.0.1"}, "--egress-gateway-hosts"},
		{nil, []string{"--egress-gateway-hosts", "github.com"}, "--egress-gateway-hosts needs --egress-gateway"},
		{nil, []string{"--egress-gateway", "gw:15008"}, "--egress-gateway-id"},
		{nil, []string{"--egress-gateway", "gw", "--egress-gateway-id", "spiffe://cluster.local/ns/rampart-system/sa/gw"}, "--egress-gateway"},
		{envMap{"RAMPART_SERVE_EGRESS_GATEWAY": "perhaps"}, nil, "$RAMPART_SERVE_EGRESS_GATEWAY"},
		{nil, []string{"--no-such-flag"}, "no-such-flag"},
		{nil, []string{"stray"}, "unexpected arguments"},
	} {
		_, _, err := parseFlags(tc.args, tc.env.lookup, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %q: error %v, want one naming %s", tc.env, tc.args, err, tc.want)
		}
	}
}

// TestHelpNamesRoles: -help says which flags each role needs and shows every
// flag with its variables.
func TestHelpNamesRoles(t *testing.T) {
	var out strings.Builder
	_, _, err := parseFlags([]string{"-help"}, envMap{}.lookup, &out)
	if err == nil {
		t.Fatal("-help returned no error (want pflag.ErrHelp)")
	}
	for _, want := range []string{
		"server authorizes", "client tunnels", "no --bundle",
		"Server role:", "Client role:", "Identity (",
		"--connect-timeout duration", "($RAMPART_CONNECT_TIMEOUT)",
		"($RAMPART_NAMESPACE, else $POD_NAMESPACE)",
		"forwards them to 127.0.0.1:<DEST's port> (or to its --upstream)",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), want) {
			t.Errorf("-help lacks %q:\n%s", want, out.String())
		}
	}
}

// FuzzSettingsFromEnv: no variable value makes parsing panic, and what is
// accepted is well-formed: one route per non-empty ';' field, a positive timeout,
// labels with non-empty keys.
func FuzzSettingsFromEnv(f *testing.F) {
	f.Add("127.0.0.1:1=198.18.0.1:80;127.0.0.1:2=198.18.0.2:80,plain", "app=x,org=y", "198.18.0.1", "2s")
	f.Add("127.0.0.1:1=,id=x", "=v", "::1,", "-1s")
	f.Add(";;", ",,", "", "1h")
	f.Fuzz(func(t *testing.T, routes, labels, ips, timeout string) {
		env := envMap{"RAMPART_ROUTES": routes, "RAMPART_LABELS": labels, "RAMPART_POD_IPS": ips, "RAMPART_CONNECT_TIMEOUT": timeout}
		o, _, err := parseFlags(nil, env.lookup, io.Discard)
		if err != nil {
			return
		}
		fields := 0
		for r := range strings.SplitSeq(routes, ";") {
			if strings.TrimSpace(r) != "" {
				fields++
			}
		}
		if len(o.Outbound.Routes) != fields {
			t.Errorf("%q: %d routes from %d fields", routes, len(o.Outbound.Routes), fields)
		}
		for _, r := range o.Outbound.Routes {
			if r.Listen == "" || r.Destination == "" {
				t.Errorf("%q: route %+v accepted", routes, r)
			}
		}
		if o.Outbound.Tuning.ConnectTimeout <= 0 {
			t.Errorf("timeout %q accepted as %s", timeout, o.Outbound.Tuning.ConnectTimeout)
		}
		for k := range o.Inbound.Labels {
			if k == "" {
				t.Errorf("labels %q: empty key accepted", labels)
			}
		}
	})
}
