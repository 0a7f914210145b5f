package injector_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rampart-mesh/rampart/injector"
)

// TestDefaultImageMatchesParts: DefaultImage (the library fallback) is exactly the
// default registry, proxy name and default tag.
func TestDefaultImageMatchesParts(t *testing.T) {
	if got := injector.ImageRef(injector.DefaultRegistry, injector.ProxyImageName, injector.DefaultTag); got != injector.DefaultImage {
		t.Fatalf("ImageRef(defaults) = %q, DefaultImage = %q", got, injector.DefaultImage)
	}
}

// renderedImages returns every container image of the install manifests and the
// --proxy-image the injector is started with.
func renderedImages(t *testing.T, opts injector.InstallOptions) (images []string, proxy string) {
	t.Helper()
	objs, err := injector.InstallManifests(opts)
	if err != nil {
		t.Fatalf("InstallManifests: %v", err)
	}
	add := func(spec corev1.PodSpec) {
		for _, c := range append(spec.InitContainers, spec.Containers...) {
			images = append(images, c.Image)
			for _, a := range c.Args {
				if v, ok := strings.CutPrefix(a, "--proxy-image="); ok {
					proxy = v
				}
			}
		}
	}
	for _, o := range objs {
		switch o := runtime.Object(o).(type) {
		case *appsv1.Deployment:
			add(o.Spec.Template.Spec)
		case *appsv1.DaemonSet:
			add(o.Spec.Template.Spec)
		}
	}
	return images, proxy
}

func TestInstallRegistryAndTag(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       injector.InstallOptions
		wantPrefix string
		wantTag    string
		wantProxy  string
	}{
		{"defaults", injector.InstallOptions{}, "ghcr.io/rampart-mesh/", ":" + injector.DefaultTag, injector.DefaultImage},
		{"loopback registry", injector.InstallOptions{Registry: "127.0.0.1:5000", Tag: "v1.2.3-4-gabcdef0-dirty"},
			"127.0.0.1:5000/", ":v1.2.3-4-gabcdef0-dirty", "127.0.0.1:5000/rampart-proxy:v1.2.3-4-gabcdef0-dirty"},
		{"registry with a path, default tag", injector.InstallOptions{Registry: "registry.example:443/team/mesh"},
			"registry.example:443/team/mesh/", ":" + injector.DefaultTag, "registry.example:443/team/mesh/rampart-proxy:" + injector.DefaultTag},
		{"explicit proxy image wins", injector.InstallOptions{Registry: "r.example", Config: injector.Config{Image: "r.example/rampart-proxy@sha256:" + strings.Repeat("ab", 32)}},
			"r.example/", "", "r.example/rampart-proxy@sha256:" + strings.Repeat("ab", 32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			images, proxy := renderedImages(t, tc.opts)
			if len(images) < 2 {
				t.Fatalf("only %d container images rendered: %v", len(images), images)
			}
			for _, img := range images {
				if !strings.HasPrefix(img, tc.wantPrefix) || !strings.HasSuffix(img, tc.wantTag) {
					t.Errorf("image %q: want %s…%s", img, tc.wantPrefix, tc.wantTag)
				}
			}
			if proxy != tc.wantProxy {
				t.Errorf("--proxy-image=%q, want %q", proxy, tc.wantProxy)
			}
		})
	}
}

func TestInstallRefusesBadImages(t *testing.T) {
	for _, opts := range []injector.InstallOptions{
		{Registry: "ghcr.io/Rampart"},  // upper-case path
		{Registry: "ghcr.io/rampart/"}, // trailing slash
		{Registry: "host with space"},
		{Tag: "v1+dirty"},
		{Tag: ".x"},
		{Tag: strings.Repeat("t", 129)},
		{NodeImage: "ghcr.io/rampart-mesh/rampart-node@sha256:short"},
		{Config: injector.Config{Image: "-rampart"}},
	} {
		if _, err := injector.InstallManifests(opts); err == nil {
			t.Errorf("InstallManifests(%+v) accepted a bad image", opts)
		}
	}
}

func FuzzValidateImage(f *testing.F) {
	for _, s := range []string{injector.DefaultImage, "127.0.0.1:5000/a:b", "a@sha256:" + strings.Repeat("0", 64), "", ":", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		if injector.ValidateImage(ref) != nil {
			return
		}
		// What passes has no whitespace or control bytes and at most one '@'.
		if strings.ContainsAny(ref, " \t\r\n\x00") || strings.Count(ref, "@") > 1 {
			t.Fatalf("accepted %q", ref)
		}
	})
}
