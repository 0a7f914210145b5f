package rego

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// LoadFS loads (or replaces) the bundle called name from fsys: an embedded bundle,
// or os.DirFS of a directory. A .manifest at its root is honoured; a bare directory
// of .rego (and data) files, as OPA-Envoy's examples ship, loads with roots derived
// from its packages and data (see derivedRoots), never the claim-everything root.
func (e *Engine) LoadFS(ctx context.Context, name string, fsys fs.FS) error {
	l, err := bundle.NewFSLoader(fsys)
	if err != nil {
		return e.refuse(name, &BundleError{Bundle: name, Err: err})
	}
	return e.load(ctx, name, &guardLoader{DirectoryLoader: l, bare: true}, "")
}

// LoadDir loads (or replaces) the bundle called name from a directory.
func (e *Engine) LoadDir(ctx context.Context, name, dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return e.refuse(name, &BundleError{Bundle: name, Err: err})
	}
	return e.LoadFS(ctx, name, os.DirFS(dir))
}

// LoadFile loads (or replaces) the bundle called name from a .tar.gz file.
func (e *Engine) LoadFile(ctx context.Context, name, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return e.refuse(name, &BundleError{Bundle: name, Err: err})
	}
	defer f.Close()
	return e.LoadTarball(ctx, name, f)
}

// LoadTarball loads (or replaces) the bundle called name from a gzipped tar stream
// (what `opa build` and `rampart policy build` write).
func (e *Engine) LoadTarball(ctx context.Context, name string, r io.Reader) error {
	return e.load(ctx, name, &guardLoader{DirectoryLoader: bundle.NewTarballLoaderWithBaseURL(r, "")}, "")
}

// Remove deactivates the bundle called name. Removing the bundle that owns the
// decision path leaves the engine denying everything.
func (e *Engine) Remove(ctx context.Context, name string) error {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	next := e.withBundle(name, nil)
	if len(next) == 0 {
		e.bundles = next
		e.cur.Store(nil)
		return nil
	}
	return e.swap(ctx, name, next, true)
}

// load reads a bundle through OPA's reader, then activates it together with the
// other active bundles. Any failure keeps the last good revision.
func (e *Engine) load(ctx context.Context, name string, l *guardLoader, etag string) error {
	start := time.Now()
	b, err := e.read(name, l, etag)
	if err != nil {
		return e.refuse(name, err)
	}
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	if err := e.swap(ctx, name, e.withBundle(name, b), false); err != nil {
		return err
	}
	if !e.Ready() {
		err := &BundleError{Bundle: name, Err: fmt.Errorf("%w: %s is not under any of %v",
			ErrDecisionOutsideRoots, e.opts.decision, roots(e.bundles))}
		e.opts.logger.Error("bundle loaded, but no bundle owns the decision path: denying everything", "bundle", name, "err", err)
		return err
	}
	e.opts.logger.Info("bundle loaded", "bundle", name, "revision", b.Manifest.Revision,
		"duration", time.Since(start))
	return nil
}

// swap prepares next aside and makes it current; the caller holds loadMu. A load
// that would take the decision path away from a serving revision (no bundle's roots
// contain it any more) is refused; with nothing serving yet it is activated (a
// library bundle may come before the policy owning the path) and load reports it.
func (e *Engine) swap(ctx context.Context, name string, next map[string]*bundle.Bundle, removing bool) error {
	rev, err := e.prepare(ctx, next)
	if err != nil {
		return e.refuse(name, &BundleError{Bundle: name, File: errorFile(err), Err: err})
	}
	if rev.owner == "" && !removing && e.Ready() {
		return e.refuse(name, &BundleError{Bundle: name, Err: fmt.Errorf("%w: %s is not under any of %v",
			ErrDecisionOutsideRoots, e.opts.decision, roots(next))})
	}
	e.bundles = next
	e.cur.Store(rev)
	e.metrics.loaded(name, rev)
	return nil
}

// roots lists the manifest roots of bundles, for errors.
func roots(bundles map[string]*bundle.Bundle) []string {
	var out []string
	for _, b := range bundles {
		if b.Manifest.Roots != nil {
			out = append(out, *b.Manifest.Roots...)
		}
	}
	sort.Strings(out)
	return out
}

// withBundle returns a copy of the active set with name replaced by b (removed if nil).
func (e *Engine) withBundle(name string, b *bundle.Bundle) map[string]*bundle.Bundle {
	next := make(map[string]*bundle.Bundle, len(e.bundles)+1)
	for k, v := range e.bundles {
		next[k] = v
	}
	delete(next, name)
	if b != nil {
		next[name] = b
	}
	return next
}

// read runs OPA's bundle reader behind a guard that refuses unsafe file names and
// insists on a .manifest for a tarball (without one OPA would claim every root,
// silently); a bare directory gets roots derived from its contents instead.
func (e *Engine) read(name string, g *guardLoader, etag string) (*bundle.Bundle, error) {
	rd := bundle.NewCustomReader(g).WithBundleName(name).WithBundleEtag(etag)
	if e.opts.verification != nil {
		rd = rd.WithBundleVerificationConfig(e.opts.verification)
	} else {
		rd = rd.WithSkipBundleVerification(true)
	}
	b, err := rd.Read()
	if g.bad != "" {
		return nil, &BundleError{Bundle: name, File: g.bad, Err: errUnsafePath}
	}
	if err != nil {
		return nil, &BundleError{Bundle: name, File: readErrorFile(err), Err: err}
	}
	if !g.manifest && !g.bare {
		return nil, &BundleError{Bundle: name, File: ".manifest", Err: errNoManifest}
	}
	if !g.manifest {
		roots := derivedRoots(&b)
		if len(roots) == 0 {
			return nil, &BundleError{Bundle: name, Err: errEmptyBundle}
		}
		b.Manifest.Roots = &roots
	}
	return &b, nil
}

// readErrorFile names the file a read error is about: a module for parse errors,
// .signatures.json for signature failures (OPA's digest errors name the file in
// their message already).
func readErrorFile(err error) string {
	if f := errorFile(err); f != "" {
		return f
	}
	if strings.Contains(err.Error(), "signature") {
		return ".signatures.json"
	}
	return ""
}

// refuse records a failed load and returns err unchanged.
func (e *Engine) refuse(name string, err error) error {
	e.metrics.failed(name)
	e.opts.logger.Error("bundle refused, keeping last good revision", "bundle", name, "err", err)
	return err
}

var (
	errUnsafePath  = errors.New("file name escapes the bundle root")
	errNoManifest  = errors.New("missing .manifest (a bundle must declare its roots)")
	errEmptyBundle = errors.New("no .manifest, no policy and no data")
)

// guardLoader wraps an OPA DirectoryLoader and watches the files go by.
type guardLoader struct {
	bundle.DirectoryLoader
	manifest bool   // a .manifest at the bundle root was seen
	bare     bool   // a directory: without a .manifest, roots are derived
	bad      string // first unsafe file name seen
}

func (g *guardLoader) NextFile() (*bundle.Descriptor, error) {
	d, err := g.DirectoryLoader.NextFile()
	if err != nil {
		return nil, err
	}
	p := d.Path()
	if unsafePath(p) {
		if g.bad == "" {
			g.bad = p
		}
		return nil, fmt.Errorf("%s: %w", p, errUnsafePath)
	}
	if path.Clean("/"+p) == "/.manifest" {
		g.manifest = true
	}
	return d, nil
}

// unsafePath reports names with ".." segments; tarballs can carry them.
func unsafePath(p string) bool {
	for _, seg := range strings.Split(strings.ReplaceAll(p, "\\", "/"), "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}
