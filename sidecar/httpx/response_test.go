package httpx_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawcase"
)

// received is one response as the proxy reads it from the app.
type received struct {
	resp    *httpx.Response
	head    string // the status line and fields as forwarded
	body    string // de-chunked
	trailer string
	rest    string // what the connection holds after the response
}

var framingNames = map[httpx.Framing]string{
	httpx.NoBody: "none", httpx.LengthBody: "length", httpx.ChunkedBody: "chunked", httpx.CloseBody: "close",
}

// receive parses one response to method from raw and reads its body to the end, or
// returns the status it is refused with.
func receive(raw []byte, method string, cfg httpx.Config) (received, string) {
	br := bufio.NewReaderSize(bytes.NewReader(raw), 64) // small: pieces and lines cross buffer refills
	resp, err := httpx.ReadResponse(br, method, cfg)
	if err != nil {
		return received{}, statusOf(err)
	}
	got := received{resp: resp}
	var head bytes.Buffer
	w := bufio.NewWriter(&head)
	httpx.WriteResponseHead(w, resp)
	w.Flush()
	got.head = head.String()
	var body httpx.BodyReader
	body.Reset(br, resp)
	var sb strings.Builder
	for {
		p, err := body.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return received{}, statusOf(err)
		}
		sb.Write(p)
	}
	got.body = sb.String()
	for _, f := range body.Trailer {
		got.trailer += f.Name + ": " + f.Value + "\r\n"
	}
	rest, _ := io.ReadAll(br)
	got.rest = string(rest)
	return got, "ok"
}

func TestReadResponseCases(t *testing.T) {
	for _, c := range rawcase.Load(t, "testdata/responses") {
		t.Run(c.Name, func(t *testing.T) {
			method := c.Want["method"]
			if method == "" {
				method = "GET"
			}
			got, status := receive(c.Raw, method, httpx.Config{})
			if status != c.Want["status"] {
				t.Fatalf("status %s, want %s", status, c.Want["status"])
			}
			if status != "ok" {
				return
			}
			for key, value := range map[string]string{
				"code":    strconv.Itoa(got.resp.Status),
				"framing": framingNames[got.resp.Framing],
				"close":   strconv.FormatBool(got.resp.Close),
				"length":  strconv.FormatInt(got.resp.ContentLength, 10),
				"upgrade": got.resp.Upgrade,
				"head":    got.head,
				"body":    got.body,
				"trailer": got.trailer,
				"rest":    got.rest,
			} {
				if want, ok := c.Want[key]; ok && value != string(rawcase.MustUnescape(t, want)) {
					t.Errorf("%s %q, want %q", key, value, rawcase.MustUnescape(t, want))
				}
			}
		})
	}
}

func TestResponseHeadLimits(t *testing.T) {
	big := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 2000) + "\r\nContent-Length: 0\r\n\r\n"
	if _, status := receive([]byte(big), "GET", httpx.Config{MaxHeaderBytes: 1024}); status != "502" {
		t.Errorf("oversize head: %s, want 502", status)
	}
	many := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: 1\r\n", 11) + "Content-Length: 0\r\n\r\n"
	if _, status := receive([]byte(many), "GET", httpx.Config{MaxHeaders: 10}); status != "502" {
		t.Errorf("too many fields: %s, want 502", status)
	}
}

// TestBodyReaderReady checks that Ready says a Next would wait exactly when the
// next piece of the body has not arrived, so a proxy flushes before waiting.
func TestBodyReaderReady(t *testing.T) {
	pr, pw := io.Pipe()
	br := bufio.NewReader(pr)
	go io.WriteString(pw, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	resp, err := httpx.ReadResponse(br, "GET", httpx.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var body httpx.BodyReader
	body.Reset(br, resp)
	if !body.Ready() {
		t.Fatal("chunk buffered, Ready false")
	}
	if p, err := body.Next(); string(p) != "hello" || err != nil {
		t.Fatalf("Next = %q, %v", p, err)
	}
	if body.Ready() {
		t.Fatal("nothing more buffered, Ready true")
	}
	go io.WriteString(pw, "0\r\n\r\n")
	if p, err := body.Next(); len(p) != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("Next = %q, %v; want EOF", p, err)
	}
	if !body.Ready() {
		t.Fatal("body done, Ready false")
	}
}

// TestResponseReadReuses reads two responses into one Response: nothing of the
// first may survive into the second.
func TestResponseReadReuses(t *testing.T) {
	raw := "HTTP/1.0 101 Switching Protocols\r\nConnection: close, upgrade\r\nUpgrade: websocket\r\nX-First: 1\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nX-Second: 2\r\nContent-Length: 0\r\n\r\n"
	br := bufio.NewReader(strings.NewReader(raw))
	var resp httpx.Response
	if err := resp.Read(br, "GET", httpx.Config{}); err != nil || resp.Upgrade != "websocket" || !resp.Close {
		t.Fatalf("first: %+v, %v", resp, err)
	}
	if err := resp.Read(br, "GET", httpx.Config{}); err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || resp.Upgrade != "" || resp.Close || resp.Proto != "HTTP/1.1" ||
		len(resp.Header) != 1 || resp.Header[0] != (httpx.Field{Name: "X-Second", Value: "2"}) || resp.ContentLength != 0 {
		t.Errorf("second: %+v", resp)
	}
}
