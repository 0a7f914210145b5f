package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// VersionPackage is the package whose version and revision variables the build
// stamps (cmd/internal/version).
const VersionPackage = "github.com/rampart-mesh/rampart/cmd/internal/version"

// DefaultSource is the org.opencontainers.image.source label.
const DefaultSource = "https://github.com/rampart-mesh/rampart"

// Options configure Build. Repo, Out, Version and Epoch are required.
type Options struct {
	// Repo is the module root (the folder of go.mod).
	Repo string
	// Out is the OCI image layout folder; it is replaced.
	Out string
	// Version is stamped into the binaries, tags every image and is the
	// org.opencontainers.image.version label.
	Version string
	// Revision is the commit (org.opencontainers.image.revision); may be empty.
	Revision string
	// Epoch is every timestamp in the images (SOURCE_DATE_EPOCH, the commit time).
	Epoch time.Time
	// Registry prefixes the reference names recorded in the layout
	// (Registry/<name>:<Version>). Default ghcr.io/rampart-mesh.
	Registry string
	// Source is the org.opencontainers.image.source label. Default DefaultSource.
	Source string
	// CACerts is the PEM bundle copied into every image. Default DefaultCACerts.
	CACerts string
	// Arch is the GOARCH of the images (linux only). Default runtime.GOARCH.
	Arch string
	// Go is the go command. Default "go".
	Go string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (o *Options) setDefaults() error {
	if o.Repo == "" || o.Out == "" || o.Version == "" || o.Epoch.IsZero() {
		return fmt.Errorf("images: Repo, Out, Version and Epoch are required")
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Registry, "ghcr.io/rampart-mesh")
	def(&o.Source, DefaultSource)
	def(&o.CACerts, DefaultCACerts)
	def(&o.Arch, runtime.GOARCH)
	def(&o.Go, "go")
	if o.Log == nil {
		o.Log = io.Discard
	}
	o.Epoch = o.Epoch.UTC().Truncate(time.Second)
	return nil
}

// Image is one built image.
type Image struct {
	Name string // rampart-proxy, ...
	Ref  string // Registry/Name:Version, as recorded in the layout
	Img  v1.Image
}

// Build cross-builds the binaries, assembles the images and writes them to the
// OCI layout Out (replacing it). It returns the images in Names order.
func Build(ctx context.Context, o Options) ([]Image, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "rampart-images-")
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	defer os.RemoveAll(tmp)
	pkgs := make([]string, 0, len(Names))
	for _, n := range Names {
		pkgs = append(pkgs, "./cmd/"+n)
	}
	start := time.Now()
	if err := GoBuild(ctx, o, "linux", o.Arch, tmp, pkgs...); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "images: built %d binaries for linux/%s in %.1fs\n", len(pkgs), o.Arch, time.Since(start).Seconds())
	base, err := baseEntries(o.CACerts)
	if err != nil {
		return nil, err
	}
	baseLayer, err := layer(base, o.Epoch)
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, s := range specs() {
		img, err := assemble(o, s, baseLayer, filepath.Join(tmp, s.name))
		if err != nil {
			return nil, fmt.Errorf("images: %s: %w", s.name, err)
		}
		out = append(out, Image{Name: s.name, Ref: o.Registry + "/" + s.name + ":" + o.Version, Img: img})
	}
	if err := writeLayout(o.Out, out); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "images: wrote %d images to %s in %.1fs\n", len(out), o.Out, time.Since(start).Seconds())
	return out, nil
}

// GoBuild builds the packages (relative to o.Repo) as static, stripped,
// version-stamped binaries for goos/goarch into dir, in one go command.
func GoBuild(ctx context.Context, o Options, goos, goarch, dir string, pkgs ...string) error {
	if err := o.setDefaults(); err != nil {
		return err
	}
	ldflags := fmt.Sprintf("-s -w -buildid= -X %s.version=%s -X %s.revision=%s", VersionPackage, o.Version, VersionPackage, o.Revision)
	args := append([]string{"build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", dir + string(os.PathSeparator)}, pkgs...)
	cmd := exec.CommandContext(ctx, o.Go, args...)
	cmd.Dir = o.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

// assemble makes one image: scratch, the shared base layer, the binary's layer,
// a config and OCI labels.
func assemble(o Options, s spec, base v1.Layer, binPath string) (v1.Image, error) {
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return nil, err
	}
	app, err := layer(appEntries(s, bin), o.Epoch)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: o.Epoch}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer,
			History: v1.History{Created: created, CreatedBy: "rampart-images: base (CA certificates, passwd, group)"}},
		mutate.Addendum{Layer: app, MediaType: types.OCILayer,
			History: v1.History{Created: created, CreatedBy: "rampart-images: " + BinDir + "/" + s.name}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created, cf.OS, cf.Architecture = created, "linux", o.Arch
	labels := o.labels(s)
	cf.Config = v1.Config{
		Entrypoint: []string{BinDir + "/" + s.entry},
		Cmd:        s.cmd,
		Env:        []string{"PATH=" + BinDir + ":/usr/bin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		User:       s.user,
		WorkingDir: "/",
		Labels:     labels,
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, labels).(v1.Image), nil
}

// labels are the OCI pre-defined annotations, set both as config labels (what
// `docker inspect` and crane show) and as manifest annotations (the OCI spec's
// place).
func (o Options) labels(s spec) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       s.name,
		"org.opencontainers.image.description": s.desc,
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.url":         o.Source,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.created":     o.Epoch.Format(time.RFC3339),
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
	if o.Revision != "" {
		l["org.opencontainers.image.revision"] = o.Revision
	}
	return l
}

// RefNameAnnotation is the layout index annotation naming each image (the full
// reference, which containerd's import also reads).
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// writeLayout replaces dir with an OCI image layout holding imgs.
func writeLayout(dir string, imgs []Image) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("images: %w", err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("images: layout %s: %w", dir, err)
	}
	for _, im := range imgs {
		err := p.AppendImage(im.Img, layout.WithAnnotations(map[string]string{
			RefNameAnnotation:          im.Ref,
			"io.containerd.image.name": im.Ref,
		}))
		if err != nil {
			return fmt.Errorf("images: layout %s: %w", im.Name, err)
		}
	}
	return nil
}
