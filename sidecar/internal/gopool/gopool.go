package gopool

import "sync"

// Max is how many finished goroutines a Pool keeps parked: enough for the
// jobs that start at a moderate rate (a connection at 200 per second is over
// in about a millisecond, so one or two run at a time), few enough that the
// parked stacks stay small next to the process and that the goroutine count
// after a burst returns within test/bench/dos's slack (20) of idle.
const Max = 8

// Pool runs jobs on kept goroutines. The zero value is ready to use.
type Pool struct {
	mu   sync.Mutex
	idle []chan func()
}

// Go runs f on a parked goroutine of p, or on a new one.
func (p *Pool) Go(f func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w <- f // buffered: the worker is parked on it, or about to be
		return
	}
	p.mu.Unlock()
	go p.work(f)
}

func (p *Pool) work(f func()) {
	var w chan func()
	for {
		f()
		f = nil // let what the job held go while parked
		if w == nil {
			w = make(chan func(), 1)
		}
		p.mu.Lock()
		if len(p.idle) >= Max {
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		f = <-w
	}
}

// Idle reports how many goroutines are parked (for tests).
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
