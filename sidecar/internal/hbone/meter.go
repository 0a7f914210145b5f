package hbone

import "io"

const frameContinuation = 0x9

// frameMeter sits between the connection's read buffer and the framer and
// follows frame boundaries in the bytes passing through. It sees the frames
// the framer consumes on its own: with ReadMetaHeaders, the CONTINUATION
// frames of a header block never reach the read loop, so a block continued by
// empty CONTINUATION frames forever would keep ReadFrame busy without end.
type frameMeter struct {
	r         io.Reader
	hdr       [9]byte
	nh        int    // header bytes collected
	remain    uint32 // payload bytes of the current frame still to pass
	emptyRun  int    // consecutive empty CONTINUATION frames
	violation error
}

func (m *frameMeter) Read(p []byte) (int, error) {
	if m.violation != nil {
		return 0, m.violation
	}
	n, err := m.r.Read(p)
	m.scan(p[:n])
	if m.violation != nil {
		return n, m.violation
	}
	return n, err
}

func (m *frameMeter) scan(p []byte) {
	for len(p) > 0 {
		if m.remain > 0 {
			k := min(uint32(len(p)), m.remain)
			m.remain -= k
			p = p[k:]
			continue
		}
		k := copy(m.hdr[m.nh:], p)
		m.nh += k
		p = p[k:]
		if m.nh < len(m.hdr) {
			return
		}
		m.nh = 0
		m.remain = uint32(m.hdr[0])<<16 | uint32(m.hdr[1])<<8 | uint32(m.hdr[2])
		if m.hdr[3] != frameContinuation {
			continue
		}
		if m.remain > 0 {
			m.emptyRun = 0
		} else if m.emptyRun++; m.emptyRun > maxEmptyRun {
			m.violation = &violation{reason: "empty_frames", detail: "empty CONTINUATION flood"}
			return
		}
	}
}
