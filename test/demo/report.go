package demo

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// PrintSteps prints the scenario's table: caller, request, outcome, reason.
func PrintSteps(w io.Writer, steps []Step) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CALLER\tREQUEST\tTO\tOUTCOME\tDECISION REASON")
	for _, s := range steps {
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\n", s.Caller, s.Method, s.Path, s.Target, s.Outcome(), s.Why())
	}
	tw.Flush()
}

// PrintDecisions prints the decision-log lines of the steps' decisions, reduced
// to the fields that matter (the proxies write OPA's decision-log format).
func PrintDecisions(w io.Writer, steps []Step) {
	fmt.Fprintln(w, "\nDecision log of the deathstar proxies for these requests (abridged):")
	for _, s := range steps {
		if d := s.Decision; d != nil {
			fmt.Fprintf(w, "  %s: {source: %q, labels: {%s}, %s %s, allowed: %v, reason: %q, revision: %q}\n",
				d.Proxy, d.Source, joinLabels(d.Labels), d.Method, d.Path, d.Allowed, d.Reason, d.Revision())
		}
	}
}

func revisions(r map[string]string) string {
	var out []string
	for _, v := range r {
		out = append(out, v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// PrintCounters prints, per meshed pod, its eBPF capture counters, what its app
// saw, and its proxy's decision and connection counters from /metrics.
func (sw *StarWars) PrintCounters(ctx context.Context, w io.Writer) error {
	fmt.Fprintln(w, "\nCounters (eBPF capture maps, the apps, and each proxy's /metrics):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  POD\tCAPTURED CONNECTS\tSTEERED INBOUND\tAPP SAW\tPROXY METRICS")
	pods := append(append([]*Pod{}, sw.Deathstar...), sw.Tiefighter.Pod, sw.Xwing.Pod)
	for _, p := range pods {
		st, err := p.Proxy().CaptureStats()
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\n", p.Name, st.Redirected, st.InboundSteered,
			sw.appSaw(p), sw.metricsSummary(ctx, p))
	}
	return tw.Flush()
}

// appSaw is how many requests the pod's deathstar app received, "-" for clients.
func (sw *StarWars) appSaw(p *Pod) string {
	for _, a := range sw.Apps {
		if a.Pod == p {
			return fmt.Sprint(a.Total())
		}
	}
	return "-"
}

func (sw *StarWars) metricsSummary(ctx context.Context, p *Pod) string {
	m, err := p.Metrics(ctx)
	if err != nil {
		return err.Error()
	}
	return summarize(m)
}

// summarize picks the counters a reader of the demo cares about.
func summarize(m Metrics) string {
	var out []string
	allow, deny := m.Sum("rampart_policy_decisions_total", `result="allow"`), m.Sum("rampart_policy_decisions_total", `result="deny"`)
	if allow+deny > 0 {
		out = append(out, fmt.Sprintf("policy decisions allow=%g deny=%g", allow, deny))
	}
	if n := m.Sum("rampart_connections_total", `direction="outbound"`, `kind="hbone"`, `result="ok"`); n > 0 {
		out = append(out, fmt.Sprintf("outbound mTLS (HBONE) connections=%g", n))
	}
	if n := m.Sum("rampart_outbound_tls_handshakes_total", `result="ok"`); n > 0 {
		out = append(out, fmt.Sprintf("handshakes=%g", n))
	}
	return strings.Join(out, ", ")
}
