package cluster

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzOwnerOf: names read back from /var/tmp/rampart-cluster, /run/netns and the
// cgroup trees decide which processes a sweep kills; any string must parse
// without panicking, and every name newState makes must give back its pid.
func FuzzOwnerOf(f *testing.F) {
	for _, s := range []string{"rcl1a2b-1", "rcl-1", "rclzz-1", "rcl1-", "rcl7fffffff-3", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		pid, ok := ownerOf(name)
		if ok && pid <= 0 {
			t.Fatalf("ownerOf(%q) = %d, true", name, pid)
		}
		if ok && !strings.HasPrefix(name, namePrefix) {
			t.Fatalf("ownerOf(%q) accepted a foreign name", name)
		}
		if ok {
			if back, ok2 := ownerOf(fmt.Sprintf("%s%x-1", namePrefix, pid)); !ok2 || back != pid {
				t.Fatalf("round trip of %d gave %d, %v", pid, back, ok2)
			}
		}
	})
}

// FuzzUnescapeMount: mountinfo lines come from the kernel but name paths any
// pod volume may choose; decoding never panics and leaves plain paths alone.
func FuzzUnescapeMount(f *testing.F) {
	for _, s := range []string{`/a\040b`, `/x\`, `\0`, `\777`, `/plain/path`, `\\134`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := unescapeMount(s)
		if !strings.Contains(s, `\`) && got != s {
			t.Fatalf("unescapeMount(%q) = %q, want it unchanged", s, got)
		}
		if len(got) > len(s) {
			t.Fatalf("unescapeMount(%q) = %q grew", s, got)
		}
	})
}
