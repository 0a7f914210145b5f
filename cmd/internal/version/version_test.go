package version_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/cmd/internal/version"
)

func TestSanitizeTag(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v0.1.0", "v0.1.0"},
		{"b139083-dirty", "b139083-dirty"},
		{"v0.0.0-20261207+dirty", "v0.0.0-20261207-dirty"},
		{".hidden", "_hidden"},
		{"-x", "_x"},
		{"", "_"},
		{"a/b:c@d", "a-b-c-d"},
		{strings.Repeat("a", 200), strings.Repeat("a", 128)},
	} {
		if got := version.SanitizeTag(tc.in); got != tc.want {
			t.Errorf("SanitizeTag(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDevDefault(t *testing.T) {
	// go test links without the Makefile's -X, so the version is Dev.
	if version.Version() != version.Dev || version.Tag() != version.Dev {
		t.Fatalf("Version %q Tag %q, want %q", version.Version(), version.Tag(), version.Dev)
	}
}

func TestHandleFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"-version"}, true},
		{[]string{"--version"}, true},
		{[]string{"---version"}, false},
		{[]string{"version"}, false},
		{[]string{"-bundle", "-version"}, false},
		{nil, false},
	} {
		var out bytes.Buffer
		got := version.HandleFlag("rampart-x", tc.args, &out)
		if got != tc.want {
			t.Errorf("HandleFlag(%q) = %v, want %v", tc.args, got, tc.want)
		}
		if got && !strings.HasPrefix(out.String(), "rampart-x "+version.Dev+" (") {
			t.Errorf("HandleFlag(%q) printed %q", tc.args, out.String())
		}
		if !got && out.Len() != 0 {
			t.Errorf("HandleFlag(%q) printed %q without a version request", tc.args, out.String())
		}
	}
}
