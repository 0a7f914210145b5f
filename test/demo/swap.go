package demo

import (
	"context"
	"fmt"
	"io"
	"time"
)

// SwapResult is what one live bundle swap did to a request sent over and over.
type SwapResult struct {
	Revision string        // the revision swapped in
	Step     Step          // the first answer under the new bundle
	After    time.Duration // from the swap to that answer
	Sent     int           // requests sent meanwhile
	Failed   int           // of which got no HTTP answer (must be 0)
	Failure  string        // the first failure's error, if any
}

// Swap serves the bundle in dir from now on and sends method path from c until
// every deathstar replica has decided it with the new revision and the answer's
// status is want (for at most limit). Each replica's proxy polls on its own.
func (sw *StarWars) Swap(ctx context.Context, dir, revision string, c *Client, method, path string, want int, limit time.Duration) (SwapResult, error) {
	res := SwapResult{Revision: revision}
	if sw.Bundles == nil {
		return res, fmt.Errorf("demo: no bundle server (the proxy cannot poll bundles)")
	}
	start := time.Now()
	if err := sw.Bundles.Set(dir); err != nil {
		return res, err
	}
	switched := map[string]bool{}
	for time.Since(start) < limit && ctx.Err() == nil {
		st, err := sw.Do(c, method, sw.ServiceURL(path), "deathstar VIP "+DeathstarVIP.String())
		if err != nil {
			return res, err
		}
		res.Sent++
		if st.Result.Failed() {
			res.Failed++
			if res.Failure == "" {
				res.Failure = st.Result.Err
			}
		}
		if d := st.Decision; d != nil && d.Revision() == revision && st.Result.Status == want {
			switched[d.Proxy] = true
		}
		if len(switched) == len(sw.Deathstar) {
			res.Step, res.After = st, time.Since(start)
			return res, nil
		}
	}
	return res, fmt.Errorf("demo: %s %s: only %d of %d replicas answered %d within %v of swapping in %s",
		method, path, len(switched), len(sw.Deathstar), want, limit, revision)
}

// SwapTour swaps in the bundle that also allows PUT /v1/exhaust-port, then the
// Star Wars one again, each while the tiefighter keeps sending that PUT.
func (sw *StarWars) SwapTour(ctx context.Context, w io.Writer) error {
	fmt.Fprintln(w, "\nLive bundle swap while the tiefighter keeps sending PUT /v1/exhaust-port:")
	for _, s := range []struct {
		dir, rev, what string
		want           int
	}{
		{sw.ExhaustBundle, ExhaustRevision, "also allows the exhaust port", 200},
		{sw.StarWarsBundle, StarWarsRevision, "the Star Wars policy again", 403},
	} {
		r, err := sw.Swap(ctx, s.dir, s.rev, sw.Tiefighter, "PUT", "/v1/exhaust-port", s.want, 30*time.Second)
		if err != nil {
			return err
		}
		rev := r.Step.Decision.Revision()
		fmt.Fprintf(w, "  -> %s (%s): every replica answers %q after %v; %d requests sent meanwhile, %d failed\n",
			rev, s.what, r.Step.Outcome(), r.After.Round(10*time.Millisecond), r.Sent, r.Failed)
		if r.Failed > 0 {
			fmt.Fprintf(w, "     first failure: %s\n", r.Failure)
		}
	}
	return nil
}
