// Package replay re-decides recorded decisions with a candidate bundle and reports
// what would change: `rampart policy replay`.
//
// Every decision of the logs (Rampart's or OPA-Envoy's, see package decisionlog)
// is decided again by a rego.Engine holding the candidate, and compared with what
// the proxy did. Changes are grouped by source workload, destination workload,
// method and path template, with a count and the first example of each direction,
// so a reviewer sees "the candidate would deny 1 200 GETs of /v1/ships/{number}
// from default/tiefighter" rather than 1 200 lines.
//
// Decoding the logs costs more than deciding, so records are decoded and decided
// by one worker per CPU, each with its own rego.InputDecoder (logged inputs read
// in one pass straight into a rego.Input, repeated strings and label maps
// shared), and each worker decodes and decides a logged input it has seen before
// (the same JSON bytes, up to 16 384 remembered) only once: the line's other
// fields are read without decoding the input (decisionlog.ParseRaw). When
// inputs hardly repeat (a fresh source port or request id in each), a worker
// remembers only a sample of them, so the memory costs nothing it does not repay.
// The report does not depend on scheduling (examples are the first in log order)
// and equals a line-by-line replay's (TestFastPathSameReport).
//
// BenchmarkReplayMillion replays a million decisions of varied traffic, and
// TestWriteGeneratedLog writes the same traffic to a file for timing the command:
//
//	go test ./rego/replay -run '^$' -bench ReplayMillion -benchtime 1x
//	go test ./rego/replay -run WriteGeneratedLog -replay-write /tmp/million.log
package replay
