// Command dos attacks proxies the way a hostile peer would and prints, side by
// side, how Rampart, nginx 1.22 and HAProxy 2.6 hold up: loopback only, every
// attack bounded in time and in count, one at a time, each against a freshly
// started target (one thread or worker each) fronting the same small app.
//
//	go run ./test/bench/dos                                  # every attack, 15 s each
//	go run ./test/bench/dos -attacks h2-ping-flood,slowloris -duration 5s -targets rampart,haproxy
//
// The policy allows only GET /ok (Rego for Rampart, ACLs for the anchors); the
// app counts every other request that reaches it. While an attack runs, a
// legitimate client sends GET /ok at a fixed rate on its own connections (HTTP/1,
// h2c or HBONE like the attack) and a probe sends denied requests. Per attack ×
// target the table shows the legitimate success rate and p99, RSS idle → peak
// (VmRSS of the process tree, polled), CPU (utime+stime), whether the target is
// alive after, denied requests that reached the app, and what the attack saw
// (how a flood's connection ended, bytes per idle connection, status codes).
//
// Rampart is built from the current tree (go build into a temp dir) and run in
// PERMISSIVE mode on a plaintext listener (the 15006 role, HTTP/1 and h2c) and
// on HBONE (15008) with an SVID of the built-in CA; HBONE attacks carry a valid
// SVID of the same trust domain. TestDoSBounds runs a reduced set against
// Rampart alone and asserts bounds that do not depend on timing.
package main
