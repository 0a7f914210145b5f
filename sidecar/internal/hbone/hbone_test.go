package hbone_test

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// tunnel is one open CONNECT stream as either implementation's client sees it.
type tunnel struct {
	io.Reader
	io.Writer
	closeWrite func() error
}

type opener func(t *testing.T) tunnel

// ours opens a tunnel with this package's client to this package's server.
func ours(cfg hbone.Config) opener {
	return func(t *testing.T) tunnel {
		addr, cli, _ := serve(t, cfg, echo)
		s, err := connect(t, dial(t, addr, cli, cfg), "198.18.0.1:80")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return tunnel{s, s, s.CloseWrite}
	}
}

// xnetClient opens a tunnel with x/net/http2's Transport to this package's server.
func xnetClient(t *testing.T) tunnel {
	addr, cli, _ := serve(t, hbone.Config{}, echo)
	resp, pw := xnetConnect(t, addr, cli, http.MethodConnect)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return tunnel{resp.Body, pw, pw.Close}
}

func xnetConnect(t *testing.T, addr string, cli *tls.Config, method string) (*http.Response, *io.PipeWriter) {
	tc, err := tls.Dial("tcp", addr, cli)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := (&http2.Transport{}).NewClientConn(tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	pr, pw := io.Pipe()
	req := &http.Request{Method: method, URL: &url.URL{Scheme: "https", Host: "198.18.0.1:80", Path: "/"},
		Host: "198.18.0.1:80", Header: http.Header{}, Body: pr, ContentLength: -1}
	resp, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close(); pw.Close() })
	return resp, pw
}

// xnetServer opens a tunnel with this package's client to x/net/http2's Server.
func xnetServer(t *testing.T) tunnel {
	addr, cli := startXnetServer(t)
	s, err := connect(t, dial(t, addr, cli, hbone.Config{}), "198.18.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return tunnel{s, s, s.CloseWrite}
}

// startXnetServer runs x/net/http2's Server on a loopback TLS listener; it
// answers CONNECT with 200 and echoes the stream, flushing every read.
func startXnetServer(t testing.TB) (string, *tls.Config) {
	srvTLS, cli := tlsConfigs(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		rc := http.NewResponseController(w)
		rc.Flush()
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				rc.Flush()
			}
			if err != nil {
				return
			}
		}
	})
	srv := &http2.Server{MaxConcurrentStreams: 1000}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				if c.(*tls.Conn).Handshake() == nil {
					srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
				}
			}()
		}
	}()
	return ln.Addr().String(), cli
}

// TestEcho sends payloads through a tunnel and back, between every pair of
// implementations, and with windows small enough that flow control must work.
func TestEcho(t *testing.T) {
	peers := []struct {
		name string
		open opener
	}{
		{"ours", ours(hbone.Config{})},
		{"ours-small-windows", ours(hbone.Config{StreamWindow: 16 << 10, ConnWindow: 64 << 10})},
		{"xnet-client", xnetClient},
		{"xnet-server", xnetServer},
	}
	for _, p := range peers {
		for _, size := range []int{0, 1, 16 << 10, 3 << 20} {
			t.Run(p.name+"/"+byteSize(size), func(t *testing.T) {
				tn := p.open(t)
				want := make([]byte, size)
				rand.Read(want)
				errc := make(chan error, 1)
				go func() {
					_, err := tn.Write(want)
					if err == nil {
						err = tn.closeWrite()
					}
					errc <- err
				}()
				got, err := io.ReadAll(tn)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if err := <-errc; err != nil {
					t.Fatalf("write: %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("echoed %d bytes, want %d (equal prefix: %v)", len(got), len(want), bytes.HasPrefix(want, got))
				}
			})
		}
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

// TestManyStreams runs concurrent tunnels over one connection.
func TestManyStreams(t *testing.T) {
	addr, cli, _ := serve(t, hbone.Config{MaxConcurrentStreams: 200}, echo)
	c := dial(t, addr, cli, hbone.Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			s, err := connect(t, c, "198.18.0.1:80")
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			want := bytes.Repeat([]byte{byte(i)}, 100<<10)
			go func() { s.Write(want); s.CloseWrite() }()
			got, err := io.ReadAll(s)
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("stream data mixed up")
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestRespond: a refused tunnel is a StatusError for our client, and status plus
// body for x/net's.
func TestRespond(t *testing.T) {
	addr, cli, _ := serve(t, hbone.Config{}, func(s *hbone.Stream) {
		s.Respond(403, http.Header{"Content-Type": {"text/plain"}, "Connection": {"close"}}, []byte("Access denied"))
	})
	_, err := connect(t, dial(t, addr, cli, hbone.Config{}), "198.18.0.1:80")
	var se *hbone.StatusError
	if !errors.As(err, &se) || se.Status != 403 {
		t.Fatalf("Connect = %v, want StatusError 403", err)
	}
	resp, _ := xnetConnect(t, addr, cli, http.MethodConnect)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || string(body) != "Access denied" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("x/net client got %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

// TestNotConnect: other methods reach the handler, which refuses them.
func TestNotConnect(t *testing.T) {
	addr, cli, _ := serve(t, hbone.Config{}, echo)
	resp, _ := xnetConnect(t, addr, cli, http.MethodGet)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 405 || string(body) != "CONNECT only" {
		t.Fatalf("GET got %d %q", resp.StatusCode, body)
	}
}

// TestMaxConcurrentStreams: the client keeps to the server's limit.
func TestMaxConcurrentStreams(t *testing.T) {
	addr, cli, _ := serve(t, hbone.Config{MaxConcurrentStreams: 2}, echo)
	c := dial(t, addr, cli, hbone.Config{})
	a, err := connect(t, c, "198.18.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, c, "198.18.0.1:80"); err != nil {
		t.Fatal(err)
	}
	if c.Reserve() {
		t.Fatal("Reserve granted a third stream past the server's limit of 2")
	}
	a.Close()
	if !c.Reserve() {
		t.Fatal("Reserve refused a stream after one closed")
	}
}

// TestDeadlines: an expired read deadline leaves the stream usable; a write
// deadline ends a write the peer's window holds back.
func TestDeadlines(t *testing.T) {
	results := make(chan error, 3)
	addr, cli, _ := serve(t, hbone.Config{}, func(s *hbone.Stream) {
		s.Accept()
		s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := s.Read(make([]byte, 1))
		results <- err
		s.SetReadDeadline(time.Time{})
		b := make([]byte, 1)
		_, err = io.ReadFull(s, b)
		results <- err
		s.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		_, err = s.Write(make([]byte, 8<<20)) // the client never reads
		results <- err
	})
	s, err := connect(t, dial(t, addr, cli, hbone.Config{StreamWindow: 64 << 10}), "198.18.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	if err := <-results; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past deadline: %v", err)
	}
	s.Write([]byte("x"))
	if err := <-results; err != nil {
		t.Fatalf("read after an expired deadline: %v", err)
	}
	if err := <-results; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write blocked by flow control: %v", err)
	}
}

// TestShutdown: GOAWAY stops new streams but lets an open one finish.
func TestShutdown(t *testing.T) {
	addr, cli, cancel := serve(t, hbone.Config{}, echo)
	c := dial(t, addr, cli, hbone.Config{})
	s, err := connect(t, c, "198.18.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for !c.Closing() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !c.Closing() || c.Reserve() {
		t.Fatal("client still opens streams after GOAWAY")
	}
	s.Write([]byte("still here"))
	s.CloseWrite()
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "still here" {
		t.Fatalf("open stream after GOAWAY: %q, %v", got, err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed after its last stream")
	}
}

// TestWriteAfterIdle: a write large enough to flush inside the frame writer,
// after the connection was quiet for longer than WriteTimeout, goes out (the
// write deadline is fresh before any frame is written).
func TestWriteAfterIdle(t *testing.T) {
	addr, cli, _ := serve(t, hbone.Config{}, echo)
	c := dial(t, addr, cli, hbone.Config{WriteTimeout: 300 * time.Millisecond})
	s, err := connect(t, c, "198.18.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, s)
	time.Sleep(time.Second)
	if _, err := s.Write(make([]byte, 200<<10)); err != nil {
		t.Fatalf("write after a quiet second: %v (connection: %v)", err, c.Err())
	}
}

// TestHandlerPanic: a panicking handler resets its stream only.
func TestHandlerPanic(t *testing.T) {
	addr, cli, _ := serve(t, hbone.Config{}, func(s *hbone.Stream) {
		if s.Request().Authority == "198.18.0.9:80" {
			panic("handler bug")
		}
		echo(s)
	})
	c := dial(t, addr, cli, hbone.Config{})
	if _, err := connect(t, c, "198.18.0.9:80"); err == nil {
		t.Fatal("stream of a panicking handler opened")
	}
	s, err := connect(t, c, "198.18.0.1:80")
	if err != nil {
		t.Fatalf("connection unusable after a handler panic: %v", err)
	}
	s.Close()
}
