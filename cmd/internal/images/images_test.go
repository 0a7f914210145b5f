package images_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/rampart-mesh/rampart/cmd/internal/images"
	"github.com/rampart-mesh/rampart/test/demo/starwars"
)

// The build every test below inspects: fixed version, revision and time.
const (
	testVersion  = "v0.0.0-test.1"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

var testEpoch = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func buildOptions(t *testing.T, out string) images.Options {
	return images.Options{Repo: repoRoot(t), Out: out, Version: testVersion, Revision: testRevision, Epoch: testEpoch}
}

// TestImages builds the images twice (identical digests and layouts), runs each
// image's binary inside its own filesystem, pushes them to a real registry on
// loopback and pulls them back by digest, and checks that the manifests of
// `rampart install --registry` pass server-side dry-run and name only these
// images. One test, because building is the expensive part.
func TestImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds five static binaries twice; skipped with -short")
	}
	ctx := context.Background()
	tmp := t.TempDir()
	start := time.Now()
	first, err := images.Build(ctx, buildOptions(t, filepath.Join(tmp, "a")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first build %.1fs", time.Since(start).Seconds())
	start = time.Now()
	second, err := images.Build(ctx, buildOptions(t, filepath.Join(tmp, "b")))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second build %.1fs", time.Since(start).Seconds())

	t.Run("reproducible", func(t *testing.T) { checkReproducible(t, tmp, first, second) })
	t.Run("layout reads back", func(t *testing.T) { checkLayout(t, filepath.Join(tmp, "a"), first) })
	t.Run("config and labels", func(t *testing.T) { checkConfig(t, first) })
	t.Run("binaries run inside the images", func(t *testing.T) { checkRuns(t, first) })
	t.Run("push and pull by digest", func(t *testing.T) {
		reg := startRegistry(t)
		checkPushPull(t, filepath.Join(tmp, "a"), reg, first)
		t.Run("install manifests", func(t *testing.T) { checkInstall(t, reg, first) })
	})
}

func digests(t *testing.T, imgs []images.Image) map[string]v1.Hash {
	t.Helper()
	m := map[string]v1.Hash{}
	for _, im := range imgs {
		d, err := im.Img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		m[im.Ref] = d
	}
	return m
}

func checkReproducible(t *testing.T, tmp string, a, b []images.Image) {
	da, db := digests(t, a), digests(t, b)
	if len(da) != len(images.Names) {
		t.Fatalf("built %d images, want %d", len(da), len(images.Names))
	}
	for ref, d := range da {
		if db[ref] != d {
			t.Errorf("%s: %s then %s", ref, d, db[ref])
		}
		t.Logf("%s@%s", ref, d)
	}
	ia, err := os.ReadFile(filepath.Join(tmp, "a", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := os.ReadFile(filepath.Join(tmp, "b", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ia, ib) {
		t.Errorf("index.json differs:\n%s\n%s", ia, ib)
	}
}

func checkLayout(t *testing.T, dir string, built []images.Image) {
	read, err := images.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := digests(t, built)
	got := digests(t, read)
	if len(got) != len(want) {
		t.Fatalf("layout holds %v, built %v", got, want)
	}
	for ref, d := range want {
		if got[ref] != d {
			t.Errorf("%s: layout %s, built %s", ref, got[ref], d)
		}
	}
}

func checkConfig(t *testing.T, imgs []images.Image) {
	wantUser := map[string]string{"rampart-proxy": "1337:1337", "rampart-injector": "65532:65532",
		"rampart-node": "0:0", "rampart-demo": "65532:65532", "rampart-pause": "65535:65535"}
	var base v1.Hash
	for _, im := range imgs {
		cf, err := im.Img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != wantUser[im.Name] {
			t.Errorf("%s: user %q, want %q", im.Name, cf.Config.User, wantUser[im.Name])
		}
		if len(cf.Config.Entrypoint) != 1 || !strings.HasPrefix(cf.Config.Entrypoint[0], images.BinDir+"/") {
			t.Errorf("%s: entrypoint %q", im.Name, cf.Config.Entrypoint)
		}
		if !cf.Created.Equal(testEpoch) || cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
			t.Errorf("%s: created %v os %s arch %s", im.Name, cf.Created, cf.OS, cf.Architecture)
		}
		for k, v := range map[string]string{
			"org.opencontainers.image.version":  testVersion,
			"org.opencontainers.image.revision": testRevision,
			"org.opencontainers.image.source":   images.DefaultSource,
			"org.opencontainers.image.created":  testEpoch.Format(time.RFC3339),
		} {
			if cf.Config.Labels[k] != v {
				t.Errorf("%s: label %s=%q, want %q", im.Name, k, cf.Config.Labels[k], v)
			}
		}
		m, err := im.Img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Annotations["org.opencontainers.image.revision"] != testRevision || m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
			t.Errorf("%s: manifest %s annotations %v", im.Name, m.MediaType, m.Annotations)
		}
		if len(m.Layers) != 2 {
			t.Fatalf("%s: %d layers, want base + binary", im.Name, len(m.Layers))
		}
		if base == (v1.Hash{}) {
			base = m.Layers[0].Digest
		} else if m.Layers[0].Digest != base {
			t.Errorf("%s: base layer %s, others %s (it should be shared)", im.Name, m.Layers[0].Digest, base)
		}
	}
}

// checkRuns extracts every image and runs its binary's -version in that
// filesystem, as the image's user; the proxy image must also name uid 1337.
func checkRuns(t *testing.T, imgs []images.Image) {
	for _, im := range imgs {
		root := filepath.Join(t.TempDir(), "rootfs")
		extract(t, im.Img, root)
		cf, _ := im.Img.ConfigFile()
		var uid, gid uint32
		fmt.Sscanf(cf.Config.User, "%d:%d", &uid, &gid)
		out := runInImage(t, root, uid, gid, images.BinDir+"/"+im.Name, "-version")
		if !strings.HasPrefix(out, im.Name+" "+testVersion+" ("+testRevision+", ") {
			t.Errorf("%s -version printed %q", im.Name, out)
		}
		passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
		if err != nil || !strings.Contains(string(passwd), "rampart:x:1337:1337:") || !strings.Contains(string(passwd), "nonroot:x:65532:65532:") {
			t.Errorf("%s: /etc/passwd %q, %v", im.Name, passwd, err)
		}
		if ca, err := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")); err != nil || !bytes.Contains(ca, []byte("BEGIN CERTIFICATE")) {
			t.Errorf("%s: no CA bundle: %v", im.Name, err)
		}
		if im.Name == "rampart-demo" {
			// `kubectl exec tiefighter -- curl -s -XPOST deathstar/v1/request-landing`:
			// the image's curl link asks a real deathstar on loopback.
			ds := httptest.NewServer(starwars.Deathstar("ds-test", nil))
			out := runInImage(t, root, uid, gid, images.BinDir+"/curl", "-s", "-XPOST",
				strings.TrimPrefix(ds.URL, "http://")+"/v1/request-landing")
			ds.Close()
			if out != starwars.LandedBody {
				t.Errorf("curl in the demo image printed %q", out)
			}
		}
	}
}

// checkPushPull pushes the layout to the registry, pulls every image back by
// digest, and compares digests and every layer's bytes.
func checkPushPull(t *testing.T, dir, reg string, built []images.Image) {
	ctx := context.Background()
	pushed, err := images.Push(ctx, dir, reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed) != len(built) {
		t.Fatalf("pushed %d, built %d", len(pushed), len(built))
	}
	for i, p := range pushed {
		local := built[i].Img
		want, _ := local.Digest()
		if p.Digest != want || p.Ref != reg+"/"+built[i].Name+":"+testVersion {
			t.Errorf("pushed %s@%s, built %s@%s", p.Ref, p.Digest, built[i].Ref, want)
		}
		ref, err := name.ParseReference(p.ByDigest(), name.StrictValidation)
		if err != nil {
			t.Fatal(err)
		}
		remoteImg, err := remote.Image(ref, images.RemoteOptions(ctx)...)
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		if got, _ := remoteImg.Digest(); got != want {
			t.Errorf("pulled %s, want %s", got, want)
		}
		compareLayers(t, built[i].Name, local, remoteImg)
	}
}

// compareLayers hashes what each layer unpacks to, locally and from the
// registry (not trusting either side's recorded diff IDs).
func compareLayers(t *testing.T, name string, local, pulled v1.Image) {
	ll, err := local.Layers()
	if err != nil {
		t.Fatal(err)
	}
	pl, err := pulled.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ll) != len(pl) {
		t.Fatalf("%s: %d layers pulled, %d built", name, len(pl), len(ll))
	}
	for i := range ll {
		a, b := unpackedHash(t, ll[i]), unpackedHash(t, pl[i])
		if a != b {
			t.Errorf("%s layer %d: built %s, pulled %s", name, i, a, b)
		}
	}
}

func unpackedHash(t *testing.T, l v1.Layer) string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// checkInstall builds the rampart CLI of the same version, renders
// `rampart install --registry <reg>`, checks every image it names is one the
// builder built and the registry serves, and applies the manifests with
// server-side dry-run on a real kube-apiserver.
func checkInstall(t *testing.T, reg string, built []images.Image) {
	ctx := context.Background()
	bin := t.TempDir()
	if err := images.GoBuild(ctx, buildOptions(t, bin), runtime.GOOS, runtime.GOARCH, bin, "./cmd/rampart"); err != nil {
		t.Fatal(err)
	}
	rampart := filepath.Join(bin, "rampart")
	if out, err := exec.Command(rampart, "version").Output(); err != nil || !strings.HasPrefix(string(out), "rampart "+testVersion+" ") {
		t.Errorf("rampart version: %q, %v", out, err)
	}
	manifests, err := exec.Command(rampart, "install", "--registry", reg).Output()
	if err != nil {
		t.Fatalf("rampart install: %v", err)
	}
	objs := decodeYAML(t, manifests)
	want := map[string]v1.Hash{}
	for _, im := range built {
		d, _ := im.Img.Digest()
		want[reg+"/"+im.Name+":"+testVersion] = d
	}
	refs := imageRefs(objs)
	if len(refs) < 3 {
		t.Fatalf("install names only %v", refs)
	}
	for _, r := range refs {
		d, ok := want[r]
		if !ok {
			t.Errorf("install names %s, which the builder did not build (built %v)", r, keys(want))
			continue
		}
		ref, err := name.ParseReference(r, name.StrictValidation)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(ref, images.RemoteOptions(ctx)...)
		if err != nil || desc.Digest != d {
			t.Errorf("registry serves %s as %v (%v), built %s", r, desc, err, d)
		}
	}
	dryRun(t, objs)
}

func keys(m map[string]v1.Hash) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
