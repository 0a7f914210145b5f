package egress_test

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/rampart-mesh/rampart/sidecar/egress/egresstest"
)

type bypassCase struct {
	egresstest.Case
	name, app, to, port string
	f                   map[string]string
}

func loadBypass(t *testing.T) []bypassCase {
	cases, err := egresstest.LoadCorpus("testdata/bypass.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []bypassCase
	for _, c := range cases {
		out = append(out, bypassCase{Case: c, name: c.Name, app: c.App, to: c.To, port: c.Port, f: c.Fields})
	}
	return out
}

func (c bypassCase) bytes(t *testing.T) []byte {
	b, err := c.Case.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBypassCorpus sends every case of testdata/bypass.txt through the guard:
// nothing may reach a backend the policy denies, and every denial is visible
// (403/400 for HTTP, an access_denied alert for TLS, a close otherwise).
func TestBypassCorpus(t *testing.T) {
	e := newEnv(t)
	cases := loadBypass(t)
	if len(cases) < 30 {
		t.Fatalf("%d cases, the issue asks for at least 30", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := e.guard(t, c.app, nil)
			target := e.backends[c.to+"/"+c.port]
			before := map[string]string{}
			for k, b := range e.backends {
				before[k], _ = b.received()
			}
			_, connsBefore := target.received()
			seg, _ := strconv.Atoi(c.f["segment"])
			raw := c.bytes(t)
			out := send(t, g, target.addr(), raw, seg)
			time.Sleep(20 * time.Millisecond) // a dial, had there been one, is accepted by now
			got, conns := target.received()
			got = strings.TrimPrefix(got, before[c.to+"/"+c.port])
			switch c.f["want"] {
			case "allow":
				if got == "" {
					t.Fatalf("nothing reached %s; answer %q", c.to, out)
				}
				if c.port == "https" && !bytes.Equal([]byte(got), raw) {
					t.Errorf("the hello was not forwarded unchanged")
				}
				if c.f["h2c"] != "" {
					if status, body := h2Answer(t, out); status != "200" || body != "ok" {
						t.Errorf("h2c answer %s %q, want the backend's 200 ok", status, body)
					}
				} else if !bytes.Contains(out, []byte("HTTP/1.1 200 OK")) {
					t.Errorf("answer %q, want the backend's", out)
				}
			case "deny":
				if got != "" || conns != connsBefore {
					t.Fatalf("%q reached %s", got, c.to)
				}
				checkDenial(t, c, out)
			default:
				t.Fatalf("want=%q", c.f["want"])
			}
			if s := c.f["forbid"]; s != "" {
				for k, b := range e.backends {
					now, _ := b.received()
					if strings.Contains(strings.TrimPrefix(now, before[k]), s) {
						t.Errorf("%q reached %s", s, k)
					}
				}
			}
		})
	}
}

var alert = []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 49}

// checkDenial: a ClientHello gets the access_denied alert, an HTTP request line a
// 4xx (or 505) response, other bytes a plain close.
func checkDenial(t *testing.T, c bypassCase, out []byte) {
	t.Helper()
	var ok bool
	switch {
	case c.f["h2c"] != "":
		status, body := h2Answer(t, out)
		// 403 with the policy's body, 400 for a request refused before the policy,
		// or a stream reset by the HTTP/2 server itself (it refuses an :authority
		// that is no host, or a Host header disagreeing with it, before any handler).
		ok = (status == "403" && strings.HasPrefix(body, "Access denied")) || status == "400" || status == "reset"
	case bytes.HasPrefix(c.bytes(t), []byte(http2.ClientPreface)):
		status, _ := h2Answer(t, out)
		ok = status == "" // no stream was opened: nothing to answer
	case c.f["hello"] != "" || bytes.HasPrefix(c.bytes(t), []byte{0x16}):
		ok = bytes.Equal(out, alert)
	case c.port == "http" && len(c.bytes(t)) > 0 && c.bytes(t)[0] >= 'A' && c.bytes(t)[0] <= 'Z':
		ok = bytes.HasPrefix(out, []byte("HTTP/1.1 4")) || bytes.HasPrefix(out, []byte("HTTP/1.1 505 "))
	default:
		ok = len(out) == 0
	}
	if !ok {
		t.Errorf("denial answered %q", out)
	}
}

// h2Answer reads the server's side of an h2c connection: the :status and body
// of stream 1 ("" when it was never answered, "reset" for RST_STREAM).
func h2Answer(t *testing.T, out []byte) (status, body string) {
	t.Helper()
	fr := http2.NewFramer(io.Discard, bytes.NewReader(out))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return status, body
		}
		if f.Header().StreamID != 1 {
			continue
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			if v := f.PseudoValue("status"); v != "" {
				status = v
			}
		case *http2.DataFrame:
			body += string(f.Data())
		case *http2.RSTStreamFrame:
			status = "reset"
		}
	}
}
