package hbone

import "sync"

// chunkSize is the unit of stream receive buffers. Small enough that rounding
// costs little per stream (at most two partly used chunks: 8 KiB), large
// enough that a 16 KiB DATA frame takes four pool round trips.
const chunkSize = 4 << 10

type chunk = [chunkSize]byte

// chunks are shared by every connection of the process: a stream holds them
// only while it has unread bytes.
var chunks = sync.Pool{New: func() any { return new(chunk) }}

// recvBuf is a stream's received, unread bytes: a queue of pooled chunks. The
// stream's receive window bounds its length, so it holds at most the window
// plus two chunks; empty, it holds none.
type recvBuf struct {
	q    []*chunk
	r, w int // read offset in q[0], write offset in q[len(q)-1]
	n    int // unread bytes
}

func (b *recvBuf) len() int { return b.n }

// held is the memory the buffer holds, for tests and accounting.
func (b *recvBuf) held() int { return len(b.q) * chunkSize }

func (b *recvBuf) write(p []byte) {
	for len(p) > 0 {
		if len(b.q) == 0 || b.w == chunkSize {
			b.q = append(b.q, chunks.Get().(*chunk))
			b.w = 0
		}
		k := copy(b.q[len(b.q)-1][b.w:], p)
		b.w += k
		b.n += k
		p = p[k:]
	}
}

func (b *recvBuf) read(p []byte) int {
	n := 0
	for n < len(p) && b.n > 0 {
		end := chunkSize
		if len(b.q) == 1 {
			end = b.w
		}
		k := copy(p[n:], b.q[0][b.r:end])
		n += k
		b.r += k
		b.n -= k
		if b.r == end {
			b.dropHead()
		}
	}
	return n
}

// dropHead returns the first chunk, read to its end, to the pool.
func (b *recvBuf) dropHead() {
	chunks.Put(b.q[0])
	copy(b.q, b.q[1:])
	b.q[len(b.q)-1] = nil
	b.q = b.q[:len(b.q)-1]
	b.r = 0
	if len(b.q) == 0 {
		b.w = 0
		if cap(b.q) > 4 {
			b.q = nil // an idle stream keeps no large slice either
		}
	}
}

// reset drops unread bytes and returns every chunk.
func (b *recvBuf) reset() {
	for _, c := range b.q {
		chunks.Put(c)
	}
	clear(b.q)
	*b = recvBuf{q: b.q[:0]}
}
