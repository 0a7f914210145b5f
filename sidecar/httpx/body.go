package httpx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// CopyBody reads req's body from br and writes it to w with the same framing
// (Content-Length bodies as they are; chunked bodies re-chunked, with chunk
// extensions and trailers dropped). It refuses malformed chunked framing (400) and
// bodies past maxBody (413; negative = unlimited). The caller has already written the
// head and flushes w. Chunk boundaries are not kept (see copyChunks).
func CopyBody(w io.Writer, br *bufio.Reader, req *Request, maxBody int64) error {
	if !req.Chunked() {
		if n := req.ContentLength; n >= 0 && n <= int64(br.Buffered()) {
			// The whole body is already buffered (small requests): write it
			// straight from br, without io.CopyN's per-call LimitReader.
			b, _ := br.Peek(int(n))
			_, err := w.Write(b)
			br.Discard(int(n))
			if err != nil {
				return fmt.Errorf("copy body: %w", eofIsBad(err))
			}
			return nil
		}
		if _, err := io.CopyN(w, br, req.ContentLength); err != nil {
			return fmt.Errorf("copy body: %w", eofIsBad(err))
		}
		return nil
	}
	cr := chunkReader{lr: lineReader{br: br, budget: 1 << 30}, left: maxBody}
	return copyChunks(w, br, &cr, 0, false, make([]byte, 0, joinScratch))
}

// copyChunks forwards the rest of a chunked body: left bytes of the current
// chunk (its CRLF unread when inChunk), then every chunk up to and including the
// last. Chunk data is gathered in scratch's storage and written as one chunk
// when scratch is full or the body ends, so a client's thousands of one-byte
// chunks cost the app (and the writes) a few large ones.
func copyChunks(w io.Writer, br *bufio.Reader, cr *chunkReader, left int64, inChunk bool, scratch []byte) error {
	j := chunkJoiner{w: w, buf: scratch[:0]}
	for {
		if err := j.readFrom(br, left); err != nil {
			return err
		}
		if inChunk {
			if err := cr.chunkEnd(); err != nil {
				return err
			}
		}
		n, err := cr.next()
		if err != nil {
			return err
		}
		if n == 0 {
			if err := j.flush(); err != nil {
				return err
			}
			_, err := io.WriteString(w, "0\r\n\r\n")
			return err
		}
		left, inChunk = n, true
	}
}

// chunkJoiner writes body data as chunks of up to cap(buf) bytes.
type chunkJoiner struct {
	w   io.Writer
	buf []byte
}

// readFrom moves n bytes of chunk data from br into buf, writing buf out as a
// chunk whenever it is full.
func (j *chunkJoiner) readFrom(br *bufio.Reader, n int64) error {
	for n > 0 {
		if len(j.buf) == cap(j.buf) {
			if err := j.flush(); err != nil {
				return err
			}
		}
		start := len(j.buf)
		k := int(min(n, int64(cap(j.buf)-start)))
		got, err := io.ReadFull(br, j.buf[start:start+k])
		j.buf = j.buf[:start+got]
		if err != nil {
			return fmt.Errorf("copy chunk: %w", eofIsBad(err))
		}
		n -= int64(k)
	}
	return nil
}

func (j *chunkJoiner) flush() error {
	if len(j.buf) == 0 {
		return nil
	}
	err := WriteChunk(j.w, j.buf)
	j.buf = j.buf[:0]
	return err
}

// joinScratch is the buffer copyChunks gathers chunk data in: allocated per
// forwarded chunked body that was not read whole beforehand.
const joinScratch = 16 << 10

type chunkReader struct {
	lr      lineReader
	left    int64   // body bytes still allowed; negative = unlimited
	trailer []Field // the trailer section, once the last chunk was read
}

// next reads one chunk-size line and returns the size; at the last chunk it also
// reads and validates the trailer section into c.trailer.
func (c *chunkReader) next() (int64, error) {
	c.lr.budget = 4096
	l, err := c.lr.line()
	if err != nil {
		return 0, eofIsBad(err)
	}
	n, err := chunkSize(l)
	if err != nil {
		return 0, err
	}
	if c.left >= 0 {
		if n > c.left {
			return 0, errorf(http.StatusRequestEntityTooLarge, "chunked body too large")
		}
		c.left -= n
	}
	if n == 0 {
		c.lr.budget = DefaultMaxHeaderBytes
		c.trailer, err = c.lr.fields(DefaultMaxHeaders, nil)
		return 0, err
	}
	return n, nil
}

func (c *chunkReader) chunkEnd() error {
	c.lr.budget = 2
	l, err := c.lr.line()
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return badRequest("chunk data longer than its size")
		}
		return eofIsBad(err)
	}
	if len(l) != 0 {
		return badRequest("chunk data longer than its size")
	}
	return nil
}

// chunkSize parses "HEX[;ext...]": hex digits only (no sign, no whitespace, no 0x),
// at most 15 of them so the size fits in an int64; extensions must be tokens.
func chunkSize(l []byte) (int64, error) {
	hex := l
	for i, c := range l {
		if c == ';' {
			hex = l[:i]
			if err := checkChunkExt(l[i:]); err != nil {
				return 0, err
			}
			break
		}
	}
	if len(hex) == 0 || len(hex) > 15 {
		return 0, badRequest("invalid chunk size")
	}
	for _, c := range hex {
		if _, ok := unhex(c); !ok {
			return 0, badRequest("invalid chunk size")
		}
	}
	n, err := strconv.ParseInt(string(hex), 16, 64)
	if err != nil {
		return 0, badRequest("invalid chunk size")
	}
	return n, nil
}

func checkChunkExt(ext []byte) error {
	for _, c := range ext {
		if !(tokenChar(c) || c == ';' || c == '=' || c == '"' || c == ' ' || c == '\t') {
			return badRequest("byte 0x%02x in chunk extension", c)
		}
	}
	return nil
}
