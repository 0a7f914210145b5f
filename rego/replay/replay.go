package replay

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/rampart-mesh/rampart/rego"
	"github.com/rampart-mesh/rampart/rego/decisionlog"
)

// Options tune Run.
type Options struct {
	// Workers decode and decide in parallel. Default runtime.GOMAXPROCS(0).
	Workers int
	// Batch is how many events a worker takes at once. Default 256.
	Batch int
	// NoReuse decodes and decides every record, even one whose logged input was
	// seen before (benchmarks compare the two).
	NoReuse bool
}

func (o *Options) setDefaults() {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
}

// Run replays every decision of logs with e (the candidate) and reports what would
// change. A log event that is not a decision (a console log's other lines) is
// counted as skipped; one that cannot be read is an error naming its file and line.
func Run(ctx context.Context, e *rego.Engine, logs []decisionlog.Source, o Options) (*Report, error) {
	o.setDefaults()
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []seqEvent, o.Workers*2)
	parts := make([]*tally, o.Workers)
	var wg sync.WaitGroup
	for i := range parts {
		parts[i] = newTally()
		wg.Go(func() {
			for b := range batches {
				if err := parts[i].decideAll(ctx, e, b, o); err != nil {
					cancel(err)
				}
			}
		})
	}
	err := feed(ctx, logs, o.Batch, batches)
	close(batches)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	} else if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	r := merge(parts)
	r.Candidate, r.Duration = e.Revision(), time.Since(start)
	for _, l := range logs {
		r.Logs = append(r.Logs, l.Name)
	}
	return r, nil
}

// seqEvent is an event with its position across all logs, for picking examples in
// log order whatever worker decided them.
type seqEvent struct {
	decisionlog.Event
	seq int
}

// feed reads the logs in order and hands events out in batches.
func feed(ctx context.Context, logs []decisionlog.Source, size int, out chan<- []seqEvent) error {
	seq := 0
	batch := make([]seqEvent, 0, size)
	err := decisionlog.ReadAll(logs, func(ev decisionlog.Event) error {
		batch = append(batch, seqEvent{ev, seq})
		seq++
		if len(batch) < size {
			return nil
		}
		select {
		case out <- batch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		batch = make([]seqEvent, 0, size)
		return nil
	})
	if err == nil && len(batch) > 0 {
		select {
		case out <- batch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return err
}

// decideAll parses and re-decides one batch into t. Inputs seen before (the same
// logged JSON) are neither decoded nor decided again.
func (t *tally) decideAll(ctx context.Context, e *rego.Engine, b []seqEvent, o Options) error {
	for _, ev := range b {
		if ctx.Err() != nil {
			return nil
		}
		raw, err := decisionlog.ParseRaw(ev.Data)
		if errors.Is(err, decisionlog.ErrNotDecision) {
			t.totals.Skipped++
			continue
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", ev.File, ev.Line, err)
		}
		rec, d, err := t.decide(ctx, e, raw, o.NoReuse)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", ev.File, ev.Line, err)
		}
		t.add(&rec, d, ev)
	}
	return nil
}

// maxSeen bounds each worker's memory of inputs (their JSON is the key).
const maxSeen = 1 << 14

// seenWindow is how many lookups a worker's remembering is judged over: when fewer
// than 1 in 16 hit (every input distinct: fresh source ports, request ids), it
// remembers only every 16th input, enough to notice when repeats come back.
const seenWindow = 4096

type seen struct {
	in *rego.Input
	d  rego.Decision
}

func (t *tally) decide(ctx context.Context, e *rego.Engine, raw decisionlog.Raw, noReuse bool) (decisionlog.Record, rego.Decision, error) {
	if !noReuse {
		t.lookups++
		if s, ok := t.seen[string(raw.InputJSON)]; ok {
			t.hits++
			rec := raw.Record
			rec.Input = s.in
			return rec, s.d, nil
		}
	}
	rec, err := raw.DecodeWith(t.dec)
	if err != nil {
		return rec, rego.Decision{}, err
	}
	d := e.Decide(ctx, rec.Input)
	if !noReuse && t.remember() {
		if len(t.seen) >= maxSeen {
			clear(t.seen)
		}
		t.seen[string(raw.InputJSON)] = seen{rec.Input, d}
	}
	return rec, d, nil
}

// remember reports whether to keep the input just decided, after the hit rate of
// the last window (see seenWindow).
func (t *tally) remember() bool {
	if t.lookups >= seenWindow {
		t.sparse = t.hits*16 < t.lookups
		t.lookups, t.hits = 0, 0
	}
	t.misses++
	return !t.sparse || t.misses%16 == 0
}
