package identity

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// File names of an SVID on disk, as WriteSVIDFiles writes them and the file source
// reads them by default.
const (
	SVIDCertFile = "svid.pem"
	SVIDKeyFile  = "svid.key"
	BundleFile   = "bundle.pem"
)

// WriteSVIDFiles writes svid (chain and PKCS#8 key, 0600) and bundle into dir as
// svid.pem, svid.key and bundle.pem. Each file is replaced atomically (write then
// rename), so a watching FileSource never reads half a file; the bundle goes first so
// the new SVID never arrives before the root it chains to.
func WriteSVIDFiles(dir string, svid *x509svid.SVID, bundle *x509bundle.Bundle) error {
	certPEM, keyPEM, err := svid.Marshal()
	if err != nil {
		return fmt.Errorf("write SVID: encode: %w", err)
	}
	bundlePEM, err := bundle.Marshal()
	if err != nil {
		return fmt.Errorf("write SVID: encode bundle: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{BundleFile, bundlePEM, 0o644}, {SVIDKeyFile, keyPEM, 0o600}, {SVIDCertFile, certPEM, 0o644}} {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return fmt.Errorf("write SVID: %w", err)
		}
	}
	return nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
