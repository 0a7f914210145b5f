package httpx

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// RequestBody is a request body whose first bytes were read before the policy
// decided, so the policy can see them (OPA-Envoy's with_request_body). Chunked
// bodies are de-chunked for the policy; WriteTo then forwards exactly those bytes
// and streams the rest of the body behind them, framed as CopyBody frames it.
type RequestBody struct {
	// Prefix is the body's first bytes, de-chunked: all of it unless Truncated.
	Prefix []byte
	// Truncated is set when the body is longer than the limit Buffer was given.
	Truncated bool

	br      *bufio.Reader
	chunked bool
	cr      chunkReader
	left    int64 // length body: bytes not read yet; chunked: left in the current chunk
	inChunk bool  // chunked: the CRLF after the current chunk's data is unread
	done    bool  // the whole body (and a chunked body's trailer) was read
	limit   int   // the most Prefix may hold
}

// Buffer reads up to limit bytes of req's body from br into buf (reusing its
// storage, growing it up to limit). maxBody is the hard cap of Config.MaxBodyBytes
// (413 past it; negative = unlimited). A malformed chunked body is refused (400).
// Prefix is non-nil afterwards, even for an empty body.
func (b *RequestBody) Buffer(br *bufio.Reader, req *Request, buf []byte, limit int, maxBody int64) error {
	*b = RequestBody{br: br, chunked: req.Chunked(), Prefix: buf[:0], limit: limit}
	if b.Prefix == nil {
		b.Prefix = []byte{}
	}
	if !b.chunked {
		n := min(req.ContentLength, int64(limit))
		if err := b.read(int(n)); err != nil {
			return err
		}
		b.left = req.ContentLength - n
		b.done, b.Truncated = b.left == 0, b.left > 0
		return nil
	}
	b.cr = chunkReader{lr: lineReader{br: br, budget: 1 << 30}, left: maxBody, countChunks: true}
	for len(b.Prefix) < limit && !b.done {
		if b.bulk(); len(b.Prefix) == limit {
			break
		}
		if err := b.nextChunkIfEnded(); err != nil {
			return err
		}
		if b.done {
			break
		}
		take := min(b.left, int64(limit-len(b.Prefix)))
		if err := b.read(int(take)); err != nil {
			return err
		}
		b.left -= take
	}
	if !b.done {
		// The limit was reached: more body follows unless only the last chunk does.
		if err := b.nextChunkIfEnded(); err != nil {
			return err
		}
		b.Truncated = !b.done
	}
	return nil
}

// read appends n body bytes from br to Prefix. When Prefix is full it grows by
// doubling (never past the limit), so a body sent slowly holds memory in
// proportion to what arrived, not to what its head announced.
func (b *RequestBody) read(n int) error {
	for n > 0 {
		if len(b.Prefix) == cap(b.Prefix) {
			b.grow(max(n, b.limit-len(b.Prefix)))
		}
		start := len(b.Prefix)
		k := min(n, cap(b.Prefix)-start)
		got, err := io.ReadFull(b.br, b.Prefix[start:start+k])
		b.Prefix = b.Prefix[:start+got]
		if err != nil {
			return fmt.Errorf("read body: %w", eofIsBad(err))
		}
		n -= k
	}
	return nil
}

// minBodyGrowth is the smallest room read adds to a full Prefix.
const minBodyGrowth = 512

// grow gives Prefix room for more bytes: as much again as it holds, at least
// minBodyGrowth, at most most.
func (b *RequestBody) grow(most int) {
	room := min(max(cap(b.Prefix), minBodyGrowth), most)
	grown := make([]byte, len(b.Prefix), len(b.Prefix)+room)
	copy(grown, b.Prefix)
	b.Prefix = grown
}

// bulk appends the data of the chunks already whole in the buffer to Prefix (see
// chunkReader.bulk), growing it once when it is full.
func (b *RequestBody) bulk() {
	if len(b.Prefix) == cap(b.Prefix) {
		b.grow(b.limit - len(b.Prefix))
	}
	b.Prefix = b.cr.bulk(b.br, b.Prefix, &b.left, &b.inChunk)
}

// nextChunkIfEnded moves past the current chunk when its data was all read: its
// CRLF, then the next chunk-size line (and the trailer after the last chunk).
func (b *RequestBody) nextChunkIfEnded() error {
	if b.left > 0 {
		return nil
	}
	if b.inChunk {
		if err := b.cr.chunkEnd(); err != nil {
			return err
		}
		b.inChunk = false
	}
	n, err := b.cr.next()
	if err != nil {
		return err
	}
	if n == 0 {
		b.done = true
		return nil
	}
	b.left, b.inChunk = n, true
	return nil
}

// WriteTo forwards the body: Prefix, then what is still unread from the client, with
// the framing of the head WriteHead wrote for the request.
func (b *RequestBody) WriteTo(w io.Writer) (int64, error) {
	if !b.chunked {
		n, err := w.Write(b.Prefix)
		if err != nil || b.left == 0 {
			return int64(n), err
		}
		m, err := io.CopyN(w, b.br, b.left)
		if err != nil {
			err = fmt.Errorf("copy body: %w", eofIsBad(err))
		}
		return int64(n) + m, err
	}
	if len(b.Prefix) > 0 {
		if err := WriteChunk(w, b.Prefix); err != nil {
			return 0, err
		}
	}
	if b.done {
		_, err := io.WriteString(w, "0\r\n\r\n")
		return int64(len(b.Prefix)), err
	}
	// The rest streams (a body longer than the limit): its chunks are gathered
	// and written as larger ones.
	n := int64(len(b.Prefix))
	scratch := getScratch()
	defer putScratch(scratch)
	return n, copyChunks(w, b.br, &b.cr, b.left, b.inChunk, *scratch)
}

// WriteChunk writes p as one chunk of a chunked body (RFC 9112 7.1); an empty p
// would end the body, so callers write only non-empty chunks.
func WriteChunk(w io.Writer, p []byte) error {
	var err error
	if bw, ok := w.(*bufio.Writer); ok { // the usual case: no formatting, no allocation
		_, err = bw.Write(append(strconv.AppendUint(bw.AvailableBuffer(), uint64(len(p)), 16), '\r', '\n'))
	} else {
		_, err = fmt.Fprintf(w, "%x\r\n", len(p))
	}
	if err != nil {
		return err
	}
	if _, err := w.Write(p); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\r\n")
	return err
}
