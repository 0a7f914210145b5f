package rego

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"
	"github.com/open-policy-agent/opa/v1/keys"
)

// BuildOptions configures Build.
type BuildOptions struct {
	// Revision overrides the manifest's revision when set.
	Revision string
	// SigningKey is a PEM private key (or HMAC secret) file; when set the bundle
	// carries a .signatures.json over every file, in OPA's format.
	SigningKey string
	// SigningAlg is the JWT algorithm, default RS256.
	SigningAlg string
	// KeyID names the key in the signature; verifiers look it up by this id.
	KeyID string
}

// Build writes the bundle in dir as a .tar.gz to w, the way `opa build --bundle`
// does (OPA's compile package), optionally signed.
func Build(ctx context.Context, dir string, w io.Writer, o BuildOptions) error {
	if _, err := os.Stat(dir + "/.manifest"); err != nil {
		return &BundleError{Bundle: dir, File: ".manifest", Err: errNoManifest}
	}
	// Reading through an fs.FS rooted at dir keeps file names relative to the bundle
	// root; given the path itself, OPA would record "../dir/x.rego" names.
	c := compile.New().WithFS(os.DirFS(dir)).WithPaths(".").WithAsBundle(true).WithOutput(w)
	if o.Revision != "" {
		c = c.WithRevision(o.Revision)
	}
	if o.SigningKey != "" {
		c = c.WithBundleSigningConfig(bundle.NewSigningConfig(o.SigningKey, o.SigningAlg, "")).
			WithBundleVerificationKeyID(o.KeyID)
	}
	if err := c.Build(ctx); err != nil {
		return fmt.Errorf("build %s: %w", dir, err)
	}
	return nil
}

// VerificationKey returns a verification config that accepts bundles signed by the
// public key (PEM file, or HMAC secret) known as keyID, for WithVerification.
func VerificationKey(keyID, keyFile, alg string) (*bundle.VerificationConfig, error) {
	if alg == "" {
		alg = "RS256"
	}
	kc, err := keys.NewKeyConfig(keyFile, alg, "")
	if err != nil {
		return nil, fmt.Errorf("verification key %s: %w", keyFile, err)
	}
	return bundle.NewVerificationConfig(map[string]*bundle.KeyConfig{keyID: kc}, keyID, "", nil), nil
}
