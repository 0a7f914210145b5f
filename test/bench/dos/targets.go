package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/rampart-mesh/rampart/identity"
)

// target is one proxy under attack, fronting the app.
type target struct {
	name    string
	h1      string // HTTP/1.1 listener
	h2c     string // h2c prior-knowledge listener (the same as h1 for Rampart)
	hbone   string // HBONE mTLS listener, Rampart only
	admin   string // admin listener with /metrics, Rampart only
	proc    *proc
	started time.Time
}

// env is what every target shares: the work dir, binaries, the CA and the app.
type env struct {
	dir       string
	rampart   string // built rampart-proxy
	nginx     string
	haproxy   string
	app       *app
	logLevel  string      // rampart-proxy --log-level
	clientTLS *tls.Config // a valid SVID of the trust domain, for HBONE attackers
}

// policy allows GET /ok and nothing else.
const policy = `package rampart.authz

default allow := false

allow if {
	input.attributes.request.http.method == "GET"
	input.parsed_path == ["ok"]
}
`

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free address: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// buildRampart compiles rampart-proxy from the module this package belongs to,
// so the suite always attacks the current tree.
func buildRampart(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("find the module root (go env GOMOD): %v", err)
	}
	bin := filepath.Join(dir, "rampart-proxy")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/rampart-proxy")
	cmd.Dir = filepath.Dir(gomod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build rampart-proxy: %w\n%s", err, b)
	}
	return bin, nil
}

// setupCA creates the built-in CA (read by rampart-proxy --ca-dir), the policy
// bundle, and an attacker's SVID: a workload of the same trust domain.
func (e *env) setupCA() error {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	ca, err := identity.InitCA(filepath.Join(e.dir, "ca"), td, 0)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	id, err := identity.NewWorkloadID(td, "default", "attacker")
	if err != nil {
		return err
	}
	svid, err := ca.Issue(id, time.Hour)
	if err != nil {
		return fmt.Errorf("attacker svid: %w", err)
	}
	e.clientTLS = tlsconfig.MTLSClientConfig(svid, ca.Bundle(), tlsconfig.AuthorizeMemberOf(td))
	e.clientTLS.NextProtos = []string{"h2"}
	bundle := filepath.Join(e.dir, "policy")
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bundle, ".manifest"), []byte(`{"roots": ["rampart/authz"]}`), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(bundle, "authz.rego"), []byte(policy), 0o644)
}

// start starts the named target and waits until it serves GET /ok.
func (e *env) start(name string) (*target, error) {
	var t *target
	var err error
	switch name {
	case "rampart":
		t, err = e.startRampart()
	case "nginx":
		t, err = e.startNginx()
	case "haproxy":
		t, err = e.startHAProxy()
	default:
		return nil, fmt.Errorf("unknown target %q", name)
	}
	if err != nil {
		return nil, err
	}
	t.started = time.Now()
	if err := t.ready(); err != nil {
		_ = t.proc.stop()
		return nil, fmt.Errorf("%w (log %s)", err, t.proc.log.Name())
	}
	return t, nil
}

func addrs(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// startRampart runs rampart-proxy PERMISSIVE on a plaintext listener (the 15006
// role, which sniffs HTTP/1 and h2c) and HBONE (15008), one thread like the anchors.
func (e *env) startRampart() (*target, error) {
	a, err := addrs(3)
	if err != nil {
		return nil, err
	}
	p, err := startProc(e.dir, "rampart", []string{"GOMAXPROCS=1"}, e.rampart,
		"--bundle", filepath.Join(e.dir, "policy"), "--ca-dir", filepath.Join(e.dir, "ca"),
		"--service-account", "app", "--mode", "PERMISSIVE", "--upstream", e.app.addr,
		"--listen-plaintext", a[0], "--listen-hbone", a[1], "--listen-admin", a[2],
		"--bundle-reload", "0", "--log-level", e.logLevel)
	if err != nil {
		return nil, err
	}
	return &target{name: "rampart", h1: a[0], h2c: a[0], hbone: a[1], admin: a[2], proc: p}, nil
}

// startNginx runs nginx 1.22, one process, h2c on its own port (nginx's plaintext
// http2 listeners take prior knowledge only).
func (e *env) startNginx() (*target, error) {
	a, err := addrs(2)
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`daemon off; master_process off; worker_processes 1; worker_rlimit_nofile %[5]d;
error_log %[1]s/nginx.err warn; pid %[1]s/nginx.pid;
events { worker_connections 30000; }
http {
  access_log off; keepalive_requests 100000; keepalive_timeout 120s;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s;
  uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  upstream app { server %[4]s; keepalive 64; }
  server {
    listen %[2]s; listen %[3]s http2;
    location = /ok {
      if ($request_method != GET) { return 403; }
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
    }
    location / { return 403; }
  }
}
`, e.dir, a[0], a[1], e.app.addr, fdHardLimit())
	path := filepath.Join(e.dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := startProc(e.dir, "nginx", nil, e.nginx, "-c", path, "-p", e.dir, "-e", filepath.Join(e.dir, "nginx.err"))
	if err != nil {
		return nil, err
	}
	return &target{name: "nginx", h1: a[0], h2c: a[1], proc: p}, nil
}

// startHAProxy runs HAProxy 2.6 with nbthread 1, h2c on its own bind.
func (e *env) startHAProxy() (*target, error) {
	a, err := addrs(2)
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`global
  nbthread 1
  maxconn %d
defaults
  mode http
  option http-keep-alive
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
frontend fe
  bind %s
  bind %s proto h2
  http-request deny deny_status 403 unless { path /ok } { method GET }
  default_backend app
backend app
  server app %s
`, haproxyMaxConn(), a[0], a[1], e.app.addr)
	path := filepath.Join(e.dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := startProc(e.dir, "haproxy", nil, e.haproxy, "-db", "-f", path)
	if err != nil {
		return nil, err
	}
	return &target{name: "haproxy", h1: a[0], h2c: a[1], proc: p}, nil
}

// haproxyMaxConn is as many connections as HAProxy can hold under the hard
// limit on open files (it reserves two per connection and refuses to start
// otherwise), at most 30 000.
func haproxyMaxConn() int {
	return int(min(fdHardLimit()/2-100, 30000))
}

func fdHardLimit() uint64 {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return 1024
	}
	return l.Max
}

func (t *target) ready() error {
	var err error
	for range 100 {
		if err = getOK(t.h1); err == nil {
			return nil
		}
		if !t.proc.alive() {
			return fmt.Errorf("%s exited", t.name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s never served GET /ok: %w", t.name, err)
}

func getOK(addr string) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/ok")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET /ok: %s", resp.Status)
	}
	return nil
}

// goroutines reads go_goroutines from Rampart's /metrics; -1 when unavailable.
func (t *target) goroutines(ctx context.Context) int {
	return int(t.metric(ctx, "go_goroutines"))
}

// metric reads one unlabelled gauge from Rampart's /metrics; -1 when unavailable.
func (t *target) metric(ctx context.Context, name string) float64 {
	if t.admin == "" {
		return -1
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.admin+"/metrics", nil)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte(name+" ")); ok {
			n, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
