// Command bench measures two-sidecar chains side by side on loopback, in one run,
// and prints one Markdown table: direct; nginx 1.22 (mTLS plus a location and
// method rule); HAProxy 2.6 (mTLS plus a path and method ACL, nbthread 1);
// ghostunnel 1.8.4 (L4 mTLS with SPIFFE ID checks); Rampart (two rampart-proxy
// processes, SPIFFE mTLS HBONE, Star Wars Rego decision).
//
// The backend is a one-worker nginx answering every POST with 1 kB. Each chain is
// driven, in interleaved repetitions, by three workloads: wrk at a fixed rate on
// one schedule shared by ten keep-alive connections (a Lua script, µs latencies
// from wrk); a new TCP connection per request (Connection: close) on an even
// schedule; and maximum rate (wrk -t1 -c32). Reported figures are medians over
// repetitions: latency added over direct, CPU per 1000 new connections and per
// request at max rate per proxy (from /proc), max rps, and RSS cold and idle after
// the load.
//
// Run it with test/bench/run.sh, which builds what it needs. TestSmoke runs it at
// a tiny scale in `make test` so it cannot rot.
package main
