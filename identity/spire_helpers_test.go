package identity_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/support"
)

const spireVersion = "v1.13.3"

// requireTool skips (or fails under CI=true) when a tool is missing.
func requireTool(t *testing.T, path, why string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	support.Need(t, fmt.Sprintf("%s not found (%s); build it with test/tools/spire/build.sh <cache dir>", path, why))
}

// spire runs a real SPIRE server and agent on loopback and unix sockets in a temp dir.
type spire struct {
	t          *testing.T
	bin, dir   string
	td         string
	port       int
	serverSock string
	agentSock  string
}

func startSPIRE(t *testing.T, td string) *spire {
	t.Helper()
	bin := filepath.Join(support.ToolsDir(t), "spire-"+spireVersion)
	requireTool(t, filepath.Join(bin, "spire-server"), "real SPIRE server")
	requireTool(t, filepath.Join(bin, "spire-agent"), "real SPIRE agent")
	// Unix socket paths are limited to 108 bytes: keep the directory short.
	dir, err := os.MkdirTemp("", "idspire")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &spire{t: t, bin: bin, dir: dir, td: td, port: freePort(t),
		serverSock: filepath.Join(dir, "server.sock"), agentSock: filepath.Join(dir, "agent.sock")}
	s.write("server.conf", fmt.Sprintf(serverConf, s.port, s.serverSock, td, dir, dir))
	s.start("server", filepath.Join(bin, "spire-server"), "run", "-config", filepath.Join(dir, "server.conf"))
	s.waitServer()
	s.write("bootstrap.crt", s.serverCmd("bundle", "show"))
	return s
}

const serverConf = `server {
  bind_address = "127.0.0.1"
  bind_port = "%d"
  socket_path = "%s"
  trust_domain = "%s"
  data_dir = "%s/server-data"
  log_level = "WARN"
  ca_ttl = "24h"
  default_x509_svid_ttl = "1h"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "%s/datastore.sqlite3"
    }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
}
`

const agentConf = `agent {
  data_dir = "%s/agent-data"
  log_level = "WARN"
  server_address = "127.0.0.1"
  server_port = "%d"
  socket_path = "%s"
  trust_bundle_path = "%s/bootstrap.crt"
  trust_domain = "%s"
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
`

// startAgent attests the agent with a fresh join token and returns a stop function.
func (s *spire) startAgent() (stop func()) {
	out := s.serverCmd("token", "generate", "-spiffeID", "spiffe://"+s.td+"/rampart-test-node")
	token := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "Token:"))
	s.write("agent.conf", fmt.Sprintf(agentConf, s.dir, s.port, s.agentSock, s.dir, s.td))
	return s.start("agent", filepath.Join(s.bin, "spire-agent"), "run", "-config", filepath.Join(s.dir, "agent.conf"), "-joinToken", token)
}

// register creates an entry for id selecting this process's uid.
func (s *spire) register(id string, ttl time.Duration) {
	s.serverCmd("entry", "create", "-parentID", "spiffe://"+s.td+"/rampart-test-node", "-spiffeID", id,
		"-selector", fmt.Sprintf("unix:uid:%d", os.Getuid()), "-x509SVIDTTL", fmt.Sprint(int(ttl.Seconds())))
}

func (s *spire) serverCmd(args ...string) []byte {
	s.t.Helper()
	args = append(args, "-socketPath", s.serverSock)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(s.bin, "spire-server"), args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("spire-server %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *spire) waitServer() {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := exec.Command(filepath.Join(s.bin, "spire-server"), "healthcheck", "-socketPath", s.serverSock).Run()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("spire-server not healthy after 60s: %v\n%s", err, s.logs("server"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// start runs a SPIRE process that dies with the test binary and is always reaped.
func (s *spire) start(name, bin string, args ...string) (stop func()) {
	s.t.Helper()
	log, err := os.Create(filepath.Join(s.dir, name+".log"))
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", name, err)
	}
	done := false
	stop = func() {
		if done {
			return
		}
		done = true
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		log.Close()
	}
	s.t.Cleanup(func() {
		if s.t.Failed() {
			s.t.Logf("%s log:\n%s", name, s.logs(name))
		}
		stop()
	})
	return stop
}

func (s *spire) logs(name string) string {
	b, _ := os.ReadFile(filepath.Join(s.dir, name+".log"))
	return string(b)
}

func (s *spire) write(name string, data any) {
	s.t.Helper()
	var b []byte
	switch d := data.(type) {
	case string:
		b = []byte(d)
	case []byte:
		b = d
	}
	if err := os.WriteFile(filepath.Join(s.dir, name), b, 0o600); err != nil {
		s.t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
