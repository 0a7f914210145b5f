package redirect_test

import (
	"fmt"
	"testing"

	"github.com/rampart-mesh/rampart/redirect"
)

// TestAppProxyBytes moves 1 KiB round trips between the app and an echoing proxy
// through capture: by default with a splicing proxy (io.Copy), and with the sk_msg
// short-circuit with a read/write-loop proxy. (A splicing proxy under sk_msg receives
// nothing on this kernel, which is why Accelerate is off by default.)
func TestAppProxyBytes(t *testing.T) {
	for _, c := range []struct {
		name       string
		accelerate bool
		echoMode   string
	}{
		{"default, splicing proxy", false, "splice"},
		{"sk_msg, read/write proxy", true, "loop"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := newTopology(t)
			o := tp.optionsA(t)
			o.Accelerate = c.accelerate
			h, err := redirect.Attach(o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = h.Close() })
			tp.procs["aproxy"].Stop()
			if l := tp.A.Start(t, tp.A.ProxyCgroup, "echo", "127.0.0.1:15001", c.echoMode).Line(); l != "READY" {
				t.Fatalf("echo: %q", l)
			}
			p := tp.A.Start(t, tp.A.AppCgroup, "benchecho", tp.C.IP4.String()+":80", "1024")
			if l := p.Line(); l != "READY" {
				t.Fatalf("benchecho: %q", l)
			}
			fmt.Fprintln(p.Stdin(), 200)
			if l := p.Line(); l != "done" {
				t.Fatalf("200 round trips: %q", l)
			}
		})
	}
}
