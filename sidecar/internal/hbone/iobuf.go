package hbone

import (
	"io"
	"sync"
)

// ioBufSize is the size of a connection's read and write buffers, taken from
// ioBufs only while bytes wait in them: an idle connection holds neither.
const ioBufSize = 32 << 10

var ioBufs = sync.Pool{New: func() any { return new([ioBufSize]byte) }}

// writeBuf gathers frames for one write to the connection, like a
// bufio.Writer whose buffer goes back to the pool at every flush. Used under
// the connection's write lock only.
type writeBuf struct {
	w   io.Writer
	buf *[ioBufSize]byte
	n   int
}

func (b *writeBuf) Buffered() int { return b.n }

func (b *writeBuf) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if b.n == 0 && len(p) >= ioBufSize {
			n, err := b.w.Write(p) // nothing to gather it with
			return written + n, err
		}
		if b.buf == nil {
			b.buf = ioBufs.Get().(*[ioBufSize]byte)
		}
		k := copy(b.buf[b.n:], p)
		b.n += k
		written += k
		p = p[k:]
		if b.n == ioBufSize {
			if err := b.Flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// Flush writes what is gathered and returns the buffer to the pool. After an
// error the connection is done: what was gathered is dropped.
func (b *writeBuf) Flush() error {
	if b.buf == nil {
		return nil
	}
	_, err := b.w.Write(b.buf[:b.n])
	ioBufs.Put(b.buf)
	b.buf, b.n = nil, 0
	return err
}

// readBuf reads ahead from the connection like a bufio.Reader, holding a
// pooled buffer only while read-ahead bytes wait in it. A read that finds it
// empty goes straight into the caller's slice when that is small (the framer
// reads a 9-byte frame header first): a connection waiting for its next frame
// holds no buffer. Used by the read loop only.
type readBuf struct {
	r   io.Reader
	buf *[ioBufSize]byte
	r0  int // next unread byte in buf
	w   int // end of the read-ahead bytes
}

// frameHeaderLen is what the framer reads first of every frame.
const frameHeaderLen = 9

func (b *readBuf) Read(p []byte) (int, error) {
	if b.r0 == b.w {
		if len(p) == frameHeaderLen || len(p) >= ioBufSize {
			// Waiting for the next frame, or a read the buffer would not
			// help: no buffer while we block. The payload that follows
			// reads ahead.
			return b.r.Read(p)
		}
		b.buf = ioBufs.Get().(*[ioBufSize]byte)
		n, err := b.r.Read(b.buf[:])
		b.r0, b.w = 0, n
		if n == 0 {
			b.release()
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r0:b.w])
	b.r0 += n
	if b.r0 == b.w {
		b.release()
	}
	return n, nil
}

func (b *readBuf) release() {
	if b.buf != nil {
		ioBufs.Put(b.buf)
	}
	b.buf, b.r0, b.w = nil, 0, 0
}
