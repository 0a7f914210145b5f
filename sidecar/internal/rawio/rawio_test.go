package rawio_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/internal/rawio"
)

// pair returns a wrapped client connection and the server's end.
func pair(t *testing.T) (*rawio.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	rc := rawio.New(c.(*net.TCPConn))
	t.Cleanup(func() { rc.Close(); s.Close() })
	return rc, s
}

func TestWrapKeepsOtherConns(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := rawio.Wrap(a); got != a {
		t.Fatalf("Wrap(pipe) = %T, want the pipe itself", got)
	}
}

// A large write fills the socket buffers (EAGAIN inside) and must still deliver
// every byte, in order, while the peer reads slowly; reads return what arrived.
func TestLargeWriteAndRead(t *testing.T) {
	c, s := pair(t)
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	done := make(chan error, 1)
	go func() {
		n, err := c.Write(want)
		if err == nil && n != len(want) {
			err = errors.New("short write")
		}
		if err == nil {
			err = c.CloseWrite()
		}
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the writer block on a full buffer
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d (equal: false)", len(got), len(want))
	}
	// The other way: what the peer sends, then EOF.
	go func() { s.Write([]byte("hello")); s.(*net.TCPConn).CloseWrite() }()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "hello" {
		t.Fatalf("ReadAll = %q, %v", b, err)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
	}
}

func TestReadDeadline(t *testing.T) {
	c, _ := pair(t)
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	start := time.Now()
	_, err := c.Read(make([]byte, 8))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read = %v, want a timeout (os.ErrDeadlineExceeded)", err)
	}
	if d := time.Since(start); d < 25*time.Millisecond {
		t.Fatalf("Read returned after %v, before its deadline", d)
	}
}

func TestWriteDeadline(t *testing.T) {
	c, _ := pair(t) // the peer never reads: the buffers fill
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := c.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %d, %v; want a timeout", n, err)
	}
	if n == 0 || n >= 64<<20 {
		t.Fatalf("Write wrote %d bytes: want part of the buffer", n)
	}
}

func TestClosed(t *testing.T) {
	c, _ := pair(t)
	errc := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 8)); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	c.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read during Close = %v, want net.ErrClosed", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

func TestReset(t *testing.T) {
	c, s := pair(t)
	s.(*net.TCPConn).SetLinger(0)
	s.Close() // RST
	time.Sleep(10 * time.Millisecond)
	_, err := c.Read(make([]byte, 8))
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" || err == io.EOF {
		t.Fatalf("Read after a reset = %v, want a read *net.OpError", err)
	}
}

func TestReadReady(t *testing.T) {
	c, s := pair(t)
	buf := make([]byte, 16)
	if n := c.ReadReady(buf); n != 0 {
		t.Fatalf("ReadReady with nothing sent = %d", n)
	}
	s.Write([]byte("early"))
	deadline := time.Now().Add(time.Second)
	n := 0
	for n == 0 && time.Now().Before(deadline) {
		n = c.ReadReady(buf)
	}
	if string(buf[:n]) != "early" {
		t.Fatalf("ReadReady = %q, want early", buf[:n])
	}
}

// The read and write sides work at the same time (a proxy's two directions).
func TestConcurrentReadWrite(t *testing.T) {
	c, s := pair(t)
	go io.Copy(s, s) // echo
	const total = 1 << 20
	errc := make(chan error, 1)
	go func() {
		chunk := bytes.Repeat([]byte{'x'}, 1000)
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := c.Write(chunk[:min(len(chunk), total-sent)]); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	n, err := io.ReadFull(c, make([]byte, total))
	if err != nil || n != total {
		t.Fatalf("read back %d, %v", n, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestCloseWriteAndRead(t *testing.T) {
	c, s := pair(t)
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := s.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("peer Read after CloseWrite = %d, %v; want EOF", n, err)
	}
	if _, err := s.Write([]byte("still open")); err != nil {
		t.Fatalf("peer Write after CloseWrite: %v", err)
	}
	if err := c.CloseRead(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := c.CloseWrite(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("CloseWrite after Close = %v, want net.ErrClosed", err)
	}
}
