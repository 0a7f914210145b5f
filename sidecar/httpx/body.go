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
// head and flushes w.
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
	return copyChunks(w, br, &cr)
}

// copyChunks re-chunks the chunks cr reads from br, up to and including the last.
func copyChunks(w io.Writer, br *bufio.Reader, cr *chunkReader) error {
	for {
		n, err := cr.next()
		if err != nil {
			return err
		}
		if n == 0 {
			_, err := io.WriteString(w, "0\r\n\r\n")
			return err
		}
		if err := copyChunk(w, cr, br, n); err != nil {
			return err
		}
	}
}

// copyChunk copies n bytes of chunk data as one chunk, then reads the CRLF that ends
// the client's chunk.
func copyChunk(w io.Writer, cr *chunkReader, br *bufio.Reader, n int64) error {
	if _, err := fmt.Fprintf(w, "%x\r\n", n); err != nil {
		return err
	}
	if _, err := io.CopyN(w, br, n); err != nil {
		return fmt.Errorf("copy chunk: %w", eofIsBad(err))
	}
	if err := cr.chunkEnd(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\r\n")
	return err
}

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
