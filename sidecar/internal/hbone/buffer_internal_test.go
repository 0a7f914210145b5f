package hbone

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// TestStreamBufferBoundedByWindow: a reader that never quite catches up with a
// sender keeping the window full must not make the stream's buffer grow with
// every byte carried (only unread bytes are bounded by the window), and a stream
// read to its end holds no chunk.
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
				s.c.mu.Lock()
				if h := s.rb.held(); h != 0 {
					t.Errorf("a stream read to its end holds %d bytes", h)
				}
				s.c.mu.Unlock()
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
	if m := <-largest; m > window+2*chunkSize {
		t.Fatalf("stream buffer reached %d KiB for a %d KiB window", m>>10, window>>10)
	}
}

// FuzzRecvBuf writes and reads a stream buffer in the sizes the input gives
// and checks it against a plain byte slice: same bytes out, at most two chunks
// of rounding, nothing held once empty.
func FuzzRecvBuf(f *testing.F) {
	f.Add([]byte{10, 200, 3, 255, 255, 1, 0, 7})
	f.Add([]byte{255, 255, 255, 255, 128, 128, 128, 128})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var b recvBuf
		var want []byte
		seq := byte(0)
		for i, op := range ops {
			n := int(op) * 97 // up to ~24 KiB: across chunk boundaries
			if i%2 == 0 {
				p := make([]byte, n)
				for j := range p {
					p[j], seq = seq, seq+1
				}
				b.write(p)
				want = append(want, p...)
			} else {
				p := make([]byte, n)
				k := b.read(p)
				if k != min(n, len(want)) || string(p[:k]) != string(want[:k]) {
					t.Fatalf("read %d bytes, want %d of %d buffered, or wrong bytes", k, min(n, len(want)), len(want))
				}
				want = want[k:]
			}
			if b.len() != len(want) || b.held() > len(want)+2*chunkSize || len(want) == 0 && b.held() != 0 {
				t.Fatalf("%d unread (want %d), %d held", b.len(), len(want), b.held())
			}
		}
		b.reset()
		if b.len() != 0 || b.held() != 0 {
			t.Fatal("reset buffer not empty")
		}
	})
}

// FuzzFrameMeter passes bytes through the meter in the read sizes the input
// gives and checks the frames it counts against a frame-by-frame parse.
func FuzzFrameMeter(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x09\x00\x00\x00\x00\x01\x00\x00\x02\x09\x00\x00\x00\x00\x01ab"), uint8(3))
	f.Add([]byte("\x00\x00\x05\x00\x00\x00\x00\x00\x01hello"), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, step uint8) {
		// Read as the framer does (a header, then its payload) through the
		// read buffer from a connection that returns at most size bytes a read.
		size := int(step%16) + 1
		m := &frameMeter{r: &readBuf{r: &trickle{p: stream, size: size}}}
		var got []byte
		for m.violation == nil {
			hdr := make([]byte, frameHeaderLen)
			if _, err := io.ReadFull(m, hdr); err != nil {
				break
			}
			payload := make([]byte, int(hdr[0])<<16|int(hdr[1])<<8|int(hdr[2]))
			n, err := io.ReadFull(m, payload)
			got = append(append(got, hdr...), payload[:n]...)
			if err != nil {
				break
			}
		}
		if m.violation == nil && !bytes.HasPrefix(stream, got) {
			t.Fatal("bytes changed on their way through the read buffer")
		}
		// The reference: walk whole frames.
		run, violated, p := 0, false, stream
		for len(p) >= 9 && !violated {
			length := int(p[0])<<16 | int(p[1])<<8 | int(p[2])
			if p[3] == frameContinuation {
				if length > 0 {
					run = 0
				} else if run++; run > maxEmptyRun {
					violated = true
				}
			}
			p = p[min(len(p), 9+length):]
		}
		if violated != (m.violation != nil) {
			t.Fatalf("meter violation %v, reference %v", m.violation, violated)
		}
		if !violated && m.emptyRun != run {
			t.Fatalf("meter counts %d empty CONTINUATION frames in a row, reference %d", m.emptyRun, run)
		}
	})
}

// trickle is a connection that returns at most size bytes a read.
type trickle struct {
	p    []byte
	size int
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.p) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), t.size)], t.p)
	t.p = t.p[n:]
	return n, nil
}
