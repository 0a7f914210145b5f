package images

import (
	"archive/tar"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"
)

// TestLayerIsDeterministic: the order entries are given in does not change the
// layer, and every header carries the fixed time and numeric owners only.
func TestLayerIsDeterministic(t *testing.T) {
	epoch := time.Unix(1767225600, 0).UTC()
	es := []entry{
		{path: "b", mode: 0o644, body: []byte("b")},
		{path: "a", mode: 0o755, dir: true},
		{path: "a/l", mode: 0o777, link: "../b"},
	}
	l1, err := layer(es, epoch)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := layer([]entry{es[2], es[0], es[1]}, epoch)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := l1.Digest()
	d2, _ := l2.Digest()
	if d1 != d2 {
		t.Fatalf("same entries, different digests %s %s", d1, d2)
	}
	rc, err := l1.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(epoch) || h.Uname != "" || h.Gname != "" || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v owner %q/%q %d/%d", h.Name, h.ModTime, h.Uname, h.Gname, h.Uid, h.Gid)
		}
	}
	if want := []string{"a/", "a/l", "b"}; len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Errorf("entries %q, want %q", names, want)
	}
	if _, err := layer([]entry{es[0], es[0]}, epoch); err == nil {
		t.Error("a path twice was accepted")
	}
}

type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("request to %s passed the guard", r.URL)
	return nil, errors.New("unreachable")
}

type okTransport struct{}

func (okTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
}

// TestPlainHTTPOnlyToLoopback: the push transport refuses http:// to any
// non-loopback host before a connection is made (no request leaves the guard).
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	for _, u := range []string{"http://registry.example.invalid/v2/", "http://registry.local:5000/v2/", "http://[fe80::1]:5000/v2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if _, err := (httpOnlyLoopback{next: failingTransport{t}}).RoundTrip(req); err == nil {
			t.Errorf("%s: plain HTTP allowed", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1:5000/v2/", "http://localhost:5000/v2/", "http://[::1]:5000/v2/", "https://registry.example.invalid/v2/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if _, err := (httpOnlyLoopback{next: okTransport{}}).RoundTrip(req); err != nil {
			t.Errorf("%s: refused: %v", u, err)
		}
	}
}

func TestRefParts(t *testing.T) {
	for _, tc := range []struct{ ref, name, tag string }{
		{"ghcr.io/rampart-mesh/rampart-proxy:v1.2.3", "rampart-proxy", "v1.2.3"},
		{"127.0.0.1:5000/rampart-node:abc-dirty", "rampart-node", "abc-dirty"},
		{"127.0.0.1:5000/rampart-node", "rampart-node", "latest"},
	} {
		if n, tag := nameOf(tc.ref), tagOf(tc.ref); n != tc.name || tag != tc.tag {
			t.Errorf("%s: name %q tag %q, want %q %q", tc.ref, n, tag, tc.name, tc.tag)
		}
	}
}
