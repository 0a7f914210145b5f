package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-mesh/rampart/rego/decisionlog"
)

// observeFilter selects decisions by the flags of `rampart observe`.
type observeFilter struct {
	namespace, from, to, verdict, path string
	since                              time.Duration
	disagree                           bool
	now                                time.Time
}

func (f *observeFilter) match(r *decisionlog.Record) bool {
	fl := decisionlog.FlowOf(r.Input)
	switch {
	case f.namespace != "" && !inNamespace(fl.Source, f.namespace) && !inNamespace(fl.Destination, f.namespace):
	case f.from != "" && !strings.Contains(fl.Source, f.from):
	case f.to != "" && !strings.Contains(fl.Destination, f.to):
	case f.verdict != "" && f.verdict != verdict(r):
	case f.path != "" && !strings.HasPrefix(fl.Path, f.path) && (r.Input.Request == nil || !strings.HasPrefix(r.Input.Request.Path, f.path)):
	case f.since > 0 && !r.Time.IsZero() && r.Time.Before(f.now.Add(-f.since)):
	case f.disagree && (r.Shadow == nil || r.Shadow.Allowed == (r.Allowed && !r.DryRun)):
	default:
		return true
	}
	return false
}

func inNamespace(workload, ns string) bool { return strings.HasPrefix(workload, ns+"/") }

// verdict is what the proxy did: allowed, denied, or dry-run (denied by policy,
// let through).
func verdict(r *decisionlog.Record) string {
	switch {
	case r.DryRun:
		return "dry-run"
	case r.Allowed:
		return "allowed"
	}
	return "denied"
}

func newObserveCmd() *cobra.Command {
	var (
		f     observeFilter
		logs  []string
		admin string
		out   outputFormat
	)
	cmd := &cobra.Command{
		Use:   "observe (--admin HOST:PORT | --log FILE...)",
		Short: "show decisions, like hubble observe: from a proxy's admin port or decision-log files",
		Long: "observe prints decisions with their source and destination workloads, method, path,\n" +
			"verdict, reason and bundle revision (and the shadow bundle's verdict when one runs).\n" +
			"--admin reads the decision ring a proxy keeps in bounded memory when started with\n" +
			"--decision-ring-bytes (/debug/decisions on its admin port, 15020 in a pod:\n" +
			"kubectl port-forward pod/NAME 15020); --log reads files.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (admin == "") == (len(logs) == 0) {
				return errors.New("want one of --admin or --log")
			}
			if f.verdict != "" && f.verdict != "allowed" && f.verdict != "denied" && f.verdict != "dry-run" {
				return fmt.Errorf("--verdict %q: want allowed, denied or dry-run", f.verdict)
			}
			f.now = time.Now()
			srcs := decisionlog.Files(logs...)
			if admin != "" {
				srcs = []decisionlog.Source{adminSource(admin)}
			}
			return observe(cmd.OutOrStdout(), srcs, &f, out)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&admin, "admin", "", "a proxy's admin address (host:port)")
	fl.StringSliceVar(&logs, "log", nil, "decision-log file (repeat or comma-separate; gzip read by content)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "only decisions whose source or destination is in this namespace")
	fl.StringVar(&f.from, "from", "", "only sources whose workload (ns/sa, labels or ip) contains this")
	fl.StringVar(&f.to, "to", "", "only destinations whose workload contains this")
	fl.StringVar(&f.verdict, "verdict", "", "allowed, denied or dry-run")
	fl.StringVar(&f.path, "path", "", "only paths (or path templates) starting with this")
	fl.DurationVar(&f.since, "since", 0, "only decisions of the last DURATION")
	fl.BoolVar(&f.disagree, "disagree", false, "only decisions where the shadow bundle disagreed")
	fl.VarP(newEnum(&out), "output", "o", "table, json or yaml")
	return cmd
}

// maxAdminBytes bounds what observe reads from a proxy: its ring is smaller.
const maxAdminBytes = 64 << 20

func adminSource(addr string) decisionlog.Source {
	url := "http://" + addr + "/debug/decisions"
	return decisionlog.Source{Name: url, Open: func() (io.ReadCloser, error) {
		c := http.Client{Timeout: 30 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("%s", resp.Status)
		}
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxAdminBytes), resp.Body}, nil
	}}
}

// observed is one decision as `observe -o json|yaml` prints it.
type observed struct {
	Time        time.Time                  `json:"time"`
	ID          string                     `json:"decision_id"`
	Source      string                     `json:"source"`
	Destination string                     `json:"destination"`
	Method      string                     `json:"method"`
	Path        string                     `json:"path"`
	Verdict     string                     `json:"verdict"`
	Reason      string                     `json:"reason,omitempty"`
	Revision    string                     `json:"revision,omitempty"`
	Shadow      *decisionlog.ShadowVerdict `json:"shadow,omitempty"`
}

func observe(w io.Writer, srcs []decisionlog.Source, f *observeFilter, out outputFormat) error {
	var rows []observed
	_, err := decisionlog.Each(srcs, func(r decisionlog.Record, _ decisionlog.Event) error {
		if !f.match(&r) {
			return nil
		}
		fl := decisionlog.FlowOf(r.Input)
		o := observed{Time: r.Time, ID: r.ID, Source: fl.Source, Destination: fl.Destination, Method: fl.Method,
			Path: "-", Verdict: verdict(&r), Reason: r.Reason, Revision: r.Revision, Shadow: r.Shadow}
		if r.Input.Request != nil {
			o.Path = r.Input.Request.Path
		}
		rows = append(rows, o)
		return nil
	})
	if err != nil {
		return err
	}
	if ok, err := out.encode(w, rows); ok {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSOURCE\tDESTINATION\tMETHOD\tPATH\tVERDICT\tREASON\tREVISION\tSHADOW")
	for _, o := range rows {
		shadow := "-"
		if o.Shadow != nil {
			shadow = map[bool]string{true: "allowed", false: "denied"}[o.Shadow.Allowed]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.Time.Format(time.TimeOnly), o.Source, o.Destination,
			o.Method, o.Path, o.Verdict, dash(o.Reason), dash(o.Revision), shadow)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
