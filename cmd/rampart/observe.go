package main

import (
	"context"
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
		kube  clusterOptions
	)
	cmd := &cobra.Command{
		Use:   "observe [-n NS | -A] [--follow] | --admin HOST:PORT | --log FILE...",
		Short: "show decisions, like hubble observe: from a cluster's proxies, one proxy's admin port or decision-log files",
		Long: "observe prints decisions with their source and destination workloads, method, path,\n" +
			"verdict, reason and bundle revision (and the shadow bundle's verdict when one runs).\n" +
			"By default it reads every injected proxy of a namespace (-n, else the kubeconfig\n" +
			"context's; -A: all) through the apiserver's pod proxy (needs get on pods/proxy),\n" +
			"merged in time order; --follow then streams new decisions, picking up new pods.\n" +
			"A proxy keeps decisions only when started with --decision-ring-bytes\n" +
			"(/debug/decisions on its admin port, 15020 in a pod). --admin reads one proxy's\n" +
			"admin port; --log reads files.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if admin != "" && len(logs) > 0 {
				return errors.New("want one of --admin or --log")
			}
			if f.verdict != "" && f.verdict != "allowed" && f.verdict != "denied" && f.verdict != "dry-run" {
				return fmt.Errorf("--verdict %q: want allowed, denied or dry-run", f.verdict)
			}
			if kube.follow && len(logs) > 0 {
				return errors.New("--follow reads proxies, not --log files")
			}
			f.now = time.Now()
			switch {
			case len(logs) > 0:
				return observe(cmd.OutOrStdout(), decisionlog.Files(logs...), &f, out)
			case admin != "" && kube.follow:
				return followAdmin(cmd.Context(), cmd.OutOrStdout(), admin, &f, out)
			case admin != "":
				return observe(cmd.OutOrStdout(), []decisionlog.Source{adminSource(cmd.Context(), admin, false)}, &f, out)
			}
			kube.namespace, f.namespace = f.namespace, "" // here -n picks the proxies
			kube.stderr = cmd.ErrOrStderr()
			return observeCluster(cmd.Context(), cmd.OutOrStdout(), &kube, &f, out)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&admin, "admin", "", "a proxy's admin address (host:port)")
	fl.StringSliceVar(&logs, "log", nil, "decision-log file (repeat or comma-separate; gzip read by content)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "in a cluster, the proxies of this namespace; with --admin or --log, only decisions whose source or destination is in it")
	fl.BoolVarP(&kube.all, "all-namespaces", "A", false, "in a cluster, the proxies of every namespace")
	fl.BoolVarP(&kube.follow, "follow", "f", false, "keep streaming new decisions (a cluster or --admin)")
	fl.StringVar(&kube.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	fl.StringVar(&kube.context, "context", "", "kubeconfig context (default: the current one)")
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

func adminSource(ctx context.Context, addr string, follow bool) decisionlog.Source {
	url := "http://" + addr + "/debug/decisions"
	c := http.Client{Timeout: 30 * time.Second}
	if follow {
		url += "?follow=1"
		c.Timeout = 0
	}
	return decisionlog.Source{Name: url, Open: func() (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
		}
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxAdminBytes), resp.Body}, nil
	}}
}

// followAdmin streams one proxy's decisions as they are made, until ctx ends.
func followAdmin(ctx context.Context, w io.Writer, addr string, f *observeFilter, out outputFormat) error {
	header := true
	_, err := decisionlog.Each([]decisionlog.Source{adminSource(ctx, addr, true)}, func(r decisionlog.Record, _ decisionlog.Event) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !f.match(&r) {
			return nil
		}
		row := rowOf(&r)
		err := printStream(w, []observed{row}, out, false, header)
		header = false
		return err
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// observed is one decision as `observe -o json|yaml` prints it.
type observed struct {
	Time        time.Time                  `json:"time"`
	ID          string                     `json:"decision_id"`
	Pod         string                     `json:"pod,omitempty"` // the proxy's pod (ns/name), in a cluster
	Source      string                     `json:"source"`
	Destination string                     `json:"destination"`
	Method      string                     `json:"method"`
	Path        string                     `json:"path"`
	Verdict     string                     `json:"verdict"`
	Reason      string                     `json:"reason,omitempty"`
	Revision    string                     `json:"revision,omitempty"`
	Shadow      *decisionlog.ShadowVerdict `json:"shadow,omitempty"`
}

func rowOf(r *decisionlog.Record) observed {
	fl := decisionlog.FlowOf(r.Input)
	o := observed{Time: r.Time, ID: r.ID, Source: fl.Source, Destination: fl.Destination, Method: fl.Method,
		Path: "-", Verdict: verdict(r), Reason: r.Reason, Revision: r.Revision, Shadow: r.Shadow}
	if r.Input.Request != nil {
		o.Path = r.Input.Request.Path
	}
	return o
}

func observe(w io.Writer, srcs []decisionlog.Source, f *observeFilter, out outputFormat) error {
	var rows []observed
	_, err := decisionlog.Each(srcs, func(r decisionlog.Record, _ decisionlog.Event) error {
		if f.match(&r) {
			rows = append(rows, rowOf(&r))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return printRows(w, rows, out, false, true)
}

// printRows writes rows as a table (with a POD column when withPod, and the
// header when header) or as JSON or YAML.
func printRows(w io.Writer, rows []observed, out outputFormat, withPod, header bool) error {
	if ok, err := out.encode(w, rows); ok {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	pod := map[bool]string{true: "POD\t"}[withPod]
	if header {
		fmt.Fprintln(tw, "TIME\t"+pod+"SOURCE\tDESTINATION\tMETHOD\tPATH\tVERDICT\tREASON\tREVISION\tSHADOW")
	}
	for _, o := range rows {
		shadow := "-"
		if o.Shadow != nil {
			shadow = map[bool]string{true: "allowed", false: "denied"}[o.Shadow.Allowed]
		}
		if withPod {
			pod = o.Pod + "\t"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.Time.Format(time.TimeOnly), pod, o.Source,
			o.Destination, o.Method, o.Path, o.Verdict, dash(o.Reason), dash(o.Revision), shadow)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
