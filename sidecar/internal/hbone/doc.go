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
// # Flow control and memory
//
// Flow control follows RFC 9113: a stream's and the connection's receive windows
// are returned only as the stream's reader consumes data, so a reader that stops
// stops the peer; nothing is buffered past the windows (a byte more is the peer's
// FLOW_CONTROL_ERROR). Received bytes sit in 4 KiB chunks from a process-wide
// sync.Pool, held only while unread. With the defaults (StreamWindow 256 KiB,
// ConnWindow 2 MiB, MaxConcurrentStreams 100) one connection holds at most
// min(ConnWindow, streams × StreamWindow) = 2 MiB of unread data, plus at most
// 8 KiB of chunk rounding per stream with unread data; an idle stream holds no
// chunk. Writers wait for the peer's windows holding only their own buffer: a
// peer that never opens its window queues nothing here. The connection's 32 KiB
// read and write buffers come from a pool only while bytes wait in them; an
// idle connection keeps the framer's frame buffers (up to 16 KiB each way) and
// two 4 KiB HPACK tables: about 67 KiB per connection end measured with its
// TLS state (BenchmarkIdleConn), against 131 KiB with buffers of its own.
//
// # Hostile peers
//
// Goroutines: one reader per connection, one handler per open server stream
// (handlers of streams the peer reset still count against MaxConcurrentStreams,
// CVE-2023-44487), and at most one control-frame writer. The answers the reader
// owes (SETTINGS and PING acks, RST_STREAM, connection WINDOW_UPDATE) go into
// one in-order queue of at most 1000 frames (x/net's maxQueuedControlFrames,
// Envoy's max_outbound_control_frames), written by whichever writer holds the
// write lock next or by that one writer goroutine; the reader never blocks on
// the wire.
//
// Frames that cost work but carry no data have per-connection budgets, modelled
// on Envoy's flood limits and sized so that x/net's transport and server and
// this package's own peer never come near them:
//
//   - PING (and PING acks): 100 at once, then 10 per second, plus one per DATA
//     frame with payload (BDP-probing peers ping as data arrives).
//   - SETTINGS (and acks): 100 at once, then 10 per second; a frame repeating
//     INITIAL_WINDOW_SIZE walks the streams once.
//   - Frames without payload or END_STREAM (DATA, HEADERS, CONTINUATION): 100
//     in a row (Envoy: max_consecutive_inbound_frames_with_empty_payload, 1).
//     Empty CONTINUATION frames are counted below the framer, which assembles
//     header blocks on its own.
//   - RST_STREAM: 100 + 2 per stream opened. Streams malformed,
//     refused past MAX_CONCURRENT_STREAMS or reset before they were answered:
//     past 100, and more than half of all streams opened, it is a rapid reset (Envoy's
//     premature-reset check). RST_STREAM for a stream never opened is a
//     PROTOCOL_ERROR (RFC 9113 §6.4).
//   - WINDOW_UPDATE: 100 + 2 per stream opened + 10 per DATA frame sent (Envoy:
//     max_inbound_window_update_frames_per_data_frame_sent, 10).
//   - PRIORITY, PRIORITY_UPDATE, unknown frame types, GOAWAY, header blocks
//     and DATA for closed streams: 100 per stream opened, plus 100 (Envoy:
//     max_inbound_priority_frames_per_stream, 100). Header blocks and DATA
//     for a closed stream are answered with RST_STREAM(STREAM_CLOSED), unless
//     the stream is one of the last 32 we reset: frames in flight when our
//     reset left are ignored (RFC 9113 §5.1).
//
// Past a budget, or past the control queue's bound, the connection sends GOAWAY
// ENHANCE_YOUR_CALM (waiting at most a second for the wire) and closes;
// Config.OnViolation is told the reason. Config.AdmitStream lets the caller
// refuse new streams with REFUSED_STREAM, e.g. under memory pressure.
//
// # Locks
//
// Four kinds of lock, always taken in this order: a goroutine holding one
// takes only locks further down the list.
//
//  1. Stream.rlock or Stream.wlock, never both: one Read at a time, or one
//     Write and the END_STREAM after it. Held while waiting for data or for
//     a window, so they come first.
//  2. Conn.wmu, the write lock: the framer's write side, the HPACK encoder,
//     stream ID allocation. Only writeFrames takes it: code that writes
//     passes a callback to write or writeLast, which run it under wmu.
//  3. Conn.mu: connection and stream state (windows, buffers, the stream
//     map, deadlines). Nothing waits while holding it: waiters drop it first.
//  4. controlQueue.mu: the queued control frames and the last streams we
//     reset. A leaf by construction: only the queue's own methods take it,
//     and they call nothing that locks.
//
// The read loop takes mu and the queue's lock per frame, and wmu only through
// writeLast for its last GOAWAY, after releasing mu. Functions named
// ...Locked run with mu or wmu held, as their comment says, and never write.
// TestLockOrder checks the source: no write, writeLast, writeFrames, wmu,
// rlock or wlock while mu is held, nor inside a ...Locked function.
//
// Either side can be an x/net/http2 peer (the tests check both directions).
package hbone
