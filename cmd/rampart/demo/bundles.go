package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rampart-mesh/rampart/rego"
)

// WriteBundle copies the bundle in fsys (without its *_test.rego files) to the work
// folder as bundles/<name>, sets its manifest's revision, adds extra files (name ->
// content), and returns the folder.
func (e *Env) WriteBundle(name string, fsys fs.FS, revision string, extra map[string]string) (string, error) {
	dir := e.Path(filepath.Join("bundles", name))
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.rego") {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		if path == ".manifest" {
			if b, err = withRevision(b, revision); err != nil {
				return err
			}
		}
		return writeFile(filepath.Join(dir, path), b)
	})
	for n, content := range extra {
		if err == nil {
			err = writeFile(filepath.Join(dir, n), []byte(content))
		}
	}
	if err != nil {
		return "", fmt.Errorf("demo: bundle %s: %w", name, err)
	}
	return dir, nil
}

func withRevision(manifest []byte, revision string) ([]byte, error) {
	m := map[string]any{}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, err
	}
	m["revision"] = revision
	return json.Marshal(m)
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// BundleServer is an OPA bundle service on the hub's bridge address: every proxy
// polls it, and Set swaps the bundle they get.
type BundleServer struct {
	URL string // the bundle's address, for ProxyOptions.Bundle
	mu  sync.Mutex
	tar []byte
	tag string
}

// ServeBundles starts the bundle service, serving dir's bundle first.
func (e *Env) ServeBundles(dir string) (*BundleServer, error) {
	ln, err := e.listenHub(8181)
	if err != nil {
		return nil, fmt.Errorf("demo: bundle server: %w", err)
	}
	s := &BundleServer{URL: fmt.Sprintf("http://%s/bundles/policy.tar.gz", ln.Addr())}
	if err := s.Set(dir); err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{Handler: s}
	go func() { _ = srv.Serve(ln) }()
	e.onClose(func() error { return srv.Close() })
	return s, nil
}

// Set builds dir into a .tar.gz and serves it from now on.
func (s *BundleServer) Set(dir string) error {
	var buf bytes.Buffer
	if err := rego.Build(context.Background(), dir, &buf, rego.BuildOptions{}); err != nil {
		return fmt.Errorf("demo: build bundle %s: %w", dir, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	s.mu.Lock()
	s.tar, s.tag = buf.Bytes(), `"`+hex.EncodeToString(sum[:8])+`"`
	s.mu.Unlock()
	return nil
}

func (s *BundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	tar, tag := s.tar, s.tag
	s.mu.Unlock()
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", tag)
	w.Header().Set("Content-Type", "application/gzip")
	_, _ = w.Write(tar)
}
