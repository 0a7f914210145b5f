package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/test/demo/starwars"
)

// deathstar starts the real deathstar on loopback and returns its host:port.
func deathstar(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(starwars.Deathstar("ds-1", nil))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func runCurl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"/usr/local/bin/curl"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestCuriousTiefighter runs the commands of Cilium's Star Wars guide against the
// deathstar, as `kubectl exec tiefighter -- curl ...` would.
func TestCuriousTiefighter(t *testing.T) {
	host := deathstar(t)
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   string
		inStderr string
	}{
		{"landing", []string{"-s", "-XPOST", host + "/v1/request-landing"}, 0, starwars.LandedBody, ""},
		{"exhaust port", []string{"-s", "-XPUT", host + "/v1/exhaust-port"}, 0, starwars.PanicBody, ""},
		{"separate -X and header", []string{"-s", "-X", "POST", "-H", "X-Has-Force: True", "http://" + host + "/v1/request-landing"}, 0, starwars.LandedBody, ""},
		{"long options", []string{"--silent", "--request=POST", "--max-time", "5", "--connect-timeout=2", host + "/v1/request-landing"}, 0, starwars.LandedBody, ""},
		{"options after the URL (Cilium's -H X-Has-Force)", []string{"-s", "-XPUT", host + "/v1/exhaust-port", "-H", "X-Has-Force: True"}, 0, starwars.PanicBody, ""},
		{"header and data for a JSON POST", []string{"-s", "-H", "Content-Type: application/json", "-d", `{"ship":"tie"}`, host + "/v1/request-landing"}, 0, starwars.LandedBody, ""},
		{"NaN max-time refused", []string{"-s", "-m", "NaN", host}, exitUsage, "", "-m"},
		{"zero connect-timeout refused", []string{"-s", "--connect-timeout", "0", host}, exitUsage, "", "connect-timeout"},
		{"connect-timeout needs a value", []string{"-s", host, "--connect-timeout"}, exitUsage, "", "requires a value"},
		{"-d makes a POST", []string{"-s", "-d", "x=1", host + "/v1/request-landing"}, 0, starwars.LandedBody, ""},
		{"write-out status only", []string{"-s", "-o", "/dev/null", "-w", "%{http_code}\\n", "-XPOST", host + "/v1/request-landing"}, 0, "200\n", ""},
		{"404 is not an error", []string{"-s", "-w", "%{http_code}", host + "/nope"}, 0, "404 page not found\n404", ""},
		{"-f makes 404 exit 22", []string{"-sSf", host + "/nope"}, exitHTTP, "", "(22)"},
		{"include headers", []string{"-si", "-XPOST", host + "/v1/request-landing"}, 0, "", ""},
		{"bad option", []string{"-Z", host}, exitUsage, "", "unknown"},
		{"no URL", []string{"-s"}, exitUsage, "", "exactly one URL"},
		{"bad scheme", []string{"ftp://" + host}, exitBadURL, "", "(3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCurl(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if tc.name == "include headers" {
				if !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.Contains(out, starwars.ServedByHeader+": ds-1\r\n") ||
					!strings.HasSuffix(out, "\r\n\r\n"+starwars.LandedBody) {
					t.Fatalf("stdout %q", out)
				}
			} else if out != tc.stdout {
				t.Fatalf("stdout %q, want %q", out, tc.stdout)
			}
			if !strings.Contains(errOut, tc.inStderr) {
				t.Fatalf("stderr %q, want it to contain %q", errOut, tc.inStderr)
			}
		})
	}
}

func TestCurlOutputFile(t *testing.T) {
	host := deathstar(t)
	f := filepath.Join(t.TempDir(), "body")
	if code, out, errOut := runCurl(t, "-s", "-o", f, "-XPUT", host+"/v1/exhaust-port"); code != 0 || out != "" {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errOut)
	}
	if b, err := os.ReadFile(f); err != nil || string(b) != starwars.PanicBody {
		t.Fatalf("file %q, %v", b, err)
	}
}

// TestCurlFailures: curl's exit codes for a refused connection and a timeout, with
// the error shown only without -s (or with -S).
func TestCurlFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	code, _, errOut := runCurl(t, "-s", closed+"/")
	if code != exitConnect || errOut != "" {
		t.Errorf("refused: exit %d stderr %q, want %d and silence", code, errOut, exitConnect)
	}
	if code, _, errOut = runCurl(t, "-sS", closed+"/"); code != exitConnect || !strings.Contains(errOut, "curl: (7)") {
		t.Errorf("refused with -S: exit %d stderr %q", code, errOut)
	}

	stall := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stall }))
	defer slow.Close()
	defer close(stall)
	start := time.Now()
	if code, _, _ = runCurl(t, "-s", "-m", "0.2", slow.URL); code != exitTimeout {
		t.Errorf("stalled server: exit %d, want %d", code, exitTimeout)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("-m 0.2 took %v", took)
	}
}

// TestCurlConnectTimeout: --connect-timeout bounds a connect that gets no answer
// (a listener whose accept queue is full drops new SYNs) with curl's exit 28.
func TestCurlConnectTimeout(t *testing.T) {
	addr := fullListener(t)
	start := time.Now()
	code, _, errOut := runCurl(t, "-sS", "--connect-timeout", "0.3", addr+"/")
	if code != exitTimeout || !strings.Contains(errOut, "(28)") {
		t.Errorf("exit %d stderr %q, want %d", code, errOut, exitTimeout)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("--connect-timeout 0.3 took %v", took)
	}
}

// fullListener listens on loopback with a backlog of 0 and fills its accept
// queue, so further connects hang in SYN retransmission.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for i := 0; i < 8; i++ { // more than the queue holds; the rest time out
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("the kernel accepted every connect to a listener with backlog 0")
	return ""
}

func TestDispatch(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"rampart-demo", "-version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "rampart-demo ") {
		t.Errorf("-version: exit %d %q", code, out.String())
	}
	if code := run(context.Background(), []string{"rampart-demo", "nope"}, &out, &errb); code != 2 {
		t.Errorf("unknown app: exit %d", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := run(ctx, []string{"/usr/local/bin/sleep"}, &out, &errb); code != 0 {
		t.Errorf("sleep after cancel: exit %d", code)
	}
}

// TestDeathstarServes runs the deathstar app on a loopback port and asks it for a
// landing.
func TestDeathstarServes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"deathstar", "-listen", addr, "-name", "ds-9"}, &logs, os.Stderr) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("deathstar exit %d", code)
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, out, _ := runCurl(t, "-s", "-XPOST", addr+"/v1/request-landing")
		if code == 0 && out == starwars.LandedBody {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deathstar never answered: exit %d %q", code, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func FuzzParseCurlArgs(f *testing.F) {
	f.Add("-s\x00-XPOST\x00deathstar/v1/request-landing")
	f.Add("--request=PUT\x00-H\x00X-Has-Force: True\x00-m\x001.5\x00--\x00-x")
	f.Add("-sSfiL\x00-w%{http_code}\x00u")
	f.Add("--connect-timeout=NaN\x00-m\x00inf\x00u")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseCurlArgs(strings.Split(s, "\x00"))
		if err != nil {
			return
		}
		for _, h := range o.headers {
			if strings.ContainsAny(h, "\r\n") {
				t.Fatalf("header with a line break from %q", s)
			}
		}
		if strings.ContainsAny(o.method, " \r\n\t") {
			t.Fatalf("method %q from %q", o.method, s)
		}
		for _, d := range []time.Duration{o.maxTime, o.connectTO} {
			if d < 0 || d > 24*time.Hour {
				t.Fatalf("timeout %v from %q", d, s)
			}
		}
	})
}
