// Command bench measures two-sidecar chains side by side on loopback, in one run,
// and prints one Markdown table: direct; Rampart (two rampart-proxy processes,
// SPIFFE mTLS HBONE, Star Wars Rego decision); HAProxy 2.6 (mTLS plus a path and
// method ACL, nbthread 1); ghostunnel 1.8.4 (L4 mTLS with SPIFFE ID checks).
//
// The backend is a one-worker nginx answering every POST with 1 kB. Each chain is
// driven, in interleaved repetitions, at a fixed, evenly spaced rate (a Go
// generator that schedules requests on a µs clock over keep-alive connections and
// measures from the scheduled send time, so queueing is not hidden) and at maximum
// rate (wrk -t1 -c32). Reported figures are medians over repetitions: latency
// added over direct (p50/p90/p99), max rps, RSS per proxy idle and at the fixed
// rate, CPU µs per request per proxy at max rate (from /proc), and ratios.
//
// Run it with test/bench/run.sh, which builds what it needs. It is not part of
// `make test`.
package main
