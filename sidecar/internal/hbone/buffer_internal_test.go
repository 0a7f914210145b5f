package hbone

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestStreamBufferBoundedByWindow: a reader that never quite catches up with a
// sender keeping the window full must not make the stream's buffer grow with
// every byte carried (only unread bytes are bounded by the window).
func TestStreamBufferBoundedByWindow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() { a, _ := ln.Accept(); accepted <- a }()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-accepted
	const window = 256 << 10
	largest := make(chan int, 1)
	go Serve(context.Background(), a, Config{StreamWindow: window}, func(s *Stream) {
		s.Accept()
		p := make([]byte, 32<<10)
		m := 0
		for {
			_, err := s.Read(p)
			s.c.mu.Lock()
			m = max(m, s.rb.held())
			s.c.mu.Unlock()
			if err != nil {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		largest <- m
	})
	c, err := Client(b, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Reserve()
	s, err := c.Connect(context.Background(), "198.18.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for range 256 { // 16 MiB, 64 windows
		if _, err := s.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	s.CloseWrite()
	if m := <-largest; m > 4*window {
		t.Fatalf("stream buffer reached %d KiB for a %d KiB window", m>>10, window>>10)
	}
}
