package httpx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
)

// FuzzChunkedBulk checks that decoding chunks in bulk (chunkReader.bulk) changes
// nothing but the cost: a chunked body forwarded by CopyBody, or buffered by
// RequestBody.Buffer and forwarded by WriteTo, carries the same data, is refused
// with the same status, and leaves the reader at the same byte as decoding it one
// line at a time (refDecode) does, whatever the buffer size and however the
// client's bytes are split into reads.
func FuzzChunkedBulk(f *testing.F) {
	seeds := []string{
		"3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\nNEXT",
		"1\r\na\r\n1\r\nb\r\n1;x=y\r\nc\r\n0\r\nT: v\r\n\r\n",
		"000000000000001\r\na\r\n0000000000000001\r\nb\r\n0\r\n\r\n",
		"2\r\nabc\r\n0\r\n\r\n",
		"2\r\nab\n\r\n0\r\n\r\n",
		"2\r\nab\r\n0\n\r\n",
		"1\r\r\na\r\n0\r\n\r\n",
		"+1\r\na\r\n0\r\n\r\n",
		"fffffffffffffff\r\nab",
		"10\r\n0123456789abcdef\r\n0\r\n\r\n",
		"A\r\n0123456789\r\n0\r\n\r\n",
		"1\r\na\r\n",
		"1\r\na",
		"",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint16(16+i*7), uint8(i%5), uint16(i*3), int16(i*4-8))
	}
	f.Add([]byte(strings.Repeat("1\r\na\r\n", 5000)+"0\r\n\r\n"), uint16(100), uint8(0), uint16(1000), int16(-1))
	f.Add([]byte(strings.Repeat("1\r\na\r\n", 5000)+"0\r\n\r\n"), uint16(4096), uint8(7), uint16(10), int16(4000))
	f.Fuzz(func(t *testing.T, raw []byte, bufSize uint16, piece uint8, limit uint16, maxBody int16) {
		size := 16 + int(bufSize)%8192
		reader := func() *bufio.Reader { return bufio.NewReaderSize(&pieces{b: raw, n: int(piece)}, size) }
		max := int64(maxBody)
		if max < 0 {
			max = -1
		}
		want, wantRest, wantErr := refDecode(reader(), max, true)

		br := reader()
		var out bytes.Buffer
		err := CopyBody(&out, br, &Request{ContentLength: -1}, max)
		check(t, "CopyBody", want, wantRest, wantErr, out.Bytes(), br, err)

		br = reader()
		out.Reset()
		var rb RequestBody
		err = rb.Buffer(br, &Request{ContentLength: -1}, nil, int(limit)%20000, max)
		if err == nil && wantErr == nil && (rb.Truncated != (len(rb.Prefix) < len(want)) || !bytes.HasPrefix(want, rb.Prefix)) {
			t.Fatalf("Buffer(%d): prefix %q (truncated %v) of %q", int(limit)%20000, rb.Prefix, rb.Truncated, want)
		}
		if err == nil {
			_, err = rb.WriteTo(&out)
		}
		check(t, "Buffer+WriteTo", want, wantRest, wantErr, out.Bytes(), br, err)
	})
}

// check compares what a bulk-decoding path forwarded (out, re-chunked) and where it
// left br with the line-by-line reference.
func check(t *testing.T, name string, want, wantRest []byte, wantErr error, out []byte, br *bufio.Reader, err error) {
	t.Helper()
	if errClass(err) != errClass(wantErr) {
		t.Fatalf("%s: error %v, reference %v", name, err, wantErr)
	}
	if err != nil {
		return
	}
	got, outRest, outErr := refDecode(bufio.NewReader(bytes.NewReader(out)), -1, false)
	if outErr != nil || len(outRest) > 0 {
		t.Fatalf("%s: forwarded body does not parse back (%v, %q left): %q", name, outErr, outRest, out)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: forwarded %q, reference %q", name, got, want)
	}
	if rest, _ := io.ReadAll(br); !bytes.Equal(rest, wantRest) {
		t.Fatalf("%s: left %q unread, reference %q", name, rest, wantRest)
	}
}

// errClass is what the proxy makes of a body error: a status it answers, or
// "eof" for a client that went away mid-body.
func errClass(err error) string {
	var he *Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &he):
		return strconv.Itoa(he.Status)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other: " + err.Error()
}

// refDecode de-chunks a body one line at a time with next and chunkEnd only (how
// every chunk was read before bulk) and returns its data and what follows it;
// request bodies count their chunks.
func refDecode(br *bufio.Reader, maxBody int64, request bool) (data, rest []byte, err error) {
	cr := chunkReader{lr: lineReader{br: br}, left: maxBody, countChunks: request}
	var buf bytes.Buffer
	for {
		n, err := cr.next()
		if err != nil {
			return nil, nil, err
		}
		if n == 0 {
			rest, _ := io.ReadAll(br)
			return buf.Bytes(), rest, nil
		}
		if _, err := io.CopyN(&buf, br, n); err != nil {
			return nil, nil, fmt.Errorf("chunk: %w", eofIsBad(err))
		}
		if err := cr.chunkEnd(); err != nil {
			return nil, nil, err
		}
	}
}

// pieces reads b in reads of n bytes (n 0: all at once), the way a client's
// segments arrive.
type pieces struct {
	b []byte
	n int
}

func (p *pieces) Read(dst []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	k := len(dst)
	if p.n > 0 {
		k = min(k, p.n)
	}
	k = copy(dst, p.b[:min(k, len(p.b))])
	p.b = p.b[k:]
	return k, nil
}
