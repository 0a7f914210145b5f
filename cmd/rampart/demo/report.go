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

// PrintDecisions prints the last n decision-log lines of the deathstar proxies,
// compacted to the fields that matter.
func (sw *StarWars) PrintDecisions(w io.Writer, n int) error {
	all, err := sw.Decisions()
	if err != nil {
		return err
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	fmt.Fprintf(w, "\nDecision log (last %d lines of the deathstar proxies, abridged):\n", len(all))
	for _, d := range all {
		fmt.Fprintf(w, "  {source: %q, labels: %s, %s %s, allowed: %v, reason: %q, revision: %q}\n",
			d.Source, joinLabels(d.Labels), d.Method, d.Path, d.Allowed, d.Reason, d.Revision())
	}
	return nil
}

func revisions(r map[string]string) string {
	var out []string
	for _, v := range r {
		out = append(out, v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// PrintCounters prints each meshed pod's capture counters and, when its proxy has
// an admin port, its request counters.
func (sw *StarWars) PrintCounters(ctx context.Context, w io.Writer) error {
	fmt.Fprintln(w, "\nCounters:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  POD\tCAPTURED CONNECTS\tSTEERED INBOUND\tPROXY METRICS")
	pods := append(append([]*Pod{}, sw.Deathstar...), sw.Tiefighter.Pod, sw.Xwing.Pod)
	for _, p := range pods {
		st, err := p.Proxy().CaptureStats()
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\n", p.Name, st.Redirected, st.InboundSteered, sw.metricsSummary(ctx, p))
	}
	return tw.Flush()
}

func (sw *StarWars) metricsSummary(ctx context.Context, p *Pod) string {
	if !sw.Env.ProxyHas("admin") {
		return "(no admin port in this rampart-proxy)"
	}
	m, err := p.Metrics(ctx)
	if err != nil {
		return err.Error()
	}
	return summarize(m)
}

// summarize lists the proxy's request and decision counters, "name{labels}=value".
func summarize(m Metrics) string {
	var out []string
	for k, v := range m {
		if strings.HasSuffix(strings.SplitN(k, "{", 2)[0], "_total") && v > 0 &&
			(strings.Contains(k, "request") || strings.Contains(k, "decision") || strings.Contains(k, "connection")) {
			out = append(out, fmt.Sprintf("%s=%g", strings.TrimPrefix(k, "rampart_"), v))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
