package httpx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
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
	cr := chunkReader{lr: lineReader{br: br, budget: 1 << 30}, left: maxBody, countChunks: true}
	scratch := getScratch()
	defer putScratch(scratch)
	return copyChunks(w, br, &cr, 0, false, *scratch)
}

// copyChunks forwards the rest of a chunked body: left bytes of the current
// chunk (its CRLF unread when inChunk), then every chunk up to and including the
// last. Chunk data is gathered in scratch's storage and written as one chunk
// when scratch is full or the body ends, so a client's thousands of one-byte
// chunks cost the app (and the writes) a few large ones. Whole chunks already
// buffered in br are decoded in bulk (chunkReader.bulk); the reader's own
// line-by-line methods take what bulk leaves: framing it does not handle, and
// framing split across two reads from the client.
func copyChunks(w io.Writer, br *bufio.Reader, cr *chunkReader, left int64, inChunk bool, scratch []byte) error {
	j := chunkJoiner{w: w, buf: scratch[:0]}
	for {
		j.buf = cr.bulk(br, j.buf, &left, &inChunk)
		switch {
		case len(j.buf) == cap(j.buf):
			if err := j.flush(); err != nil {
				return err
			}
		case left > 0: // bulk took all that was buffered: wait for more data
			if _, err := br.Peek(1); err != nil {
				return fmt.Errorf("copy chunk: %w", eofIsBad(err))
			}
		default:
			if inChunk {
				if err := cr.chunkEnd(); err != nil {
					return err
				}
				inChunk = false
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
}

// chunkJoiner writes body data as chunks of up to cap(buf) bytes.
type chunkJoiner struct {
	w   io.Writer
	buf []byte
}

func (j *chunkJoiner) flush() error {
	if len(j.buf) == 0 {
		return nil
	}
	err := WriteChunk(j.w, j.buf)
	j.buf = j.buf[:0]
	return err
}

// joinScratch is the buffer copyChunks gathers chunk data in, one per chunked
// body being forwarded past what was read whole beforehand, from scratchPool.
const joinScratch = 16 << 10

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, joinScratch); return &b }}

func getScratch() *[]byte { return scratchPool.Get().(*[]byte) }

func putScratch(b *[]byte) {
	*b = (*b)[:0]
	scratchPool.Put(b)
}

type chunkReader struct {
	lr      lineReader
	left    int64   // body bytes still allowed; negative = unlimited
	trailer []Field // the trailer section, once the last chunk was read
	// countChunks refuses a body of too many small chunks (see freeChunks):
	// set for request bodies, whose sender may be hostile.
	countChunks bool
	chunks      int64 // chunks read, the last one excluded
	data        int64 // their data bytes
}

// A request body may not be mostly framing: past its first freeChunks chunks,
// each chunk must bring chunkData bytes of data on average, or the body is
// refused (400). Without such a bound a client makes the proxy parse a chunk per
// byte it forwards, six bytes of input for one of data (test/bench/dos's
// chunk-abuse: 100 000 one-byte chunks, of which the bound lets 1365 through),
// while a stream of small chunks, one per event or line, carries more than that
// and never meets it: 1024 chunks of any size, then one more per 4 bytes of data.
const (
	freeChunks = 1024
	chunkData  = 4
)

// chunkAllowed reports whether one more chunk of n bytes keeps the body within
// freeChunks and chunkData, and counts it when so.
func (c *chunkReader) chunkAllowed(n int64) bool {
	if !c.countChunks {
		return true
	}
	if c.chunks+1 > freeChunks+(c.data+n)/chunkData {
		return false
	}
	c.chunks++
	c.data += n
	return true
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
	if n > 0 && !c.chunkAllowed(n) {
		return 0, badRequest("chunked body of more than %d chunks averaging under %d bytes", freeChunks, chunkData)
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

// bulk decodes the chunks that are already whole in br's buffer, appending
// their data to dst up to cap(dst), and returns dst. A body of many small chunks
// then costs a pass over the buffered bytes, not two line reads and a copy call
// per chunk: 100 000 one-byte chunks (test/bench/dos's chunk-abuse) took 5 ms of
// parsing line by line. *left and *inChunk are the caller's position, as next and
// chunkEnd leave it: data bytes left in the current chunk, and whether its CRLF
// is unread.
//
// bulk accepts only the plain form: a size of 1 to 15 hex digits and CRLF, the
// data, CRLF. It stops before anything else, consuming none of it: a chunk
// extension, the last chunk (0, then the trailer section), a size past the body
// limit, a chunk past freeChunks, a malformed line, or framing whose end is not
// buffered yet. The caller reads that with chunkEnd and next, so what is accepted
// and what is refused, with which status, is theirs alone; on the plain form
// they agree with bulk.
func (c *chunkReader) bulk(br *bufio.Reader, dst []byte, left *int64, inChunk *bool) []byte {
	p, _ := br.Peek(br.Buffered())
	i := 0
	for len(dst) < cap(dst) {
		if *left > 0 {
			k := int(min(*left, int64(cap(dst)-len(dst)), int64(len(p)-i)))
			if k == 0 {
				break
			}
			if k == 1 { // the attack's case: no call to copy one byte
				dst = append(dst, p[i])
			} else {
				dst = append(dst, p[i:i+k]...)
			}
			i += k
			*left -= int64(k)
			continue
		}
		if *inChunk {
			if len(p)-i < 2 || p[i] != '\r' || p[i+1] != '\n' {
				break
			}
			i += 2
			*inChunk = false
		}
		n, size := plainChunkSize(p[i:])
		if size == 0 || n == 0 || c.left >= 0 && n > c.left || !c.chunkAllowed(n) {
			break
		}
		if c.left >= 0 {
			c.left -= n
		}
		i += size
		*left, *inChunk = n, true
	}
	br.Discard(i)
	return dst
}

// plainChunkSize parses a chunk-size line "HEX\r\n" of 1 to 15 hex digits at the
// start of p and returns the size and the line's length, CRLF included; the
// length is 0 when p does not start with a whole line of that form.
func plainChunkSize(p []byte) (n int64, size int) {
	for i, c := range p {
		if d, ok := unhex(c); ok && i < 15 {
			n = n<<4 | int64(d)
			continue
		}
		if c == '\r' && i > 0 && i+1 < len(p) && p[i+1] == '\n' {
			return n, i + 2
		}
		return 0, 0
	}
	return 0, 0
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
