package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/rampart-mesh/rampart/identity"
)

// chain is one way from the load generator to the backend.
type chain struct {
	name    string
	entry   string  // address the load generator talks to
	proxies []*proc // sidecars, client side first
}

// env is what every chain shares: tools, the work dir, the CA, the backend.
type env struct {
	cfg     config
	dir     string
	ca      *identity.CA
	backend string
	procs   []*proc
}

const (
	tiefighterID = "spiffe://cluster.local/ns/default/sa/tiefighter"
	deathstarID  = "spiffe://cluster.local/ns/default/sa/deathstar"
)

func (e *env) stopAll() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		e.procs[i].stop()
	}
}

func (e *env) start(name string, envs []string, bin string, args ...string) (*proc, error) {
	p, err := start(e.dir, name, envs, bin, args...)
	if err == nil {
		e.procs = append(e.procs, p)
	}
	return p, err
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// setupCA creates the built-in CA (for rampart-proxy --ca-dir) and PEM files for
// the peers: cert chain + key in one file, the root, and deathstar's certificate
// with a DNS name for the peers that check one.
func (e *env) setupCA() error {
	td := spiffeid.RequireTrustDomainFromString("cluster.local")
	ca, err := identity.InitCA(filepath.Join(e.dir, "ca"), td, 0)
	if err != nil {
		return err
	}
	e.ca = ca
	for _, sa := range []string{"tiefighter", "deathstar"} {
		id, _ := identity.NewWorkloadID(td, "default", sa)
		svid, err := ca.Issue(id, 24*time.Hour)
		if err != nil {
			return err
		}
		cert, key, err := svid.Marshal()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(e.dir, sa+".pem"), append(cert, key...), 0o600); err != nil {
			return err
		}
	}
	bundle, err := ca.Bundle().Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(e.dir, "root.pem"), bundle, 0o644); err != nil {
		return err
	}
	return e.issueWithDNS("deathstar-dns", deathstarID, "deathstar")
}

// body1k is the backend's answer: exactly 1024 bytes.
var body1k = strings.Repeat("Ship landed. ", 78) + "0123456789"

func (e *env) startBackend() error {
	e.backend = freeAddr()
	conf := nginxHead(e.dir, "nginx") + fmt.Sprintf(`  server { listen %s; location / { default_type text/plain; return 200 "%s"; } }
}
`, e.backend, body1k)
	path := filepath.Join(e.dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return err
	}
	_, err := e.start("nginx", nil, e.cfg.nginx, "-c", path, "-p", e.dir, "-e", filepath.Join(e.dir, "nginx.err"))
	return err
}

func (e *env) direct() (*chain, error) { return &chain{name: "direct", entry: e.backend}, nil }

// rampart: tiefighter's proxy (explicit route) → HBONE mTLS → deathstar's proxy
// (Star Wars policy) → backend. source.labels come from the registry.
func (e *env) rampart(name, bin string) (*chain, error) {
	reg := filepath.Join(e.dir, "registry.json")
	if err := os.WriteFile(reg, []byte(`{"workloads": [{"pod": "tiefighter", "namespace": "default",
	  "serviceAccount": "tiefighter", "ip": "127.0.0.1", "labels": {"org": "empire"}, "meshed": true}]}`), 0o644); err != nil {
		return nil, err
	}
	hbone, entry := freeAddr(), freeAddr()
	goEnv := []string{"GOMAXPROCS=1"} // one thread per proxy, like the peers
	common := []string{"--bundle", e.cfg.policy, "--ca-dir", filepath.Join(e.dir, "ca")}
	server, err := e.start(name+"-deathstar", goEnv, bin, append(common,
		"--service-account", "deathstar", "--listen-hbone", hbone, "--upstream", e.backend,
		"--labels", "app=deathstar", "--registry", reg)...)
	if err != nil {
		return nil, err
	}
	client, err := e.start(name+"-tiefighter", goEnv, bin, append(common,
		"--service-account", "tiefighter", "--route", entry+"=127.0.0.1:80,id="+deathstarID+",proxy="+hbone)...)
	if err != nil {
		return nil, err
	}
	return &chain{name: name, entry: entry, proxies: []*proc{client, server}}, nil
}

// haproxy: client-side HAProxy (mTLS origination) → server-side HAProxy (mTLS
// termination, path+method ACL) → backend. HAProxy checks the CA, not the SPIFFE ID.
func (e *env) haproxy() (*chain, error) {
	front, back := freeAddr(), freeAddr()
	global := "global\n  nbthread 1\n  maxconn 4000\n  tune.ssl.default-dh-param 2048\n" +
		"defaults\n  mode http\n  option http-keep-alive\n  http-reuse always\n" +
		"  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n  timeout http-keep-alive 60s\n"
	server := global + fmt.Sprintf(`frontend mtls
  bind %s ssl crt %s/deathstar.pem ca-file %s/root.pem verify required ssl-min-ver TLSv1.3
  acl landing path /v1/request-landing
  acl post method POST
  http-request deny deny_status 403 unless landing post
  default_backend app
backend app
  server nginx %s
`, back, e.dir, e.dir, e.backend)
	client := global + fmt.Sprintf(`frontend app
  bind %s
  default_backend mesh
backend mesh
  server deathstar %s ssl crt %s/tiefighter.pem ca-file %s/root.pem verify required ssl-min-ver TLSv1.3
`, front, back, e.dir, e.dir)
	var procs []*proc
	for _, c := range []struct{ name, conf string }{{"haproxy-tiefighter", client}, {"haproxy-deathstar", server}} {
		path := filepath.Join(e.dir, c.name+".cfg")
		if err := os.WriteFile(path, []byte(c.conf), 0o644); err != nil {
			return nil, err
		}
		p, err := e.start(c.name, nil, e.cfg.haproxy, "-db", "-f", path)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	return &chain{name: "haproxy", entry: front, proxies: procs}, nil
}

// ghostunnel: client mode (verifies deathstar's SPIFFE ID) → server mode (allows
// tiefighter's SPIFFE ID) → backend. L4 only.
func (e *env) ghostunnel() (*chain, error) {
	front, back := freeAddr(), freeAddr()
	goEnv := []string{"GOMAXPROCS=1"}
	server, err := e.start("ghostunnel-deathstar", goEnv, e.cfg.ghostunnel, "server",
		"--listen", back, "--target", e.backend, "--keystore", e.dir+"/deathstar-dns.pem",
		"--cacert", e.dir+"/root.pem", "--allow-uri", tiefighterID, "--quiet=conns")
	if err != nil {
		return nil, err
	}
	client, err := e.start("ghostunnel-tiefighter", goEnv, e.cfg.ghostunnel, "client",
		"--listen", front, "--target", back, "--keystore", e.dir+"/tiefighter.pem",
		"--cacert", e.dir+"/root.pem", "--verify-uri", deathstarID, "--override-server-name", "deathstar",
		"--quiet=conns")
	if err != nil {
		return nil, err
	}
	return &chain{name: "ghostunnel", entry: front, proxies: []*proc{client, server}}, nil
}
