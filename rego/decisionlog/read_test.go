package decisionlog_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/rego/decisionlog"
)

// read returns every decision of files, as Each gives them.
func read(t *testing.T, files ...string) ([]decisionlog.Record, []decisionlog.Event, int, error) {
	t.Helper()
	var recs []decisionlog.Record
	var evs []decisionlog.Event
	skipped, err := decisionlog.Each(decisionlog.Files(files...), func(r decisionlog.Record, ev decisionlog.Event) error {
		recs = append(recs, r)
		evs = append(evs, ev)
		return nil
	})
	return recs, evs, skipped, err
}

func TestEach(t *testing.T) {
	for _, tc := range []struct {
		file    string
		allowed []bool
		lines   []int
		skipped int
		flow    decisionlog.Flow // of the first decision
		rev     string
	}{
		{file: "rampart.log", allowed: []bool{true, true, true, true}, lines: []int{1, 2, 3, 4},
			flow: decisionlog.Flow{Source: "default/tiefighter", Destination: "default/deathstar", Method: "POST", Path: "/v1/request-landing"},
			rev:  "observe-only"},
		{file: "rotated.log.1", allowed: []bool{true, true, true, true}, lines: []int{1, 2, 3, 4}, // gzip, told by content
			flow: decisionlog.Flow{Source: "default/tiefighter", Destination: "default/deathstar", Method: "POST", Path: "/v1/request-landing"},
			rev:  "observe-only"},
		{file: "opa-envoy-console.log", allowed: []bool{true, false}, lines: []int{2, 4}, skipped: 2,
			flow: decisionlog.Flow{Source: "default/default", Destination: "default/example-app", Method: "GET", Path: "/people/{number}"}},
		{file: "opa-upload.json.gz", allowed: []bool{true, false}, lines: []int{1, 2},
			flow: decisionlog.Flow{Source: "default/default", Destination: "default/example-app", Method: "GET", Path: "/people/{number}"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			recs, evs, skipped, err := read(t, filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(tc.allowed) || skipped != tc.skipped {
				t.Fatalf("%d decisions, %d skipped; want %d, %d", len(recs), skipped, len(tc.allowed), tc.skipped)
			}
			for i, r := range recs {
				if r.Allowed != tc.allowed[i] || evs[i].Line != tc.lines[i] {
					t.Errorf("decision %d: allowed %v at line %d, want %v at %d", i, r.Allowed, evs[i].Line, tc.allowed[i], tc.lines[i])
				}
			}
			if f := decisionlog.FlowOf(recs[0].Input); f != tc.flow {
				t.Errorf("flow %+v, want %+v", f, tc.flow)
			}
			if recs[0].Revision != tc.rev || recs[0].Time.IsZero() {
				t.Errorf("revision %q time %v, want %q and a time", recs[0].Revision, recs[0].Time, tc.rev)
			}
		})
	}
}

func TestEachErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"bad-json.log", "bad-json.log:3: decision log: unexpected end of JSON input"},
		{"bad-input.log", `bad-input.log:1: decision x: `},
		{"missing.log", "decision log testdata/missing.log: open testdata/missing.log: no such file or directory"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, _, _, err := read(t, filepath.Join("testdata", tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestLineBound: an event past MaxLine is refused with its place, without the
// reader holding much more than MaxLine.
func TestLineBound(t *testing.T) {
	long := append([]byte(`{"decision_id":"a","input":"`), bytes.Repeat([]byte("x"), decisionlog.MaxLine)...)
	long = append(long, "\"}\n"...)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"line", append([]byte("{}\n"), long...), "big.log:2: event longer than"},
		{"array element", append(append([]byte(`[{},`), long[:len(long)-1]...), ']'), "big.log: element 2: event longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := decisionlog.ReadEvents("big.log", bytes.NewReader(tc.data), func(decisionlog.Event) error { return nil })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestReadEventsMixed: arrays and lines may follow each other (several uploads
// appended to one file), and fn's error stops the read.
func TestReadEventsMixed(t *testing.T) {
	in := "[{\"a\":1},\n {\"a\":2}]\n{\"a\":3}\n\n[{\"a\":4}] {\"a\":5}\n"
	var got []string
	err := decisionlog.ReadEvents("m", strings.NewReader(in), func(ev decisionlog.Event) error {
		got = append(got, string(ev.Data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"a":1}`, `{"a":2}`, `{"a":3}`, `{"a":4}`, `{"a":5}`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events %q, want %q", got, want)
	}
	stop := errors.New("stop")
	n := 0
	err = decisionlog.ReadEvents("m", strings.NewReader(in), func(decisionlog.Event) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d events, want stop after 1", err, n)
	}
}

func TestOpenGzipError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cut.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bytes.Repeat([]byte(`{"a":1}`+"\n"), 1000))
	zw.Close()
	os.WriteFile(p, buf.Bytes()[:buf.Len()/2], 0o644)
	rc, err := decisionlog.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	err = decisionlog.ReadEvents(p, rc, func(decisionlog.Event) error { return nil })
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v, want unexpected EOF from a cut gzip file", err)
	}
}
