package httpx_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawcase"
)

// bufferAndForward reads raw's head, buffers up to limit bytes of its body and
// forwards the request; it returns the forwarded bytes and the RequestBody.
func bufferAndForward(raw []byte, limit int) (string, *httpx.RequestBody, string) {
	br := bufio.NewReader(bytes.NewReader(raw))
	cfg := httpx.Config{MaxBodyBytes: 1 << 16}
	req, err := httpx.ReadRequest(br, cfg)
	if err != nil {
		return "", nil, statusOf(err)
	}
	var rb httpx.RequestBody
	if err := rb.Buffer(br, req, nil, limit, cfg.MaxBodyBytes); err != nil {
		return "", nil, statusOf(err)
	}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	httpx.WriteHead(w, req, nil)
	if _, err := rb.WriteTo(w); err != nil {
		return "", nil, statusOf(err)
	}
	w.Flush()
	return out.String(), &rb, "ok"
}

// appBody is the body an independent parser (net/http) reads from a forwarded request.
func appBody(t *testing.T, forwarded string) []byte {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewBufferString(forwarded)))
	if err != nil {
		t.Fatalf("forwarded request does not parse: %v\n%q", err, forwarded)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("forwarded body: %v\n%q", err, forwarded)
	}
	return b
}

func TestRequestBodyBuffer(t *testing.T) {
	cases := []struct {
		name, raw string
		limit     int
		prefix    string
		truncated bool
		forwarded string // the body as the app reads it
	}{
		{"length whole", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 8, "hello", false, "hello"},
		{"length exact", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 5, "hello", false, "hello"},
		{"length cut", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", 4, "hell", true, "hello world"},
		{"empty", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 8, "", false, ""},
		{"chunked whole", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\nT: v\r\n\r\n", 8, "hello", false, "hello"},
		{"chunked cut mid-chunk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n8\r\nlo world\r\n0\r\n\r\n", 5, "hello", true, "hello world"},
		{"chunked cut at boundary", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", 3, "hel", true, "hello"},
		{"chunked limit is length", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n", 5, "hello", false, "hello"},
		{"chunked empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 5, "", false, ""},
		{"limit zero", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi", 0, "", true, "hi"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, rb, status := bufferAndForward([]byte(c.raw), c.limit)
			if status != "ok" {
				t.Fatalf("status %s", status)
			}
			if rb.Prefix == nil || string(rb.Prefix) != c.prefix || rb.Truncated != c.truncated {
				t.Errorf("prefix %q (nil %v) truncated %v, want %q %v", rb.Prefix, rb.Prefix == nil, rb.Truncated, c.prefix, c.truncated)
			}
			if got := appBody(t, out); string(got) != c.forwarded {
				t.Errorf("app read %q, want %q", got, c.forwarded)
			}
		})
	}
}

func TestRequestBodyRefused(t *testing.T) {
	for name, raw := range map[string]string{
		"bad chunk size": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhel\r\n0\r\n\r\n",
		"chunk too long": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhel\r\n0\r\n\r\n",
		"over hard cap":  "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10001\r\n",
		"short length":   "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nhi",
	} {
		if _, _, status := bufferAndForward([]byte(raw), 4); status == "ok" {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzRequestBody checks that buffering a prefix for the policy never changes what
// the app receives: the forwarded body equals the one CopyBody forwards, the prefix
// is its beginning, and Truncated says exactly whether it was cut.
func FuzzRequestBody(f *testing.F) {
	for _, c := range rawcase.Load(f, "testdata/requests") {
		f.Add(c.Raw, uint16(3))
	}
	f.Fuzz(func(t *testing.T, raw []byte, limit uint16) {
		plain, status := forward(raw, httpx.Config{MaxBodyBytes: 1 << 16})
		out, rb, status2 := bufferAndForward(raw, int(limit))
		if status != "ok" {
			return // CopyBody may refuse later than Buffer; both refuse then
		}
		if status2 != "ok" {
			t.Fatalf("buffered forward refused (%s) what CopyBody forwards", status2)
		}
		want, got := appBody(t, plain), appBody(t, out)
		if !bytes.Equal(want, got) {
			t.Fatalf("app body %q, without buffering %q", got, want)
		}
		if !bytes.HasPrefix(want, rb.Prefix) || len(rb.Prefix) != min(len(want), int(limit)) || rb.Truncated != (len(want) > int(limit)) {
			t.Fatalf("prefix %q truncated %v of body %q (limit %d)", rb.Prefix, rb.Truncated, want, limit)
		}
	})
}

// stallingReader returns its bytes, then an error as a stalled client's read would.
type stallingReader struct{ r io.Reader }

func (s *stallingReader) Read(p []byte) (int, error) {
	if n, _ := s.r.Read(p); n > 0 {
		return n, nil
	}
	return 0, errors.New("stalled")
}

// TestRequestBodyGrowsAsBytesArrive: a head announcing a large body does not
// make Buffer reserve the limit; what it holds follows what arrived.
func TestRequestBodyGrowsAsBytesArrive(t *testing.T) {
	raw := "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("x", 100)
	br := bufio.NewReader(&stallingReader{strings.NewReader(raw)})
	req, err := httpx.ReadRequest(br, httpx.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var rb httpx.RequestBody
	if err := rb.Buffer(br, req, nil, 64<<10, -1); err == nil {
		t.Fatal("a stalled body was buffered")
	}
	if len(rb.Prefix) != 100 || cap(rb.Prefix) > 1024 {
		t.Errorf("holds %d bytes in %d for 100 that arrived", len(rb.Prefix), cap(rb.Prefix))
	}
}

// TestRequestBodyJoinsChunks: past the buffered prefix, a body sent in thousands
// of small chunks (1000 of one byte, then 4 bytes each) reaches the app intact in
// a few large chunks.
func TestRequestBodyJoinsChunks(t *testing.T) {
	body := strings.Repeat("abcdefghij", 3000)
	var raw strings.Builder
	raw.WriteString("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
	for i := 0; i < len(body); {
		n := 1
		if i >= 1000 {
			n = min(4, len(body)-i)
		}
		fmt.Fprintf(&raw, "%x\r\n%s\r\n", n, body[i:i+n])
		i += n
	}
	raw.WriteString("0\r\n\r\n")
	for _, limit := range []int{0, 10, 1000} {
		out, _, status := bufferAndForward([]byte(raw.String()), limit)
		if status != "ok" {
			t.Fatalf("limit %d: status %s", limit, status)
		}
		if got := appBody(t, out); string(got) != body {
			t.Fatalf("limit %d: app read %d bytes, want %d", limit, len(got), len(body))
		}
		if n := strings.Count(out, "\r\n"); n > 20 {
			t.Errorf("limit %d: forwarded with %d line ends: chunks were not joined", limit, n)
		}
	}
}

// TestSmallChunkBound: a request body may have 1024 chunks of any size, then one
// more per 4 bytes of data; past that it is refused with 400, whether it is
// forwarded as it streams or buffered first. Response bodies are not bounded.
func TestSmallChunkBound(t *testing.T) {
	cases := []struct {
		name   string
		chunks []int // chunk sizes, in order
		want   string
	}{
		{"1365 one-byte chunks", repeatInts(1, 1365), "ok"},
		{"1366 one-byte chunks", repeatInts(1, 1366), "400"},
		{"100 000 one-byte chunks", repeatInts(1, 100000), "400"},
		{"10 000 chunks of 4 bytes", repeatInts(4, 10000), "ok"},
		{"5000 chunks of 3 bytes", repeatInts(3, 5000), "400"},
		{"a stream of 3000 20-byte events", repeatInts(20, 3000), "ok"},
		{"one large chunk, then 2000 one-byte chunks", append([]int{16 << 10}, repeatInts(1, 2000)...), "ok"},
		{"2000 one-byte chunks, then one large chunk", append(repeatInts(1, 2000), 16<<10), "400"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body, raw strings.Builder
			raw.WriteString("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
			for i, n := range c.chunks {
				data := strings.Repeat(string(rune('a'+i%26)), n)
				body.WriteString(data)
				fmt.Fprintf(&raw, "%x\r\n%s\r\n", n, data)
			}
			raw.WriteString("0\r\n\r\n")
			out, status := forward([]byte(raw.String()), httpx.Config{MaxBodyBytes: 1 << 20})
			if status != c.want {
				t.Fatalf("CopyBody: %s, want %s", status, c.want)
			}
			if status == "ok" && string(appBody(t, out)) != body.String() {
				t.Fatalf("CopyBody: the app read another body")
			}
			for _, limit := range []int{0, 100, 16 << 10} {
				out, _, status := bufferAndForward([]byte(raw.String()), limit)
				if status != c.want {
					t.Fatalf("Buffer(%d): %s, want %s", limit, status, c.want)
				}
				if status == "ok" && string(appBody(t, out)) != body.String() {
					t.Fatalf("Buffer(%d): the app read another body", limit)
				}
			}
			resp := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + raw.String()[strings.Index(raw.String(), "\r\n\r\n")+4:]
			got, status := receive([]byte(resp), "GET", httpx.Config{})
			if status != "ok" || got.body != body.String() {
				t.Fatalf("response body: %s, %d bytes of %d", status, len(got.body), body.Len())
			}
		})
	}
}

func repeatInts(v, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = v
	}
	return s
}
