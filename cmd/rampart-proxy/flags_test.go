package main

import (
	"os"
	"strings"
	"testing"
)

func TestParseRoute(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"127.0.0.1:9080=10.0.0.1:80", "127.0.0.1:9080 10.0.0.1:80   false", ""},
		{"127.0.0.1:9080=10.0.0.1:80,id=spiffe://td/ns/a/sa/b,proxy=127.0.0.1:15008",
			"127.0.0.1:9080 10.0.0.1:80 spiffe://td/ns/a/sa/b 127.0.0.1:15008 false", ""},
		{"127.0.0.1:9080=10.0.0.1:80,plain", "127.0.0.1:9080 10.0.0.1:80   true", ""},
		{"127.0.0.1:9080", "", "want LISTEN=DEST"},
		{"=10.0.0.1:80", "", "want LISTEN=DEST"},
		{"127.0.0.1:9080=10.0.0.1:80,ttl=3", "", "unknown option"},
	}
	for _, tt := range tests {
		r, err := parseRoute(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		got := strings.Join([]string{r.Listen, r.Destination, r.Identity, r.Proxy, map[bool]string{true: "true", false: "false"}[r.Plain]}, " ")
		if err != nil || got != tt.want {
			t.Errorf("%q: %q %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestEnvFallbacks(t *testing.T) {
	t.Setenv("POD_NAMESPACE", "empire")
	t.Setenv("SERVICE_ACCOUNT", "tiefighter")
	t.Setenv("TRUST_DOMAIN", "galaxy.local")
	t.Setenv("RAMPART_ROUTES", "127.0.0.1:9080=10.0.0.1:80;127.0.0.1:9081=10.0.0.2:80,plain")
	opts, _, err := parseFlags([]string{"--bundle", "x"}, os.LookupEnv, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	id := opts.Identity
	if id.Namespace != "empire" || id.ServiceAccount != "tiefighter" || id.TrustDomain != "galaxy.local" {
		t.Errorf("identity %+v, want the downward-API values", id)
	}
	if len(opts.Outbound.Routes) != 2 || !opts.Outbound.Routes[1].Plain {
		t.Errorf("routes %+v", opts.Outbound.Routes)
	}
	t.Setenv("RAMPART_NAMESPACE", "rebels") // RAMPART_* wins
	t.Setenv("POD_IP", "not-an-ip")
	opts, _, err = parseFlags(nil, os.LookupEnv, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "POD_IP") {
		t.Errorf("bad POD_IP: %v", err)
	}
	t.Setenv("POD_IP", "198.18.5.2")
	if opts, _, err = parseFlags(nil, os.LookupEnv, &strings.Builder{}); err != nil || opts.Identity.Namespace != "rebels" {
		t.Errorf("namespace %q (%v), want rebels", opts.Identity.Namespace, err)
	}
}

func TestRequestBodyFlag(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		want int
		err  string
	}{
		{args: []string{"--bundle", "x"}, want: 0},
		{args: []string{"--bundle", "x", "--request-body", "8192"}, want: 8192},
		{args: []string{"--bundle", "x"}, env: "4096", want: 4096},
		{args: []string{"--bundle", "x", "--request-body", "-1"}, err: "--request-body"},
		{args: []string{"--bundle", "x", "--request-body", "8k"}, err: "--request-body"},
	} {
		if tt.env != "" {
			t.Setenv("RAMPART_REQUEST_BODY", tt.env)
		}
		opts, _, err := parseFlags(tt.args, os.LookupEnv, &strings.Builder{})
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: error %v, want one naming %s", tt.args, err, tt.err)
		case tt.err == "" && (err != nil || opts.Policy.RequestBodyBytes != tt.want):
			t.Errorf("%q (env %q): RequestBodyBytes %d (%v), want %d", tt.args, tt.env, opts.Policy.RequestBodyBytes, err, tt.want)
		}
	}
}
