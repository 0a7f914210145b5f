package images

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Pushed is one image written to a registry.
type Pushed struct {
	Ref    string  // registry/name:tag
	Digest v1.Hash // manifest digest, as the registry now serves it
}

// ByDigest is the reference that pins exactly this image.
func (p Pushed) ByDigest() string {
	return strings.TrimSuffix(p.Ref, ":"+tagOf(p.Ref)) + "@" + p.Digest.String()
}

// Read returns the images of the OCI layout dir, in layout order, named by
// their RefNameAnnotation.
func Read(dir string) ([]Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	var out []Image
	for _, d := range m.Manifests {
		ref := d.Annotations[RefNameAnnotation]
		if ref == "" {
			return nil, fmt.Errorf("images: %s: manifest %s has no %s", dir, d.Digest, RefNameAnnotation)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("images: %s: %w", ref, err)
		}
		out = append(out, Image{Name: nameOf(ref), Ref: ref, Img: img})
	}
	return out, nil
}

// Push writes every image of the layout dir to registry as registry/<name>:<tag>
// (the tag the layout recorded) and returns what the registry answered. Plain
// HTTP is used for loopback registries only; anything else must speak HTTPS.
// Credentials come from the Docker config (~/.docker/config.json) when present.
func Push(ctx context.Context, dir, registry string) ([]Pushed, error) {
	imgs, err := Read(dir)
	if err != nil {
		return nil, err
	}
	var out []Pushed
	for _, im := range imgs {
		ref := strings.TrimSuffix(registry, "/") + "/" + im.Name + ":" + tagOf(im.Ref)
		r, err := name.ParseReference(ref, name.StrictValidation)
		if err != nil {
			return nil, fmt.Errorf("images: push %s: %w", ref, err)
		}
		if err := remote.Write(r, im.Img, RemoteOptions(ctx)...); err != nil {
			return nil, fmt.Errorf("images: push %s: %w", ref, err)
		}
		d, err := remote.Head(r, RemoteOptions(ctx)...)
		if err != nil {
			return nil, fmt.Errorf("images: push %s: %w", ref, err)
		}
		want, err := im.Img.Digest()
		if err != nil {
			return nil, fmt.Errorf("images: %s: %w", ref, err)
		}
		if d.Digest != want {
			return nil, fmt.Errorf("images: push %s: registry serves %s, pushed %s", ref, d.Digest, want)
		}
		out = append(out, Pushed{Ref: ref, Digest: d.Digest})
	}
	return out, nil
}

// RemoteOptions are the options of every registry call: ctx, the Docker
// keychain, and a transport that refuses plain HTTP except to loopback.
func RemoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(httpOnlyLoopback{next: remote.DefaultTransport}),
	}
}

// httpOnlyLoopback fails closed on plain HTTP to anything but a loopback
// address. go-containerregistry itself would also use (or fall back to) HTTP for
// private-range and .local registries, where credentials and images could be
// read or changed on the way.
type httpOnlyLoopback struct{ next http.RoundTripper }

func (t httpOnlyLoopback) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" && !IsLoopback(r.URL.Hostname()) {
		return nil, fmt.Errorf("refusing plain HTTP to %s: only loopback registries may be reached without TLS", r.URL.Host)
	}
	return t.next.RoundTrip(r)
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.IsLoopback()
}

// tagOf is the tag of registry/path:tag (after the last ':' following the last '/').
func tagOf(ref string) string {
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		return ref[i+1:]
	}
	return "latest"
}

// nameOf is the last path component of registry/path/name:tag.
func nameOf(ref string) string {
	repo := strings.TrimSuffix(ref, ":"+tagOf(ref))
	return repo[strings.LastIndexByte(repo, '/')+1:]
}
