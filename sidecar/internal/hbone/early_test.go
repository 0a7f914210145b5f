package hbone_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/internal/hbone"
)

// TestConnectEarly: early data that fits the windows and one frame reaches the
// server's stream before the server answers the CONNECT (no round trip first);
// early data that does not fit still arrives, after the answer, in order with
// what follows.
func TestConnectEarly(t *testing.T) {
	for _, tc := range []struct {
		name        string
		early       int
		beforeReply bool
	}{
		{"small", 300, true},
		{"one-frame", 16 << 10, true},
		{"over-window", 100 << 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			preAccept := make(chan int, 1)
			addr, cli, cancel := serve(t, hbone.Config{}, func(s *hbone.Stream) {
				s.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				buf := make([]byte, tc.early)
				n, _ := io.ReadFull(s, buf)
				preAccept <- n
				s.SetReadDeadline(time.Time{})
				if s.Accept() != nil {
					return
				}
				s.Write(buf[:n]) // what came before the answer, then the rest
				io.Copy(s, s)
				s.CloseWrite()
			})
			defer cancel()
			c := dial(t, addr, cli, hbone.Config{})
			if !c.Reserve() {
				t.Fatal("Reserve: no stream available")
			}
			early := bytes.Repeat([]byte("e"), tc.early)
			ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
			defer done()
			st, err := c.ConnectEarly(ctx, "127.0.0.1:80", early)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if n := <-preAccept; (n == tc.early) != tc.beforeReply {
				t.Errorf("server read %d of %d early bytes before answering; want all: %v", n, tc.early, tc.beforeReply)
			}
			st.Write([]byte("after"))
			st.CloseWrite()
			got, err := io.ReadAll(st)
			if err != nil {
				t.Fatal(err)
			}
			if want := append(early, "after"...); !bytes.Equal(got, want) {
				t.Errorf("echo: %d bytes, want %d (early, then the rest, in order)", len(got), len(want))
			}
		})
	}
}
