package main_test

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/rampart-mesh/rampart/injector"
	"github.com/rampart-mesh/rampart/redirect"
	"github.com/rampart-mesh/rampart/sidecar/outbound"
)

// TestCaptureCheck runs `rampart-proxy check-capture` with the args and uid the
// injector gives the rampart-check init container (after the proxy, as a uid that
// is not the proxy's, in its own container cgroup) in a pod on the real kernel,
// with the real proxy and capture attached by the real redirect package.
func TestCaptureCheck(t *testing.T) {
	p := newCheckPod(t)
	bin := buildProxy(t)
	for _, d := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin))} {
		if err := os.Chmod(d, 0o755); err != nil { // run as 1337 and 1338
			t.Fatal(err)
		}
	}
	p.startProxy(bin)
	p.bin = bin

	t.Run("uncaptured: fails fast, nothing leaves the pod", func(t *testing.T) {
		// The gateway counter sees what a wrong sentinel would send: class E
		// 240.0.0.1 is routed like unicast, out through the default route.
		before := p.peerRx()
		out, _ := p.command(p.app, checkAppID, "timeout", "0.5", "bash", "-c", ": <>/dev/tcp/240.0.0.1/15002").CombinedOutput()
		sent := waitRx(p, before)
		if sent == 0 {
			t.Errorf("control: a connect to 240.0.0.1 sent no packet to the gateway (%s); the counter would prove nothing", out)
		}
		t.Logf("control: a connect to 240.0.0.1 sent %d packets to the gateway", sent)
		before = p.peerRx()
		start := time.Now()
		res := runCheck(t, p, p.app, checkAppID, "--wait", "1s")
		if res.err == nil {
			t.Fatalf("check passed without capture:\n%s", res.out)
		}
		if !strings.Contains(res.out, "network is unreachable") || !strings.Contains(res.out, "not attached after 1s") {
			t.Errorf("check output does not say why:\n%s", res.out)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("check took %s to give up, want about its --wait of 1s", d)
		}
		time.Sleep(300 * time.Millisecond)
		if n := p.peerRx() - before; n != 0 {
			t.Errorf("the uncaptured check sent %d packets out of the pod, want 0", n)
		}
	})

	// A check started before capture exists (rampart-node down) waits, and passes
	// once capture is attached: the app starts only then.
	waiting := p.command(p.app, checkAppID, append(append([]string{bin}, injectedCheck(t).Args...), "--wait", "20s")...)
	var wout bytes.Buffer
	waiting.Stdout, waiting.Stderr = &wout, &wout
	if err := waiting.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	attached := time.Now()
	p.attach(redirect.Options{PodIPs: []netip.Addr{netip.MustParseAddr(checkPodIP)}})
	err := waiting.Wait()
	took := time.Since(attached)
	if err != nil || !strings.Contains(wout.String(), "outbound capture attached") {
		t.Fatalf("waiting check after attach: %v\n%s", err, wout.String())
	}
	if !strings.Contains(wout.String(), "waiting for capture") {
		t.Errorf("the check did not report that it waited:\n%s", wout.String())
	}
	t.Logf("waiting check passed %s after capture was attached", took.Round(time.Millisecond))

	t.Run("captured: passes", func(t *testing.T) {
		before := p.peerRx()
		res := runCheck(t, p, p.app, checkAppID, "--wait", "5s")
		if res.err != nil {
			t.Fatalf("check with capture attached: %v\n%s", res.err, res.out)
		}
		t.Log(strings.TrimSpace(res.out))
		time.Sleep(300 * time.Millisecond)
		if n := p.peerRx() - before; n != 0 {
			t.Errorf("the captured check sent %d packets out of the pod, want 0", n)
		}
	})

	t.Run("proxy's own connects are not captured", func(t *testing.T) {
		// The proxy's cgroup (and uid 1337) is exempt: had the proxy dialled the
		// sentinel instead of answering it, the kernel would have refused.
		res := runCheck(t, p, p.proxy, checkProxyID, "--wait", "300ms")
		if res.err == nil || !strings.Contains(res.out, "network is unreachable") {
			t.Errorf("check from the proxy's cgroup: %v\n%s", res.err, res.out)
		}
	})
}

type checkResult struct {
	out string
	err error
}

func runCheck(t *testing.T, p *checkPod, cgroup string, uid int, args ...string) checkResult {
	t.Helper()
	cmd := p.command(cgroup, uid, append(append([]string{p.bin}, injectedCheck(t).Args...), args...)...)
	out, err := cmd.CombinedOutput()
	return checkResult{out: string(out), err: err}
}

// waitRx returns how many packets reached the gateway since before, after letting
// a burst (SYN retries) arrive.
func waitRx(p *checkPod, before int) int {
	time.Sleep(700 * time.Millisecond)
	return p.peerRx() - before
}

// injectedCheck is the rampart-check container the injector adds, so the test runs
// the binary exactly as the pod would, as its uid.
func injectedCheck(t *testing.T) corev1.Container {
	t.Helper()
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
	res, err := injector.Mutate(pod, injector.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Pod.Spec.InitContainers {
		if c.Name == injector.CheckContainerName {
			if *c.SecurityContext.RunAsUser != checkAppID {
				t.Fatalf("injected check runs as %d, the test as %d", *c.SecurityContext.RunAsUser, checkAppID)
			}
			return c
		}
	}
	t.Fatal("no rampart-check injected")
	return corev1.Container{}
}

// TestCheckContract: the injector restates the sentinel (it may not import the
// proxy); both must name the same one.
func TestCheckContract(t *testing.T) {
	want := netip.AddrPortFrom(netip.MustParseAddr(injector.CheckAddr), injector.CheckPort)
	if got := outbound.CheckAddr(); got != want {
		t.Errorf("proxy sentinel %s, injector's %s", got, want)
	}
	if injector.CheckUID == injector.ProxyUID {
		t.Error("the check runs as the proxy's uid, which capture exempts")
	}
}
