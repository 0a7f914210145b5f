package identity

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// FileOptions configure a FileSource.
type FileOptions struct {
	// Dir holds svid.pem, svid.key and bundle.pem; the three fields below override
	// single paths (relative ones are taken as they are, not joined with Dir).
	Dir                           string
	CertFile, KeyFile, BundleFile string
	// Metrics, when set, records SVID expiry and rotations.
	Metrics *Metrics
	// Logger receives reload failures (slog.Default() when nil).
	Logger *slog.Logger
}

func (o *FileOptions) setDefaults() {
	if o.CertFile == "" {
		o.CertFile = filepath.Join(o.Dir, SVIDCertFile)
	}
	if o.KeyFile == "" {
		o.KeyFile = filepath.Join(o.Dir, SVIDKeyFile)
	}
	if o.BundleFile == "" {
		o.BundleFile = filepath.Join(o.Dir, BundleFile)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// settle lets a burst of writes (key, then cert) land before reloading once.
const settle = 50 * time.Millisecond

// FileSource serves an SVID and bundle read from files, reloading when they change
// (cert-manager, a SPIRE helper or `rampart ca issue` rewriting them). A change that
// does not load (unreadable, mismatched key, empty bundle, expired) is logged and
// reported by LastError, and the last good SVID stays in use.
type FileSource struct {
	*store
	opts    FileOptions
	watcher *fsnotify.Watcher
	done    chan struct{}

	mu      sync.Mutex
	lastErr error
}

// NewFileSource loads the files once (failing with an error naming the bad file) and
// then watches their directories.
func NewFileSource(opts FileOptions) (*FileSource, error) {
	opts.setDefaults()
	s := &FileSource{store: newStore("file", opts.Metrics), opts: opts, done: make(chan struct{})}
	if err := s.reload(); err != nil {
		return nil, fmt.Errorf("file source: %w", err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("file source: watch: %w", err)
	}
	// Watch directories, not files: atomic replacement (rename, Kubernetes' ..data
	// symlink swap) gives the file a new inode that a file watch would miss.
	for _, dir := range uniqueDirs(opts.CertFile, opts.KeyFile, opts.BundleFile) {
		if err := w.Add(dir); err != nil {
			w.Close()
			return nil, fmt.Errorf("file source: watch %s: %w", dir, err)
		}
	}
	s.watcher = w
	go s.run()
	return s, nil
}

// Close stops watching; the last SVID stays readable.
func (s *FileSource) Close() error {
	err := s.watcher.Close()
	<-s.done
	return err
}

// LastError returns why the latest reload failed, or nil if it succeeded.
func (s *FileSource) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

func (s *FileSource) run() {
	defer close(s.done)
	var timer <-chan time.Time
	for {
		select {
		case _, ok := <-s.watcher.Events:
			if !ok {
				return
			}
			timer = time.After(settle)
		case err, ok := <-s.watcher.Errors:
			if !ok {
				return
			}
			s.opts.Logger.Warn("watching SVID files", "err", err)
		case <-timer:
			timer = nil
			s.reloadAndReport()
		}
	}
}

func (s *FileSource) reloadAndReport() {
	err := s.reload()
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
	if err != nil {
		s.opts.Logger.Error("reload SVID files failed; keeping the last good SVID", "err", err)
	}
}

// reload installs the files' SVID and bundle if they form a usable set; an unchanged
// certificate is not installed again, so rotations count real changes only.
func (s *FileSource) reload() error {
	svid, bundle, err := loadSVIDFiles(s.opts.CertFile, s.opts.KeyFile, s.opts.BundleFile)
	if err != nil {
		return err
	}
	if cur, err := s.GetX509SVID(); err == nil && cur.Certificates[0].Equal(svid.Certificates[0]) {
		if b, err := s.GetX509BundleForTrustDomain(bundle.TrustDomain()); err == nil && b.Equal(bundle) {
			return nil
		}
	}
	s.set(svid, bundle)
	return nil
}

// loadSVIDFiles reads an SVID, its key and its bundle and checks them with ParseSVID.
func loadSVIDFiles(certFile, keyFile, bundleFile string) (*x509svid.SVID, *x509bundle.Bundle, error) {
	var data [3][]byte
	for i, f := range [3]struct{ what, path string }{{"SVID certificate", certFile}, {"SVID key", keyFile}, {"bundle", bundleFile}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", f.what, err)
		}
		data[i] = b
	}
	svid, bundle, err := ParseSVID(data[0], data[1], data[2])
	if err != nil {
		return nil, nil, fmt.Errorf("%s, %s, %s: %w", certFile, keyFile, bundleFile, err)
	}
	return svid, bundle, nil
}

// ParseSVID parses a PEM certificate chain, its PKCS#8 key and a PEM trust bundle and
// checks they form a usable set: a valid X509-SVID whose key matches, a bundle with
// at least one root, and a chain that verifies against it now.
func ParseSVID(certPEM, keyPEM, bundlePEM []byte) (*x509svid.SVID, *x509bundle.Bundle, error) {
	svid, err := x509svid.Parse(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("SVID: %w", err)
	}
	bundle, err := x509bundle.Parse(svid.ID.TrustDomain(), bundlePEM)
	if err != nil {
		return nil, nil, fmt.Errorf("bundle: %w", err)
	}
	if bundle.Empty() {
		return nil, nil, errors.New("bundle: no root certificates")
	}
	if _, _, err := x509svid.Verify(svid.Certificates, bundle); err != nil {
		return nil, nil, fmt.Errorf("SVID does not verify against bundle: %w", err)
	}
	return svid, bundle, nil
}

func uniqueDirs(paths ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		d := filepath.Dir(p)
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}
