package redirect

import (
	"testing"

	"github.com/cilium/ebpf"
)

// TestConnect4AttachedLast: the injected capture check lets a pod's app start as
// soon as connect4 redirects, so connect4 must be the last program attached (see
// cgroupPrograms); Attach puts the netns program before all of them.
func TestConnect4AttachedLast(t *testing.T) {
	progs := cgroupPrograms()
	if last := progs[len(progs)-1]; last.attach != ebpf.AttachCGroupInet4Connect {
		t.Fatalf("last cgroup program is %s, want connect4", last.pin)
	}
}
