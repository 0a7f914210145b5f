package identity_test

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/rampart-mesh/rampart/identity"
)

// readLines returns the non-comment, non-empty lines of a testdata file. Lines are
// not trimmed, so leading whitespace in a case is part of the case.
func readLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseWorkloadIDValid(t *testing.T) {
	for _, line := range readLines(t, "testdata/ids/valid.txt") {
		f := strings.Fields(line)
		t.Run(f[0], func(t *testing.T) {
			w, err := identity.ParseWorkloadID(testTD, f[0])
			if err != nil {
				t.Fatal(err)
			}
			if w.Namespace != f[1] || w.ServiceAccount != f[2] || w.TrustDomain != testTD {
				t.Errorf("got %+v, want ns %q sa %q", w, f[1], f[2])
			}
			id, err := identity.NewWorkloadID(testTD, f[1], f[2])
			if err != nil || id.String() != f[0] || w.String() != f[0] {
				t.Errorf("format: %v (%v), String %q, want %s", id, err, w.String(), f[0])
			}
		})
	}
}

func TestParseWorkloadIDRejectsLookAlikes(t *testing.T) {
	for _, line := range readLines(t, "testdata/ids/invalid.txt") {
		t.Run(line, func(t *testing.T) {
			w, err := identity.ParseWorkloadID(testTD, line)
			if !errors.Is(err, identity.ErrInvalidID) {
				t.Fatalf("accepted as %+v (err %v)", w, err)
			}
		})
	}
}

func TestNewWorkloadIDRejects(t *testing.T) {
	for _, c := range [][2]string{{"", "sa"}, {"ns", ""}, {"ns/x", "sa"}, {"ns", "sa/x"}, {"ns", "."}, {".", "sa"}, {"ns", "a..b"}, {"NS", "sa"}, {"ns", "s%61"}} {
		if id, err := identity.NewWorkloadID(testTD, c[0], c[1]); !errors.Is(err, identity.ErrInvalidID) {
			t.Errorf("NewWorkloadID(%q, %q) = %v, %v; want ErrInvalidID", c[0], c[1], id, err)
		}
	}
}

func FuzzParseWorkloadID(f *testing.F) {
	for _, file := range []string{"testdata/ids/valid.txt", "testdata/ids/invalid.txt"} {
		for _, line := range readLines(f, file) {
			f.Add(strings.Fields(line + " x")[0])
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := identity.ParseWorkloadID(testTD, s)
		if err != nil {
			return
		}
		// Anything accepted must round-trip to exactly the input: no two spellings
		// of one identity.
		if w.String() != s {
			t.Fatalf("%q parsed to %+v which formats as %q", s, w, w.String())
		}
		if id, err := identity.NewWorkloadID(w.TrustDomain, w.Namespace, w.ServiceAccount); err != nil || id.String() != s {
			t.Fatalf("%q: NewWorkloadID gives %v, %v", s, id, err)
		}
	})
}
