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

// LiveBundle is the policy every proxy of a scenario follows: a .tar.gz file the
// proxies re-read when it changes (rampart-proxy --bundle-reload), or an OPA
// bundle service on the hub's bridge address they poll (--bundle-url). Set swaps
// it for all of them.
type LiveBundle struct {
	Location string // the file or URL, for ProxyOptions.Bundle
	file     string // set for a file
	mu       sync.Mutex
	tar      []byte
	tag      string
}

// BundleFile returns a live bundle kept in the work folder, holding dir's bundle.
func (e *Env) BundleFile(dir string) (*LiveBundle, error) {
	path := e.Path("bundles/live.tar.gz")
	b := &LiveBundle{Location: path, file: path}
	return b, b.Set(dir)
}

// ServeBundles starts a bundle service in the hub, serving dir's bundle first.
func (e *Env) ServeBundles(dir string) (*LiveBundle, error) {
	ln, err := e.ListenHub(8181)
	if err != nil {
		return nil, fmt.Errorf("demo: bundle server: %w", err)
	}
	b := &LiveBundle{Location: fmt.Sprintf("http://%s/bundles/policy.tar.gz", ln.Addr())}
	if err := b.Set(dir); err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{Handler: b}
	go func() { _ = srv.Serve(ln) }()
	e.OnClose(func() error { return srv.Close() })
	return b, nil
}

// Set builds dir into a .tar.gz and makes it the live bundle. A file is replaced
// with one rename, so a proxy never reads half of it.
func (b *LiveBundle) Set(dir string) error {
	var buf bytes.Buffer
	if err := rego.Build(context.Background(), dir, &buf, rego.BuildOptions{}); err != nil {
		return fmt.Errorf("demo: build bundle %s: %w", dir, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file != "" {
		tmp := b.file + ".tmp"
		if err := writeFile(tmp, buf.Bytes()); err != nil {
			return fmt.Errorf("demo: live bundle: %w", err)
		}
		if err := os.Rename(tmp, b.file); err != nil {
			return fmt.Errorf("demo: live bundle: %w", err)
		}
	}
	b.tar, b.tag = buf.Bytes(), `"`+hex.EncodeToString(sum[:8])+`"`
	return nil
}

// ServeHTTP answers OPA's bundle protocol: the bundle with its ETag, or 304.
func (b *LiveBundle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	tar, tag := b.tar, b.tag
	b.mu.Unlock()
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", tag)
	w.Header().Set("Content-Type", "application/gzip")
	_, _ = w.Write(tar)
}
