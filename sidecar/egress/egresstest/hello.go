package egresstest

import "encoding/binary"

// Hello describes a ClientHello to build. The zero value is a hello without
// extensions of interest.
type Hello struct {
	// Names are the host_name entries of server_name, as sent (no extension when
	// empty).
	Names []string
	// ECH adds an encrypted_client_hello extension (0xfe0d).
	ECH bool
	// Pad adds a padding extension of this many bytes.
	Pad int
	// Record is the size of each TLS record fragment. Default 16384.
	Record int
}

// Bytes returns the records carrying the hello.
func (h Hello) Bytes() []byte {
	var exts []byte
	if len(h.Names) > 0 {
		var list []byte
		for _, n := range h.Names {
			list = append(list, 0)
			list = vec16(list, []byte(n))
		}
		exts = ext(exts, 0, vec16(nil, list))
	}
	exts = ext(exts, 0x2b, []byte{2, 3, 4}) // supported_versions: TLS 1.3
	if h.ECH {
		exts = ext(exts, 0xfe0d, []byte{0})
	}
	if h.Pad > 0 {
		exts = ext(exts, 0x15, make([]byte, h.Pad))
	}
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)                      // session id
	body = append(body, 0, 2, 0x13, 0x01, 1, 0) // one suite, null compression
	body = vec16(body, exts)
	msg := []byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	msg = append(msg, body...)
	size := h.Record
	if size <= 0 {
		size = 16384
	}
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, 0x16, 3, 1)
		out = vec16(out, msg[:n])
		msg = msg[n:]
	}
	return out
}

func ext(b []byte, typ uint16, data []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, typ)
	return vec16(b, data)
}

func vec16(b, data []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}
