package httpx_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/sidecar/httpx"
)

// BenchmarkReadRequest parses, validates and normalizes a typical request head
// (browser-like, ~600 bytes) and writes it back out as forwarded.
func BenchmarkReadRequest(b *testing.B) {
	raw := []byte("POST /v1/./fleet//request-landing?bay=3&ship=tie HTTP/1.1\r\nHost: DeathStar.default.svc.cluster.local.:80\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n" +
		"Accept-Encoding: gzip, deflate, br\r\nContent-Type: application/json\r\nContent-Length: 0\r\n" +
		"Cookie: session=" + strings.Repeat("c", 120) + "\r\nConnection: keep-alive\r\n\r\n")
	r := bytes.NewReader(raw)
	br := bufio.NewReader(r)
	bw := bufio.NewWriter(io.Discard)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(raw)
		br.Reset(r)
		req, err := httpx.ReadRequest(br, httpx.Config{})
		if err != nil {
			b.Fatal(err)
		}
		httpx.WriteHead(bw, req, nil)
	}
}

func BenchmarkNormalizeTarget(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := httpx.NormalizeTarget("/v1/./fleet//%72equest-landing/../request-landing?bay=3", httpx.RejectSlashes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadResponse reads a typical app response (Go net/http's head, 1 kB body)
// with httpx and, in the same run, with net/http.ReadResponse, which the proxy
// used before.
func BenchmarkReadResponse(b *testing.B) {
	raw := []byte("HTTP/1.1 200 OK\r\nDate: Sun, 22 Nov 2026 04:00:00 GMT\r\nContent-Length: 1024\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n" + strings.Repeat("r", 1024))
	r := bytes.NewReader(raw)
	br := bufio.NewReaderSize(r, 16<<10)
	b.Run("httpx", func(b *testing.B) {
		b.ReportAllocs()
		var body httpx.BodyReader
		for b.Loop() {
			r.Reset(raw)
			br.Reset(r)
			resp, err := httpx.ReadResponse(br, "POST", httpx.Config{})
			if err != nil {
				b.Fatal(err)
			}
			body.Reset(br, resp)
			for {
				if _, err := body.Next(); err != nil {
					break
				}
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		b.ReportAllocs()
		req := &http.Request{Method: "POST"}
		for b.Loop() {
			r.Reset(raw)
			br.Reset(r)
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// BenchmarkNormalizeCanonicalTarget normalizes a path that is already in normal
// form, as most clients send it.
func BenchmarkNormalizeCanonicalTarget(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := httpx.NormalizeTarget("/v1/fleet/request-landing?bay=3", httpx.RejectSlashes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTinyChunks buffers and forwards a body of 100 000 four-byte chunks,
// the smallest a request body may have past its first 1024 (test/bench/dos's
// chunk-abuse sends one-byte chunks, refused after 1365): what such a body costs
// a proxy that reads it before forwarding, per request.
func BenchmarkTinyChunks(b *testing.B) {
	raw := []byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
		strings.Repeat("4\r\nabcd\r\n", 100000) + "0\r\n\r\n")
	r := bytes.NewReader(raw)
	br := bufio.NewReaderSize(r, 16<<10)
	bw := bufio.NewWriter(io.Discard)
	buf := make([]byte, 0, 16<<10)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(raw)
		br.Reset(r)
		req, err := httpx.ReadRequest(br, httpx.Config{})
		if err != nil {
			b.Fatal(err)
		}
		var rb httpx.RequestBody
		if err := rb.Buffer(br, req, buf, 16<<10, -1); err != nil {
			b.Fatal(err)
		}
		httpx.WriteHead(bw, req, nil)
		if _, err := rb.WriteTo(bw); err != nil {
			b.Fatal(err)
		}
	}
}
