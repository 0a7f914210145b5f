package tlshello_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rampart-mesh/rampart/sidecar/egress/tlshello"
)

var errKinds = map[string]error{
	"nottls":    tlshello.ErrNotTLS,
	"malformed": tlshello.ErrMalformed,
	"toolarge":  tlshello.ErrTooLarge,
}

func TestRead(t *testing.T) {
	for _, c := range loadCases(t) {
		t.Run(c.name, func(t *testing.T) {
			in := c.stream(t)
			// Bytes after the hello must stay unread: the proxy forwards them itself.
			after := []byte("after")
			if c.fields["err"] != "" {
				after = nil // a truncated hello would be completed by them
			}
			all := append(append([]byte{}, in...), after...)
			rest := bytes.NewReader(all)
			raw, h, err := tlshello.Read(rest, 0)
			if !bytes.HasPrefix(all, raw) {
				t.Fatalf("raw is not a prefix of the stream")
			}
			if want := c.fields["err"]; want != "" {
				if !errors.Is(err, errKinds[want]) {
					t.Fatalf("err = %v, want %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if !bytes.Equal(raw, in) {
				t.Errorf("raw holds %d bytes, the hello %d", len(raw), len(in))
			}
			if left, _ := io.ReadAll(rest); !bytes.Equal(left, after) {
				t.Errorf("read past the hello: %q left", left)
			}
			want := c.fields["want"]
			if want == "none" {
				want = ""
			}
			if h.ServerName != want || h.IPLiteral != (c.fields["ip"] == "true") ||
				h.ECH != (c.fields["ech"] == "true") {
				t.Errorf("got %+v, want name %q ip=%s ech=%s", h, want, c.fields["ip"], c.fields["ech"])
			}
		})
	}
}

// TestReadOneByteSegments feeds every valid case a byte per read, as a client
// writing its hello in one-byte TCP segments would.
func TestReadOneByteSegments(t *testing.T) {
	for _, c := range loadCases(t) {
		if c.fields["want"] == "" {
			continue
		}
		in := c.stream(t)
		_, h, err := tlshello.Read(&oneByte{b: in}, 0)
		if err != nil || h.ServerName != strings.TrimSuffix(c.fields["want"], "none") {
			t.Errorf("%s: got %+v, %v", c.name, h, err)
		}
	}
}

type oneByte struct{ b []byte }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	p[0], o.b = o.b[0], o.b[1:]
	return 1, nil
}

// TestReadRealClient reads the hello of crypto/tls, then hands the bytes read
// (and the rest of the connection) to a real TLS server: the handshake completes,
// so Read forwards the hello unchanged.
func TestReadRealClient(t *testing.T) {
	cert := selfSigned(t, "github.com")
	for _, name := range []string{"github.com", "GitHub.com."} {
		t.Run(name, func(t *testing.T) {
			cli, srv := net.Pipe()
			defer cli.Close()
			defer srv.Close()
			done := make(chan error, 1)
			go func() {
				c := tls.Client(cli, &tls.Config{ServerName: name, InsecureSkipVerify: true})
				c.SetDeadline(time.Now().Add(5 * time.Second))
				done <- c.Handshake()
			}()
			srv.SetDeadline(time.Now().Add(5 * time.Second))
			raw, h, err := tlshello.Read(srv, 0)
			if err != nil || h.ServerName != "github.com" || h.ECH || h.IPLiteral {
				t.Fatalf("got %+v, %v", h, err)
			}
			s := tls.Server(replay{Conn: srv, r: io.MultiReader(bytes.NewReader(raw), srv)},
				&tls.Config{Certificates: []tls.Certificate{cert}})
			if err := s.Handshake(); err != nil {
				t.Fatalf("server handshake after Read: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("client handshake: %v", err)
			}
		})
	}
}

// replay is a conn whose reads come from r first.
type replay struct {
	net.Conn
	r io.Reader
}

func (c replay) Read(p []byte) (int, error) { return c.r.Read(p) }
