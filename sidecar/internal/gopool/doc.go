// Package gopool runs functions on goroutines that are kept, once they finish,
// for the next function: a few parked goroutines instead of a new one per job.
//
// Why: a proxy starts a goroutine per connection or stream, and each new
// goroutine starts on a small stack that the handler's depth (TLS, HTTP
// parsing, policy evaluation) makes the runtime grow by copying, several times
// per goroutine: measured at 200 new connections per second, 5–8 % of each
// proxy's CPU. A kept goroutine keeps its grown stack (the garbage collector
// shrinks the stacks of parked goroutines, so a kept goroutine grows again at
// most once per collection, not per job).
//
// Every job still runs on its own goroutine while it runs, so a pool changes
// no bound on how many run at once; only the parked ones are capped (Max).
package gopool
