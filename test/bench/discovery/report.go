package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// report is the runs and the baseline they add to.
type report struct {
	c                 config
	objects           int // pods + services + slices in the cluster
	runs              []armResult
	idleCPU           float64 // API server CPU s/s, no proxy
	idleWatches       int
	idleRSS, idleHeap float64 // MB
	baseProxyRSS      float64 // MB, a proxy without discovery
	emptyKubeProxyRSS float64 // MB, a proxy with informers on an empty namespace
	baseAgentRSS      float64 // MB, rampart-node without its catalog
	load              string
	elapsed           time.Duration
}

func seconds(s float64) string {
	switch {
	case s < 1:
		return fmt.Sprintf("%.0f ms", s*1000)
	default:
		return fmt.Sprintf("%.2f s", s)
	}
}

// summary is one arm's medians over its runs.
type summary struct {
	watches                                    float64
	startCPU, settleCPU, changeCPU             float64
	apiRSS, apiHeap, proxyMed, proxyMax, agent float64
	p50, all, allMax                           float64
	startSeconds, proxyStartCPU                float64
	runs                                       int
}

func (r *report) summarize(arm string) (summary, bool) {
	var s summary
	var runs []armResult
	for _, x := range r.runs {
		if x.Arm == arm {
			runs = append(runs, x)
		}
	}
	if len(runs) == 0 {
		return s, false
	}
	med := func(f func(armResult) float64) float64 {
		var v []float64
		for _, x := range runs {
			v = append(v, f(x))
		}
		return median(v)
	}
	s.runs = len(runs)
	s.watches = med(func(x armResult) float64 { return float64(x.Watches) })
	s.startCPU = med(func(x armResult) float64 { return x.StartCPU })
	s.settleCPU = med(func(x armResult) float64 { return x.SettleCPU })
	s.changeCPU = med(func(x armResult) float64 { return x.ChangeCPU })
	s.apiRSS = med(func(x armResult) float64 { return x.APIRSSMB })
	s.apiHeap = med(func(x armResult) float64 { return x.APIHeapMB })
	s.proxyMed = med(func(x armResult) float64 { return median(x.ProxyRSSMB) })
	s.proxyMax = med(func(x armResult) float64 { return slices.Max(x.ProxyRSSMB) })
	s.agent = med(func(x armResult) float64 { return x.AgentRSSMB })
	s.p50 = med(func(x armResult) float64 { return median(x.ChangeP50) })
	s.all = med(func(x armResult) float64 { return median(x.ChangeAll) })
	s.allMax = med(func(x armResult) float64 { return slices.Max(x.ChangeAll) })
	s.startSeconds = med(func(x armResult) float64 { return x.StartSeconds })
	s.proxyStartCPU = med(func(x armResult) float64 { return x.ProxyStartCPU })
	return s, true
}

func (r *report) write(w io.Writer) {
	c := r.c
	fmt.Fprintf(w, "Discovery at scale: %d pods, %d services (+%d EndpointSlices) in %d namespaces, %d nodes; %d proxies on one node.\n",
		c.pods, c.services, c.services, c.namespaces, c.pods/c.proxies, c.proxies)
	fmt.Fprintf(w, "kube = every proxy runs its own informers (--discovery kube); node = one rampart-node feeds them all (--discovery node, --discovery-namespaces %q).\n", c.agentNamespaces)
	fmt.Fprintf(w, "API server idle: %.3f CPU s/s, %d watches, RSS %.0f MB, heap %.0f MB. Fixed costs (RSS): a proxy without discovery %.1f MB, with informers on an empty namespace %.1f MB; rampart-node without its catalog %.1f MB.\n\n",
		r.idleCPU, r.idleWatches, r.idleRSS, r.idleHeap, r.baseProxyRSS, r.emptyKubeProxyRSS, r.baseAgentRSS)

	fmt.Fprintln(w, "Runs, in the order run (interleaved):")
	fmt.Fprintln(w, "| run | watches | API CPU s start / settle / per change | API RSS MB (heap) | proxy RSS MB median / max | agent RSS MB | label change → median proxy / all, median (worst) of changes | start s (proxy restarts) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, x := range r.runs {
		fmt.Fprintln(w, x.row())
	}
	k, okK := r.summarize("kube")
	n, okN := r.summarize("node")
	fmt.Fprintf(w, "\nMedians over runs (settle %s, %d label changes per run):\n", c.settle, c.changes)
	fmt.Fprintln(w, "| arm | watches | API CPU s start | API CPU s settle | API CPU s per change | API RSS MB | API heap MB | proxy RSS MB median / max | agent RSS MB | label change → median proxy | → all proxies | worst |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	row := func(name string, s summary, agent string) {
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %.2f | %.3f | %.0f | %.0f | %.1f / %.1f | %s | %s | %s | %s |\n", name, s.watches,
			s.startCPU, s.settleCPU, s.changeCPU, s.apiRSS, s.apiHeap, s.proxyMed, s.proxyMax, agent,
			seconds(s.p50), seconds(s.all), seconds(s.allMax))
	}
	if okK {
		row("kube", k, "–")
	}
	if okN {
		row("node", n, fmt.Sprintf("%.1f", n.agent))
	}
	if okK && okN {
		ratio := func(a, b float64) string {
			if b <= 0 {
				return "–"
			}
			return fmt.Sprintf("%.1f×", a/b)
		}
		fmt.Fprintf(w, "| kube ÷ node | %s | %s | %s | %s | %s | %s | %s | | %s | %s | %s |\n",
			ratio(k.watches, n.watches), ratio(k.startCPU, n.startCPU), ratio(k.settleCPU, n.settleCPU),
			ratio(k.changeCPU, n.changeCPU), ratio(k.apiRSS, n.apiRSS), ratio(k.apiHeap, n.apiHeap),
			ratio(k.proxyMed, n.proxyMed), ratio(k.p50, n.p50), ratio(k.all, n.all), ratio(k.allMax, n.allMax))
		r.project(w, k, n)
	}
	fmt.Fprintf(w, "\nLoad average at the end: %s; run took %s.\n", strings.TrimSpace(r.load), r.elapsed.Round(time.Second))
}

// project scales the measured unit costs to a large cluster. Every figure is
// a linear extrapolation, labelled as such: it ignores what does not scale
// linearly (the API server's watch cache, GC, TCP and TLS limits).
func (r *report) project(w io.Writer, k, n summary) {
	c := r.c
	P, O := float64(c.proxies), float64(r.objects)
	bigNodes, bigPods := float64(c.bigNodes), float64(c.bigPods)
	bigObjects := bigPods * O / float64(c.pods) // services and slices in the measured proportion
	nsObjects := float64(c.bigNamespacePods) * O / float64(c.pods)

	perProxyWatches := k.watches / P
	perAgentWatches := n.watches
	heapPerWatch := (k.apiHeap - n.apiHeap) / (k.watches - n.watches) // MB
	cpuPerEvent := (k.changeCPU - n.changeCPU) / (P - 1)              // CPU s per watcher per change
	cpuPerListed := (k.startCPU - n.startCPU) / (P - 1) / O           // CPU s per object per client start
	kubePerObj := (k.proxyMed - r.emptyKubeProxyRSS) / O              // MB per object held, above informers on nothing
	nodePerObj := (n.proxyMed - r.baseProxyRSS) / O                   // MB per object held, above no discovery
	agentPerObj := (n.agent - r.baseAgentRSS) / O                     // MB per object, above rampart-node without catalog
	fmt.Fprintf(w, "\nUnit costs measured in this run (kube minus node, so what both arms pay cancels):\n")
	fmt.Fprintf(w, "- watches: %.1f per proxy (kube), %.0f per agent (node)\n", perProxyWatches, perAgentWatches)
	if heapPerWatch <= 0 {
		fmt.Fprintf(w, "- API server heap per watch: not measurable here (the heap difference, %.0f MB, is within its noise); taken as 0 below\n", k.apiHeap-n.apiHeap)
		heapPerWatch = 0
	} else {
		fmt.Fprintf(w, "- API server heap per watch: %.1f kB\n", heapPerWatch*1000)
	}
	fmt.Fprintf(w, "- API server CPU per change per watcher it is sent to: %.0f µs\n", cpuPerEvent*1e6)
	fmt.Fprintf(w, "- API server CPU to list one object to one starting client (connection, auth and watch setup included): %.1f µs\n", cpuPerListed*1e6)
	fmt.Fprintf(w, "- memory per object held (RSS above the fixed costs, over %d objects): %.2f kB in a kube proxy's informers, %.2f kB in a node proxy's view, %.2f kB in the agent's catalog\n",
		r.objects, kubePerObj*1000, nodePerObj*1000, agentPerObj*1000)

	bigProxies := bigPods // every pod injected
	fmt.Fprintf(w, "\nPROJECTION (linear extrapolation of the unit costs above, not a measurement) to %d nodes, %d pods, all injected, %.0f objects; a namespace of %d pods; %.0f pod changes/s (assumed):\n",
		c.bigNodes, c.bigPods, bigObjects, c.bigNamespacePods, c.churn)
	fmt.Fprintln(w, "| | kube (per-proxy informers) | node (one rampart-node per node) |")
	fmt.Fprintln(w, "|---|---|---|")
	kw, nw := bigProxies*perProxyWatches, bigNodes*perAgentWatches
	fmt.Fprintf(w, "| API server watches | %.0f | %.0f |\n", kw, nw)
	fmt.Fprintf(w, "| API server heap for them | %.1f GB | %.2f GB |\n", kw*heapPerWatch/1000, nw*heapPerWatch/1000)
	fmt.Fprintf(w, "| API server CPU per pod change (fan-out) | %.1f CPU s | %.2f CPU s |\n", kw/perProxyWatches*cpuPerEvent, bigNodes*cpuPerEvent)
	fmt.Fprintf(w, "| … at %.0f changes/s | %.0f cores | %.1f cores |\n", c.churn, c.churn*bigProxies*cpuPerEvent, c.churn*bigNodes*cpuPerEvent)
	fmt.Fprintf(w, "| API server CPU when every client restarts and lists (a rollout) | %.0f CPU h | %.1f CPU h |\n",
		bigProxies*bigObjects*cpuPerListed/3600, bigNodes*bigObjects*cpuPerListed/3600)
	fmt.Fprintf(w, "| memory per proxy | %.0f MB (whole cluster) | %.0f MB (own namespace, the default); %.0f MB with \"*\" |\n",
		r.emptyKubeProxyRSS+bigObjects*kubePerObj, r.baseProxyRSS+nsObjects*nodePerObj, r.baseProxyRSS+bigObjects*nodePerObj)
	fmt.Fprintf(w, "| memory per agent | – | %.0f MB (every pod of the cluster) |\n", r.baseAgentRSS+bigObjects*agentPerObj)
	fmt.Fprintf(w, "| memory of all discovery copies (above fixed costs) | %.0f GB (%d proxies) | %.0f GB (%d agents) + %.0f GB (proxies, own namespace) |\n",
		bigProxies*bigObjects*kubePerObj/1000, c.bigPods, bigNodes*bigObjects*agentPerObj/1000, c.bigNodes, bigProxies*nsObjects*nodePerObj/1000)
	fmt.Fprintln(w, "The label-change time is not extrapolated: it was set by when the API server's writes reached the clients; the CPU per change above is the work that grows with the number of watchers.")
}

// row is the run's line of the runs table.
func (x armResult) row() string {
	agent := "–"
	if x.Arm == "node" {
		agent = fmt.Sprintf("%.1f", x.AgentRSSMB)
	}
	return fmt.Sprintf("| %s #%d | %d | %.2f / %.2f / %.3f | %.0f (%.0f) | %.1f / %.1f | %s | %s / %s (%s) | %.1f (%d) |",
		x.Arm, x.Rep, x.Watches, x.StartCPU, x.SettleCPU, x.ChangeCPU, x.APIRSSMB, x.APIHeapMB,
		median(x.ProxyRSSMB), slices.Max(x.ProxyRSSMB), agent,
		seconds(median(x.ChangeP50)), seconds(median(x.ChangeAll)), seconds(slices.Max(x.ChangeAll)), x.StartSeconds, x.Restarts)
}
