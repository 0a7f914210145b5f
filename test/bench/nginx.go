package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// nginxHead is what every nginx of the benchmark shares: one process, one
// worker, no logs, long keep-alive.
func nginxHead(dir, name string) string {
	return fmt.Sprintf(`daemon off; master_process off; worker_processes 1;
error_log %[1]s/%[2]s.err warn; pid %[1]s/%[2]s.pid;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 10000000; keepalive_timeout 300s;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s;
  uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
`, dir, name)
}

// nginx: client-side nginx (mTLS origination, pooled upstream connections) →
// server-side nginx (mTLS termination, location + method rule) → backend.
// Like HAProxy it checks the CA and the server's name, not the SPIFFE IDs.
func (e *env) nginx() (*chain, error) {
	front, back := freeAddr(), freeAddr()
	server := nginxHead(e.dir, "nginx-deathstar") + fmt.Sprintf(`  upstream app { server %[3]s; keepalive 64; }
  server {
    listen %[2]s ssl; ssl_protocols TLSv1.3;
    ssl_certificate %[1]s/deathstar-dns.pem; ssl_certificate_key %[1]s/deathstar-dns.pem;
    ssl_client_certificate %[1]s/root.pem; ssl_verify_client on;
    location = /v1/request-landing {
      limit_except POST { deny all; }
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
    }
    location / { return 403; }
  }
}
`, e.dir, back, e.backend)
	client := nginxHead(e.dir, "nginx-tiefighter") + fmt.Sprintf(`  upstream mesh { server %[3]s; keepalive 64; }
  server {
    listen %[2]s;
    location / {
      proxy_pass https://mesh; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_ssl_certificate %[1]s/tiefighter.pem; proxy_ssl_certificate_key %[1]s/tiefighter.pem;
      proxy_ssl_trusted_certificate %[1]s/root.pem; proxy_ssl_verify on;
      proxy_ssl_name deathstar; proxy_ssl_protocols TLSv1.3; proxy_ssl_session_reuse on;
    }
  }
}
`, e.dir, front, back)
	var procs []*proc
	for _, c := range []struct{ name, conf string }{{"nginx-tiefighter", client}, {"nginx-deathstar", server}} {
		path := filepath.Join(e.dir, c.name+".conf")
		if err := os.WriteFile(path, []byte(c.conf), 0o644); err != nil {
			return nil, err
		}
		p, err := e.start(c.name, nil, e.cfg.nginx, "-c", path, "-p", e.dir, "-e", filepath.Join(e.dir, c.name+".err"))
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	return &chain{name: "nginx", entry: front, proxies: procs}, nil
}
