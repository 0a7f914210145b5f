package rego

import (
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// deadline is a topdown.Cancel that cancels itself once a time has passed. Topdown
// asks Cancelled() before every expression; reading the clock every 64th time bounds
// an evaluation as tightly as a timer would, without arming a runtime timer (an
// allocation and two timer-heap operations) on every decision. One evaluation runs
// on one goroutine, so the fields need no synchronization.
type deadline struct {
	at    time.Time
	calls uint32
	fired bool
}

func (d *deadline) Cancel() { d.fired = true }

func (d *deadline) Cancelled() bool {
	if d.fired {
		return true
	}
	d.calls++
	if d.calls%64 == 0 && time.Now().After(d.at) {
		d.fired = true
	}
	return d.fired
}

// scratch is the per-evaluation state handed to topdown, allocated once.
type scratch struct {
	cache   flatCache
	dl      deadline
	result  ast.Value                       // the decision's value, once found
	collect func(topdown.QueryResult) error // made once, so Iter's callback costs nothing more
}

func newScratch(at time.Time) *scratch {
	s := &scratch{dl: deadline{at: at}}
	s.cache.init()
	s.collect = func(qr topdown.QueryResult) error {
		if t := qr[decisionVar]; t != nil {
			s.result = t.Value
		}
		return nil
	}
	return s
}
