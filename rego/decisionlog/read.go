package decisionlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxLine bounds one logged decision: an input with a body the policy read (at most
// rego.MaxRequestBodyBytes, escaped) and its headers fit with room to spare.
const MaxLine = 8 << 20

// Event is one decision-log event as read, before parsing: where it came from and
// its bytes (owned by the receiver).
type Event struct {
	File string
	Line int // line (or array element) number, from 1
	Data []byte
}

// Open opens a decision-log file for ReadEvents, gunzipping it when its content is
// gzip, whatever its name.
func Open(name string) (io.ReadCloser, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 256<<10)
	magic, _ := br.Peek(2)
	if !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return readCloser{br, f}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return readCloser{bufio.NewReaderSize(zr, 256<<10), f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// ReadEvents calls fn with each event of r, a decision log named file: JSON lines
// (blank lines skipped), or one JSON array of events (the body OPA's decision-log
// plugin uploads), or several. An event longer than MaxLine is an error naming it;
// so is an error returned by fn, which stops the read.
func ReadEvents(file string, r io.Reader, fn func(Event) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	n := 0
	var slab []byte
	for {
		first, err := skipSpace(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		if first == '[' {
			rest, err := readArray(file, br, &n, fn)
			if err != nil {
				return err
			}
			br = bufio.NewReaderSize(rest, 64<<10)
			continue
		}
		b, err := readLine(br, &slab)
		n++
		if err != nil {
			return fmt.Errorf("%s:%d: %w", file, n, err)
		}
		if err := fn(Event{File: file, Line: n, Data: b}); err != nil {
			return err
		}
	}
}

// skipSpace drops whitespace (blank lines) and peeks at the next byte.
func skipSpace(br *bufio.Reader) (byte, error) {
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c, br.UnreadByte()
	}
}

var errTooLong = fmt.Errorf("event longer than %d bytes", MaxLine)

// slabSize is how much line memory ReadEvents allocates at once: lines are
// copied into a shared slab, one allocation per many lines rather than one each.
const slabSize = 1 << 20

// readLine returns the next line without its newline, bounded by MaxLine, in
// memory of its own (carved from *slab when it fits; the caller may keep it).
func readLine(br *bufio.Reader, slab *[]byte) ([]byte, error) {
	chunk, err := br.ReadSlice('\n')
	if err == nil || err == io.EOF {
		line := bytes.TrimRight(chunk, "\r\n")
		if cap(*slab)-len(*slab) < len(line) {
			*slab = make([]byte, 0, max(slabSize, len(line)))
		}
		start := len(*slab)
		*slab = append(*slab, line...)
		return (*slab)[start:len(*slab):len(*slab)], nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	out := append([]byte(nil), chunk...) // a long line: read on in pieces
	for {
		chunk, err := br.ReadSlice('\n')
		if len(out)+len(chunk) > MaxLine+1 {
			return nil, errTooLong
		}
		out = append(out, chunk...)
		switch {
		case err == nil || err == io.EOF:
			return bytes.TrimRight(out, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}

// readArray reads one JSON array of events, each bounded by about MaxLine (what
// the decoder had read ahead plus MaxLine more), and returns the stream after it.
func readArray(file string, br *bufio.Reader, n *int, fn func(Event) error) (io.Reader, error) {
	lr := &io.LimitedReader{R: br, N: MaxLine}
	dec := json.NewDecoder(lr)
	if _, err := dec.Token(); err != nil { // '['
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	for dec.More() {
		*n++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if lr.N <= 0 {
				err = errTooLong
			}
			return nil, fmt.Errorf("%s: element %d: %w", file, *n, err)
		}
		if len(raw) > MaxLine {
			return nil, fmt.Errorf("%s: element %d: %w", file, *n, errTooLong)
		}
		if err := fn(Event{File: file, Line: *n, Data: raw}); err != nil {
			return nil, err
		}
		lr.N = MaxLine
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return io.MultiReader(dec.Buffered(), br), nil
}

// Source is one decision log to read: a name for messages and how to open it.
type Source struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// Files returns the sources of named files (plain or gzip, see Open).
func Files(names ...string) []Source {
	out := make([]Source, len(names))
	for i, n := range names {
		out[i] = Source{Name: n, Open: func() (io.ReadCloser, error) { return Open(n) }}
	}
	return out
}

// ReadAll calls fn with every event of every source, in order.
func ReadAll(srcs []Source, fn func(Event) error) error {
	for _, s := range srcs {
		rc, err := s.Open()
		if err != nil {
			return fmt.Errorf("decision log %s: %w", s.Name, err)
		}
		err = ReadEvents(s.Name, rc, fn)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Each calls fn with every decision of every source, in order, with the event it
// came from. Events that are not decisions are counted in the returned number and
// skipped; a decision that cannot be read is an error naming its file and line.
func Each(srcs []Source, fn func(Record, Event) error) (skipped int, err error) {
	err = ReadAll(srcs, func(ev Event) error {
		rec, err := Parse(ev.Data)
		if errors.Is(err, ErrNotDecision) {
			skipped++
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", ev.File, ev.Line, err)
		}
		return fn(rec, ev)
	})
	return skipped, err
}
