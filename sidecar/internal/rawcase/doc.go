// Package rawcase reads the raw-request corpus files shared by the HTTP parser tests
// (sidecar/httpx) and the inbound proxy tests (sidecar/inbound): "key: value"
// expectation lines, a line "---", then the request bytes written with escapes so
// that CR, LF, NUL and arbitrary bytes can be kept in a text file. It is test
// support only; no production code imports it.
package rawcase
