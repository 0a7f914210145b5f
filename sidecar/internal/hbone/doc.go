// Package hbone carries TCP connections as HTTP/2 CONNECT streams over one
// connection (the mesh hop between two proxies, port 15008), built on
// golang.org/x/net/http2's framer and HPACK.
//
// It implements only what a CONNECT tunnel needs: one request HEADERS per stream
// (":method CONNECT", ":authority ip:port"), one response HEADERS (":status"), then
// DATA both ways with END_STREAM as a half-close and RST_STREAM as an abort. A general
// HTTP/2 server or transport spends most of its time per request on handing frames
// between goroutines (a frame reader, a serve loop, an async writer); here the
// connection's one reader goroutine hands DATA straight to the stream's buffer, and
// writers write frames themselves, in order, under one lock, flushing only when no
// other writer is queued, so streams of a busy connection share TLS records and
// syscalls.
//
// Flow control follows RFC 9113: a stream's and the connection's receive windows are
// returned as the reader consumes data, so a stream whose reader stops holds at most
// its window in memory; writers wait for the peer's windows. Either side can be an
// x/net/http2 peer (the tests check both directions).
package hbone
