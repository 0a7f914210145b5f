package httpx_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
	"github.com/rampart-mesh/rampart/sidecar/internal/rawcase"
)

// FuzzDifferential reads every input with httpx and with Go's net/http
// (http.ReadRequest), the reader of many applications behind the proxy. Every
// request head httpx accepts must be framed the same by net/http: same
// method, same target (after the normalization httpx applies), same Host,
// same forwarded header fields, same body length or chunking and the same
// body bytes. Where they would disagree httpx must refuse, so the proxy never
// forwards a request the app could read differently from what was authorized.
func FuzzDifferential(f *testing.F) {
	for _, c := range rawcase.Load(f, "testdata/requests") {
		f.Add(c.Raw)
	}
	cfg := httpx.Config{MaxBodyBytes: 1 << 16}
	f.Fuzz(func(t *testing.T, raw []byte) {
		br := bufio.NewReader(bytes.NewReader(raw))
		req, err := httpx.ReadRequest(br, cfg)
		if err != nil {
			return
		}
		var body bytes.Buffer
		if err := httpx.CopyBody(&body, br, req, cfg.MaxBodyBytes); err != nil {
			return
		}
		nr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("httpx accepted what net/http refuses (%v):\n%q", err, raw)
		}
		if d := differ(req, body.Bytes(), nr, cfg); d != "" {
			t.Fatalf("httpx and net/http disagree on %s:\n%q", d, raw)
		}
	})
}

// differ names the first thing net/http reads otherwise than httpx, or "".
func differ(req *httpx.Request, body []byte, nr *http.Request, cfg httpx.Config) string {
	if nr.Method != req.Method {
		return "the method " + nr.Method
	}
	if nr.Proto != req.Proto {
		return "the version " + nr.Proto
	}
	path, query, err := httpx.NormalizeTarget(originForm(nr.RequestURI), cfg.Slashes)
	if err != nil || path != req.Path || query != req.Query {
		return "the target " + nr.RequestURI
	}
	host, err := httpx.NormalizeHost(nr.Host, "80")
	if err != nil || host != req.Host {
		return "the host " + nr.Host
	}
	if d := differFields(req, nr); d != "" {
		return d
	}
	switch {
	case req.Chunked() && !slices.Equal(nr.TransferEncoding, []string{"chunked"}):
		return "chunking"
	case !req.Chunked() && nr.ContentLength != req.ContentLength:
		return "the body length"
	}
	theirs, err := io.ReadAll(nr.Body)
	if err != nil {
		return "the body: " + err.Error()
	}
	ours := body
	if req.Chunked() {
		if ours, err = io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body))); err != nil {
			return "the forwarded chunks: " + err.Error()
		}
	}
	if !bytes.Equal(ours, theirs) {
		return "the body bytes"
	}
	return ""
}

// originForm is the path and query of a request target in any form.
func originForm(target string) string {
	if strings.HasPrefix(target, "/") {
		return target
	}
	if i := strings.Index(target, "://"); i >= 0 {
		rest := target[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			if rest[j] == '?' {
				return "/" + rest[j:]
			}
			return rest[j:]
		}
		return "/"
	}
	return target
}

// differFields compares the fields httpx forwards with net/http's header: the
// same values in the same order for each name; a field net/http has and httpx
// does not forward must be one httpx regenerates or drops as hop-by-hop.
func differFields(req *httpx.Request, nr *http.Request) string {
	ours := map[string][]string{}
	for _, f := range req.Header {
		k := http.CanonicalHeaderKey(f.Name)
		ours[k] = append(ours[k], f.Value)
	}
	for k, vs := range ours {
		if !slices.Equal(nr.Header[k], vs) {
			return "the field " + k
		}
	}
	dropped := map[string]bool{}
	for _, v := range nr.Header["Connection"] {
		for _, tok := range strings.Split(v, ",") {
			dropped[http.CanonicalHeaderKey(strings.TrimSpace(tok))] = true
		}
	}
	for k := range nr.Header {
		if _, ok := ours[k]; ok || dropped[k] {
			continue
		}
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding",
			"Upgrade", "Content-Length", "Expect", "Http2-Settings":
		default:
			return "the field " + k + " (net/http only)"
		}
	}
	return ""
}
