package demo

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"
)

// EgressStep is one call of the egress tour and what the app saw.
type EgressStep struct {
	From, URL, Via string // Via: the host whose address was dialled ("" = the URL's)
	Result         Result
}

// egressTour is the seed scenario: what a and b may reach, and spoofing.
var egressTour = []EgressStep{
	{From: "a", URL: "https://github.com/"}, {From: "a", URL: "http://httpbin.org/get"},
	{From: "a", URL: "https://google.com/"}, {From: "b", URL: "https://google.com/"},
	{From: "b", URL: "http://github.com/"}, {From: "a", URL: "https://evil.example/"},
	{From: "b", URL: "http://evil.example/"},
	{From: "a", URL: "https://github.com/", Via: "evil.example"},
	{From: "a", URL: "http://github.com/", Via: "evil.example"},
}

// Tour runs the egress tour.
func (eg *Egress) Tour(ctx context.Context) ([]EgressStep, error) {
	var out []EgressStep
	for _, s := range egressTour {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := map[string]*Client{"a": eg.A, "b": eg.B}[s.From]
		var via netip.Addr
		if s.Via != "" {
			via = InternetHosts[s.Via]
		}
		r, err := c.Get(s.URL, via)
		if err != nil {
			return nil, err
		}
		s.Result = r
		out = append(out, s)
	}
	return out, nil
}

// Outcome is the step's outcome as the app saw it.
func (s EgressStep) Outcome() string {
	r := s.Result
	switch {
	case r.Status != 0:
		return fmt.Sprintf("%d %s", r.Status, strings.TrimSpace(r.Body))
	case strings.Contains(r.Err, "access denied"):
		return "TLS alert access_denied"
	}
	return "error: " + r.Err
}

// PrintEgress prints the egress table.
func PrintEgress(w io.Writer, steps []EgressStep) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tREQUEST\tCONNECTED TO\tOUTCOME")
	for _, s := range steps {
		via := s.Via
		if via == "" {
			via = hostOf(s.URL)
		}
		fmt.Fprintf(tw, "%s\tGET %s\t%s (%s)\t%s\n", s.From, s.URL, via, InternetHosts[via], s.Outcome())
	}
	tw.Flush()
}

func hostOf(url string) string {
	return strings.SplitN(strings.SplitN(url, "://", 2)[1], "/", 2)[0]
}

// runEgress is the egress part of `rampart demo`, in an Env of its own.
func runEgress(ctx context.Context, o RunOptions) (err error) {
	env, err := NewEnv(EnvOptions{Tag: "rpdemo", Helper: o.Helper, ProxyBinary: o.ProxyBinary,
		Logger: o.Logger, Context: ctx})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := env.Close(); cerr != nil {
			err = cerr
		}
	}()
	eg, err := StartEgress(env)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.Out, "\nEgress, policies/egress: app a may reach github.com and httpbin.org, app b google.com; "+
		"decided by each pod's own proxy by Host (HTTP) or SNI (TLS), a name allowing only its own addresses:")
	steps, err := eg.Tour(ctx)
	if err != nil {
		return err
	}
	PrintEgress(o.Out, steps)
	return nil
}
