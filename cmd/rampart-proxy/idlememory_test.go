package main

import "testing"

// TestIdleWatch: a release follows only a busy stretch that has gone quiet, and
// only once per stretch.
func TestIdleWatch(t *testing.T) {
	const mb = 1 << 20
	var w idleWatch
	steps := []struct {
		alloc uint64 // cumulative
		want  bool
	}{
		{100 << 10, false}, // quiet, never busy
		{20 * mb, false},   // busy tick
		{40 * mb, false},   // still busy
		{40*mb + 1000, true},
		{40*mb + 2000, false},    // quiet again, nothing new to release
		{40*mb + 500<<10, false}, // a little work: below the busy threshold
		{40*mb + 600<<10, false},
		{50 * mb, false},
		{50*mb + 1, true},
	}
	for i, s := range steps {
		if got := w.step(s.alloc); got != s.want {
			t.Errorf("tick %d (%d bytes): release %v, want %v", i, s.alloc, got, s.want)
		}
	}
}
