package version

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Dev is the version of a binary built without the Makefile's -ldflags.
const Dev = "v0.0.0-dev"

// version and revision are set with -ldflags -X (see doc.go); they are variables
// only because the linker can set nothing else, and nothing assigns them at run time.
var (
	version  string
	revision string
)

// Version is the stamped version, or Dev.
func Version() string {
	if version == "" {
		return Dev
	}
	return version
}

// Revision is the stamped commit, else the one the go command recorded, else "".
func Revision() string {
	if revision != "" {
		return revision
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}

// Tag is Version as an image tag: the OCI distribution spec allows
// [A-Za-z0-9_][A-Za-z0-9._-]{0,127}, so any other character becomes '-'.
func Tag() string { return SanitizeTag(Version()) }

// SanitizeTag maps s onto the tag grammar of the OCI distribution spec.
func SanitizeTag(s string) string {
	b := []byte(s)
	if len(b) > 128 {
		b = b[:128]
	}
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' ||
			i > 0 && (c == '.' || c == '-')
		if !ok {
			b[i] = '-'
			if i == 0 {
				b[i] = '_'
			}
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// String is the one-line report of `rampart version` and `<binary> -version`:
// "<name> <version> (<revision>, <go version>, <os>/<arch>)".
func String(name string) string {
	rev := Revision()
	if rev == "" {
		rev = "unknown revision"
	}
	return fmt.Sprintf("%s %s (%s, %s, %s/%s)", name, Version(), rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// HandleFlag prints String(name) to w and reports true when args is a version
// request (-version or --version as the first argument). The daemons call it
// before parsing their flags, so asking for the version never needs a valid
// configuration.
func HandleFlag(name string, args []string, w io.Writer) bool {
	if len(args) == 0 || (args[0] != "-version" && args[0] != "--version") {
		return false
	}
	fmt.Fprintln(w, String(name))
	return true
}
