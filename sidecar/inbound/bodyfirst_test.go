package inbound_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/inbound"
)

// countingApp is an HTTP/1.1 and h2c app that counts the connections it
// accepted and the requests it started on, and answers every request with the
// length and the last bytes of the body it read.
type countingApp struct {
	addr     string
	accepted atomic.Int64
	started  atomic.Int64
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func startCountingApp(t *testing.T) *countingApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &countingApp{addr: ln.Addr().String()}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Protocols: new(http.Protocols), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.started.Add(1)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d %s", len(b), b[max(len(b)-8, 0):])
	})}
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(countingListener{ln, &a.accepted})
	t.Cleanup(func() { srv.Close() })
	return a
}

// TestBodyReadBeforeForwarding: an allowed request whose body arrives slowly
// reaches the app only once its body is complete (the app has no connection
// while the client dawdles), a body that does not arrive within ReadHeader is
// answered 408 without the app ever being contacted, and bodies larger than
// what is read first (Content-Length, and chunked in tiny chunks) stream on and
// arrive whole.
func TestBodyReadBeforeForwarding(t *testing.T) {
	a := startCountingApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive,
		Upstream: a.addr, Timeouts: inbound.Timeouts{ReadHeader: time.Second}})
	head := "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\n"

	t.Run("slow body", func(t *testing.T) {
		c := dialRaw(t, addr)
		write(t, c, head+"Content-Length: 10\r\n\r\nhello")
		time.Sleep(300 * time.Millisecond) // the proxy has read the head and the first bytes
		if n := a.accepted.Load(); n != 0 {
			t.Fatalf("app had %d connections before the body was complete", n)
		}
		write(t, c, "world")
		if st, body := readAnswer(t, c); st != 200 || body != "10 lloworld" {
			t.Fatalf("answer %d %q", st, body)
		}
	})

	t.Run("stalled body", func(t *testing.T) {
		before := a.accepted.Load()
		c := dialRaw(t, addr)
		write(t, c, head+"Content-Length: 10\r\n\r\nhel")
		if st, _ := readAnswer(t, c); st != http.StatusRequestTimeout {
			t.Fatalf("status %d, want 408", st)
		}
		if n := a.accepted.Load() - before; n != 0 {
			t.Errorf("the app got %d connections for a body that never arrived", n)
		}
	})

	big := strings.Repeat("0123456789abcdef", 20000) + "the end."
	var chunked strings.Builder
	chunked.WriteString(head + "Transfer-Encoding: chunked\r\n\r\n")
	for i := 0; i < len(big); i += 7 {
		part := big[i:min(i+7, len(big))]
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", len(part), part)
	}
	chunked.WriteString("0\r\n\r\n")
	for name, raw := range map[string]string{
		"large length":  head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(big)) + big,
		"large chunked": chunked.String(),
	} {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, addr)
			go c.Write([]byte(raw))
			want := fmt.Sprintf("%d the end.", len(big))
			if st, body := readAnswer(t, c); st != 200 || body != want {
				t.Fatalf("answer %d %q, want 200 %q", st, body, want)
			}
		})
	}
}

// TestStreamBodies: with StreamBodies (rampart-proxy --stream-request-bodies) a
// body is forwarded as it arrives, as Envoy does: the app has the request before
// the body is complete, and a body slower than ReadHeader is not cut with 408.
func TestStreamBodies(t *testing.T) {
	a := startCountingApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive,
		Upstream: a.addr, StreamBodies: true, Timeouts: inbound.Timeouts{ReadHeader: 300 * time.Millisecond}})
	c := dialRaw(t, addr)
	write(t, c, "POST /v1/request-landing HTTP/1.1\r\nHost: deathstar\r\nContent-Length: 10\r\n\r\nhello")
	deadline := time.Now().Add(5 * time.Second)
	for a.accepted.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if a.accepted.Load() == 0 {
		t.Fatal("the app got no connection while the body streamed")
	}
	time.Sleep(500 * time.Millisecond) // past ReadHeader: a buffered body would be 408 now
	write(t, c, "world")
	if st, body := readAnswer(t, c); st != 200 || body != "10 lloworld" {
		t.Fatalf("answer %d %q", st, body)
	}
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

func readAnswer(t *testing.T, c net.Conn) (int, string) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBodyReadBeforeForwardingH2: the same over h2c. A stream whose body
// arrives slowly reaches the app once the body is complete; a gRPC stream is
// forwarded at once (its client may wait for answers between messages).
func TestBodyReadBeforeForwardingH2(t *testing.T) {
	a := startCountingApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive,
		Upstream: a.addr, Timeouts: inbound.Timeouts{ReadHeader: 5 * time.Second}})
	c := h2cClient(t)
	post := func(ctype string, body io.Reader) (*http.Response, error) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/request-landing", body)
		req.Header.Set("Content-Type", ctype)
		return c.Do(req)
	}
	if resp, err := post("text/plain", strings.NewReader("warm")); err != nil {
		t.Fatal(err) // the first stream also learns which protocol the app speaks
	} else {
		resp.Body.Close()
	}
	for _, tc := range []struct {
		ctype     string
		heldUntil bool // the app is contacted only once the body is complete
	}{{"text/plain", true}, {"application/grpc", false}} {
		before := a.started.Load()
		pr, pw := io.Pipe()
		type answer struct {
			resp *http.Response
			err  error
		}
		done := make(chan answer, 1)
		go func() { resp, err := post(tc.ctype, pr); done <- answer{resp, err} }()
		io.WriteString(pw, "hello")
		time.Sleep(300 * time.Millisecond)
		if contacted := a.started.Load() > before; contacted == tc.heldUntil {
			t.Errorf("%s: app contacted %v before the body was complete", tc.ctype, contacted)
		}
		io.WriteString(pw, "world")
		pw.Close()
		ans := <-done
		if ans.err != nil {
			t.Fatalf("%s: %v", tc.ctype, ans.err)
		}
		b, _ := io.ReadAll(ans.resp.Body)
		ans.resp.Body.Close()
		if ans.resp.StatusCode != 200 || string(b) != "10 lloworld" {
			t.Errorf("%s: answer %d %q", tc.ctype, ans.resp.StatusCode, b)
		}
	}
}

// TestBodyStalledH2: a stream whose body stops before it is complete is
// answered 408 once ReadHeader has passed, and the app never sees it.
func TestBodyStalledH2(t *testing.T) {
	a := startCountingApp(t)
	addr := startProxy(t, inbound.Options{Authorizer: engine(t, "testdata/policy"), Mode: inbound.Permissive,
		Upstream: a.addr, Timeouts: inbound.Timeouts{ReadHeader: 500 * time.Millisecond}})
	pr, pw := io.Pipe()
	defer pw.Close()
	go io.WriteString(pw, "hel")
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/request-landing", pr)
	start := time.Now()
	resp, err := h2cClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || time.Since(start) < 400*time.Millisecond {
		t.Errorf("status %d after %v, want 408 after ReadHeader (500ms)", resp.StatusCode, time.Since(start))
	}
	if n := a.started.Load(); n != 0 {
		t.Errorf("the app saw %d requests", n)
	}
}
