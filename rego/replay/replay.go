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
				if err := parts[i].decideAll(ctx, e, b); err != nil {
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

// decideAll parses and re-decides one batch into t.
func (t *tally) decideAll(ctx context.Context, e *rego.Engine, b []seqEvent) error {
	for _, ev := range b {
		if ctx.Err() != nil {
			return nil
		}
		rec, err := decisionlog.Parse(ev.Data)
		if errors.Is(err, decisionlog.ErrNotDecision) {
			t.totals.Skipped++
			continue
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", ev.File, ev.Line, err)
		}
		d := e.Decide(ctx, rec.Input)
		t.add(&rec, d, ev)
	}
	return nil
}
