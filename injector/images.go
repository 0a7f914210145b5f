package injector

import (
	"fmt"
	"regexp"
)

// Image names and the registry they are published under. `rampart install
// --registry R --tag T` renders R/<name>:T for every image; the rampart binaries
// pass their own version as the tag, so what they install matches what they are.
const (
	DefaultRegistry   = "ghcr.io/rampart-mesh"
	ProxyImageName    = "rampart-proxy"
	InjectorImageName = "rampart-injector"
	NodeImageName     = "rampart-node"
	DemoImageName     = "rampart-demo"
	// DefaultTag is the tag of DefaultImage, used when InstallOptions.Tag is empty
	// (a library default; the binaries always pass their stamped version).
	DefaultTag = "v0.1.0"
)

// ImageRef is registry/name:tag.
func ImageRef(registry, name, tag string) string {
	return registry + "/" + name + ":" + tag
}

// imageRefRE is the distribution reference grammar, simplified: a host (with an
// optional port), lower-case path components, then a tag and/or a digest.
var imageRefRE = regexp.MustCompile(`^` +
	`[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?` + // host[:port], or a first path component
	`(/[a-z0-9]+([._-]+[a-z0-9]+)*)*` + // path components
	`(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?` + // tag
	`(@sha256:[a-f0-9]{64})?$`) // digest

// ValidateImage refuses what no container runtime could pull, so a typo in
// --registry or --tag fails at install time and not in every pod.
func ValidateImage(ref string) error {
	if len(ref) > 4096 || !imageRefRE.MatchString(ref) {
		return fmt.Errorf("image %q is not a valid reference (registry[:port]/path[:tag][@sha256:digest])", ref)
	}
	return nil
}

// setImageDefaults fills the images left empty from Registry and Tag.
func (o *InstallOptions) setImageDefaults() {
	if o.Registry == "" {
		o.Registry = DefaultRegistry
	}
	if o.Tag == "" {
		o.Tag = DefaultTag
	}
	def := func(s *string, name string) {
		if *s == "" {
			*s = ImageRef(o.Registry, name, o.Tag)
		}
	}
	def(&o.InjectorImage, InjectorImageName)
	def(&o.NodeImage, NodeImageName)
	def(&o.Config.Image, ProxyImageName)
}
