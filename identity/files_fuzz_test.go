package identity_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-mesh/rampart/identity"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// FuzzParseSVID feeds arbitrary cert/key/bundle bytes to the parser behind the file
// source: it must never panic, and whatever it accepts must be an SVID that verifies
// against the accepted bundle. Seeded from every case in testdata/files.
func FuzzParseSVID(f *testing.F) {
	entries, _ := os.ReadDir("testdata/files")
	for _, e := range entries {
		read := func(name string) []byte {
			b, _ := os.ReadFile(filepath.Join("testdata/files", e.Name(), name))
			return b
		}
		f.Add(read(identity.SVIDCertFile), read(identity.SVIDKeyFile), read(identity.BundleFile))
	}
	f.Fuzz(func(t *testing.T, cert, key, bundle []byte) {
		svid, b, err := identity.ParseSVID(cert, key, bundle)
		if err != nil {
			return
		}
		if svid.ID.IsZero() || b.Empty() || b.TrustDomain() != svid.ID.TrustDomain() {
			t.Fatalf("accepted SVID %v with bundle of %q (%d roots)", svid.ID, b.TrustDomain(), len(b.X509Authorities()))
		}
		if _, _, err := x509svid.Verify(svid.Certificates, b); err != nil {
			t.Fatalf("accepted an SVID that does not verify: %v", err)
		}
	})
}
