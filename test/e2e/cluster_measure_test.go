package e2e_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// measureRounds is how many pods of each kind the start-to-Ready figures take the
// median of.
const measureRounds = 10

// measure logs the figures of the closing note. They are measurements, not
// assertions: each round starts one injected and one plain deathstar at once (same
// spec, readiness probe every second), times create -> Ready from a watch, then
// has the tiefighter send its first and second request to each pod straight
// after Ready (curl's time_total inside the pod: DNS-free, kubectl exec excluded).
// Then it reads every starwars proxy's RSS from the node.
func (s *scenario) measure(t *testing.T) {
	var ready, first, second [2][]time.Duration // [0] injected, [1] not injected
	var failedFirst [2]int
	for i := range measureRounds {
		pods := [2]*corev1.Pod{
			s.demoPod(nsDefault, fmt.Sprintf("bench-in-%d", i), map[string]string{"app": "deathstar", "bench": "in"}, true),
			s.demoPod(nsOutlaws, fmt.Sprintf("bench-out-%d", i), map[string]string{"app": "deathstar", "bench": "out"}, true),
		}
		var wg sync.WaitGroup
		var errs [2]error
		var ips [2]string
		for k, p := range pods {
			wg.Go(func() {
				var took time.Duration
				took, ips[k], errs[k] = s.startToReady(p)
				ready[k] = append(ready[k], took)
			})
		}
		wg.Wait()
		for k := range pods {
			if errs[k] != nil {
				t.Fatal(errs[k])
			}
			f, fails, err1 := s.firstRequest(ips[k])
			g, err2 := s.requestTime(ips[k])
			if err1 != nil || err2 != nil {
				t.Fatalf("request to %s: %v %v", pods[k].Name, err1, err2)
			}
			failedFirst[k] += fails
			first[k], second[k] = append(first[k], f), append(second[k], g)
			s.c.Client.CoreV1().Pods(pods[k].Namespace).Delete(s.ctx, pods[k].Name, metav1.DeleteOptions{})
		}
	}
	t.Logf("closing note figures (%d rounds, medians [min..max]):\n"+
		"  pod create -> Ready   injected %s   not injected %s\n"+
		"  first request after Ready (tiefighter -> pod IP, curl time_total)   injected pod %s   plain pod %s\n"+
		"  second request                                                    injected pod %s   plain pod %s\n"+
		"  first attempts that failed and were retried (discovery not caught up): injected %d, plain %d\n%s",
		measureRounds, stats(ready[0]), stats(ready[1]), stats(first[0]), stats(first[1]),
		stats(second[0]), stats(second[1]), failedFirst[0], failedFirst[1], s.proxyMemory(t))
}

// startToReady creates p and returns the time until a watch saw it Ready, and its IP.
func (s *scenario) startToReady(p *corev1.Pod) (time.Duration, string, error) {
	w, err := s.c.Client.CoreV1().Pods(p.Namespace).Watch(s.ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", p.Name).String()})
	if err != nil {
		return 0, "", err
	}
	defer w.Stop()
	start := time.Now()
	if _, err := s.c.Client.CoreV1().Pods(p.Namespace).Create(s.ctx, p, metav1.CreateOptions{}); err != nil {
		return 0, "", err
	}
	timeout := time.After(3 * time.Minute)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return 0, "", fmt.Errorf("%s: watch closed", p.Name)
			}
			if got, isPod := ev.Object.(*corev1.Pod); isPod && ev.Type == watch.Modified && isReady(got) {
				return time.Since(start), got.Status.PodIP, nil
			}
		case <-timeout:
			return 0, "", fmt.Errorf("%s/%s not Ready after 3m", p.Namespace, p.Name)
		}
	}
}

// firstRequest is requestTime for the first request after Ready, retried every
// 200 ms for 10 s should it fail; it returns how many attempts failed.
func (s *scenario) firstRequest(ip string) (time.Duration, int, error) {
	var err error
	for fails := 0; fails < 50; fails++ {
		var d time.Duration
		if d, err = s.requestTime(ip); err == nil {
			return d, fails, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return 0, 50, err
}

// requestTime asks the pod at ip for a landing from the tiefighter and returns
// curl's time_total.
func (s *scenario) requestTime(ip string) (time.Duration, error) {
	out, code := s.curl(nsDefault, "tiefighter", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
		"-XPOST", "http://"+ip+":8080/v1/request-landing")
	status, secs, _ := strings.Cut(out, " ")
	f, err := strconv.ParseFloat(secs, 64)
	if code != 0 || status != "200" || err != nil {
		return 0, fmt.Errorf("tiefighter -> %s: exit %d %q", ip, code, out)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// proxyMemory reads, from the node, each starwars proxy's VmRSS and its
// container's memory cgroup (rss, and usage with page cache).
func (s *scenario) proxyMemory(t *testing.T) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  proxy memory from the node (idle after the scenario's requests):\n")
	for _, p := range s.pods(t, nsDefault, starwarsPods) {
		pid, err := proxyPID(nsDefault, p.Name)
		if err != nil {
			fmt.Fprintf(&b, "    %-28s %v\n", p.Name, err)
			continue
		}
		rss, err := procRSS(pid)
		line := fmt.Sprintf("    %-28s VmRSS %5.1f MiB", p.Name, mib(rss))
		if dir, err2 := memcgOf(pid); err2 == nil {
			if crss, usage, err3 := memcgRSS(dir); err3 == nil {
				line += fmt.Sprintf("   container cgroup rss %5.1f MiB, usage %5.1f MiB", mib(crss), mib(usage))
			}
		}
		if err != nil {
			line = fmt.Sprintf("    %-28s %v", p.Name, err)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// stats formats the median and range of ds.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf("%s [%s..%s]", round(med), round(s[0]), round(s[len(s)-1]))
}

func round(d time.Duration) string {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}
