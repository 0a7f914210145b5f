package httpx_test

import (
	"bufio"
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawcase"
)

// forward parses one request from raw and returns exactly what the proxy forwards, or
// the status it refuses the request with.
func forward(raw []byte, cfg httpx.Config) (string, string) {
	br := bufio.NewReader(bytes.NewReader(raw))
	req, err := httpx.ReadRequest(br, cfg)
	if err != nil {
		return "", statusOf(err)
	}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	httpx.WriteHead(w, req, nil)
	if err := httpx.CopyBody(w, br, req, cfg.WithDefaults().MaxBodyBytes); err != nil {
		return "", statusOf(err)
	}
	w.Flush()
	return out.String(), "ok"
}

func statusOf(err error) string {
	var he *httpx.Error
	if errors.As(err, &he) {
		return strconv.Itoa(he.Status)
	}
	return "error: " + err.Error()
}

func TestReadRequestCases(t *testing.T) {
	for _, c := range rawcase.Load(t, "testdata/requests") {
		t.Run(c.Name, func(t *testing.T) {
			got, status := forward(c.Raw, httpx.Config{})
			if status != c.Want["status"] {
				t.Fatalf("status %s, want %s", status, c.Want["status"])
			}
			if want, ok := c.Want["forward"]; ok && got != string(rawcase.MustUnescape(t, want)) {
				t.Errorf("forwarded\n%q\nwant\n%q", got, rawcase.MustUnescape(t, want))
			}
		})
	}
}

func TestHeaderLimits(t *testing.T) {
	big := "GET / HTTP/1.1\r\nHost: a\r\nX: " + string(bytes.Repeat([]byte("a"), 2000)) + "\r\n\r\n"
	if _, status := forward([]byte(big), httpx.Config{MaxHeaderBytes: 1024}); status != "431" {
		t.Errorf("oversize header: %s, want 431", status)
	}
	many := "GET / HTTP/1.1\r\nHost: a\r\n" + string(bytes.Repeat([]byte("X: 1\r\n"), 11)) + "\r\n"
	if _, status := forward([]byte(many), httpx.Config{MaxHeaders: 10}); status != "431" {
		t.Errorf("too many fields: %s, want 431", status)
	}
	chunked := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"
	if _, status := forward([]byte(chunked), httpx.Config{MaxBodyBytes: 8}); status != "413" {
		t.Errorf("chunked body over limit: %s, want 413", status)
	}
}

func TestPipelinedRequestsAreReadOneByOne(t *testing.T) {
	raw := "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b/../c HTTP/1.1\r\nHost: x\r\n\r\n"
	br := bufio.NewReader(bytes.NewReader([]byte(raw)))
	var got []string
	for {
		req, err := httpx.ReadRequest(br, httpx.Config{})
		if err != nil {
			break
		}
		got = append(got, req.Target())
	}
	if len(got) != 2 || got[0] != "/a" || got[1] != "/c" {
		t.Errorf("got %q, want [/a /c]", got)
	}
}

func TestHeadersForPolicy(t *testing.T) {
	raw := "GET / HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nX-Tag: 1\r\nx-tag: 2\r\nUser-agent: curl\r\nx-lower: l\r\n\r\n"
	req, err := httpx.ReadRequest(bufio.NewReader(bytes.NewReader([]byte(raw))), httpx.Config{})
	if err != nil {
		t.Fatal(err)
	}
	got := req.Headers()
	want := map[string]string{"content-type": "text/plain", "x-tag": "1,2", "user-agent": "curl", "x-lower": "l"}
	if len(got) != len(want) {
		t.Errorf("Headers() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Headers()[%q] = %q, want %q", k, got[k], v)
		}
	}
}
