package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
)

// BodyReader hands out a response body as it arrives, in pieces that are slices of
// the connection's bufio.Reader: a proxy writes them on without copying them into a
// buffer of its own. Chunked bodies are de-chunked (extensions dropped, trailers
// kept in Trailer). At io.EOF, br is positioned just past the body, ready for the
// next response. The zero value reads nothing; Reset prepares it for one body.
type BodyReader struct {
	br      *bufio.Reader
	framing Framing
	left    int64 // bytes left in the body (LengthBody) or in the chunk (ChunkedBody)
	inChunk bool  // a chunk's data was read and its CRLF was not
	done    bool
	handed  int // bytes of br handed out by the last Next, consumed by the next call
	cr      chunkReader
	// Trailer holds the trailer fields of a chunked body once Next returned io.EOF.
	Trailer []Field
}

// Reset prepares r to read the body of resp from br.
func (r *BodyReader) Reset(br *bufio.Reader, resp *Response) {
	*r = BodyReader{br: br, framing: resp.Framing, left: resp.ContentLength}
	switch resp.Framing {
	case NoBody:
		r.done = true
	case ChunkedBody:
		r.left = 0
		r.cr = chunkReader{lr: lineReader{br: br}, left: -1}
	case CloseBody:
		r.left = math.MaxInt64
	}
}

// Next returns the next piece of the body: what is buffered, up to the end of the
// body or chunk, waiting for the app only when nothing is. The piece is valid until
// the next call. It returns io.EOF after the last piece, io.ErrUnexpectedEOF when the
// app closed early, and a 502 *Error for malformed chunked framing.
func (r *BodyReader) Next() ([]byte, error) {
	if r.handed > 0 {
		r.br.Discard(r.handed)
		r.handed = 0
	}
	if r.framing == ChunkedBody && r.left == 0 && !r.done {
		if err := r.nextChunk(); err != nil {
			return nil, badGateway(err)
		}
	}
	if r.done || r.left == 0 {
		r.done = true
		return nil, io.EOF
	}
	if r.br.Buffered() == 0 {
		if _, err := r.br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) && r.framing == CloseBody {
				r.done = true
				return nil, io.EOF
			}
			return nil, eofIsBad(err)
		}
	}
	n := int64(r.br.Buffered())
	n = min(n, r.left)
	p, _ := r.br.Peek(int(n))
	r.handed = int(n)
	if r.framing != CloseBody {
		r.left -= n
	}
	return p, nil
}

// nextChunk ends the current chunk and reads the next chunk-size line (and, after
// the last chunk, the trailer section).
func (r *BodyReader) nextChunk() error {
	if r.inChunk {
		if err := r.cr.chunkEnd(); err != nil {
			return err
		}
		r.inChunk = false
	}
	n, err := r.cr.next()
	if err != nil {
		return err
	}
	if n == 0 {
		r.done, r.Trailer = true, r.cr.trailer
		return nil
	}
	r.left, r.inChunk = n, true
	return nil
}

// Ready reports whether Next will return without waiting for the app. A proxy
// flushes what it has written before a Next that would wait, so a streamed response
// (server-sent events, long polls) is not held back, and otherwise lets pieces
// collect into one write. Between chunks it counts the line ends that must follow;
// only a trailer section that arrives in parts can make a Next that was called
// ready wait.
func (r *BodyReader) Ready() bool {
	if r.done || r.left == 0 && r.framing != ChunkedBody {
		return true
	}
	buffered, _ := r.br.Peek(r.br.Buffered())
	buffered = buffered[r.handed:]
	if r.left > 0 {
		return len(buffered) > 0
	}
	need := 1 // the chunk-size line
	if r.inChunk {
		need = 2 // and the CRLF that ends the chunk data before it
	}
	for ; need > 0; need-- {
		i := bytes.IndexByte(buffered, '\n')
		if i < 0 {
			return false
		}
		buffered = buffered[i+1:]
	}
	return true
}
